"""Notes placed after a context, tokenized as the corpus is: the way any continuation that is
not already token ids (a MIDI file, a rule-made line) becomes a continuation of that context.

The context's notes and meter and then the continuation's notes are made one song, preprocessed
and encoded by the tokenizer exactly as `phrases.windows.cut_windows` encodes a corpus song, and
split at the context's end, so a true continuation comes back as (nearly) its own tokens. Notes
starting after `phrase_bars` bars are cut (and counted), and the continuation is cut at
`config.max_tokens` tokens.

Where the song ends is the one end rule, the corpus's: a corpus window in the middle of its song
has the song going on after it, so the bar lines of its last bars are written even where those
bars hold no note onset; the window at a song's very end (`Phrase.song_end`) has nothing after
it, and the tokenizer writes no bar line for the bars the song stops in without a new note. A
continuation is encoded the same way: followed by a note at the next bar line, or, after the
context of a song-end window, by nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import miditok
import numpy as np
import symusic

from phrases.config import PhraseConfig
from phrases.decode import context_end_tick, decode_phrase
from phrases.windows import bar_ticks, encode_song, split_ids_at

NOTE_FIELDS = ("time", "duration", "pitch", "velocity")


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    cut_notes: int = 0  # notes starting after the continuation's bars, dropped
    cut_tokens: int = 0  # tokens past config.max_tokens, dropped


def context_score(tokenizer: miditok.MusicTokenizer, context, tempo: float, config: PhraseConfig) -> tuple[symusic.Score, int]:
    """(the context decoded as a score at the tokenizer's resolution, the tick where its
    continuation starts)."""
    return (decode_phrase(tokenizer, context, [], tempo, config.phrase_bars).score,
            context_end_tick(tokenizer, context, config.phrase_bars))


def context_meter(ctx_score: symusic.Score) -> tuple[int, int]:
    """The context's last meter (numerator, denominator); 4/4 when it has none."""
    sig = ctx_score.time_signatures[-1] if len(ctx_score.time_signatures) else None
    return (sig.numerator, sig.denominator) if sig is not None else (4, 4)


def encode_after_context(tokenizer: miditok.MusicTokenizer, ctx_score: symusic.Score, end: int, tempo: float,
                         notes: dict[str, np.ndarray], changes, config: PhraseConfig, song_end: bool = False) -> Encoded:
    """Token ids of `notes` played after the context, in the context's meter but for `changes`.

    `notes`: arrays time, duration, pitch (velocity optional) in ticks of the tokenizer's
    resolution, time 0 = the continuation's first bar line; `changes`: (tick from the
    continuation's start, numerator, denominator) of every change of meter inside it; `song_end`:
    the context is of a window at its song's end (see the module docstring)."""
    notes = {k: np.asarray(notes[k] if k in notes else np.full(len(notes["pitch"]), 80), np.int64)
             for k in NOTE_FIELDS}
    ctx_notes = ctx_score.tracks[0].notes.numpy() if ctx_score.tracks else {k: np.zeros(0, np.int64) for k in NOTE_FIELDS}
    meter = context_meter(ctx_score)
    phrase = symusic.Score(tokenizer.time_division)
    phrase.tempos.append(symusic.Tempo(0, tempo))
    for s in ctx_score.time_signatures:
        phrase.time_signatures.append(symusic.TimeSignature(s.time, s.numerator, s.denominator))
    for t, n, d in changes:
        phrase.time_signatures.append(symusic.TimeSignature(end + t, n, d))
    columns = {k: np.concatenate([np.asarray(ctx_notes[k], np.int64), notes[k] + (end if k == "time" else 0)])
               for k in NOTE_FIELDS}
    # a note far past the continuation's bars, so that the bars are counted to their end
    bar = max(n * 4 * tokenizer.time_division // d for _, n, d in [(0, *meter), *changes])
    far = int(max(columns["time"].max(initial=0), end + max((t for t, _, _ in changes), default=0))
              + (config.phrase_bars + 1) * bar)
    phrase.tracks.append(_track(columns, far))
    phrase = tokenizer.preprocess_score(phrase)  # as the corpus songs are, before they are encoded
    end = end * phrase.ticks_per_quarter // tokenizer.time_division

    ticks = bar_ticks(phrase)
    first = int(np.searchsorted(ticks, end))
    stop = int(ticks[first + config.phrase_bars])
    columns = phrase.tracks[0].notes.numpy()
    inside = columns["time"] < stop
    cut = int(np.sum(~inside)) - 1  # the far note is not the continuation's
    # the song goes on after the continuation's bars, as a corpus song does past a window: a note
    # at the next bar line makes the tokenizer write the bar lines of empty bars at the end too;
    # after a song-end window's context the song stops with the continuation, as the corpus's does
    phrase.tracks[0] = _track({k: v[inside] for k, v in columns.items()}, None if song_end else stop)
    seq = encode_song(tokenizer, phrase)
    ids = [int(i) for i in seq.ids[split_ids_at(seq, end):split_ids_at(seq, stop)]]
    return Encoded(ids[: config.max_tokens], cut, max(len(ids) - config.max_tokens, 0))


def _track(columns: dict[str, np.ndarray], sentinel: int | None) -> symusic.Track:
    """One track of these notes and a short middle C at tick `sentinel`, after all of them (none
    when `sentinel` is None)."""
    track = symusic.Track(name="phrase", program=0)
    dtypes = {"time": np.int32, "duration": np.int32, "pitch": np.int8, "velocity": np.int8}
    extra = {"time": sentinel, "duration": 1, "pitch": 60, "velocity": 64}
    track.notes = symusic.Note.from_numpy(**{k: np.append(np.asarray(v), [] if sentinel is None else [extra[k]])
                                             .astype(dtypes[k]) for k, v in columns.items()})
    return track


__all__ = ["Encoded", "context_meter", "context_score", "encode_after_context"]
