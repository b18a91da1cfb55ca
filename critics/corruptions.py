"""The critic's validity suite: corrupted continuations it must find stranger than real ones.

Every corruption is a pure function of token ids (REMI), the tokenizer's vocabulary facts
(`TokenVocab`) and a seeded `np.random.Generator`; it changes the continuation only, so the
context stays the real one. `validity_suite` scores, on one split, the real (context,
continuation) pairs and each corrupted set with the same contexts, and reports

    auroc_<name> = P(anomaly(corrupted) > anomaly(real)) + P(tie) / 2     (metrics.two_sample.auroc)

0.5: the critic cannot tell; 1: every corrupted phrase is stranger than every real one. A sound
critic ranks random_pitch_10 < _30 < _60 < _100 (more damage, easier to see).

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
| random            | as many tokens drawn from the unigram distribution of the training data  |
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

CORRUPTIONS = (
    "random_pitch_10", "random_pitch_30", "random_pitch_60", "random_pitch_100",
    "shuffle_pitch", "tritone", "jitter", "swap", "random",
)


@dataclass(frozen=True)
class TokenVocab:
    """Per-id facts about a REMI vocabulary (-1 where a token is not of that type)."""

    pitch: np.ndarray  # id -> MIDI pitch
    pitch_id: dict  # MIDI pitch -> id
    position: np.ndarray  # id -> position in the bar
    position_id: dict  # position -> id
    bar_positions: np.ndarray  # TimeSig id -> positions in such a bar; 0 otherwise
    is_bar: np.ndarray
    special: np.ndarray  # PAD / BOS / EOS ...
    positions_per_beat: int

    @classmethod
    def from_tokenizer(cls, tokenizer) -> TokenVocab:
        n = len(tokenizer)
        names = [tokenizer[i] for i in range(n)]
        pitch = np.full(n, -1)
        position = np.full(n, -1)
        bar_positions = np.zeros(n, dtype=np.int64)
        res = max(tokenizer.config.beat_res.values())
        for i, name in enumerate(names):
            kind, _, value = name.partition("_")
            if kind == "Pitch":
                pitch[i] = int(value)
            elif kind == "Position":
                position[i] = int(value)
            elif kind == "TimeSig":
                num, den = (int(x) for x in value.split("/"))
                bar_positions[i] = num * res * 4 // den
        special = np.zeros(n, dtype=bool)
        special[list(tokenizer.special_tokens_ids)] = True
        return cls(
            pitch=pitch, pitch_id={int(p): i for i, p in enumerate(pitch) if p >= 0},
            position=position, position_id={int(p): i for i, p in enumerate(position) if p >= 0},
            bar_positions=bar_positions, is_bar=np.array([s.startswith("Bar_") for s in names]),
            special=special, positions_per_beat=int(res),
        )

    def pitches(self, ids) -> np.ndarray:
        p = self.pitch[np.asarray(ids, dtype=np.int64)]
        return p[p >= 0]


def _with_pitches(cont: np.ndarray, vocab: TokenVocab, where: np.ndarray, new_pitches) -> np.ndarray:
    out = np.array(cont, dtype=np.int64, copy=True)
    out[where] = [vocab.pitch_id[int(p)] for p in new_pitches]
    return out


def random_pitch(context, cont, vocab: TokenVocab, share: float, rng: np.random.Generator) -> np.ndarray:
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


def shuffle_pitch(cont, vocab: TokenVocab, rng: np.random.Generator) -> np.ndarray:
    """The continuation's pitches in a random order; every non-pitch token (rhythm) unchanged."""
    cont = np.asarray(cont, dtype=np.int64)
    where = np.flatnonzero(vocab.pitch[cont] >= 0)
    return _with_pitches(cont, vocab, where, rng.permutation(vocab.pitch[cont[where]]))


def tritone(cont, vocab: TokenVocab) -> np.ndarray:
    """Every pitch of the continuation moved up 6 semitones (down 6 where up leaves the range)."""
    cont = np.asarray(cont, dtype=np.int64)
    where = np.flatnonzero(vocab.pitch[cont] >= 0)
    p = vocab.pitch[cont[where]]
    new = np.where(np.isin(p + 6, list(vocab.pitch_id)), p + 6, p - 6)
    return _with_pitches(cont, vocab, where, new)


def jitter(context, cont, vocab: TokenVocab, rng: np.random.Generator, max_beats: float = 1 / 8) -> np.ndarray:
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
        raise ValueError("swap needs phrases from at least two songs; use a larger split")
    out = []
    for i in range(len(continuations)):
        others = np.flatnonzero(songs != songs[i])
        out.append(np.asarray(continuations[int(rng.choice(others))], dtype=np.int64).copy())
    return out


def unigram(token_lists: Sequence, vocab: TokenVocab) -> np.ndarray:
    """Token frequencies (special tokens excluded), a probability vector over the vocabulary."""
    counts = np.bincount(np.concatenate([np.asarray(t, dtype=np.int64) for t in token_lists]),
                         minlength=len(vocab.special)).astype(np.float64)
    counts[vocab.special] = 0
    if counts.sum() == 0:
        raise ValueError("no tokens to count for the unigram distribution")
    return counts / counts.sum()


def random_tokens(length: int, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`length` tokens drawn independently from `probs` (a unigram model)."""
    return rng.choice(len(probs), size=length, p=probs).astype(np.int64)


def corrupt(name: str, contexts, continuations, songs, vocab: TokenVocab, probs: np.ndarray, seed: int = 0) -> list[np.ndarray]:
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
        return [random_tokens(len(d), probs, rng) for d in continuations]
    raise ValueError(f"corruption {name!r}: choose one of {', '.join(CORRUPTIONS)}")


@dataclass(frozen=True)
class ValidityRow:
    name: str
    auroc: float
    anomaly: float  # mean anomaly of the corrupted (or real) phrases
    realness: float  # their mean realness


def validity_suite(critic, split, probs: np.ndarray, seed: int = 0, names: Sequence[str] = CORRUPTIONS,
                   max_phrases: int | None = None) -> list[ValidityRow]:
    """Score real and corrupted continuations of `split` (same contexts); first row: `real`.

    `swap` is left out (no row) when the split holds a single song."""
    from metrics.two_sample import auroc

    if max_phrases is not None and len(split) > max_phrases:
        split = split.subset(np.sort(np.random.default_rng(seed).choice(len(split), max_phrases, replace=False)))
    if len(split) < 2:
        raise ValueError("the validity suite needs at least two phrases; use a larger test split")
    vocab = TokenVocab.from_tokenizer(critic.tokenizer)
    contexts, continuations = split.token_lists("context"), split.token_lists("continuation")
    songs = split.arrays["song"]
    real = critic.score(contexts, continuations)
    has_realness = len(getattr(critic, "calibration", ())) > 0
    rows = [ValidityRow("real", 0.5, float(real.mean()), float(critic.realness(real).mean()) if has_realness else float("nan"))]
    for name in names:
        if name == "swap" and len(np.unique(songs)) < 2:
            continue
        scores = critic.score(contexts, corrupt(name, contexts, continuations, songs, vocab, probs, seed))
        rows.append(ValidityRow(name, auroc(scores, real), float(scores.mean()),
                                float(critic.realness(scores).mean()) if has_realness else float("nan")))
    return rows


__all__ = [
    "CORRUPTIONS", "TokenVocab", "ValidityRow", "corrupt", "jitter", "random_pitch", "random_tokens",
    "shuffle_pitch", "swap", "tritone", "unigram", "validity_suite",
]
