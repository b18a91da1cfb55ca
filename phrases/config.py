"""The one dataclass that says how a corpus becomes phrases, and where things live by default."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "wjazzd"
PIANOMIDI_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "pianomidi"
DEFAULT_CACHE = Path(".cache") / "phrasebench"

# Bump when the on-disk layout or the meaning of a field changes: old caches are then rebuilt.
FORMAT_VERSION = 2

TOKENIZERS = ("remi", "tsd")
TRACK_MODES = ("merge", "melody")
PROTOCOLS = ("bars", "csc413")
SPLITS = ("train", "val", "test")


def default_corpus() -> Path:
    """`PHRASEBENCH_CORPUS` when set, else the Weimar Jazz Database beside the repository."""
    return Path(os.environ.get("PHRASEBENCH_CORPUS") or DEFAULT_CORPUS)


def default_cache_dir() -> Path:
    """`PHRASEBENCH_CACHE` when set, else `.cache/phrasebench` in the working directory."""
    return Path(os.environ.get("PHRASEBENCH_CACHE") or DEFAULT_CACHE)


@dataclass(frozen=True)
class PhraseConfig:
    """Everything that decides the phrase data; its hash (with the files) is the `data_hash`."""

    tokenizer: str = "remi"
    tracks: str = "merge"
    phrase_bars: int = 4
    stride_bars: int | None = None  # None: phrase_bars (windows overlap by half)
    min_notes: int = 4
    max_tokens: int = 512
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    transpose: int = 0
    protocol: str = "bars"  # bars: windows of 2 x phrase_bars; csc413: see phrases/segments.py
    segment_notes: int = 64  # csc413 only: notes per segment

    @classmethod
    def csc413(cls, **overrides) -> PhraseConfig:
        """The CSC413 report's protocol: first instrument, 64-note segments, songs 60/20/20, seed 42."""
        return cls(**{"protocol": "csc413", "split_fractions": (0.6, 0.2, 0.2), "seed": 42, "min_notes": 0,
                      **overrides})

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"--tokenizer {self.tokenizer!r}: choose one of {', '.join(TOKENIZERS)}")
        if self.tracks not in TRACK_MODES:
            raise ValueError(f"--tracks {self.tracks!r}: choose one of {', '.join(TRACK_MODES)}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r}: choose one of {', '.join(PROTOCOLS)}")
        if self.segment_notes < 2:
            raise ValueError(f"segment_notes {self.segment_notes}: must be at least 2")
        if self.phrase_bars < 1:
            raise ValueError(f"--phrase-bars {self.phrase_bars}: must be at least 1")
        if self.stride < 1:
            raise ValueError(f"--stride {self.stride}: must be at least 1 bar")
        if self.min_notes < 0 or self.max_tokens < 2:
            raise ValueError("--min-notes must be >= 0 and --max-tokens >= 2")
        fr = tuple(float(f) for f in self.split_fractions)
        if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1.0) > 1e-6 or fr[0] <= 0:
            raise ValueError(
                f"--split {','.join(map(str, fr))}: give three fractions train,val,test that sum to 1"
            )
        if not 0 <= self.transpose <= 11:
            raise ValueError(f"--transpose {self.transpose}: give 0..11 semitones")

    @property
    def stride(self) -> int:
        return self.stride_bars if self.stride_bars is not None else self.phrase_bars

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stride_bars"] = self.stride
        d["split_fractions"] = list(self.split_fractions)
        return d

    def digest(self) -> str:
        payload = json.dumps({"format": FORMAT_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()
