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

from phrases.notes import NOTE_DTYPE, notes_from_ticks


@dataclass(frozen=True)
class DecodedPhrase:
    context_notes: np.ndarray
    continuation_notes: np.ndarray
    malformed: int  # tokens dropped or out of grammar
    score: symusic.Score  # the whole phrase, one track, tpq of the tokenizer
    n_context: int  # the score's first n_context notes are the context's

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


def _continuation_origin(tokenizer, context: list[int], phrase_bars: int, tpq: int) -> int:
    """Tick where the continuation starts: after the context's bars (REMI counts its Bar
    tokens; tokenizations without Bar tokens assume `phrase_bars` bars of 4/4)."""
    bar_ids = set(tokenizer.token_ids_of_type("Bar"))
    if bar_ids:
        n_bars = sum(1 for i in context if i in bar_ids)
        # The time signature a REMI bar holds: the most recent TimeSig token, else 4/4.
        num, den = 4, 4
        for i in context:
            name = tokenizer[i]
            if name.startswith("TimeSig_"):
                num, den = (int(x) for x in name[8:].split("/"))
        return int(n_bars * num * tpq * 4 / den)
    return phrase_bars * 4 * tpq


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
    if notes is None or len(notes["time"]) == 0:
        empty = np.zeros(0, NOTE_DTYPE)
        return DecodedPhrase(empty, empty, malformed, score, 0)
    origin = _continuation_origin(tokenizer, ctx, phrase_bars, tpq)
    t, d, p = notes["time"], notes["duration"], notes["pitch"]
    c, k = slice(0, n_ctx), slice(n_ctx, None)
    return DecodedPhrase(
        notes_from_ticks(t[c], d[c], p[c], 0, tpq, score.tempos),
        notes_from_ticks(t[k], d[k], p[k], origin, tpq, score.tempos),
        malformed,
        score,
        n_ctx,
    )


def context_from_midi(tokenizer: miditok.MusicTokenizer, path, bars: int, tracks: str = "merge") -> tuple[list[int], float]:
    """The first `bars` bars of a MIDI file as context token ids, and its tempo (qpm)."""
    from phrases.scan import load_song
    from phrases.windows import bar_ticks, encode_song, split_ids_at

    score, reason = load_song(path, tracks)
    if score is None:
        raise ValueError(f"--context {path}: cannot use this file ({reason}); give a MIDI file with notes")
    score = tokenizer.preprocess_score(score)
    if not score.tracks:
        raise ValueError(f"--context {path}: no notes in the tokenizer's pitch range")
    seq = encode_song(tokenizer, score)
    ticks = bar_ticks(score)
    end = ticks[min(bars, len(ticks) - 1)]
    tempo = 60e6 / score.tempos[0].mspq if len(score.tempos) else 120.0
    return list(map(int, seq.ids[: split_ids_at(seq, end)])), float(tempo)


def _decode(tokenizer: miditok.MusicTokenizer, ids: list[int]) -> symusic.Score:
    """miditok decode of one stream, always with exactly one track (maybe empty)."""
    score = tokenizer.decode([list(ids)]) if ids else symusic.Score(tokenizer.time_division)
    if not score.tracks:
        score.tracks = [symusic.Track(name="phrase", program=0)]
    return score
