"""Cut one tokenized song into phrase windows of 2 x phrase_bars bars.

A window is context (first phrase_bars bars) + continuation (the next phrase_bars bars), split
at the bar boundary. The song is tokenized once; windows are slices of its token stream, so a
context followed by its continuation is exactly the song's own tokens for those bars.

Where a slice starts and ends, per token type: tokens that carry an absolute time (Bar,
Position, Pitch, Duration, TimeSig) belong to the window their time falls in; time-shift tokens
(TSD's TimeShift, Rest) carry the time they start from, so they go with the note they lead to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import miditok
import numpy as np
import symusic
from miditok.utils import get_bars_ticks

from phrases.notes import NOTE_DTYPE, notes_from_ticks

RELATIVE_TIME_TOKENS = ("TimeShift", "Rest")


@dataclass
class SongWindows:
    """The windows of one song, plus what was dropped and why."""

    context_ids: list[np.ndarray] = field(default_factory=list)
    continuation_ids: list[np.ndarray] = field(default_factory=list)
    context_notes: list[np.ndarray] = field(default_factory=list)
    continuation_notes: list[np.ndarray] = field(default_factory=list)
    start_bar: list[int] = field(default_factory=list)
    tempo_qpm: list[float] = field(default_factory=list)
    song_end: list[bool] = field(default_factory=list)  # the continuation ends where the song does
    dropped_too_long: int = 0
    dropped_few_notes: int = 0
    num_tokens: int = 0


def bar_ticks(score: symusic.Score) -> np.ndarray:
    """Start tick of every bar, plus the end of the last bar."""
    bars = np.asarray(get_bars_ticks(score), dtype=np.int64)
    if len(bars) == 0:
        return bars
    last = bars[-1] - bars[-2] if len(bars) > 1 else 4 * score.ticks_per_quarter
    return np.concatenate([bars, [bars[-1] + last]])


def encode_song(tokenizer: miditok.MusicTokenizer, score: symusic.Score) -> miditok.TokSequence:
    seq = tokenizer.encode(score, no_preprocess_score=True)
    return seq[0] if isinstance(seq, list) else seq


class _Splitter:
    """Token indices of time boundaries in one encoded song."""

    def __init__(self, seq: miditok.TokSequence) -> None:
        n = len(seq.events)
        times = np.fromiter((e.time for e in seq.events), dtype=np.int64, count=n)
        self.relative = np.fromiter((e.type_ in RELATIVE_TIME_TOKENS for e in seq.events), dtype=bool, count=n)
        self.anchored_idx = np.flatnonzero(~self.relative)
        self.anchored_times = times[self.anchored_idx]
        self.n = n

    def first_anchored(self, tick: int) -> int:
        """The first token at or after `tick` that carries an absolute time."""
        k = np.searchsorted(self.anchored_times, tick, side="left")
        return int(self.anchored_idx[k]) if k < len(self.anchored_idx) else self.n

    def split_point(self, tick: int) -> int:
        """Like `first_anchored`, moved back over the time shifts that lead to it."""
        i = self.first_anchored(tick)
        while i > 0 and self.relative[i - 1]:
            i -= 1
        return i


def split_ids_at(seq: miditok.TokSequence, tick: int) -> int:
    """Index where a song's token stream splits at `tick` (see the module docstring)."""
    return _Splitter(seq).split_point(tick)


def first_anchored_at(seq: miditok.TokSequence, tick: int) -> int:
    """Index of the first token at or after `tick` that carries an absolute time (where a
    window's context starts)."""
    return _Splitter(seq).first_anchored(tick)


def cut_windows(
    tokenizer: miditok.MusicTokenizer,
    score: symusic.Score,
    phrase_bars: int,
    stride: int,
    min_notes: int,
    max_tokens: int,
) -> SongWindows:
    """Windows of a score already preprocessed by `tokenizer` (one track)."""
    out = SongWindows()
    if not score.tracks or len(score.tracks[0].notes) == 0:
        return out
    seq = encode_song(tokenizer, score)
    ids = np.asarray(seq.ids, dtype=np.int32)
    out.num_tokens = len(ids)
    splitter = _Splitter(seq)

    notes = score.tracks[0].notes.numpy()
    n_time, n_dur, n_pitch = notes["time"], notes["duration"], notes["pitch"]
    tpq = score.ticks_per_quarter
    bars = bar_ticks(score)
    tempo_np = score.tempos.numpy() if len(score.tempos) else None
    for b in range(0, len(bars) - 2 * phrase_bars, stride):
        a_tick, b_tick, c_tick = bars[b], bars[b + phrase_bars], bars[b + 2 * phrase_bars]
        n0, n1, n2 = np.searchsorted(n_time, [a_tick, b_tick, c_tick], side="left")
        if n1 - n0 < min_notes or n2 - n1 < min_notes or n2 == n0:
            out.dropped_few_notes += 1
            continue
        i0, i1, i2 = splitter.first_anchored(a_tick), splitter.split_point(b_tick), splitter.split_point(c_tick)
        if i2 - i0 > max_tokens:
            out.dropped_too_long += 1
            continue
        out.context_ids.append(ids[i0:i1])
        out.continuation_ids.append(ids[i1:i2])
        ctx = slice(n0, n1)
        cont = slice(n1, n2)
        out.context_notes.append(
            notes_from_ticks(n_time[ctx], n_dur[ctx], n_pitch[ctx], a_tick, tpq, score.tempos)
        )
        out.continuation_notes.append(
            notes_from_ticks(n_time[cont], n_dur[cont], n_pitch[cont], b_tick, tpq, score.tempos)
        )
        out.start_bar.append(b)
        out.tempo_qpm.append(_tempo_at(tempo_np, a_tick))
        out.song_end.append(b + 2 * phrase_bars == len(bars) - 1)  # the song stops with this window
    return out


def _tempo_at(tempo: dict | None, tick: int) -> float:
    if tempo is None:
        return 120.0
    i = max(int(np.searchsorted(tempo["time"], tick, side="right")) - 1, 0)
    return float(60e6 / tempo["mspq"][i])


__all__ = ["NOTE_DTYPE", "SongWindows", "bar_ticks", "cut_windows", "encode_song", "first_anchored_at", "split_ids_at"]
