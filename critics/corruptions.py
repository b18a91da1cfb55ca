"""Corrupted continuations a critic must find stranger than real ones (`critics.validity`).

Every corruption is a pure function of token ids (REMI), the tokenizer's vocabulary facts
(`phrases.Vocab`) and a seeded `np.random.Generator`; it changes the continuation only, so the
context stays the real one. A sound critic ranks random_pitch_10 < _30 < _60 < _100 (more
damage, easier to see).

| name              | what happens to the continuation                                         |
|-------------------|--------------------------------------------------------------------------|
| random_pitch_P    | P% of its pitches (at least one) replaced by a different pitch drawn     |
|                   | uniformly from the phrase's pitch range (min..max over context + cont.)  |
| shuffle_pitch     | its pitches permuted among its notes; rhythm (every other token) kept    |
| tritone           | every pitch +6 semitones (-6 where +6 leaves the tokenizer's range)      |
| jitter            | every onset (REMI Position token) moved by 1..k positions earlier or     |
|                   | later, k = the positions in 1/8 beat (at least 1), kept inside its bar   |
|                   | and in order                                                             |
| swap              | the continuation of a phrase from another song                           |
| random            | as many tokens drawn from the unigram model of the training phrases      |
|                   | (`phrases.Unigram`)                                                      |
"""

from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np

from phrases.errors import UserError
from phrases.unigram import Unigram
from phrases.vocab import Vocab

CORRUPTIONS = (
    "random_pitch_10", "random_pitch_30", "random_pitch_60", "random_pitch_100",
    "shuffle_pitch", "tritone", "jitter", "swap", "random",
)


def _with_pitches(cont: np.ndarray, vocab: Vocab, where: np.ndarray, new_pitches) -> np.ndarray:
    out = np.array(cont, dtype=np.int64, copy=True)
    out[where] = [vocab.pitch_id[int(p)] for p in new_pitches]
    return out


def random_pitch(context, cont, vocab: Vocab, share: float, rng: np.random.Generator) -> np.ndarray:
    """`share` of the continuation's pitches (rounded, at least one) replaced by another pitch
    drawn uniformly from the phrase's range min..max (context + continuation)."""
    cont = np.asarray(cont, dtype=np.int64)
    where = np.flatnonzero(vocab.pitch[cont] >= 0)
    if len(where) == 0:
        return cont.copy()
    pitches = vocab.pitch[cont[where]]
    everything = np.concatenate([vocab.pitches(context), pitches])
    low, high = int(everything.min()), int(everything.max())
    k = min(len(where), max(1, int(round(share * len(where)))))
    chosen = rng.choice(len(where), size=k, replace=False)
    new = pitches.copy()
    for c in chosen:
        if high > low:  # a different pitch: draw from the range without the original
            p = int(rng.integers(low, high))
            new[c] = p + 1 if p >= pitches[c] else p
    return _with_pitches(cont, vocab, where, new)


def shuffle_pitch(cont, vocab: Vocab, rng: np.random.Generator) -> np.ndarray:
    """The continuation's pitches in a random order; every non-pitch token (rhythm) unchanged."""
    cont = np.asarray(cont, dtype=np.int64)
    where = np.flatnonzero(vocab.pitch[cont] >= 0)
    return _with_pitches(cont, vocab, where, rng.permutation(vocab.pitch[cont[where]]))


def tritone(cont, vocab: Vocab) -> np.ndarray:
    """Every pitch of the continuation moved up 6 semitones (down 6 where up leaves the range)."""
    cont = np.asarray(cont, dtype=np.int64)
    where = np.flatnonzero(vocab.pitch[cont] >= 0)
    p = vocab.pitch[cont[where]]
    new = np.where(np.isin(p + 6, list(vocab.pitch_id)), p + 6, p - 6)
    return _with_pitches(cont, vocab, where, new)


def jitter(context, cont, vocab: Vocab, rng: np.random.Generator, max_beats: float = 1 / 8) -> np.ndarray:
    """Every onset (Position token) of the continuation moved by d positions, d uniform in
    {-k..k} without 0, k = max(1, floor(max_beats * positions per beat)); then clamped so that
    onsets stay inside their bar and strictly after the previous onset / before the next one."""
    cont = np.asarray(cont, dtype=np.int64)
    out = cont.copy()
    k = max(1, int(max_beats * vocab.positions_per_beat))
    # positions in the current bar: from the last TimeSig before the continuation, else 4/4
    sig = [int(vocab.bar_positions[i]) for i in np.asarray(context, dtype=np.int64) if vocab.bar_positions[i]]
    bar_len = sig[-1] if sig else 4 * vocab.positions_per_beat
    pos_idx = np.flatnonzero(vocab.position[cont] >= 0)
    bar_of = np.cumsum(vocab.is_bar[cont])  # bar number of every token
    lens = np.full(len(cont), bar_len)
    current = bar_len
    for i, t in enumerate(cont):
        if vocab.bar_positions[t]:
            current = int(vocab.bar_positions[t])
        lens[i] = current
    prev_new, prev_bar = -1, -1
    for n, i in enumerate(pos_idx):
        if bar_of[i] != prev_bar:
            prev_new, prev_bar = -1, bar_of[i]
        orig = int(vocab.position[cont[i]])
        nxt = pos_idx[n + 1] if n + 1 < len(pos_idx) else None
        upper = int(vocab.position[cont[nxt]]) - 1 if nxt is not None and bar_of[nxt] == bar_of[i] else int(lens[i]) - 1
        d = int(rng.integers(1, k + 1)) * (1 if rng.random() < 0.5 else -1)
        new = min(max(orig + d, prev_new + 1, 0), upper)
        if new not in vocab.position_id or new <= prev_new:
            new = orig
        out[i] = vocab.position_id[new]
        prev_new = new
    return out


def swap(continuations: Sequence, songs: Sequence, rng: np.random.Generator) -> list[np.ndarray]:
    """For each phrase, the continuation of a phrase drawn uniformly from the other songs."""
    songs = np.asarray(songs)
    if len(set(songs.tolist())) < 2:
        raise UserError("swap needs phrases from at least two songs; use a larger split")
    out = []
    for i in range(len(continuations)):
        others = np.flatnonzero(songs != songs[i])
        out.append(np.asarray(continuations[int(rng.choice(others))], dtype=np.int64).copy())
    return out


def corrupt(name: str, contexts, continuations, songs, vocab: Vocab, unigram: Unigram, seed: int = 0) -> list[np.ndarray]:
    """The continuations under corruption `name` (one of CORRUPTIONS), seeded."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if name.startswith("random_pitch_"):
        share = int(name.rsplit("_", 1)[1]) / 100
        return [random_pitch(c, d, vocab, share, rng) for c, d in zip(contexts, continuations)]
    if name == "shuffle_pitch":
        return [shuffle_pitch(d, vocab, rng) for d in continuations]
    if name == "tritone":
        return [tritone(d, vocab) for d in continuations]
    if name == "jitter":
        return [jitter(c, d, vocab, rng) for c, d in zip(contexts, continuations)]
    if name == "swap":
        return swap(continuations, songs, rng)
    if name == "random":
        return unigram.sample([len(d) for d in continuations], rng)
    raise UserError(f"corruption {name!r}: choose one of {', '.join(CORRUPTIONS)}")


__all__ = ["CORRUPTIONS", "corrupt", "jitter", "random_pitch", "shuffle_pitch", "swap", "tritone"]
