"""The one dataclass that says how a corpus becomes phrases, and where things live by default."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from phrases.errors import UserError

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


def data_from_options(v: dict) -> tuple[Path, PhraseConfig, Path | None]:
    """(corpus, config, cache folder) from the values of `DATA_OPTIONS`; --max-bars / --max-notes
    are set for the process (phrases.scan.set_limits)."""
    from phrases.scan import limits, set_limits

    set_limits(v.get("max_bars"), v.get("max_notes"))
    limits()  # a bad PHRASEBENCH_MAX_BARS / _NOTES is refused here, before any work
    config = PhraseConfig(tokenizer=v["tokenizer"], tracks=v["tracks"], phrase_bars=v["phrase_bars"],
                          stride_bars=v["stride"], min_notes=v["min_notes"], max_tokens=v["max_tokens"],
                          split_fractions=PhraseConfig.parse_split(v["split"]), seed=v["split_seed"],
                          transpose=v["transpose"])
    return v["corpus"] or default_corpus(), config, v["cache_dir"]


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
            raise UserError(f"--tokenizer {self.tokenizer!r}: choose one of {', '.join(TOKENIZERS)}")
        if self.tracks not in TRACK_MODES:
            raise UserError(f"--tracks {self.tracks!r}: choose one of {', '.join(TRACK_MODES)}")
        if self.protocol not in PROTOCOLS:
            raise UserError(f"protocol {self.protocol!r}: choose one of {', '.join(PROTOCOLS)}")
        if self.segment_notes < 2:
            raise UserError(f"segment_notes {self.segment_notes}: must be at least 2")
        if self.phrase_bars < 1:
            raise UserError(f"--phrase-bars {self.phrase_bars}: must be at least 1")
        if self.stride < 1:
            raise UserError(f"--stride {self.stride}: must be at least 1 bar")
        if self.min_notes < 0 or self.max_tokens < 2:
            raise UserError("--min-notes must be >= 0 and --max-tokens >= 2")
        fr = tuple(float(f) for f in self.split_fractions)
        if len(fr) != 3 or not all(math.isfinite(f) and f >= 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6 or fr[0] <= 0:
            raise UserError(
                f"--split {','.join(map(str, fr))}: give three fractions train,val,test that sum to 1"
            )
        if not 0 <= self.transpose <= 11:
            raise UserError(f"--transpose {self.transpose}: give 0..11 semitones")

    @staticmethod
    def parse_split(text: str) -> tuple[float, float, float]:
        """"0.8,0.1,0.1" -> (0.8, 0.1, 0.1); anything else is a `UserError` naming --split."""
        try:
            fractions = tuple(float(x) for x in text.split(","))
        except ValueError:
            raise UserError(f"--split {text!r}: give three fractions like 0.8,0.1,0.1") from None
        if len(fractions) != 3:
            raise UserError(f"--split {text!r}: give three fractions train,val,test that sum to 1")
        return fractions

    @property
    def stride(self) -> int:
        return self.stride_bars if self.stride_bars is not None else self.phrase_bars

    @classmethod
    def from_dict(cls, d: dict) -> PhraseConfig:
        """The inverse of `to_dict` (a cache's config.json, a checkpoint's phrase config)."""
        return cls(**{**d, "split_fractions": tuple(d["split_fractions"])})

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stride_bars"] = self.stride
        d["split_fractions"] = list(self.split_fractions)
        return d

    def digest(self) -> str:
        payload = json.dumps({"format": FORMAT_VERSION, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


# The data options of every command that reads phrases (cli.py turns them into --options):
# name -> (type, default, help, bounds); the defaults are PhraseConfig's. The same options give the
# same data_hash, so a model is found by the data it was trained on.
_P = lambda name: PhraseConfig.__dataclass_fields__[name].default  # noqa: E731
DATA_OPTIONS = {
    "corpus": (Optional[Path], None, "MIDI folder (default: $PHRASEBENCH_CORPUS or ../shared/corpora/wjazzd).", {}),
    "tokenizer": (str, _P("tokenizer"), "miditok tokenization: remi or tsd.", {}),
    "tracks": (str, _P("tracks"), "merge: all pitched tracks in one stream; melody: their skyline.", {}),
    "phrase_bars": (int, _P("phrase_bars"), "Bars in a context (the continuation has as many).", {"min": 1, "max": 64}),
    "stride": (Optional[int], _P("stride_bars"), "Bars between window starts (default: --phrase-bars).", {"min": 1, "max": 64}),
    "min_notes": (int, _P("min_notes"), "Drop windows with fewer notes in either half.", {"min": 0, "max": 1000}),
    "max_tokens": (int, _P("max_tokens"), "Drop windows longer than this (context + continuation).", {"min": 8, "max": 100_000}),
    "split": (str, ",".join(map(str, _P("split_fractions"))), "train,val,test fractions of the songs.", {}),
    "split_seed": (int, _P("seed"), "Seed of the song split (which songs are train, val, test).", {}),
    "transpose": (int, _P("transpose"), "Augment the training split by +-K semitones.", {"min": 0, "max": 11}),
    "cache_dir": (Optional[Path], None, "Cache folder (default: $PHRASEBENCH_CACHE or .cache/phrasebench).", {}),
    "max_bars": (Optional[int], None, "Skip a file longer than this many bars (default 20000, or $PHRASEBENCH_MAX_BARS).", {"min": 1}),
    "max_notes": (Optional[int], None, "Skip a file with more notes (default 200000, or $PHRASEBENCH_MAX_NOTES).", {"min": 1}),
}
