"""Verbatim copies of the training set: `copy_rate` and the longest copied run.

A pattern is `PATTERN_NOTES` = 8 consecutive notes, written as their 7 pitch intervals and 8
duration classes (the `beats` protocol's bins: 1/12 beat up to 4 beats, then one bin), so a copy
is found in any transposition. The training set's patterns go into a hash set once
(`TrainingPatterns`); keep one per `data_hash` and reuse it. Real held-out continuations give
the natural rate: jazz players quote licks too.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from metrics.jsd import beat_bins, sort_notes

PATTERN_NOTES = 8


def note_symbols(*parts: np.ndarray) -> np.ndarray:
    """(n, 2) int64 array, one row per note: (interval from the previous note, duration class).

    `parts` are note arrays played one after the other (a context, then its continuation);
    each is put in time order. The first note's interval is 0 and never part of a pattern.
    """
    notes = np.concatenate([sort_notes(p) for p in parts]) if parts else np.zeros(0)
    pitch = notes["pitch"].astype(np.int64) if len(notes) else np.zeros(0, np.int64)
    interval = np.diff(pitch, prepend=pitch[:1])
    duration = beat_bins(notes["duration_beats"]).astype(np.int64) if len(notes) else pitch
    return np.stack([interval, duration], axis=1)


def pattern_keys(symbols: np.ndarray, n: int = PATTERN_NOTES) -> list[bytes]:
    """One hashable key per window of `n` consecutive notes: its n-1 intervals and n duration classes."""
    if len(symbols) < n:
        return []
    windows = np.lib.stride_tricks.sliding_window_view(symbols, n, axis=0)  # (w, 2, n)
    rows = np.concatenate([windows[:, 0, 1:], windows[:, 1, :]], axis=1).astype(np.int16)
    return [r.tobytes() for r in np.ascontiguousarray(rows)]


class TrainingPatterns:
    """The set of `n`-note patterns of the training phrases (context + continuation, joined).

    `TrainingPatterns.from_split(data.train)`, then `.copy_rate(generated_notes)`.
    """

    def __init__(self, phrases_notes: Iterable[np.ndarray | tuple[np.ndarray, ...]], n: int = PATTERN_NOTES) -> None:
        """`phrases_notes`: note arrays, or tuples of note arrays played in turn (context, continuation)."""
        self.n = n
        self.keys: set[bytes] = set()
        for notes in phrases_notes:
            parts = notes if isinstance(notes, tuple) else (notes,)
            self.keys.update(pattern_keys(note_symbols(*parts), n))

    @classmethod
    def from_split(cls, split, n: int = PATTERN_NOTES) -> TrainingPatterns:
        """From a `phrases.PhraseSplit`: each window's context and continuation joined in time."""
        return cls(((p.context_notes, p.continuation_notes) for p in split), n)

    def __len__(self) -> int:
        return len(self.keys)

    def matches(self, notes: np.ndarray) -> np.ndarray:
        """Boolean per pattern of `notes`: found verbatim in the training set."""
        return np.array([k in self.keys for k in pattern_keys(note_symbols(notes), self.n)], dtype=bool)

    def copy_rate(self, generated_notes: list[np.ndarray]) -> float:
        """Share of the generated `n`-note patterns found verbatim in the training set.

        copy_rate = |{patterns in train}| / |patterns|, pooled over phrases (a phrase of k >= n
        notes has k - n + 1 patterns); NaN when no phrase has n notes.
        """
        hits = [self.matches(notes) for notes in generated_notes]
        total = sum(len(h) for h in hits)
        return float(sum(int(h.sum()) for h in hits) / total) if total else float("nan")

    def longest_run(self, notes: np.ndarray) -> int:
        """Longest run of notes in which every `n`-note pattern is found in the training set.

        k consecutive matching patterns give k + n - 1 notes; 0 when nothing matches. When the
        overlapping patterns come from one place in the training set, this is the length of a
        verbatim copy (in general an upper bound on it: a chain may join two sources).
        """
        best = run = 0
        for hit in self.matches(notes):
            run = run + 1 if hit else 0
            best = max(best, run)
        return best + self.n - 1 if best else 0


def copy_rate(generated_notes: list[np.ndarray], training: TrainingPatterns) -> float:
    """Share of generated 8-note patterns found verbatim in the training set (see the class)."""
    return training.copy_rate(generated_notes)


def longest_copied_run(generated_notes: list[np.ndarray], training: TrainingPatterns) -> int:
    """The longest copied run, in notes, over all generated phrases (see `longest_run`)."""
    return max((training.longest_run(notes) for notes in generated_notes), default=0)
