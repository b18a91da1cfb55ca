"""The notes view of a phrase: a structured NumPy array, one row per note.

Onsets are relative to the start of the phrase (its first bar); beats are quarter notes.
"""

from __future__ import annotations

import numpy as np
import symusic

NOTE_DTYPE = np.dtype(
    [
        ("pitch", np.int16),
        ("onset_beats", np.float32),
        ("duration_beats", np.float32),
        ("onset_s", np.float32),
        ("duration_s", np.float32),
    ]
)


def tick_to_seconds(ticks: np.ndarray, tempos: symusic.core.TempoTickList, tpq: int) -> np.ndarray:
    """Seconds at each tick, following the score's tempo map (120 qpm before the first change)."""
    ticks = np.asarray(ticks, dtype=np.float64)
    tempo = tempos.numpy() if len(tempos) else {"time": np.zeros(1), "mspq": np.array([500_000])}
    change = np.asarray(tempo["time"], dtype=np.float64)
    sec_per_tick = np.asarray(tempo["mspq"], dtype=np.float64) / 1e6 / tpq
    if change[0] > 0:  # MIDI's default tempo until the first change
        change = np.concatenate([[0.0], change])
        sec_per_tick = np.concatenate([[0.5 / tpq], sec_per_tick])
    start_sec = np.concatenate([[0.0], np.cumsum(np.diff(change) * sec_per_tick[:-1])])
    i = np.clip(np.searchsorted(change, ticks, side="right") - 1, 0, None)
    return start_sec[i] + (ticks - change[i]) * sec_per_tick[i]


def notes_from_ticks(
    time: np.ndarray, duration: np.ndarray, pitch: np.ndarray, origin: int, tpq: int,
    tempos: symusic.core.TempoTickList,
) -> np.ndarray:
    """Notes (absolute ticks) to the notes view, onsets relative to tick `origin`."""
    out = np.empty(len(time), dtype=NOTE_DTYPE)
    out["pitch"] = pitch
    out["onset_beats"] = (time - origin) / tpq
    out["duration_beats"] = duration / tpq
    seconds = tick_to_seconds(np.concatenate([[origin], time, time + duration]), tempos, tpq)
    onset_s, offset_s = np.split(seconds[1:], 2)
    out["onset_s"] = onset_s - seconds[0]
    out["duration_s"] = offset_s - onset_s
    return out
