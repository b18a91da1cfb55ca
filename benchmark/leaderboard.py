"""The leaderboard: MLflow runs of one benchmark invocation, as a table (printed and PNG)."""

from __future__ import annotations

import math

from benchmark.runner import LEADERBOARD_KEYS
from benchmark.tracking import EXPERIMENT_LEADERBOARD, experiment_id, with_retries

COLUMNS = ("critic_gap", "realness", "anomaly", "nll", "jsd_pitch", "jsd_step", "jsd_duration", "copy_rate",
           "fcd", "c2st_auroc")


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
    header = ["#", "row", *COLUMNS]
    out = []
    for i, (name, status, metrics) in enumerate(entries, 1):
        if status != "ok":
            out.append([str(i), name, "failed", *["-"] * (len(COLUMNS) - 1)])
        else:
            out.append([str(i), name, *(fmt(metrics, k) for k in COLUMNS)])
    return header, out


def fetch(benchmark_id: str | None = None) -> tuple[str, list[tuple[str, str, dict, dict]]]:
    """(benchmark_id, [(row name, status, metrics, tags)]) of the latest or a given benchmark, ranked."""
    import mlflow

    exp = experiment_id(EXPERIMENT_LEADERBOARD)
    if benchmark_id is None:
        latest = with_retries(lambda: mlflow.search_runs([exp], order_by=["attributes.start_time DESC"],
                                                         max_results=1, output_format="list"))
        if not latest:
            raise ValueError("no leaderboard yet: run `python cli.py benchmark --all` first")
        benchmark_id = latest[0].data.tags["benchmark_id"]
    runs = with_retries(lambda: mlflow.search_runs([exp], filter_string=f"tags.benchmark_id = '{benchmark_id}'",
                                                   output_format="list", max_results=1000))
    if not runs:
        raise ValueError(f"--benchmark-id {benchmark_id}: no such benchmark in {mlflow.get_tracking_uri()}")
    entries = [(r.data.tags.get("generator", "?"), r.data.tags.get("status", "ok"), r.data.metrics, r.data.tags)
               for r in runs]
    entries.sort(key=lambda e: (e[1] != "ok", e[2].get("critic_gap", float("inf"))))
    return benchmark_id, entries


__all__ = ["COLUMNS", "LEADERBOARD_KEYS", "fetch", "fmt", "table_rows"]
