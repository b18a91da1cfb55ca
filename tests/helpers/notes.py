"""Hand-made note arrays for the metrics tests."""

from __future__ import annotations

import numpy as np

from phrases import NOTE_DTYPE


def make_notes(rows: list[tuple], tempo_qpm: float = 120.0) -> np.ndarray:
    """Notes from (pitch, onset_beats, duration_beats) rows; seconds follow from the tempo."""
    out = np.zeros(len(rows), dtype=NOTE_DTYPE)
    for i, (pitch, onset, duration) in enumerate(rows):
        out[i] = (pitch, onset, duration, onset * 60 / tempo_qpm, duration * 60 / tempo_qpm)
    return out


def make_notes_s(rows: list[tuple]) -> np.ndarray:
    """Notes from (pitch, onset_s, duration_s) rows at 60 qpm (one beat = one second)."""
    return make_notes(rows, tempo_qpm=60.0)
