"""The benchmark's rows: find (or train) the models, read imported outputs, run every row, rank.
`operating/benchmarking.py` runs the `benchmark` command end to end: these rows, then shown
(`presenting/`) and logged (`benchmark/publish.py`)."""

from __future__ import annotations

import time
from pathlib import Path

from benchmark.imported import import_row
from benchmark.judging import apply_rank_rule, load_judge, training_tags
from benchmark.lookup import (Found, MissingModel, find_critic, find_generator, find_optimized, pretrained_checkpoint,
                              run_budget)
from benchmark.options import BenchmarkOptions
from benchmark.runner import REFERENCE_ROWS, Benchmark, BenchmarkResult, Row, new_benchmark_id, rank
from phrases.files import file_sha256
from phrases.errors import UserError
from store import run_artifact


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
                      file_sha256(run_artifact(critic.run_id, "checkpoint/best.pt")), budget="quick")
    log(f"critic: {found.description}")
    return found


def optimized_row_name(name: str, critic_sha: str) -> str:
    """The row of generator `name` fine-tuned against the critic of sha256 `critic_sha`."""
    return f"{name}-against-{critic_sha[:8]}"


def _check_names(options: BenchmarkOptions, imports: list[tuple[str, Path]]) -> None:
    taken = set(options.generators) | set(REFERENCE_ROWS)
    for name, _ in imports:
        if name in taken or name.endswith("-pretrained") or "-against-" in name:
            raise UserError(f"--import {name}=...: {name!r} names another row; choose another name")
        taken.add(name)
    if imports and options.samples != 1:
        raise UserError("--import reads one continuation per context: use --samples 1")


def score_benchmark(data, options: BenchmarkOptions, train_missing: bool = False, quick: bool = False,
                    log=print, imports: list[tuple[str, Path]] = (), command: str = "") -> tuple[BenchmarkResult, Benchmark]:
    """Every row of one benchmark invocation (generators, imported folders, reference rows),
    scored and ranked (`leaderboard.rank_key`); and the benchmark they were scored by."""
    from benchmark.critic_status import critic_facts
    from training import distributed, set_threads

    distributed.refuse("benchmark")  # every torchrun process would log its own leaderboard
    _check_names(options, list(imports))
    set_threads()
    t0 = time.perf_counter()
    found = load_critic(data, options, train_missing, quick, log)
    train_seconds = time.perf_counter() - t0
    bench = Benchmark(data, found.model, options, log, judge=load_judge(data, found.sha256, options.device, log))
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
        budget = {"budget": run_budget(run_id)}
        log(f"{name}: generating {len(bench.contexts)} continuations")
        rows.append(bench.generator_row(name, generator, run_id))
        rows[-1].tags.update({**budget, **training_tags(run_id)})  # and optimized_against, init_from
        # a generator with an MLE starting point (the gan) is shown beside it
        pre = pretrained_checkpoint(run_id) if run_id else None
        if pre is not None:
            log(f"{name}-pretrained: generating {len(bench.contexts)} continuations")
            start = type(generator).load(pre, options.device)
            rows.append(bench.generator_row(f"{name}-pretrained", start, run_id))
            rows[-1].tags.update(budget)
        # a generator fine-tuned against a critic is a row of its own (its rank: leaderboard.rank_key)
        optimized = find_optimized(name, data.data_hash, options.device)
        if optimized is not None:
            found_o, sha = optimized
            row_name = optimized_row_name(name, sha)
            log(f"{row_name}: {found_o.description}, fine-tuned against critic {sha[:12]}")
            rows.append(bench.generator_row(row_name, found_o.model, found_o.run_id))
            rows[-1].tags.update({"budget": run_budget(found_o.run_id), **training_tags(found_o.run_id)})
    for name, folder in imports:
        t0 = time.perf_counter()
        continuations, counts, tags, error = import_row(name, Path(folder), bench, log)
        rows.append(Row(name, continuations, source="imported", tags=tags, metrics=counts,
                        status="failed" if error else "ok", error=error))
        bench.stage_seconds[f"import {name}"] = time.perf_counter() - t0
    rows += bench.reference_rows()
    for row in rows:
        bench.score(row)
        if row.status != "ok":
            log(f"{row.name}: failed: {row.error}")
    apply_rank_rule(rows, found.sha256)  # a row optimized against this critic: the worse of it and the judge
    result = BenchmarkResult(new_benchmark_id(), rank(rows, bench), bench.context_index, bench.stage_seconds,
                             critic_facts(found), command)
    return result, bench
