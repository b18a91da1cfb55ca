"""The `benchmark` command end to end: find (or train) the models, run every row, log to MLflow."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np

from benchmark.leaderboard import table_rows
from benchmark.lookup import checkpoint_of, latest_critic_run, latest_generator_run, pretrained_checkpoint
from benchmark.plots import piano_roll_grid, table_png
from benchmark.runner import Benchmark, BenchmarkOptions, BenchmarkResult, Row, new_benchmark_id, rank
from benchmark.tracking import EXPERIMENT_LEADERBOARD, experiment_id, with_retries


class MissingModel(ValueError):
    """A model the benchmark needs has not been trained on this data; the message says how."""


def load_generator(name: str, data, options: BenchmarkOptions, train_missing: bool, quick: bool, log):
    from benchmark.train import quick_generator
    from generators.registry import get_generator_class

    run = latest_generator_run(name, data.data_hash)
    if run is None:
        if not (train_missing or quick):
            raise MissingModel(f"no trained {name!r} for data_hash {data.data_hash}: run "
                               f"`python cli.py train-generator {name}` (or pass --train-missing)")
        log(f"{name}: no trained model for this data; training one with a quick budget")
        generator, _ = quick_generator(name, data, options.device, options.seed, log)
        return generator, generator.run_id
    return get_generator_class(name).load(checkpoint_of(run), options.device), run.info.run_id


def load_critic(data, options: BenchmarkOptions, train_missing: bool, quick: bool, log):
    from benchmark.train import quick_critic
    from critics.vae import VAECritic

    run = latest_critic_run(data.data_hash)
    if run is None:
        if not (train_missing or quick):
            raise MissingModel(f"no trained critic for data_hash {data.data_hash}: run "
                               f"`python cli.py train-critic` (or pass --train-missing)")
        log("critic: no trained critic for this data; training one with a quick budget")
        critic = quick_critic(data, options.device, options.seed, log)
        return critic, critic.run_id
    return VAECritic.load(checkpoint_of(run), options.device), run.info.run_id


def run_benchmark(data, options: BenchmarkOptions, train_missing: bool = False, quick: bool = False,
                  log=print) -> BenchmarkResult:
    """Every row of one benchmark invocation, scored and logged; the result ranked by critic_gap."""
    import time

    t0 = time.perf_counter()
    critic, critic_run_id = load_critic(data, options, train_missing, quick, log)
    train_seconds = time.perf_counter() - t0
    bench = Benchmark(data, critic, options, critic_run_id, log)
    bench.stage_seconds["critic (load or train)"] = train_seconds
    rows: list[Row] = []
    for name in options.generators:
        t0 = time.perf_counter()
        try:
            generator, run_id = load_generator(name, data, options, train_missing, quick, log)
        except MissingModel:
            raise
        except Exception as e:  # a generator that cannot even load gets a failed row
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
    """One run per row in `phrasebench-leaderboard`, with examples, a CSV and the table PNG."""
    import mlflow

    exp = experiment_id(EXPERIMENT_LEADERBOARD)
    header, cells = table_rows([(r.name, r.status, r.metrics) for r in result.rows])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = table_png(header, cells, f"phrasebench leaderboard {result.benchmark_id}", tmp / "leaderboard.png")
        for row in result.rows:
            tags = {
                "generator": row.name, "benchmark_id": result.benchmark_id, "critic_run_id": bench.critic_run_id,
                "generator_run_id": row.generator_run_id, "data_hash": bench.data.data_hash,
                "seed": str(bench.options.seed), "status": row.status,
                "reference_row": str(row.name in ("real", "random")).lower(),
            }
            if row.error:
                tags["error"] = row.error
            row_dir = tmp / row.name
            row_dir.mkdir()
            files = _row_artifacts(row, bench, row_dir) if row.status == "ok" else []

            def log_run():
                with mlflow.start_run(experiment_id=exp, run_name=f"{row.name}-{result.benchmark_id}"):
                    mlflow.set_tags(tags)
                    mlflow.log_params({"contexts": len(bench.context_index), "samples": bench.options.samples,
                                       "temperature": bench.options.temperature, "top_p": bench.options.top_p})
                    if row.metrics:
                        mlflow.log_metrics({k: float(v) for k, v in row.metrics.items() if np.isfinite(v)})
                    for f in files:
                        mlflow.log_artifact(str(f), "examples" if f.suffix == ".mid" else None)
                    mlflow.log_artifact(str(table))

            with_retries(log_run)


def _row_artifacts(row: Row, bench: Benchmark, folder: Path) -> list[Path]:
    files = []
    k = min(bench.options.examples, len(row.decoded))
    for i in range(k):
        path = folder / f"{row.name}_{i:02d}.mid"
        row.decoded[i].two_track_score().dump_midi(str(path))
        files.append(path)
    examples = [(bench.phrases[i].context_notes, row.decoded[i].continuation_notes,
                 bench.phrases[i].continuation_notes) for i in range(k)]
    beats = bench.data.config.phrase_bars * 4.0
    files.append(piano_roll_grid(examples, row.name, folder / "piano_rolls.png", beats))
    csv_path = folder / "phrases.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phrase", "song", "start_bar", *row.per_phrase])
        for i in range(len(row.continuations)):
            p = bench.phrases[i]
            w.writerow([i, p.song, p.start_bar, *(_cell(v[i]) for v in row.per_phrase.values())])
    files.append(csv_path)
    return files


def _cell(x) -> str:
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else str(x)
