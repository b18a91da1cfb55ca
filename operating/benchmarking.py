"""The `benchmark` command end to end: the rows scored and ranked (`benchmark.command`), shown
(`presenting.media`: examples, audio, piano rolls, the report) and logged as one MLflow run each
(`benchmark.publish`), and what the command prints."""

from __future__ import annotations

from pathlib import Path

from benchmark.command import score_benchmark
from benchmark.imported import parse_import
from benchmark.options import BENCHMARK_OPTIONS, BenchmarkOptions
from benchmark.publish import log_rows, ranked_entries
from benchmark.runner import BenchmarkResult
from phrases.errors import UserError
from phrases.files import writable_folder
from presenting.media import shown
from presenting.table import leaderboard_table


def run_benchmark(data, options: BenchmarkOptions, train_missing: bool = False, quick: bool = False,
                  log=print, imports: list[tuple[str, Path]] = (), command: str = "") -> BenchmarkResult:
    """Every row of one benchmark invocation (generators, imported folders, reference rows),
    scored, ranked (`leaderboard.rank_key`) and published: logged to `phrasebench-leaderboard`
    with the report and examples; sets result.entries and result.report."""
    result, bench = score_benchmark(data, options, train_missing, quick, log, imports, command)
    result.entries = ranked_entries(result, bench)
    with shown(result, bench, log) as media:
        log_rows(result, bench, media, quick)
    return result


def benchmark_command(data, options: dict, all_: bool, generators: list[str] | None, imports: list[str] | None,
                      train_missing: bool, quick: bool, wide: bool, command: str, log) -> list:
    """`cli.py benchmark`: run it, and what it prints."""
    from generators.registry import available, get_generator_class

    names = list(dict.fromkeys(available() if all_ else generators or []))  # a name given twice runs once
    for name in names:
        get_generator_class(name)  # an unknown name is refused before any work
    parsed = [parse_import(spec) for spec in imports or []]
    if not names and not parsed:
        raise UserError("name the generators: --all, or --generator NAME (repeatable), or --import NAME=DIR")
    writable_folder(options["report_dir"], "--report-dir")  # a file there fails now, not after the work
    if quick and options["contexts"] == BENCHMARK_OPTIONS["contexts"][1]:
        options["contexts"] = 64
    result = run_benchmark(data(), BenchmarkOptions(names, **options), train_missing, quick, log, parsed, command)
    return [*leaderboard_table(result.benchmark_id, result.entries, wide),
            *(f"  {stage}: {seconds:.1f} s" for stage, seconds in result.stage_seconds.items()),
            f"  total: {sum(result.stage_seconds.values()):.1f} s",
            f"report: {result.report}",
            f"MLflow: {len(result.rows)} runs in phrasebench-leaderboard; `python cli.py ui` prints the link that "
            "opens them, ranked"]
