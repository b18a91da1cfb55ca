"""A musical profile: a few descriptors of a set of phrases, each beside the same descriptor of
a reference set, with a bootstrap interval and a distance.

The descriptors (`metrics.musical`, one function each, MusPy-style) are the ones that tell jazz
lines apart on the corpus (README: "Musical profile" gives the measurement that chose them):

    pitch_class_entropy   bits, of the whole phrase (MusPy `pitch_class_entropy`)
    bar_pitch_class_entropy  bits, mean over the phrase's bars (the Jazz Transformer's H1)
    scale_consistency     share of notes in the best major/minor scale (MusPy)
    key_consistency       share of notes in the key of context + continuation (MusPy pitch_in_scale_rate)
    groove_consistency    1 - mean Hamming distance of neighbouring bars' onsets (MusPy)
    pitch_range           semitones (MusPy)
    mean_abs_interval     semitones between consecutive notes
    note_density          notes per beat
    compression_ratio     symbols per Lempel-Ziv phrase of the (interval, inter-onset) line
    empty_beat_rate       share of beats in which nothing sounds (MusPy, phrase-long)

For each: the mean over the phrases where it is defined, its bootstrap interval (percentile,
phrases resampled), the reference mean, and the distance
    d = (mean_row - mean_ref) / sd_ref,
the standardized mean difference (Glass's delta: the reference's spread): 0 is the reference,
|d| = 1 puts the row's mean one reference standard deviation away. Signed: the side says how the
row differs (fewer pitch classes, wider leaps, more empty beats...).

Entropies, scale consistency and pitch range grow or shrink with a phrase's note count (3 notes
nearly always fit one scale and have at most log2(3) bits): a sparse row (few notes per bar)
reads as "in scale, low entropy" on them. key_consistency (judged in the key of the context,
whatever the continuation's length) and note_density say which it is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from metrics.bootstrap import bootstrap
from metrics.musical import (
    compression_ratio, empty_beat_rate, groove_consistency, key_consistency, mean_abs_interval, note_density,
    pitch_class_entropy, pitch_range, scale_consistency,
)

PROFILE = ("pitch_class_entropy", "bar_pitch_class_entropy", "scale_consistency", "key_consistency", "groove_consistency",
           "pitch_range", "mean_abs_interval", "note_density", "compression_ratio", "empty_beat_rate")
WHOLE = 1 << 30  # a window of this many bars is the whole phrase, notes past its end included


def profile_descriptors(n_bars: int = 4, beats_per_bar: float = 4.0) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """The profile's descriptors by name (`PROFILE` order), each a function of (continuation
    notes, context notes), bound to the phrase length. Only key_consistency reads the context."""
    kw = {"n_bars": n_bars, "beats_per_bar": beats_per_bar}
    return {
        "pitch_class_entropy": lambda n, c: pitch_class_entropy(n, window_bars=WHOLE, **kw),
        "bar_pitch_class_entropy": lambda n, c: pitch_class_entropy(n, window_bars=1, **kw),
        "scale_consistency": lambda n, c: scale_consistency(n),
        "key_consistency": key_consistency,
        "groove_consistency": lambda n, c: groove_consistency(n, **kw),
        "pitch_range": lambda n, c: pitch_range(n),
        "mean_abs_interval": lambda n, c: mean_abs_interval(n),
        "note_density": lambda n, c: note_density(n, **kw),
        "compression_ratio": lambda n, c: compression_ratio(n),
        "empty_beat_rate": lambda n, c: empty_beat_rate(n, **kw),
    }


def profile_matrix(notes_list: list[np.ndarray], n_bars: int = 4, beats_per_bar: float = 4.0,
                   contexts: list[np.ndarray] | None = None) -> np.ndarray:
    """(phrases, len(PROFILE)) descriptor values of the continuations `notes_list` after their
    `contexts` (notes; none: empty contexts); NaN where a descriptor is undefined."""
    fns = profile_descriptors(n_bars, beats_per_bar).values()
    empty = notes_list[0][:0] if len(notes_list) else None
    contexts = contexts if contexts is not None else [empty] * len(notes_list)
    return np.array([[f(notes, ctx) for f in fns] for notes, ctx in zip(notes_list, contexts)],
                    dtype=np.float64).reshape(len(notes_list), -1)


def _nanmean_columns(x: np.ndarray) -> np.ndarray:
    """Column means over the defined (non-NaN) values; NaN for a column with none."""
    defined = ~np.isnan(x)
    count = defined.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.nansum(x, axis=0) / np.maximum(count, 1), np.nan)


def standardized_difference(row_mean: float, ref_values: np.ndarray) -> float:
    """d = (row_mean - mean(ref)) / sd(ref), over the defined reference values (sd with ddof=1);
    NaN when the row mean is undefined or the reference has under 2 values or no spread."""
    ref = np.asarray(ref_values, dtype=np.float64)
    ref = ref[~np.isnan(ref)]
    if np.isnan(row_mean) or len(ref) < 2 or ref.std(ddof=1) == 0:
        return float("nan")
    return float((row_mean - ref.mean()) / ref.std(ddof=1))


def profile(row: np.ndarray, ref: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, float]]:
    """Per descriptor of `PROFILE`, from `profile_matrix` values of a row and of the reference:
    {"value", "ci_low", "ci_high" (95% percentile bootstrap of the row's mean, phrases resampled),
    "ref" (the reference mean), "distance" (`standardized_difference`), "distance_ci_low",
    "distance_ci_high" (the interval's ends on the same scale)}."""
    row, ref = np.asarray(row, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if len(row) == 0:
        return {name: dict.fromkeys(("value", "ci_low", "ci_high", "ref", "distance", "distance_ci_low",
                                     "distance_ci_high"), float("nan")) for name in PROFILE}
    boot = bootstrap(lambda x: dict(zip(PROFILE, _nanmean_columns(x).tolist())), row, n_boot=n_boot, seed=seed)
    ref_mean = _nanmean_columns(ref)
    out = {}
    for k, name in enumerate(PROFILE):
        value, low, high = boot[name]
        if not (np.isnan(low) or np.isnan(high)):  # an interval that holds its estimate
            low, high = min(low, value), max(high, value)
        dist = [standardized_difference(v, ref[:, k]) for v in (value, low, high)]
        out[name] = {"value": value, "ci_low": low, "ci_high": high, "ref": float(ref_mean[k]), "distance": dist[0],
                     "distance_ci_low": dist[1], "distance_ci_high": dist[2]}
    return out
