"""The leaderboard: its keys, the one ranking rule, and the MLflow runs of one benchmark as a table."""

from __future__ import annotations

import math

from phrases.errors import UserError
from training.tracking import experiment_id, with_retries

EXPERIMENT_LEADERBOARD = "phrasebench-leaderboard"
LEADERBOARD_KEYS = ("critic_gap", "realness", "anomaly", "nll", "jsd_pitch", "jsd_step", "jsd_duration",
                    "copy_rate", "fcd", "c2st_auroc")


def rank_key(name: str, status: str, metrics: dict) -> tuple:
    """The ranking rule, everywhere: failed rows last; then critic_gap (lower is better); ties
    broken by |c2st_auroc - 0.5| (closer to indistinguishable first), then by name."""
    gap = metrics.get("critic_gap", math.inf)
    c2st = metrics.get("c2st_auroc", math.nan)
    return (status != "ok", gap if not math.isnan(gap) else math.inf,
            abs(c2st - 0.5) if not math.isnan(c2st) else math.inf, name)


def fmt(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    digits = 3 if abs(value) < 10 else 1
    if low is None or high is None or math.isnan(low):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def table_rows(entries: list[tuple[str, str, dict]]) -> tuple[list[str], list[list[str]]]:
    """(name, status, metrics) entries, already ranked -> header and string cells."""
    header = ["#", "row", *LEADERBOARD_KEYS]
    out = []
    for i, (name, status, metrics) in enumerate(entries, 1):
        if status != "ok":
            out.append([str(i), name, "failed", *["-"] * (len(LEADERBOARD_KEYS) - 1)])
        else:
            out.append([str(i), name, *(fmt(metrics, k) for k in LEADERBOARD_KEYS)])
    return header, out


def leaderboard_table(benchmark_id: str, entries: list[tuple]) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows) of ranked (name, status, metrics, ...) entries."""
    return (f"phrasebench leaderboard {benchmark_id} (ranked by critic_gap; 95% bootstrap intervals)",
            *table_rows([e[:3] for e in entries]))


def fetch(benchmark_id: str | None = None, log=lambda _: None) -> tuple[str, list[tuple[str, str, dict, dict]]]:
    """(benchmark_id, [(row name, status, metrics, tags)]) of the latest complete benchmark (or a
    given one), ranked. A benchmark is complete when all its rows are tagged `complete` (written
    last); `log` is told when a newer one is not."""
    import mlflow

    exp = experiment_id(EXPERIMENT_LEADERBOARD)
    where = f"tags.benchmark_id = '{benchmark_id}'" if benchmark_id else ""
    runs = with_retries(lambda: mlflow.search_runs([exp], filter_string=where, order_by=["attributes.start_time DESC"],
                                                   max_results=50_000, output_format="list"))
    by_id: dict[str, list] = {}
    for run in runs:  # newest benchmark first
        by_id.setdefault(run.data.tags.get("benchmark_id", ""), []).append(run)
    if benchmark_id and benchmark_id not in by_id:
        raise UserError(f"--benchmark-id {benchmark_id}: no such benchmark in {mlflow.get_tracking_uri()}")
    for bid, rows in by_id.items():
        done = [r for r in rows if r.data.tags.get("complete") == "true"]
        expected = int(rows[0].data.params.get("rows", -1))
        if done and len(done) == expected:
            entries = [(r.data.tags.get("generator", "?"), r.data.tags.get("status", "ok"), r.data.metrics, r.data.tags)
                       for r in done]
            return bid, sorted(entries, key=lambda e: rank_key(*e[:3]))
        state = f"incomplete ({len(done)} of {expected} rows complete): it was interrupted or is still running"
        if benchmark_id:
            raise UserError(f"--benchmark-id {benchmark_id}: {state}; run the benchmark again")
        log(f"benchmark {bid} is {state}; showing the latest complete one")
    raise UserError("no complete leaderboard yet: run `python cli.py benchmark --all` first")
