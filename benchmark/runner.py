"""`benchmark`: every generator continues the same test contexts; the critic and the metrics
score each row against the reference set; one MLflow run per row.

Rows: one per generator, plus two reference rows in every leaderboard: `real` (the true
continuations of the test contexts: the noise floor) and `random` (unigram token samples: the
floor). The reference set is the real phrases of the validation split (context + true
continuation), never the test contexts themselves.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmark.judging import judge_metrics
from benchmark.leaderboard import rank_key
from benchmark.options import BenchmarkOptions
from benchmark.row_profile import profile_metrics
from critics.blandness import fit_blandness
from critics.judge import JudgeScale
from critics.sides import other_sides
from metrics import (
    TrainingPatterns, auroc, bootstrap, c2st_auroc, critic_gap_interval, descriptor_matrix, fcd, jsd_metrics, with_ci,
)
from metrics.fidelity import density_coverage, knn_radii
from metrics.profile import profile_matrix
from metrics.ranking import tie_groups
from phrases.dataset import held_out_halves
from phrases.decode import decode_phrase
from phrases.errors import UserError
from phrases.unigram import Unigram
from phrases.vocab import Vocab

REFERENCE_ROWS = ("real", "random")
UNIT, POSITIVE = (0.0, 1.0), (0.0, np.inf)  # the ranges intervals are cut to


@dataclass
class Row:
    """One leaderboard row: the continuations of one generator (or reference) and its scores."""

    name: str
    continuations: list[list[int]] = field(default_factory=list)
    nll: list[np.ndarray] | None = None
    generator_run_id: str = ""
    status: str = "ok"
    error: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    per_phrase: dict[str, np.ndarray] = field(default_factory=dict)
    decoded: list = field(default_factory=list)
    seconds: float = 0.0
    source: str = "trained"  # trained / imported / reference
    tags: dict[str, str] = field(default_factory=dict)  # more MLflow tags: budget, import_dir, ...


@dataclass
class BenchmarkResult:
    benchmark_id: str
    rows: list[Row]
    context_index: np.ndarray
    stage_seconds: dict[str, float]
    critic: object = None  # validity.CriticFacts
    command: str = ""
    report: object = None  # Path of the HTML report, once written
    entries: list = field(default_factory=list)  # (name, status, metrics with rank, tags): as logged


def select_contexts(n_test: int, n: int, seed: int) -> np.ndarray:
    """`n` test-window indices from the context half of the test split (`held_out_halves`),
    seeded; the same for every generator of a benchmark."""
    pool, _ = held_out_halves(n_test, seed)
    return np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False))


class Benchmark:
    """Holds what every row is scored against: reference phrases, critic, training patterns."""

    def __init__(self, data, critic, options: BenchmarkOptions, log: Callable[[str], None] = print,
                 judge=None) -> None:
        self.data, self.critic, self.options, self.log = data, critic, options, log
        self.critic_tags: dict[str, str] = {}  # which critic measured: run id, file sha256, source
        self.tokenizer = data.tokenizer
        self.stage_seconds: dict[str, float] = {}
        with self._stage("reference"):
            test = data.test
            if len(test) < 2:
                raise UserError(f"the test split has {len(test)} phrase(s); a benchmark needs at least 2 "
                                "(contexts and a reference): prepare more files or a larger --split")
            self.context_index = select_contexts(len(test), options.contexts, options.seed)
            reps = np.repeat(self.context_index, options.samples)
            self.phrases = test.subset(reps)
            self.contexts = self.phrases.token_lists("context")
            self.true_continuations = self.phrases.token_lists("continuation")
            self.tempos = self.phrases.arrays["tempo_qpm"]
            _, ref_index = held_out_halves(len(test), options.seed)
            ref = test.subset(ref_index)
            analysis = critic.analyze(ref.token_lists("context"), ref.token_lists("continuation"))
            self.ref_scores, self.ref_embed = analysis.anomaly, analysis.embedding
            self.ref_notes = [ref[i].continuation_notes for i in range(len(ref))]
            self.ref_features = self._features(self.ref_embed, self.ref_notes)
            self.ref_profile = profile_matrix(self.ref_notes, data.config.phrase_bars,
                                              contexts=[ref[i].context_notes for i in range(len(ref))])
            self.patterns = TrainingPatterns.from_split(data.train)
            self.vocab = Vocab.of(self.tokenizer)
            self.unigram = Unigram.fit(data.train, self.vocab)
            self.blandness = getattr(critic, "blandness", None)
            if self.blandness is None:  # a critic from before the bland side: the same fit, made here
                log("critic: no blandness reference in its file; fitting one on the validation split")
                self.blandness = fit_blandness(self.tokenizer, data.val, self.patterns, data.config.phrase_bars)
            ref_decoded = [decode_phrase(self.tokenizer, c, k, t, data.config.phrase_bars) for c, k, t in
                           zip(ref.token_lists("context"), ref.token_lists("continuation"), ref.arrays["tempo_qpm"])]
            self.context_fit = getattr(critic, "context_fit", None)  # None: a critic from before the context side
            self.ref_bland, self.ref_misfit, ref_stats = other_sides(self.blandness, self.context_fit, ref_decoded,
                                                                     self.patterns, options.seed)
            self.judge = None if judge is None else JudgeScale(  # the judge's sides of the same reference
                judge, ref.token_lists("context"), ref.token_lists("continuation"), ref_decoded, ref_stats)
            self.ref_radii = knn_radii(self.ref_embed)

    def sides(self, row: Row) -> tuple[np.ndarray, ...]:
        """The per-phrase scores the primary score reads, in the order of `self.ref_sides`."""
        p = row.per_phrase
        return (p["anomaly"], p["blandness"]) + ((p["misfit"],) if self.context_fit is not None else ())

    @property
    def ref_sides(self) -> tuple[np.ndarray, ...]:
        return (self.ref_scores, self.ref_bland) + ((self.ref_misfit,) if self.context_fit is not None else ())

    @contextmanager
    def _stage(self, name: str):
        """Adds the block's wall time to `stage_seconds[name]`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.perf_counter() - start

    def _features(self, embeddings: np.ndarray, notes: list[np.ndarray]) -> np.ndarray:
        """What the two-sample classifier sees: critic latent means + musical descriptors."""
        desc = np.nan_to_num(descriptor_matrix(notes, n_bars=self.data.config.phrase_bars))
        return np.hstack([embeddings, desc])

    # -- rows ---------------------------------------------------------------------------------
    def reference_rows(self) -> list[Row]:
        real = Row("real", [list(map(int, c)) for c in self.true_continuations], source="reference")
        lengths = [len(c) for c in self.true_continuations]
        samples = self.unigram.sample(lengths, np.random.default_rng(self.options.seed))
        random = Row("random", [s.tolist() for s in samples], source="reference")
        # the nll of the true continuations and their end token, as a generator's nll counts them
        truth = self.data.test.subset(self.context_index).token_lists("continuation")
        random.nll = self.unigram.nll([np.append(c, self.vocab.eos) for c in truth])
        return [real, random]

    def generator_row(self, name: str, generator, run_id: str) -> Row:
        """Generate and score; any exception marks the row failed instead of ending the benchmark."""
        from generators.base import Length

        row = Row(name, generator_run_id=run_id)
        start = time.perf_counter()
        try:
            with self._stage(f"generate {name}"):
                row.continuations = generator.generate(
                    self.contexts, Length(bars=self.data.config.phrase_bars), self.options.temperature,
                    self.options.top_p, self.options.seed)
            with self._stage(f"nll {name}"):
                unique = self.data.test.subset(self.context_index)
                row.nll = generator.nll(unique)
        except Exception as e:  # a broken generator must not take the leaderboard down
            row.status, row.error = "failed", f"{type(e).__name__}: {e}"[:500]
        row.seconds = time.perf_counter() - start
        return row

    def score(self, row: Row) -> Row:
        """Every leaderboard metric of a row, with bootstrap intervals."""
        if row.status != "ok":
            return row
        o = self.options
        with self._stage("score"):
            row.decoded = [decode_phrase(self.tokenizer, c, k, t, self.data.config.phrase_bars)
                           for c, k, t in zip(self.contexts, row.continuations, self.tempos)]
            notes = [d.continuation_notes for d in row.decoded]
            analysis = self.critic.analyze(self.contexts, row.continuations)
            scores, embed = analysis.anomaly, analysis.embedding
            realness = self.critic.realness(scores)
            m: dict[str, float] = {}
            bland, misfit, stats = other_sides(self.blandness, self.context_fit, row.decoded, self.patterns, o.seed)
            gaps = {}
            for key, mine, ref in (("critic_gap", scores, self.ref_scores), ("bland_gap", bland, self.ref_bland),
                                   ("misfit_gap", misfit, self.ref_misfit)):
                if mine is None:
                    continue
                gaps[key] = critic_gap_interval(bootstrap(auroc, mine, ref, n_boot=o.n_boot, seed=o.seed))
                m.update(with_ci(key, gaps[key], UNIT))
            # the worst of the validated gaps; max is monotone, so the ends of its interval are the
            # maxima of the gaps' intervals' ends
            m.update(with_ci("primary_gap", tuple(max(g[i] for g in gaps.values()) for i in range(3)), UNIT))
            if self.judge is not None:  # the judge's primary gap beside it (benchmark/judging.py)
                sides = self.judge.sides(self.contexts, row.continuations, row.decoded, stats)
                primary = tuple(m[k] for k in ("primary_gap", "primary_gap_ci_low", "primary_gap_ci_high"))
                m.update(judge_metrics(primary, self.judge.gap(sides, o.n_boot, o.seed)))
                row.tags["judge_sha"] = self.judge.sha256
            copied = (stats["copied_run"] >= COPIED) & (np.array([len(n) for n in notes]) >= self.patterns.n)
            m.update(with_ci("copy_share", bootstrap(np.mean, copied.astype(float), n_boot=o.n_boot, seed=o.seed), UNIT))
            m.update(with_ci("sameness", bootstrap(np.mean, stats["sameness"], n_boot=o.n_boot, seed=o.seed), UNIT))
            m.update(with_ci("coverage", bootstrap(lambda e: density_coverage(self.ref_embed, e, radii=self.ref_radii)[1],
                                                   embed, n_boot=o.n_boot, seed=o.seed), UNIT))
            m.update(with_ci("realness", bootstrap(np.mean, realness, n_boot=o.n_boot, seed=o.seed), UNIT))
            m.update(with_ci("anomaly", bootstrap(np.mean, scores, n_boot=o.n_boot, seed=o.seed)))
            if row.nll is not None:
                m.update(with_ci("nll", bootstrap(_pooled_mean, row.nll, n_boot=o.n_boot, seed=o.seed), POSITIVE))
            jsd = bootstrap(lambda a, b: jsd_metrics(a, b), notes, self.ref_notes, n_boot=o.n_boot, seed=o.seed,
                            method="basic")
            for key, interval in jsd.items():
                m.update(with_ci(key, interval, UNIT))
            m.update(with_ci("copy_rate", bootstrap(self.patterns.copy_rate, notes, n_boot=o.n_boot, seed=o.seed), UNIT))
            m.update(with_ci("fcd", bootstrap(fcd, embed, self.ref_embed, n_boot=o.n_boot, seed=o.seed, method="basic"),
                             POSITIVE))
            m["c2st_auroc"] = c2st_auroc(self._features(embed, notes), self.ref_features, seed=o.seed)
            m["malformed_tokens"] = float(sum(d.malformed for d in row.decoded))
            m["notes_per_continuation"] = float(np.mean([len(n) for n in notes]))
            m.update(profile_metrics(notes, [d.context_notes for d in row.decoded], self.ref_profile,
                                     self.data.config.phrase_bars, o.n_boot, o.seed))
            row.metrics.update(m)  # beside what the row came with (an imported row's import_* counts)
            row.per_phrase = {"anomaly": scores, "realness": realness, "blandness": bland,
                              **({"misfit": misfit} if misfit is not None else {}), **analysis.components, **stats,
                              "notes": np.array([len(n) for n in notes]),
                              "tokens": np.array([len(c) for c in row.continuations])}
        return row


