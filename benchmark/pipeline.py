"""The `benchmark` command end to end: find (or train) the models, run every row, log to MLflow."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np

from benchmark.leaderboard import EXPERIMENT_LEADERBOARD, table_rows
from benchmark.lookup import Found, MissingModel, find_critic, find_generator, pretrained_checkpoint
from benchmark.plots import piano_roll_grid, table_png
from benchmark.options import BenchmarkOptions
from benchmark.runner import Benchmark, BenchmarkResult, Row, new_benchmark_id, rank
from critics.default import file_sha256
from training.tracking import experiment_id, mark_complete, process_tags, run_artifact, with_retries


def load_generator(name: str, data, options: BenchmarkOptions, train_missing: bool, quick: bool, log):
    from benchmark.train import quick_generator

    try:
        found = find_generator(name, data.data_hash, options.device)
    except MissingModel:
        if not (train_missing or quick):
            raise MissingModel(f"no trained {name!r} for data_hash {data.data_hash}: run "
                               f"`python cli.py train-generator {name}` (or pass --train-missing)") from None
        log(f"{name}: no trained model for this data; training one with a quick budget")
        generator, result = quick_generator(name, data, options.device, options.seed, log)
        return generator, result.run_id
    log(f"{name}: {found.description}")
    return found.model, found.run_id


def load_critic(data, options: BenchmarkOptions, train_missing: bool, quick: bool, log) -> Found:
    """The critic (`lookup.find_critic`), trained with the quick budget when there is none and
    `--quick` or `--train-missing` says so."""
    from benchmark.train import quick_critic

    try:
        found = find_critic(data, options.device)
    except MissingModel:
        if not (train_missing or quick):
            raise MissingModel(f"no critic for data_hash {data.data_hash} (the default critic fits the default "
                               "tokenizer and phrase length only): run `python cli.py train-critic` with these data "
                               "options (or pass --train-missing)") from None
        log("critic: no critic for this data; training one with a quick budget")
        critic = quick_critic(data, options.device, options.seed, log)
        found = Found(critic, critic.run_id, f"critic run {critic.run_id} (budget quick, trained just now)",
                      file_sha256(run_artifact(critic.run_id, "checkpoint/best.pt")))
    log(f"critic: {found.description}")
    return found


def run_benchmark(data, options: BenchmarkOptions, train_missing: bool = False, quick: bool = False,
                  log=print) -> BenchmarkResult:
    """Every row of one benchmark invocation, scored and logged; the result ranked by critic_gap."""
    import time

    from training import distributed, set_threads

    distributed.refuse("benchmark")  # every torchrun process would log its own leaderboard
    set_threads()
    t0 = time.perf_counter()
    found = load_critic(data, options, train_missing, quick, log)
    train_seconds = time.perf_counter() - t0
    bench = Benchmark(data, found.model, options, log)
    bench.critic_tags = {"critic_run_id": found.run_id, "critic_sha": found.sha256, "critic_source": found.source}
    bench.stage_seconds["critic (load or train)"] = train_seconds
    rows: list[Row] = []
    for name in options.generators:
        t0 = time.perf_counter()
        try:
            generator, run_id = load_generator(name, data, options, train_missing, quick, log)
        except MissingModel:
            raise
        except Exception as e:  # a generator that cannot even load gets a failed row (its own bug or file)
            rows.append(Row(name, status="failed", error=f"{type(e).__name__}: {e}"[:500]))
            continue
        finally:
            bench.stage_seconds[f"load or train {name}"] = time.perf_counter() - t0
        log(f"{name}: generating {len(bench.contexts)} continuations")
        rows.append(bench.generator_row(name, generator, run_id))
        # a generator with an MLE starting point (the gan) is shown beside it
        pre = pretrained_checkpoint(run_id) if run_id else None
        if pre is not None:
            log(f"{name}-pretrained: generating {len(bench.contexts)} continuations")
            start = type(generator).load(pre, options.device)
            rows.append(bench.generator_row(f"{name}-pretrained", start, run_id))
    rows += bench.reference_rows()
    for row in rows:
        bench.score(row)
        if row.status != "ok":
            log(f"{row.name}: failed: {row.error}")
    rows = rank(rows)
    result = BenchmarkResult(new_benchmark_id(), rows, bench.context_index, bench.stage_seconds)
    t0 = time.perf_counter()
    log_to_mlflow(result, bench)
    bench.stage_seconds["mlflow logging"] = time.perf_counter() - t0
    return result


def log_to_mlflow(result: BenchmarkResult, bench: Benchmark) -> None:
    """One run per row in `phrasebench-leaderboard`: tags, metrics, example MIDI files, piano
    rolls, a per-phrase CSV and the leaderboard picture; every row tagged `complete` once all are
    logged."""
    import matplotlib.pyplot as plt
    import mlflow

    exp = experiment_id(EXPERIMENT_LEADERBOARD)
    header, cells = table_rows([(r.name, r.status, r.metrics) for r in result.rows])
    run_ids: list[str] = []
    table = table_png(header, cells, f"phrasebench leaderboard {result.benchmark_id}")
    for row in result.rows:
        tags = {
            "generator": row.name, "benchmark_id": result.benchmark_id, **bench.critic_tags,
            "generator_run_id": row.generator_run_id, "data_hash": bench.data.data_hash,
            "seed": str(bench.options.seed), "status": row.status,
            "reference_row": str(row.name in ("real", "random")).lower(),
        }
        if row.error:
            tags["error"] = row.error
        k = min(bench.options.examples, len(row.decoded)) if row.status == "ok" else 0
        rolls = piano_roll_grid([(bench.phrases[i].context_notes, row.decoded[i].continuation_notes,
                                  bench.phrases[i].continuation_notes) for i in range(k)], row.name,
                                bench.data.config.phrase_bars * 4.0) if k else None

        def log_run() -> str:
            with mlflow.start_run(experiment_id=exp, run_name=f"{row.name}-{result.benchmark_id}") as run, \
                    tempfile.TemporaryDirectory() as tmp:
                mlflow.set_tags({**tags, **process_tags()})
                mlflow.log_params({"contexts": len(bench.context_index), "samples": bench.options.samples,
                                   "temperature": bench.options.temperature, "top_p": bench.options.top_p,
                                   "rows": len(result.rows)})
                mlflow.log_metrics({k: float(v) for k, v in row.metrics.items() if np.isfinite(v)})
                for i in range(k):
                    path = Path(tmp) / f"{row.name}_{i:02d}.mid"
                    row.decoded[i].two_track_score().dump_midi(str(path))
                    mlflow.log_artifact(str(path), "examples")
                if rolls is not None:
                    mlflow.log_figure(rolls, "piano_rolls.png")
                    mlflow.log_text(_per_phrase_csv(row, bench), "phrases.csv")
                mlflow.log_figure(table, "leaderboard.png")
                return run.info.run_id

        run_ids.append(with_retries(log_run))
        if rolls is not None:
            plt.close(rolls)
    plt.close(table)
    for run_id in run_ids:  # last: a benchmark killed before this is shown as incomplete, never as whole
        mark_complete(run_id)


def _per_phrase_csv(row: Row, bench: Benchmark) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["phrase", "song", "start_bar", *row.per_phrase])
    for i in range(len(row.continuations)):
        p = bench.phrases[i]
        w.writerow([i, p.song, p.start_bar, *(f"{v[i]:.6g}" if isinstance(v[i], (float, np.floating)) else v[i]
                                              for v in row.per_phrase.values())])
    return out.getvalue()
