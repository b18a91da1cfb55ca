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

The bland side (`bland_suite`): the rule-made continuations of `critics.degenerate` (loops, one- and
two-pitch lines, mechanical rhythm, runs, echoes, collapse, copies, another context's truth) against
the real ones, by the primary score and by the trivial statistics that catch them
(`metrics.degeneracy`). The primary score of the leaderboard is the worst of three gaps, the
critic's anomaly, its blandness (`critics.blandness`) and its misfit to the context
(`critics.context_fit`), each two-sided; its AUROC-equivalent on a set of phrases is

    primary = 1/2 + max(|auroc(anomaly) - 1/2|, |auroc(blandness) - 1/2|, |auroc(misfit) - 1/2|)

so that primary_gap = 2 (primary - 1/2). A family is caught when `primary` reaches its floor
(best trivial statistic + 0.05, at most 0.98); the strange side keeps the critic's own AUROC
against its floor, as before.

And at the leaderboard's level, `mixing_ladder`: rows of real continuations with a share q of
them replaced by unigram noise; a critic that measures anything gives a critic_gap rising with q.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from critics.baselines import baseline_scores
from critics.corruptions import CORRUPTIONS, corrupt
from critics.degenerate import FAMILIES, degenerate
from critics.sides import other_sides
from metrics.degeneracy import DEGENERACY
from metrics.plagiarism import TrainingPatterns
from metrics.two_sample import auroc, critic_gap
from phrases.config import PhraseConfig
from phrases.dataset import held_out_halves
from phrases.decode import decode_phrase
from phrases.errors import UserError
from phrases.unigram import Unigram

FLOOR_MARGIN, FLOOR_CAP = 0.05, 0.98


def paired_accuracy(corrupted: np.ndarray, real: np.ndarray) -> float:
    """Share of pairs (same index = same context) where the corrupted one scores higher; ties 1/2."""
    corrupted, real = np.asarray(corrupted, np.float64), np.asarray(real, np.float64)
    return float(np.mean((corrupted > real) + 0.5 * (corrupted == real)))


def primary_auroc(*aurocs: float) -> float:
    """1/2 + the largest distance from 1/2 of the sides' AUROCs (a side the critic lacks, NaN, left
    out): the primary score's (see the module)."""
    return 0.5 + max((abs(a - 0.5) for a in aurocs if not np.isnan(a)), default=0.0)


@dataclass(frozen=True)
class ValidityRow:
    name: str
    auroc: float  # what the floor is checked against: the critic's (strange side), the primary score's (bland side)
    paired: float
    anomaly: float  # mean anomaly of the corrupted (or real) phrases
    realness: float  # their mean realness
    baselines: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (auroc, paired)
    primary: float = float("nan")  # the primary score's AUROC-equivalent
    bland: float = float("nan")  # the blandness AUROC
    critic: float = float("nan")  # the critic anomaly's AUROC
    misfit: float = float("nan")  # the context misfit's AUROC

    @property
    def floor(self) -> float:
        return min(max(a for a, _ in self.baselines.values()) + FLOOR_MARGIN, FLOOR_CAP) if self.baselines else 0.5

    @property
    def valid(self) -> bool:
        return self.name == "real" or self.auroc >= self.floor


def _subsample(split, max_phrases: int | None, seed: int):
    if max_phrases is not None and len(split) > max_phrases:
        return split.subset(np.sort(np.random.default_rng(seed).choice(len(split), max_phrases, replace=False)))
    return split


def _sides(critic, split, continuations, training: TrainingPatterns, seed: int = 0):
    """(blandness, misfit, degeneracy statistics) of `continuations` after the contexts of `split`,
    decoded as a leaderboard row is (`critics.sides`); a side the critic lacks is NaN."""
    bars = int(critic.phrase_config.get("phrase_bars", 4))
    decoded = [decode_phrase(critic.tokenizer, c, k, t, bars) for c, k, t in
               zip(split.token_lists("context"), continuations, split.arrays["tempo_qpm"])]
    bland, misfit, stats = other_sides(getattr(critic, "blandness", None), getattr(critic, "context_fit", None),
                                       decoded, training, seed)
    nan = np.full(len(continuations), np.nan)
    return (nan if bland is None else bland), (nan if misfit is None else misfit), stats


def validity_suite(critic, split, unigram: Unigram, seed: int = 0, names: Sequence[str] = CORRUPTIONS,
                   max_phrases: int | None = None, training: TrainingPatterns | None = None) -> list[ValidityRow]:
    """Score real and corrupted continuations of `split` (same contexts); first row: `real`.
    `swap` is left out (no row) when the split holds a single song. With the training split's
    patterns, each row also gets the primary score's AUROC."""
    split = _subsample(split, max_phrases, seed)
    if len(split) < 2:
        raise UserError("the validity suite needs at least two phrases; use a larger test split")
    vocab = critic.vocab
    contexts, continuations = split.token_lists("context"), split.token_lists("continuation")
    songs = split.arrays["song"]
    real = critic.score(contexts, continuations)
    real_base = baseline_scores(contexts, continuations, vocab, unigram)
    calibrated = len(getattr(critic, "calibration", ())) > 0
    sides = (lambda conts: _sides(critic, split, conts, training, seed)[:2]) if training is not None else None
    real_sides = sides(continuations) if sides else None

    def realness(scores):
        return float(critic.realness(scores).mean()) if calibrated else float("nan")

    rows = [ValidityRow("real", 0.5, 0.5, float(real.mean()), realness(real))]
    for name in names:
        if name == "swap" and len(np.unique(songs)) < 2:
            continue
        corrupted = corrupt(name, contexts, continuations, songs, vocab, unigram, seed)
        scores = critic.score(contexts, corrupted)
        base = baseline_scores(contexts, corrupted, vocab, unigram)
        a = auroc(scores, real)
        b, f = ((_auroc_or_nan(mine, real) for mine, real in zip(sides(corrupted), real_sides)) if sides else
                (float("nan"),) * 2)
        rows.append(ValidityRow(name, a, paired_accuracy(scores, real), float(scores.mean()), realness(scores),
                                {k: (auroc(base[k], real_base[k]), paired_accuracy(base[k], real_base[k])) for k in base},
                                primary_auroc(a, b, f) if sides else float("nan"), b, a, f))
    return rows


def _auroc_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    return float("nan") if np.isnan(a).any() or np.isnan(b).any() else auroc(a, b)


def bland_suite(critic, split, train, seed: int = 0, names: Sequence[str] = FAMILIES,
                max_phrases: int | None = None, training: TrainingPatterns | None = None) -> list[ValidityRow]:
    """The bland side: real and rule-made continuations (`critics.degenerate`) of `split`'s
    contexts, by the primary score, the critic's anomaly, its blandness and each trivial
    statistic (`metrics.degeneracy`; higher = more degenerate); first row: `real`. `train` is
    the training split (what the copy families copy; `training`, its patterns, is built from it
    when not given). Families that need two songs are left out of a one-song split."""
    if getattr(critic, "blandness", None) is None:
        raise UserError("this critic has no bland side (a critic from before it): train it again with train-critic")
    split = _subsample(split, max_phrases, seed)
    if len(split) < 2:
        raise UserError("the validity suite needs at least two phrases; use a larger test split")
    training = training or TrainingPatterns.from_split(train)
    config = PhraseConfig.from_dict(critic.phrase_config)
    calibrated = len(getattr(critic, "calibration", ())) > 0

    def measure(continuations):
        return (critic.score(split.token_lists("context"), continuations),
                *_sides(critic, split, continuations, training, seed))

    real_anomaly, real_bland, real_misfit, real_stats = measure(split.token_lists("continuation"))
    realness = (lambda s: float(critic.realness(s).mean())) if calibrated else (lambda s: float("nan"))
    rows = [ValidityRow("real", 0.5, 0.5, float(real_bland.mean()), realness(real_anomaly), primary=0.5, bland=0.5,
                        critic=0.5, misfit=0.5)]
    for name in names:
        if name == "other_context" and len(np.unique(split.arrays["song"])) < 2:
            continue
        anomaly, bland, misfit, stats = measure(degenerate(name, split, train, critic.tokenizer, config, seed))
        a, b, f = auroc(anomaly, real_anomaly), auroc(bland, real_bland), _auroc_or_nan(misfit, real_misfit)
        rows.append(ValidityRow(name, primary_auroc(a, b, f), paired_accuracy(bland, real_bland), float(bland.mean()),
                                realness(anomaly), {k: (auroc(stats[k], real_stats[k]),
                                                        paired_accuracy(stats[k], real_stats[k])) for k in DEGENERACY},
                                primary_auroc(a, b, f), b, a, f))
    return rows


def validity_metrics(rows: list[ValidityRow], *more: list[ValidityRow]) -> dict[str, float]:
    """The suites as MLflow metrics: auroc_, paired_, floor_, primary_auroc_, bland_auroc_ and
    <baseline>_auroc_ per corruption or family, and `validity_pass` (1 when every row reaches its
    floor)."""
    out: dict[str, float] = {}
    everything = [*rows, *(r for suite in more for r in suite)]
    for r in everything:
        if r.name == "real":
            continue
        out.update({f"auroc_{r.name}": r.auroc, f"paired_{r.name}": r.paired, f"floor_{r.name}": r.floor})
        out.update({f"{k}_auroc_{r.name}": v for k, v in (("primary", r.primary), ("bland", r.bland),
                                                                    ("misfit", r.misfit)) if not np.isnan(v)})
        out.update({f"{b}_auroc_{r.name}": a for b, (a, _) in r.baselines.items()})
    out["validity_pass"] = float(all(r.valid for r in everything))
    return out


def _f(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.3f}"


def validity_table(rows: list[ValidityRow]) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows) for people: the critic and the primary score beside the baselines."""
    names = next((list(r.baselines) for r in rows if r.baselines), [])
    header = ["continuation", "critic auroc", "primary", "paired", *(f"{b} auroc" for b in names), "floor", "valid",
              "anomaly", "realness"]
    cells = []
    for r in rows:
        real = r.name == "real"
        base = [f"{r.baselines[b][0]:.3f}" if r.baselines else "-" for b in names]
        cells.append([r.name, "-" if real else _f(r.auroc), "-" if real else _f(r.primary), "-" if real else _f(r.paired),
                      *base, "-" if real else f"{r.floor:.3f}", "" if real else ("yes" if r.valid else "NO"),
                      f"{r.anomaly:.3f}", f"{r.realness:.3f}"])
    return ("critic validity suite, strange side (test split): AUROC of corrupted vs real, the baselines beside it",
            header, cells)


def bland_table(rows: list[ValidityRow]) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows) for people: the bland side, the primary score beside its parts and the
    trivial statistics."""
    header = ["continuation", "primary", "critic auroc", "bland auroc", "misfit auroc", "paired", *DEGENERACY, "floor",
              "valid", "blandness", "realness"]
    cells = []
    for r in rows:
        real = r.name == "real"
        base = [f"{r.baselines[b][0]:.3f}" if r.baselines else "-" for b in DEGENERACY]
        cells.append([r.name, *(("-",) * 5 if real else (_f(r.primary), _f(r.critic), _f(r.bland), _f(r.misfit),
                                                          _f(r.paired))), *base,
                      "-" if real else f"{r.floor:.3f}", "" if real else ("yes" if r.valid else "NO"),
                      f"{r.anomaly:.3f}", f"{r.realness:.3f}"])
    return ("critic validity suite, bland side (test split): AUROC of rule-made vs real continuations by the primary "
            "score (the worst of the critic's, the blandness and the misfit gap), the trivial statistics beside it", header, cells)


def markdown(table: tuple[str, list[str], list[list[str]]]) -> str:
    """A (title, header, rows) table of this module as its title and a markdown table."""
    title, header, rows = table
    lines = [title, "| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def mixing_ladder(critic, split, unigram: Unigram, seed: int = 0, shares: Sequence[float] = SHARES,
                  max_phrases: int | None = None) -> list[tuple[float, float]]:
    """(q, critic_gap) for rows made of real continuations of `split` with a share q of them
    (chosen with `seed`) replaced by unigram noise as long as the continuation it replaces, as the
    leaderboard builds them: the rows from one half of `split`, each against the real phrases of
    the other half (`held_out_halves`). A critic that measures anything gives a gap rising with q."""
    split = _subsample(split, max_phrases, seed)
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
