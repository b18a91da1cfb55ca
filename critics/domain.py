"""The critic's domain: the music it was trained on, as the range of a few measured properties,
so that the suite says so when it is asked to score music of another kind instead of scoring
it silently (a critic trained on monophonic jazz solos rates every polyphonic piano piece 0.000).

The unit measured is one half of a phrase (a context or a continuation: `phrase_bars` bars of
one stream of notes, the notes view of `phrases.notes`). `DomainProfile.fit` measures every half
of a critic's training split and keeps, per property, the range that real training music covers:
its `quantile` and 1 - `quantile` quantiles over the halves (0.1% and 99.9% by default). A
value is outside when it lies past that range by more than `margin` (a tenth) of the range's
width, so that a phrase a hair past the most extreme training phrases is not called foreign.
`check` measures the notes of a phrase (or the halves of a whole file, summarized by their
median, so a file is judged by its typical phrase) and names the properties outside the range.

The properties (pure functions of a notes array; `nan` where a phrase has no note):

- `polyphony`: the mean number of notes sounding at once over the time at least one sounds,
  sum(durations) / length(union of the notes' sounding intervals); 1.00 for a line that never
  holds two notes (a solo's legato overlaps give up to ~1.05), 2-4 for piano music.
- `chords`: the share of notes that start together with another note (same onset).
- `lowest_pitch`, `highest_pitch`: MIDI pitch of the lowest / highest note.
- `pitch_span`: highest - lowest pitch, semitones.
- `density`: notes per beat (quarter note) between the first onset and the last note's end
  (that time counted as at least one beat).
- `tempo`: the phrase's tempo in quarter notes per minute (where it is known).

Measured on the default corpus (README, "The critic's domain"): the Weimar Jazz Database's
training solos have polyphony 1.00-1.08 (0.1%-99.9% of their halves), the piano-midi.de pieces
1.26-5.32 (median 2.95; each piece by the median of its halves); chords, the lowest pitch, the
pitch span and the density separate part of them too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

PROPERTIES = {
    "polyphony": "mean number of notes sounding at once while any sounds (1 = one line)",
    "chords": "share of notes that start together with another note",
    "lowest_pitch": "lowest MIDI pitch",
    "highest_pitch": "highest MIDI pitch",
    "pitch_span": "highest - lowest MIDI pitch, semitones",
    "density": "notes per beat",
    "tempo": "quarter notes per minute",
}
LABELS = {"polyphony": "polyphony", "chords": "chords", "lowest_pitch": "lowest pitch",
          "highest_pitch": "highest pitch", "pitch_span": "pitch span", "density": "notes per beat",
          "tempo": "tempo"}
DIGITS = {"polyphony": 2, "chords": 2, "lowest_pitch": 0, "highest_pitch": 0, "pitch_span": 0, "density": 2,
          "tempo": 0}
MIN_DURATION = 1e-3  # beats: a note of no length still sounds for this long
QUANTILE = 0.001  # the range: this quantile and 1 - this quantile of the training halves
MARGIN = 0.1  # a value is outside when it is past the range by more than this share of its width


def polyphony(onset: np.ndarray, offset: np.ndarray) -> float:
    """sum(offset - onset) / length of the union of [onset, offset); nan for no note."""
    if len(onset) == 0:
        return math.nan
    order = np.argsort(onset, kind="stable")
    on, off = onset[order], offset[order]
    reach = np.maximum.accumulate(off)  # the latest end among the notes so far
    gaps = np.maximum(on[1:] - reach[:-1], 0.0).sum()
    union = reach[-1] - on[0] - gaps
    return float((off - on).sum() / union) if union > 0 else math.nan


def chords(onset: np.ndarray) -> float:
    """Share of notes whose onset (to 1/1000 beat) is another note's onset too; nan for no note."""
    if len(onset) == 0:
        return math.nan
    _, inverse, counts = np.unique(np.round(onset, 3), return_inverse=True, return_counts=True)
    return float(np.mean(counts[inverse] > 1))


def measure(notes: np.ndarray, tempo_qpm: float | None = None) -> dict[str, float]:
    """Every property of `PROPERTIES` for one phrase (a notes-view array; see the module
    docstring for the definitions); `nan` where undefined (no note, no tempo)."""
    out = dict.fromkeys(PROPERTIES, math.nan)
    if tempo_qpm is not None and np.isfinite(tempo_qpm) and tempo_qpm > 0:
        out["tempo"] = float(tempo_qpm)
    if len(notes) == 0:
        return out
    onset = np.asarray(notes["onset_beats"], dtype=np.float64)
    offset = onset + np.maximum(np.asarray(notes["duration_beats"], dtype=np.float64), MIN_DURATION)
    pitch = np.asarray(notes["pitch"], dtype=np.float64)
    out["polyphony"] = polyphony(onset, offset)
    out["chords"] = chords(onset)
    out["lowest_pitch"], out["highest_pitch"] = float(pitch.min()), float(pitch.max())
    out["pitch_span"] = out["highest_pitch"] - out["lowest_pitch"]
    out["density"] = float(len(notes) / max(offset.max() - onset.min(), 1.0))
    return out


