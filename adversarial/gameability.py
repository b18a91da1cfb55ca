"""The gameability figure: what fine-tuning against a critic does, read at every validation of
the fine-tuning on VALIDATION contexts (never the test split), as the leaderboard reads a row
(`benchmark.runner.Benchmark.score`, with the validation split in the test split's place: half of
its windows are continued, the other half is the reference):

    val_primary_gap   the primary score under the attacked critic (what the attack climbs)
    val_judge_gap     the primary score under the judge, a critic the attack never saw (the
                      leaderboard's `judge_gap`, `critics.judge`)
    val_c2st_auroc    the two-sample classifier over critic latents + musical descriptors
    val_sameness, val_coverage, val_copy_share   diversity and copying (`benchmark.runner`)
    val_nll           teacher-forced NLL of the whole validation split (the generator's own)

A gain on the attacked critic that the judge does not share is a fit to the instrument, not
better music (Goodhart's law).
"""

from __future__ import annotations

import math

from benchmark.options import BenchmarkOptions
from benchmark.runner import Benchmark
from phrases.errors import UserError

FIGURES = {"val_primary_gap": "primary_gap", "val_judge_gap": "judge_gap", "val_c2st_auroc": "c2st_auroc",
           "val_sameness": "sameness", "val_coverage": "coverage", "val_copy_share": "copy_share"}


class OnValidation:
    """`data` with its validation split in the test split's place."""

    def __init__(self, data) -> None:
        self.data = data
        self.train, self.val, self.test = data.train, data.val, data.val
        self.config, self.tokenizer, self.data_hash = data.config, data.tokenizer, data.data_hash


class Gameability:
    """Scores a generator's continuations of validation contexts under the attacked critic and
    the judge."""

    def __init__(self, data, critic, judge=None, contexts: int = 64, seed: int = 0, n_boot: int = 50,
                 device: str = "auto") -> None:
        options = BenchmarkOptions([], contexts=contexts, seed=seed, n_boot=n_boot, device=device, examples=0)
        quiet = lambda *_: None  # noqa: E731
        self.bench = Benchmark(OnValidation(data), critic, options, quiet, judge=judge)

    def __call__(self, generator, name: str) -> dict[str, float]:
        row = self.bench.score(self.bench.generator_row(name, generator, ""))
        if row.status != "ok":
            raise UserError(f"{name}: its continuations of the validation contexts failed: {row.error}")
        return {key: float(row.metrics[metric]) for key, metric in FIGURES.items() if metric in row.metrics}


def gameability_table(history: list[dict], critic: str, judge: str | None) -> tuple:
    """(title, header, rows) of the figures at every validation of a fine-tuning, step 0 first."""
    keys = ["val_primary_gap", *(["val_judge_gap"] if judge else []), "val_c2st_auroc", "val_nll", "val_sameness",
            "val_coverage", "val_copy_share"]
    names = {"val_primary_gap": f"primary ({critic})", "val_judge_gap": f"judge ({judge})", "val_c2st_auroc": "c2st",
             "val_nll": "val_nll", "val_sameness": "sameness", "val_coverage": "coverage", "val_copy_share": "copy"}
    rows = [[str(int(h["step"])), *(f"{h.get(k, math.nan):.3f}" for k in keys)] for h in history]
    return ("gameability: fine-tuning against the critic, on validation contexts", ["step", *(names[k] for k in keys)],
            rows)
