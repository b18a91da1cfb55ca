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


def fetch(benchmark_id: str | None = None) -> tuple[str, list[tuple[str, str, dict, dict]]]:
    """(benchmark_id, [(row name, status, metrics, tags)]) of the latest or a given benchmark, ranked."""
    import mlflow

    exp = experiment_id(EXPERIMENT_LEADERBOARD)
    if benchmark_id is None:
        latest = with_retries(lambda: mlflow.search_runs([exp], order_by=["attributes.start_time DESC"],
                                                         max_results=1, output_format="list"))
        if not latest:
            raise UserError("no leaderboard yet: run `python cli.py benchmark --all` first")
        benchmark_id = latest[0].data.tags["benchmark_id"]
    runs = with_retries(lambda: mlflow.search_runs([exp], filter_string=f"tags.benchmark_id = '{benchmark_id}'",
                                                   output_format="list", max_results=1000))
    if not runs:
        raise UserError(f"--benchmark-id {benchmark_id}: no such benchmark in {mlflow.get_tracking_uri()}")
    entries = [(r.data.tags.get("generator", "?"), r.data.tags.get("status", "ok"), r.data.metrics, r.data.tags)
               for r in runs]
    entries.sort(key=lambda e: rank_key(*e[:3]))
    return benchmark_id, entries
