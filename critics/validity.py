"""The critic's validity suite: does it see what a listener hears, better than a one-liner?

On one split, the real (context, continuation) pairs and each corrupted set
(`critics.corruptions`) with the same contexts are scored by the critic and by the trivial
baselines (`critics.baselines`). Per corruption:

    auroc  = P(score(corrupted) > score(real)) + P(tie) / 2   over all pairs (metrics.two_sample.auroc)
    paired = the same over the pairs that share a context: for each context, is its corrupted
             continuation stranger than its real one (ties 1/2). The discrimination task of MIREX
             "Patterns for Prediction" (Janssen et al., 2019), which the phrases' own spread in
             surprise cannot blur.
    floor  = min(best baseline auroc + 0.05, 0.98): the critic is valid on that corruption when
             its auroc reaches it.

And at the leaderboard's level, `mixing_ladder`: rows of real continuations with a share q of
them replaced by unigram noise; a critic that measures anything gives a critic_gap rising with q.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from critics.baselines import BASELINES, baseline_scores
from critics.corruptions import CORRUPTIONS, corrupt
from metrics.two_sample import auroc, critic_gap
from phrases.dataset import held_out_halves
from phrases.errors import UserError
from phrases.unigram import Unigram

FLOOR_MARGIN, FLOOR_CAP = 0.05, 0.98


def paired_accuracy(corrupted: np.ndarray, real: np.ndarray) -> float:
    """Share of pairs (same index = same context) where the corrupted one scores higher; ties 1/2."""
    corrupted, real = np.asarray(corrupted, np.float64), np.asarray(real, np.float64)
    return float(np.mean((corrupted > real) + 0.5 * (corrupted == real)))


@dataclass(frozen=True)
class ValidityRow:
    name: str
    auroc: float
    paired: float
    anomaly: float  # mean anomaly of the corrupted (or real) phrases
    realness: float  # their mean realness
    baselines: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (auroc, paired)

    @property
    def floor(self) -> float:
        return min(max(a for a, _ in self.baselines.values()) + FLOOR_MARGIN, FLOOR_CAP) if self.baselines else 0.5

    @property
    def valid(self) -> bool:
        return self.name == "real" or self.auroc >= self.floor


def validity_suite(critic, split, unigram: Unigram, seed: int = 0, names: Sequence[str] = CORRUPTIONS,
                   max_phrases: int | None = None) -> list[ValidityRow]:
    """Score real and corrupted continuations of `split` (same contexts); first row: `real`.
    `swap` is left out (no row) when the split holds a single song."""
    if max_phrases is not None and len(split) > max_phrases:
        split = split.subset(np.sort(np.random.default_rng(seed).choice(len(split), max_phrases, replace=False)))
    if len(split) < 2:
        raise UserError("the validity suite needs at least two phrases; use a larger test split")
    vocab = critic.vocab
    contexts, continuations = split.token_lists("context"), split.token_lists("continuation")
    songs = split.arrays["song"]
    real = critic.score(contexts, continuations)
    real_base = baseline_scores(contexts, continuations, vocab, unigram)
    calibrated = len(getattr(critic, "calibration", ())) > 0

    def realness(scores):
        return float(critic.realness(scores).mean()) if calibrated else float("nan")

    rows = [ValidityRow("real", 0.5, 0.5, float(real.mean()), realness(real))]
    for name in names:
        if name == "swap" and len(np.unique(songs)) < 2:
            continue
        corrupted = corrupt(name, contexts, continuations, songs, vocab, unigram, seed)
        scores = critic.score(contexts, corrupted)
        base = baseline_scores(contexts, corrupted, vocab, unigram)
        rows.append(ValidityRow(name, auroc(scores, real), paired_accuracy(scores, real), float(scores.mean()),
                                realness(scores), {b: (auroc(base[b], real_base[b]), paired_accuracy(base[b], real_base[b]))
                                                   for b in BASELINES}))
    return rows


def validity_metrics(rows: list[ValidityRow]) -> dict[str, float]:
    """The suite as MLflow metrics: auroc_, paired_, floor_ and <baseline>_auroc_ per corruption,
    and `validity_pass` (1 when the critic reaches the floor on every corruption)."""
    out: dict[str, float] = {}
    for r in rows[1:]:
        out.update({f"auroc_{r.name}": r.auroc, f"paired_{r.name}": r.paired, f"floor_{r.name}": r.floor})
        out.update({f"{b}_auroc_{r.name}": a for b, (a, _) in r.baselines.items()})
    out["validity_pass"] = float(all(r.valid for r in rows))
    return out


def validity_table(rows: list[ValidityRow]) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows) for people: the critic beside the baselines, per corruption."""
    header = ["continuation", "critic auroc", "paired", *(f"{b} auroc" for b in BASELINES), "floor", "valid",
              "anomaly", "realness"]
    cells = []
    for r in rows:
        base = [f"{r.baselines[b][0]:.3f}" if r.baselines else "-" for b in BASELINES]
        cells.append([r.name, "-" if r.name == "real" else f"{r.auroc:.3f}", "-" if r.name == "real" else f"{r.paired:.3f}",
                      *base, "-" if r.name == "real" else f"{r.floor:.3f}", "" if r.name == "real" else
                      ("yes" if r.valid else "NO"), f"{r.anomaly:.3f}", f"{r.realness:.3f}"])
    return "critic validity suite (test split): AUROC of corrupted vs real, the baselines beside it", header, cells


SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def mixing_ladder(critic, split, unigram: Unigram, seed: int = 0, shares: Sequence[float] = SHARES,
                  max_phrases: int | None = None) -> list[tuple[float, float]]:
    """(q, critic_gap) for rows made of real continuations of `split` with a share q of them
    (chosen with `seed`) replaced by unigram noise as long as the continuation it replaces, as the
    leaderboard builds them: the rows from one half of `split`, each against the real phrases of
    the other half (`held_out_halves`). A critic that measures anything gives a gap rising with q."""
    if max_phrases is not None and len(split) > max_phrases:
        split = split.subset(np.sort(np.random.default_rng(seed).choice(len(split), max_phrases, replace=False)))
    rows, reference = (split.subset(half) for half in held_out_halves(len(split), seed))
    contexts, continuations = rows.token_lists("context"), rows.token_lists("continuation")
    rng = np.random.default_rng([seed, 7])
    noise = unigram.sample([len(c) for c in continuations], rng)
    order = rng.permutation(len(contexts))
    real_scores = critic.score(contexts, continuations)
    noise_scores = critic.score(contexts, noise)
    reference_scores = critic.score(reference.token_lists("context"), reference.token_lists("continuation"))
    out = []
    for q in shares:
        replaced = np.zeros(len(contexts), bool)
        replaced[order[: int(round(q * len(contexts)))]] = True
        out.append((float(q), critic_gap(np.where(replaced, noise_scores, real_scores), reference_scores)))
    return out
