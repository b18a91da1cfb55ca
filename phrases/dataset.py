"""The phrase data as it sits in memory and on disk: one `PhraseSplit` per split.

Ragged data (token ids, notes) is stored flat with offsets, so a split loads as a handful of
NumPy arrays, saved with `np.savez` and read back with `allow_pickle=False`: nothing in the
cache can execute code when loaded.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from phrases.config import SPLITS, PhraseConfig
from phrases.files import file_sha256, temp_path
from phrases.notes import NOTE_DTYPE

RAGGED = ("context", "continuation", "context_notes", "continuation_notes")
FLAT = ("song", "start_bar", "transpose", "tempo_qpm", "song_end")
ARRAY_KEYS = {*RAGGED, *(f"{k}_offsets" for k in RAGGED), *FLAT}


def _ragged(parts: list[np.ndarray], dtype) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in parts])
    flat = np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
    return flat, offsets


def held_out_halves(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices of a held-out split's `n` phrases cut in two by a permutation seeded with
    `seed` (the first half has the odd one): contexts to continue, and the reference their
    continuations are compared with. Both halves come from the same songs, so real continuations
    score like the reference; against another split they carry that split's song shift (the real
    test row's critic_gap was 0.16 against the validation phrases)."""
    order = np.random.default_rng([seed, 1]).permutation(n)
    return np.sort(order[: (n + 1) // 2]), np.sort(order[(n + 1) // 2:])


@dataclass(frozen=True)
class Phrase:
    """One window: context + continuation, as token ids and as notes."""

    context: np.ndarray
    continuation: np.ndarray
    context_notes: np.ndarray
    continuation_notes: np.ndarray
    song: str
    start_bar: int
    transpose: int
    tempo_qpm: float
    song_end: bool = False  # the window's last bar is its song's last: nothing follows the continuation

    @property
    def tokens(self) -> np.ndarray:
        return np.concatenate([self.context, self.continuation])


class PhraseSplit:
    """The windows of one split. `split[i]` is a `Phrase`; arrays are shared, not copied."""

    def __init__(self, arrays: dict[str, np.ndarray], songs: np.ndarray) -> None:
        self.arrays = arrays
        self.songs = songs

    @classmethod
    def from_windows(
        cls, windows: dict[str, list], songs: np.ndarray
    ) -> PhraseSplit:
        arrays: dict[str, np.ndarray] = {}
        for name in RAGGED:
            dtype = NOTE_DTYPE if name.endswith("notes") else np.int32
            arrays[name], arrays[name + "_offsets"] = _ragged(windows[name], dtype)
        arrays["song"] = np.asarray(windows["song"], dtype=np.int32)
        arrays["start_bar"] = np.asarray(windows["start_bar"], dtype=np.int32)
        arrays["transpose"] = np.asarray(windows["transpose"], dtype=np.int8)
        arrays["tempo_qpm"] = np.asarray(windows["tempo_qpm"], dtype=np.float32)
        arrays["song_end"] = np.asarray(windows["song_end"], dtype=bool)
        return cls(arrays, songs)

    def __len__(self) -> int:
        return len(self.arrays["song"])

    def _slice(self, name: str, i: int) -> np.ndarray:
        off = self.arrays[name + "_offsets"]
        return self.arrays[name][off[i] : off[i + 1]]

    def __getitem__(self, i: int) -> Phrase:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return Phrase(
            context=self._slice("context", i),
            continuation=self._slice("continuation", i),
            context_notes=self._slice("context_notes", i),
            continuation_notes=self._slice("continuation_notes", i),
            song=str(self.songs[self.arrays["song"][i]]),
            start_bar=int(self.arrays["start_bar"][i]),
            transpose=int(self.arrays["transpose"][i]),
            tempo_qpm=float(self.arrays["tempo_qpm"][i]),
            song_end=bool(self.arrays["song_end"][i]),
        )

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def token_lists(self, part: str = "both") -> list[np.ndarray]:
        """Token ids per window: "context", "continuation", or "both" (context + continuation)."""
        if part == "both":
            return [np.concatenate([c, d]) for c, d in zip(self.token_lists("context"), self.token_lists("continuation"))]
        off = self.arrays[part + "_offsets"]
        return np.split(self.arrays[part], off[1:-1]) if len(self) else []

    def song_names(self) -> set[str]:
        return {str(self.songs[s]) for s in np.unique(self.arrays["song"])}

    @property
    def num_tokens(self) -> int:
        return int(len(self.arrays["context"]) + len(self.arrays["continuation"]))

    def subset(self, indices) -> PhraseSplit:
        """A new split holding the windows at `indices`, in that order."""
        return PhraseSplit.from_windows(
            {
                **{name: [self._slice(name, int(i)) for i in indices] for name in RAGGED},
                **{name: self.arrays[name][np.asarray(indices, dtype=np.int64)] for name in FLAT},
            },
            self.songs,
        )


@dataclass
class PhraseData:
    """The prepared phrases of one corpus and config, identified by `data_hash`."""

    path: Path
    data_hash: str
    config: PhraseConfig
    songs: np.ndarray
    splits: dict[str, PhraseSplit]
    report: dict

    @property
    def train(self) -> PhraseSplit:
        return self.splits["train"]

    @property
    def val(self) -> PhraseSplit:
        return self.splits["val"]

    @property
    def test(self) -> PhraseSplit:
        return self.splits["test"]

    @cached_property
    def tokenizer(self):
        from phrases.tokenizer import load_tokenizer

        return load_tokenizer(self.path)

    def save(self, tokenizer) -> None:
        """Write atomically: into a temporary folder beside the target, then one rename.

        The same data_hash means the same content, so when another process got there first its
        copy is kept.
        """
        from phrases.tokenizer import save_tokenizer

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(self.path)
        tmp.mkdir()
        try:
            arrays = {"songs": self.songs}
            for split, data in self.splits.items():
                arrays.update({f"{split}/{k}": v for k, v in data.arrays.items()})
            np.savez(tmp / "phrases.npz", **arrays)
            self.report["checksum"] = file_sha256(tmp / "phrases.npz")
            (tmp / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2))
            save_tokenizer(tokenizer, tmp)
            (tmp / "report.json").write_text(json.dumps(self.report, indent=2))  # last: it marks the copy whole
            if self.path.exists():  # a rebuild: move the old copy out of the way first
                old = temp_path(self.path)
                os.replace(self.path, old)
                shutil.rmtree(old, ignore_errors=True)
            try:
                os.replace(tmp, self.path)
            except OSError:
                if not self.path.exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: Path) -> PhraseData:
        """Load a cache folder and verify it: the arrays' checksum, every array of every split, the
        config, the tokenizer. Anything wrong raises (the caller rebuilds)."""
        from phrases.tokenizer import load_tokenizer

        path = Path(path)
        report = json.loads((path / "report.json").read_text())
        if file_sha256(path / "phrases.npz") != report["checksum"]:
            raise ValueError("the arrays do not match the checksum in report.json")
        cfg = PhraseConfig.from_dict(json.loads((path / "config.json").read_text()))
        with np.load(path / "phrases.npz", allow_pickle=False) as z:
            songs = z["songs"]
            splits = {}
            for s in SPLITS:
                arrays = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(s + "/")}
                if set(arrays) != ARRAY_KEYS:
                    raise ValueError(f"split {s} holds arrays {sorted(arrays)}")
                splits[s] = PhraseSplit(arrays, songs)
        data = cls(path, report["data_hash"], cfg, songs, splits, report)
        data.__dict__["tokenizer"] = load_tokenizer(path)  # the cached_property, checked now
        return data
