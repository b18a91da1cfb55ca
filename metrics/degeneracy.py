"""How bland, repetitive, copied or context-blind a continuation is: one number per phrase each,
from its notes (and its context's, its row's, the training split's). Higher = more degenerate.

They are the bland side's trivial statistics in the validity suite, and the signals of the
critic's blandness score (`critics.blandness`). Patterns are those of `metrics.plagiarism`:
n consecutive notes as their n - 1 pitch intervals and n duration classes, so a transposed
repeat or copy is the same pattern.

| name            | definition                                                                     |
|-----------------|--------------------------------------------------------------------------------|
| pitch_flatness  | -H(pitch histogram of the continuation), bits (Shannon 1948); one pitch: 0     |
| rhythm_flatness | -H(histogram of its inter-onset intervals on the 1/12-beat grid), bits        |
| length_flatness | -H(histogram of its note durations on the 1/12-beat grid), bits               |
| repetition      | share of its 4-note patterns that repeat an earlier one of the same phrase     |
|                 | (1 - distinct-n of Li et al. 2016, within the phrase)                          |
| context_echo    | share of its 4-note patterns found in the context                              |
| sameness        | the largest share of 4-note patterns it shares (Jaccard) with another          |
|                 | continuation of its row, over `SAMENESS_PEERS` others drawn with a seed:        |
|                 | distinct continuations across contexts, per phrase                             |
| copied_run      | the longest run of its notes found verbatim in the training split, in any       |
|                 | transposition (`TrainingPatterns.longest_run`), over its number of notes        |

A continuation without notes gets the value of "nothing to judge": 0 (-H of nothing is 0, and no
pattern repeats, echoes or is copied).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from metrics.plagiarism import TrainingPatterns, note_symbols, pattern_keys

PATTERN = 4  # notes per pattern for repetition, echo and sameness
SAMENESS_PEERS = 63  # others each continuation is compared with (a row's size must not move the figure)
GRID = 12  # inter-onset intervals are read on a 1/12-beat grid
DEGENERACY = ("pitch_flatness", "rhythm_flatness", "length_flatness", "repetition", "context_echo", "sameness",
              "copied_run")


def _entropy(values) -> float:
    counts = np.asarray(list(Counter(values).values()), np.float64)
    if counts.sum() == 0:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def pitch_flatness(notes: np.ndarray) -> float:
    """-H(pitch histogram), bits: 0 for a line of one pitch, -log2(k) for k equally used pitches."""
    return -_entropy(notes["pitch"].tolist())


def rhythm_flatness(notes: np.ndarray) -> float:
    """-H(inter-onset intervals on the 1/12-beat grid), bits: 0 when every gap is the same."""
    onsets = np.sort(notes["onset_beats"].astype(np.float64))
    return -_entropy(np.round(np.diff(onsets) * GRID).astype(np.int64).tolist())


def length_flatness(notes: np.ndarray) -> float:
    """-H(note durations on the 1/12-beat grid), bits: 0 when every note is as long as the others."""
    return -_entropy(np.round(notes["duration_beats"].astype(np.float64) * GRID).astype(np.int64).tolist())


def _patterns(*parts: np.ndarray) -> list[bytes]:
    return pattern_keys(note_symbols(*parts), PATTERN)


def repetition(notes: np.ndarray) -> float:
    """Share of the 4-note patterns that repeat an earlier pattern of the same continuation."""
    keys = _patterns(notes)
    return 1.0 - len(set(keys)) / len(keys) if keys else 0.0


def context_echo(context_notes: np.ndarray, notes: np.ndarray) -> float:
    """Share of the continuation's 4-note patterns found among its context's."""
    keys, known = _patterns(notes), set(_patterns(context_notes))
    return float(np.mean([k in known for k in keys])) if keys else 0.0


def sameness(continuations: list[np.ndarray], seed: int = 0, peers: int = SAMENESS_PEERS) -> np.ndarray:
    """Per continuation: max over `peers` other continuations of the row (drawn with `seed`; all
    when there are fewer) of |A & B| / |A | B|, A and B their sets of 4-note patterns."""
    sets = [set(_patterns(n)) for n in continuations]
    rng = np.random.default_rng([seed, 29])
    out = np.zeros(len(sets))
    for i, a in enumerate(sets):
        others = np.delete(np.arange(len(sets)), i)
        if len(others) > peers:
            others = rng.choice(others, peers, replace=False)
        if a:
            out[i] = max((len(a & sets[j]) / len(a | sets[j]) for j in others), default=0.0)
    return out


def copied_run(notes: np.ndarray, training: TrainingPatterns) -> float:
    """Longest run of notes copied from the training split over the number of notes (0..1)."""
    return training.longest_run(notes) / len(notes) if len(notes) else 0.0


def degeneracy(contexts: list[np.ndarray], continuations: list[np.ndarray], training: TrainingPatterns,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Every statistic of the module for every (context notes, continuation notes) of one row."""
    return {
        "pitch_flatness": np.array([pitch_flatness(n) for n in continuations]),
        "rhythm_flatness": np.array([rhythm_flatness(n) for n in continuations]),
        "length_flatness": np.array([length_flatness(n) for n in continuations]),
        "repetition": np.array([repetition(n) for n in continuations]),
        "context_echo": np.array([context_echo(c, n) for c, n in zip(contexts, continuations)]),
        "sameness": sameness(continuations, seed),
        "copied_run": np.array([copied_run(n, training) for n in continuations]),
    }


__all__ = ["DEGENERACY", "context_echo", "copied_run", "degeneracy", "length_flatness", "pitch_flatness", "repetition",
           "rhythm_flatness", "sameness"]