def typical(measures: list[dict[str, float]]) -> dict[str, float]:
    """The median of each property over several phrases (a file's), ignoring nan."""
    out = {}
    for key in PROPERTIES:
        values = np.array([m[key] for m in measures], dtype=np.float64)
        values = values[np.isfinite(values)]
        out[key] = float(np.median(values)) if len(values) else math.nan
    return out


def split_measures(split) -> list[dict[str, float]]:
    """`measure` of every half (context, continuation) of every phrase of a `PhraseSplit`."""
    out = []
    for i in range(len(split)):
        phrase = split[i]
        out += [measure(phrase.context_notes, phrase.tempo_qpm), measure(phrase.continuation_notes, phrase.tempo_qpm)]
    return out


@dataclass
class DomainProfile:
    """The range each property covers in a critic's training music (see the module docstring)."""

    ranges: dict[str, list[float]] = field(default_factory=dict)  # property -> [low, high]
    quantile: float = QUANTILE
    margin: float = MARGIN
    halves: int = 0  # phrase halves measured
    false_alarms: float = 0.0  # share of those halves with some property outside its range

    @classmethod
    def fit(cls, split, quantile: float = QUANTILE, margin: float = MARGIN) -> DomainProfile:
        """The `quantile` and 1 - `quantile` quantiles of every property over the halves of the
        phrases of `split` (a `PhraseSplit`: the critic's training split)."""
        measures = split_measures(split)
        ranges = {}
        for key in PROPERTIES:
            values = np.array([m[key] for m in measures], dtype=np.float64)
            values = values[np.isfinite(values)]
            if len(values):
                ranges[key] = [float(np.quantile(values, quantile)), float(np.quantile(values, 1 - quantile))]
        profile = cls(ranges, quantile, margin, len(measures))
        profile.false_alarms = float(np.mean([bool(profile.outside(m)) for m in measures])) if measures else 0.0
        return profile

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> DomainProfile:
        return cls({k: [float(v[0]), float(v[1])] for k, v in d.get("ranges", {}).items()},
                   float(d.get("quantile", QUANTILE)), float(d.get("margin", MARGIN)), int(d.get("halves", 0)),
                   float(d.get("false_alarms", 0.0)))

    def outside(self, values: dict[str, float]) -> list[str]:
        """The properties whose (finite) value lies outside its range, past the margin."""
        out = []
        for key, (low, high) in self.ranges.items():
            pad = self.margin * (high - low)
            if key in values and np.isfinite(values[key]) and not low - pad <= values[key] <= high + pad:
                out.append(key)
        return out

    def describe(self, key: str, value: float | None = None) -> str:
        """"polyphony 2.99, the critic knows 1.00-1.05 (one line at a time)"; without a value,
        the range alone."""
        low, high = self.ranges[key]
        d = DIGITS[key]
        known = f"{low:.{d}f}-{high:.{d}f}"
        if key == "polyphony" and high < 1.2:
            known += " (one line at a time)"
        if value is None:
            return f"{LABELS[key]} {known}"
        return f"{LABELS[key]} {value:.{d}f}, the critic knows {known}"

    def summary(self) -> str:
        """The domain in one phrase: every property's range."""
        return "; ".join(self.describe(k) for k in self.ranges)

    def check(self, notes, tempo_qpm=None) -> list[str]:
        """The properties of `notes` outside the domain, each as a short phrase with the measured
        value and the range; [] when inside. `notes` is one phrase's notes array (with its tempo
        or None), or a list of them (a file's phrase halves, with a tempo each or None): the list
        is judged by the median of each property over its phrases."""
        return self.check_values(self.values(notes, tempo_qpm))

    @staticmethod
    def values(notes, tempo_qpm=None) -> dict[str, float]:
        """What `check` compares with the ranges (see `check`)."""
        if isinstance(notes, np.ndarray):
            return measure(notes, tempo_qpm)
        tempos = tempo_qpm if tempo_qpm is not None and not np.isscalar(tempo_qpm) else [tempo_qpm] * len(notes)
        return typical([measure(n, t) for n, t in zip(notes, tempos)])

    def check_values(self, values: dict[str, float]) -> list[str]:
        return [self.describe(k, values[k]) for k in self.outside(values)]


def critic_profile(critic, data=None) -> tuple[DomainProfile | None, str]:
    """The domain profile to check `critic`'s input against, and where it comes from: the one
    the critic carries (`critic.domain`); else, when `data` (a `PhraseData`) is the data the
    critic was trained on (same `data_hash`), one fitted on its training split; else (None,
    "domain unknown ...")."""
    carried = getattr(critic, "domain", None) or {}
    if carried:
        return DomainProfile.from_dict(carried), "carried by the critic"
    if data is not None and getattr(critic, "data_hash", "") and critic.data_hash == data.data_hash:
        return DomainProfile.fit(data.train), f"fitted on the training split of data {data.data_hash}"
    return None, ("domain unknown: the critic carries no profile of the music it was trained on, and this data "
                  "is not its training data, so nothing says whether these files are music it knows")


__all__ = ["DomainProfile", "PROPERTIES", "critic_profile", "measure", "typical"]
