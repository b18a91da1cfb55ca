"""Token ids back to notes, for generated sequences that may be malformed.

miditok's decoder already skips bad successions (a Pitch with no Duration, say) without
raising; here we first drop what it cannot take (special tokens, ids outside the vocabulary)
and count every dropped or ill-placed token, using miditok's own grammar check
(`tokens_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import miditok
import numpy as np
import symusic

from phrases.config import PhraseConfig
from phrases.errors import UserError
from phrases.notes import NOTE_DTYPE, notes_from_ticks
from phrases.scan import describe_skip
from phrases.vocab import Vocab


@dataclass(frozen=True)
class DecodedPhrase:
    context_notes: np.ndarray
    continuation_notes: np.ndarray
    malformed: int  # tokens dropped or out of grammar
    score: symusic.Score  # the whole phrase, one track, tpq of the tokenizer
    n_context: int  # the score's first n_context notes are the context's
    context_beats: float  # where the continuation starts, in beats (quarter notes) after the context starts

    def two_track_score(self) -> symusic.Score:
        """The phrase with the context and the continuation on tracks of their own."""
        out = self.score.copy()
        notes = out.tracks[0].notes
        context = symusic.Track(name="context", program=0)
        continuation = symusic.Track(name="continuation", program=0)
        for i, note in enumerate(notes):
            (context if i < self.n_context else continuation).notes.append(note)
        out.tracks = [context, continuation]
        return out


def clean_ids(tokenizer: miditok.MusicTokenizer, ids) -> tuple[list[int], int]:
    """Drop special tokens and ids outside the vocabulary; return (kept ids, number dropped)."""
    special = set(tokenizer.special_tokens_ids)
    n = len(tokenizer)
    kept = [int(i) for i in ids if 0 <= int(i) < n and int(i) not in special]
    return kept, len(ids) - len(kept)


def grammar_errors(tokenizer: miditok.MusicTokenizer, ids: list[int]) -> int:
    """Tokens that break the tokenizer's type succession rules (miditok's `tokens_errors`)."""
    if not ids:
        return 0
    return int(round(tokenizer.tokens_errors(miditok.TokSequence(ids=list(ids))) * len(ids)))


def _continuation_origin(vocab: Vocab, context: list[int], phrase_bars: int, tpq: int) -> int:
    """Tick where the continuation starts: after the context's bars (REMI: the sum of its bars,
    each as long as the TimeSig token in it says, else the one before, else 4/4; tokenizations
    without Bar tokens assume `phrase_bars` bars of 4/4)."""
    if not vocab.is_bar.any():
        return phrase_bars * 4 * tpq
    total, bars, (num, den) = 0.0, 0, (4, 4)
    for i in context:
        if vocab.is_bar[i]:
            total += num * tpq * 4 / den if bars else 0.0  # the bar before this one ends here
            bars += 1
        elif i in vocab.time_signature:
            num, den = vocab.time_signature[i]
    return int(round(total + (num * tpq * 4 / den if bars else 0.0)))


def context_end_tick(tokenizer: miditok.MusicTokenizer, context, phrase_bars: int = 4) -> int:
    """Tick (at the tokenizer's resolution) where a continuation of `context` starts: the bar line
    after the context's bars, as `decode_phrase` places it."""
    ctx, _ = clean_ids(tokenizer, context)
    return _continuation_origin(Vocab.of(tokenizer), ctx, phrase_bars, tokenizer.time_division)


def decode_phrase(
    tokenizer: miditok.MusicTokenizer,
    context,
    continuation,
    tempo_qpm: float = 120.0,
    phrase_bars: int = 4,
) -> DecodedPhrase:
    """Decode context + continuation into the notes view of each half; never raises on bad ids."""
    ctx, dropped_ctx = clean_ids(tokenizer, context)
    cont, dropped_cont = clean_ids(tokenizer, continuation)
    malformed = dropped_ctx + dropped_cont + grammar_errors(tokenizer, ctx + cont)
    score = _decode(tokenizer, ctx + cont)
    n_ctx = len(_decode(tokenizer, ctx).tracks[0].notes) if ctx else 0
    tpq = score.ticks_per_quarter
    score.tempos = [symusic.Tempo(0, tempo_qpm)]
    notes = score.tracks[0].notes.numpy() if score.tracks else None
    origin = _continuation_origin(Vocab.of(tokenizer), ctx, phrase_bars, tpq)
    if notes is None or len(notes["time"]) == 0:
        empty = np.zeros(0, NOTE_DTYPE)
        return DecodedPhrase(empty, empty, malformed, score, 0, origin / tpq)
    t, d, p = notes["time"], notes["duration"], notes["pitch"]
    c, k = slice(0, n_ctx), slice(n_ctx, None)
    return DecodedPhrase(
        notes_from_ticks(t[c], d[c], p[c], 0, tpq, score.tempos),
        notes_from_ticks(t[k], d[k], p[k], origin, tpq, score.tempos),
        malformed,
        score,
        n_ctx,
        origin / tpq,
    )


def context_from_midi(tokenizer: miditok.MusicTokenizer, path, bars: int, config: PhraseConfig,
                      start_bar: int = 0) -> tuple[list[int], float]:
    """Bars `start_bar` .. `start_bar + bars` of a MIDI file as context token ids (the file read
    as `config` says, through `pipeline.prepared_score`), and its tempo there (qpm)."""
    from phrases.pipeline import prepared_score
    from phrases.windows import bar_ticks, encode_song, first_anchored_at, split_ids_at

    score, reason = prepared_score(path, config, tokenizer)
    if score is None:
        raise UserError(f"--context {path}: cannot use this file: {describe_skip(reason)}; give a MIDI file with notes")
    seq = encode_song(tokenizer, score)
    ticks = bar_ticks(score)
    if start_bar >= len(ticks) - 1:
        raise UserError(f"--start-bar {start_bar}: {path} has {len(ticks) - 1} bars; give a smaller one")
    begin, end = ticks[start_bar], ticks[min(start_bar + bars, len(ticks) - 1)]
    ids = seq.ids[first_anchored_at(seq, begin) : split_ids_at(seq, end)]
    tempos = score.tempos.numpy() if len(score.tempos) else None
    mspq = tempos["mspq"][max(int(np.searchsorted(tempos["time"], begin, side="right")) - 1, 0)] if tempos else 500_000
    return list(map(int, ids)), float(60e6 / mspq)


def _decode(tokenizer: miditok.MusicTokenizer, ids: list[int]) -> symusic.Score:
    """miditok decode of one stream, always with exactly one track (maybe empty)."""
    score = tokenizer.decode([list(ids)]) if ids else symusic.Score(tokenizer.time_division)
    if not score.tracks:
        score.tracks = [symusic.Track(name="phrase", program=0)]
    return score
