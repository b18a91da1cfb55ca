"""The CSC413 report's data protocol, as an option of the phrase pipeline (`PhraseConfig.csc413()`).

As their code does it: the first instrument of each file only, its notes sorted by onset, cut
into non-overlapping segments of 64 notes (a shorter remainder is dropped), split by song
60/20/20 with seed 42. Their model reads notes in seconds, so each file is first re-timed to a
clock on which one beat is 0.5 s (120 qpm): the tokenizer's grid of 1/12 beat is then a grid of
1/24 s, and a decoded sequence is in true seconds. The notes of a segment are taken after the
tokenizer's own preprocessing (grid, range), so real and generated notes are on the same grid.

A segment is a phrase with an empty context: its tokens are the continuation, each segment
tokenized on its own from time 0, so every one starts with a Bar token as generation does.
"""

from __future__ import annotations

from pathlib import Path

import miditok
import numpy as np
import symusic

from phrases.notes import notes_from_ticks
from phrases.scan import parse_pitched
from phrases.windows import SongWindows, encode_song

CLOCK_QPM = 120.0  # the re-timed clock: one beat = 0.5 s
CLOCK_TPQ = 480


def first_instrument(path: Path) -> tuple[symusic.Score | None, str | None]:
    """The file's first pitched track with notes, re-timed to the 120 qpm seconds clock, as a
    one-track 4/4 score; or (None, skip reason)."""
    score, reason = parse_pitched(path)
    if score is None:
        return None, reason
    track = score.to("second").tracks[0]
    notes = track.notes.numpy()
    ticks_per_s = CLOCK_TPQ * CLOCK_QPM / 60
    onset = np.round(notes["time"] * ticks_per_s).astype(np.int32)
    duration = np.maximum(np.round(notes["duration"] * ticks_per_s), 1).astype(np.int32)
    order = np.lexsort((notes["pitch"], onset))
    out = symusic.Score(CLOCK_TPQ)
    out.tempos.append(symusic.Tempo(0, CLOCK_QPM))
    out.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    first = symusic.Track(name="first instrument", program=track.program, is_drum=False)
    first.notes = symusic.Note.from_numpy(time=onset[order], duration=duration[order], pitch=notes["pitch"][order],
                                          velocity=notes["velocity"][order])
    out.tracks = [first]
    return out, None


def segment_notes(score: symusic.Score, size: int) -> list[np.ndarray]:
    """Non-overlapping runs of `size` notes (sorted by onset) of a one-track score on the clock,
    in the notes view, each relative to its first onset."""
    if not score.tracks or len(score.tracks[0].notes) < size:
        return []
    notes = score.tracks[0].notes.numpy()
    order = np.lexsort((notes["pitch"], notes["time"]))
    t, d, p = (notes[k][order] for k in ("time", "duration", "pitch"))
    out = []
    for start in range(0, len(order) - size + 1, size):
        s = slice(start, start + size)
        out.append(notes_from_ticks(t[s], d[s], p[s], int(t[start]), score.ticks_per_quarter, score.tempos))
    return out


def cut_segments(tokenizer: miditok.MusicTokenizer, score: symusic.Score, size: int, max_tokens: int) -> SongWindows:
    """The segments of a score already preprocessed by `tokenizer`, each tokenized from time 0."""
    out = SongWindows()
    tpq = score.ticks_per_quarter
    for i, notes in enumerate(segment_notes(score, size)):
        seg = symusic.Score(tpq)
        seg.tempos.append(symusic.Tempo(0, CLOCK_QPM))
        seg.time_signatures.append(symusic.TimeSignature(0, 4, 4))
        track = symusic.Track(name="segment", program=0)
        track.notes = symusic.Note.from_numpy(
            time=np.round(notes["onset_beats"] * tpq).astype(np.int32),
            duration=np.round(notes["duration_beats"] * tpq).astype(np.int32),
            pitch=notes["pitch"].astype(np.int8), velocity=np.full(len(notes), 80, np.int8))
        seg.tracks = [track]
        ids = np.asarray(encode_song(tokenizer, seg).ids, dtype=np.int32)
        out.num_tokens += len(ids)
        if len(ids) > max_tokens:
            out.dropped_too_long += 1
            continue
        out.context_ids.append(np.zeros(0, np.int32))
        out.continuation_ids.append(ids)
        out.context_notes.append(notes[:0])
        out.continuation_notes.append(notes)
        out.start_bar.append(i)  # the segment's index in its song
        out.tempo_qpm.append(CLOCK_QPM)
        out.song_end.append(True)  # tokenized alone: its song stops with it
    return out