COPIED = 0.5  # a continuation with at least half its notes in one run found in the training split is a copy
MARGIN = {"copy_share": 0.05, "sameness": 0.2}  # how far above the real row a flag needs, besides its interval


def flag(rows: list[Row]) -> None:
    """Mark rows that copy the training split or have collapsed, against the real row of the same
    benchmark: a row is flagged for a figure (copy_share: `copies`, sameness: `collapsed`) when the
    low end of its interval is above both the top of the real row's interval and the real row's
    value + MARGIN, beyond noise and by a margin a listener would notice. Metrics flag_copies /
    flag_collapsed (0 or 1); the rank puts flagged rows after every other row."""
    real = next((r for r in rows if r.name == "real" and r.status == "ok"), None)
    for row in rows:
        if row.status != "ok" or real is None:
            continue
        m, r = row.metrics, real.metrics
        for key, name in (("copy_share", "flag_copies"), ("sameness", "flag_collapsed")):
            m[name] = float(row is not real and m[f"{key}_ci_low"] > max(r[f"{key}_ci_high"], r[key] + MARGIN[key]))


def ties(rows: list[Row], bench: Benchmark) -> None:
    """`rank_group` of every ranked row: neighbours in the order that a paired test over their
    shared contexts cannot tell apart share a group (`metrics.ranking.tie_groups`)."""
    ok = [r for r in rows if r.status == "ok" and "anomaly" in r.per_phrase]
    groups = tie_groups([bench.sides(r) for r in ok], bench.ref_sides, n_boot=bench.options.n_boot,
                        seed=bench.options.seed)
    for r, g in zip(ok, groups):
        r.metrics["rank_group"] = float(g)
    last = max(groups, default=0)
    for r in rows:
        if r.status != "ok":
            last += 1
            r.metrics["rank_group"] = float(last)


def _pooled_mean(per_phrase: list[np.ndarray]) -> float:
    total = sum(float(np.sum(x)) for x in per_phrase)
    count = sum(len(x) for x in per_phrase)
    return total / count if count else float("nan")


def new_benchmark_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def rank(rows: list[Row], bench: Benchmark | None = None) -> list[Row]:
    """Rows in leaderboard order (`leaderboard.rank_key`), flagged first (`flag`) and, with the
    benchmark at hand, with their tie groups (`ties`)."""
    flag(rows)
    ranked = sorted(rows, key=lambda r: rank_key(r.name, r.status, r.metrics))
    if bench is not None:
        ties(ranked, bench)
    return ranked


__all__ = ["Benchmark", "BenchmarkOptions", "BenchmarkResult", "REFERENCE_ROWS", "Row", "new_benchmark_id", "rank",
           "select_contexts"]
