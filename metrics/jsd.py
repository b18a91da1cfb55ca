"""Jensen-Shannon divergence of pitch, step and duration histograms, generated vs reference.

Two protocols, each a way to turn a list of phrases (note arrays of `phrases.NOTE_DTYPE`) into
three histograms:

- `beats` (default): pitch in 128 bins (MIDI 0-127); step (onset to next onset) and duration in
  beats, on the tokenizer's grid of 1/12 beat up to 4 beats (so sixteenths 0.25, triplet eighths
  1/3 and eighths 0.5 land in different bins), plus one last bin for everything longer. No
  pseudo-counts: identical histograms give 0, disjoint ones 1.
- `csc413`: the protocol of the CSC413 report's Table 3 (ARCHITECTURE.md, "Reference numbers"), in seconds: pitch 128
  bins; step and duration 30 bins of 0.5 s, values past the last bin clipped into it; a
  pseudo-count of 1e-4 added to every bin's count before normalizing; a note whose step is 0
  has its duration put in bin 0 (a quirk of their code, kept for comparability).

Steps are taken within each phrase only (n notes give n - 1 steps), never across phrases.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import jensenshannon

PROTOCOLS = ("beats", "csc413")

# beats: bin k (k = 0..48) holds values that round to k/12 beat; bin 49 holds everything longer.
BEAT_GRID = 12
BEAT_MAX = 4.0
BEAT_EDGES = (np.arange(int(BEAT_MAX * BEAT_GRID) + 1) + 0.5) / BEAT_GRID  # 49 inner edges
N_BEAT_BINS = len(BEAT_EDGES) + 1  # 50

# csc413: 30 bins of 0.5 s, pseudo-count 1e-4.
CSC413_BIN_S = 0.5
CSC413_BINS = 30
CSC413_PSEUDO = 1e-4


def jsd(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits: JSD = (KL(p || m) + KL(q || m)) / 2, m = (p + q) / 2.

    `p` and `q` are histograms (counts or probabilities; each is normalized here). Bins where
    a distribution is 0 add nothing (0 log 0 = 0). Range [0, 1]. Lin (1991), "Divergence
    measures based on the Shannon entropy". SciPy's `jensenshannon` gives the distance, its
    square root; squared here (clipped at 0 against round-off).
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape or p.sum() <= 0 or q.sum() <= 0:
        raise ValueError(f"jsd needs two non-empty histograms of one shape, got {p.shape} and {q.shape}")
    return float(max(jensenshannon(p, q, base=2), 0.0) ** 2)


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Notes in time order (onset, then pitch)."""
    return notes[np.lexsort((notes["pitch"], notes["onset_beats"]))]


def beat_bins(values: np.ndarray) -> np.ndarray:
    """Bin index of beat values in the `beats` protocol: round to 1/12 beat, >4 beats -> last bin."""
    return np.searchsorted(BEAT_EDGES, np.asarray(values, dtype=np.float64), side="right")


def note_histograms(notes_list: list[np.ndarray], protocol: str = "beats") -> dict[str, np.ndarray]:
    """The pitch, step and duration histograms (counts) of a list of phrases."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: choose one of {', '.join(PROTOCOLS)}")
    unit = "beats" if protocol == "beats" else "s"
    pitch, step, duration, step_zero = [], [], [], []
    for notes in notes_list:
        notes = sort_notes(notes)
        onset = notes[f"onset_{unit}"].astype(np.float64)
        d = np.diff(onset)
        pitch.append(notes["pitch"])
        step.append(d)
        duration.append(notes[f"duration_{unit}"].astype(np.float64))
        step_zero.append(np.concatenate([[False], d == 0]) if len(notes) else np.zeros(0, bool))
    pitch, step, duration = (np.concatenate(x) if x else np.zeros(0) for x in (pitch, step, duration))
    step_zero = np.concatenate(step_zero) if step_zero else np.zeros(0, bool)
    hist = {"pitch": np.bincount(np.clip(pitch.astype(np.int64), 0, 127), minlength=128).astype(np.float64)}
    if protocol == "beats":
        hist["step"] = np.bincount(beat_bins(step), minlength=N_BEAT_BINS).astype(np.float64)
        hist["duration"] = np.bincount(beat_bins(duration), minlength=N_BEAT_BINS).astype(np.float64)
        return hist
    step_bin = _csc413_bins(step)
    dur_bin = np.where(step_zero, 0, _csc413_bins(duration))
    hist["step"] = np.bincount(step_bin, minlength=CSC413_BINS).astype(np.float64)
    hist["duration"] = np.bincount(dur_bin, minlength=CSC413_BINS).astype(np.float64)
    return {k: v + CSC413_PSEUDO for k, v in hist.items()}


def _csc413_bins(seconds: np.ndarray) -> np.ndarray:
    """floor(x / 0.5 s), clipped into bins 0..29."""
    return np.clip(np.floor(np.asarray(seconds) / CSC413_BIN_S), 0, CSC413_BINS - 1).astype(np.int64)


def jsd_metrics(
    generated_notes: list[np.ndarray], reference_notes: list[np.ndarray], protocol: str = "beats"
) -> dict[str, float]:
    """`jsd_pitch`, `jsd_step`, `jsd_duration` (bits) of generated vs reference phrases.

    Histograms pool the notes of all phrases of a set (see `note_histograms`). A set with no
    notes at all (or no steps) gives NaN for that key.
    """
    gen = note_histograms(generated_notes, protocol)
    ref = note_histograms(reference_notes, protocol)
    out = {}
    for key in ("pitch", "step", "duration"):
        empty = protocol == "beats" and (gen[key].sum() == 0 or ref[key].sum() == 0)
        out[f"jsd_{key}"] = float("nan") if empty else jsd(gen[key], ref[key])
    return out
