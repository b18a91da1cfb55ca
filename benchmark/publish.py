"""A ranked benchmark, logged: one MLflow run per row in `phrasebench-leaderboard` (tags, params,
metrics with `rank`, the per-phrase CSV, and what `presenting/` made of it for people: the run's
description, example MIDI and audio, piano rolls, the leaderboard as a table and a picture, the
HTML report). Every row is tagged `complete` once all are logged: `leaderboard` shows complete
benchmarks only."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.leaderboard import leaderboard_experiment, point_latest_view
from benchmark.runner import REFERENCE_ROWS, Benchmark, BenchmarkResult, Row
from store import (DESCRIPTION_TAG, active_run, log_artifact, log_figure, log_metrics, log_params, log_table, log_text,
                   mark_complete, process_tags, with_retries)


@dataclass
class Shown:
    """What the rows' runs carry for people besides their numbers (made by `presenting.media`):
    per row its description and its files (path, artifact folder or None), in the order logged; for
    every run the report, the leaderboard as a picture (`leaderboard.png`) and as columns
    (`leaderboard.json`)."""

    descriptions: dict[str, str]
    files: dict[str, list[tuple[Path, str | None]]]
    report: Path
    picture: object  # a matplotlib figure
    table: object  # a pandas DataFrame


def row_tags(row: Row, result: BenchmarkResult, bench: Benchmark) -> dict[str, str]:
    critic = result.critic
    tags = {
        "generator": row.name, "benchmark_id": result.benchmark_id, "critic_run_id": critic.run_id,
        "critic_sha": critic.sha256, "critic_validity": critic.validity, "critic_budget": critic.budget,
        "critic_source": critic.source,
        "generator_run_id": row.generator_run_id, "data_hash": bench.data.data_hash, "source": row.source,
        "seed": str(bench.options.seed), "status": row.status, "reference_row": str(row.name in REFERENCE_ROWS).lower(),
        **row.tags,
    }
    if row.error:
        tags["error"] = row.error
    return tags


def ranked_entries(result: BenchmarkResult, bench: Benchmark) -> list[tuple[str, str, dict, dict]]:
    """(name, status, metrics with `rank`, tags) of every row, in rank order, as they are logged."""
    return [(r.name, r.status, {**r.metrics, "rank": float(i)}, row_tags(r, result, bench))
            for i, r in enumerate(result.rows, 1)]


def _per_phrase_csv(row: Row, bench: Benchmark) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["phrase", "song", "start_bar", *row.per_phrase])
    for i in range(len(row.continuations)):
        p = bench.phrases[i]
        w.writerow([i, p.song, p.start_bar, *(f"{v[i]:.6g}" if isinstance(v[i], (float, np.floating)) else v[i]
                                              for v in row.per_phrase.values())])
    return out.getvalue()


def log_rows(result: BenchmarkResult, bench: Benchmark, shown: Shown, quick: bool = False) -> None:
    """Log every row of `result` (its `entries` set by `ranked_entries`) to `phrasebench-leaderboard`
    with what `shown` holds, then tag them `complete` and point the UI's latest view at them."""
    t1 = time.perf_counter()
    exp = leaderboard_experiment()
    o = bench.options
    run_ids = []
    for rank, (row, (_, _, metrics, tags)) in enumerate(zip(result.rows, result.entries), 1):
        def log_run(row=row, metrics=metrics, tags=tags) -> str:
            with active_run(exp, run_name=f"{row.name}-{result.benchmark_id}",
                            tags={**tags, DESCRIPTION_TAG: shown.descriptions[row.name], **process_tags()}) as run:
                log_params({"contexts": len(bench.context_index), "samples": o.samples,
                            "temperature": o.temperature, "top_p": o.top_p, "quick": quick,
                            "rows": len(result.rows)})
                log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
                files = shown.files.get(row.name, [])
                for path, folder in files:
                    log_artifact(path, folder)
                if files:  # a row shown with examples: its per-phrase scores beside them
                    log_text(_per_phrase_csv(row, bench), "phrases.csv")
                log_figure(shown.picture, "leaderboard.png")
                log_table(shown.table, "leaderboard.json")
                log_artifact(shown.report)
                return run.info.run_id

        run_ids.append(with_retries(log_run))
    for run_id in run_ids:  # last: a benchmark killed before this is shown as incomplete, never as whole
        mark_complete(run_id)
    point_latest_view(result.benchmark_id)
    bench.stage_seconds["mlflow logging"] = time.perf_counter() - t1
