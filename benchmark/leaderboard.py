"""The leaderboard: its keys, the one ranking rule, and the MLflow experiment that holds it (the
table every view prints, terminal, PNG and HTML report, is `presenting/table.py`)."""

from __future__ import annotations

import json
import math
import re
import time

from phrases.errors import UserError
from store import experiment_id, find_experiment, search_runs, set_experiment_tag, tracking_uri

EXPERIMENT_LEADERBOARD = "phrasebench-leaderboard"
# The figures `audit` follows (operating/audit.py): the primary score the leaderboard ranks by,
# and the diversity figure; both are keys of `Row.metrics`.
PRIMARY_METRIC = "primary_gap"
DIVERSITY_METRIC = "coverage"
LEADERBOARD_KEYS = ("primary_gap", "critic_gap", "bland_gap", "misfit_gap", "realness", "anomaly", "nll", "jsd_pitch", "jsd_step",
                    "jsd_duration", "copy_rate", "copy_share", "sameness", "coverage", "fcd", "c2st_auroc")
BEST = {"primary_gap": "0", "judge_gap": "0", "critic_gap": "0", "bland_gap": "0", "misfit_gap": "0", "realness": "~0.5", "anomaly": "~real", "nll": "low",
        "jsd_pitch": "0", "jsd_step": "0", "jsd_duration": "0", "copy_rate": "~real", "copy_share": "~real",
        "sameness": "~real", "coverage": "high", "fcd": "0", "c2st_auroc": "0.5"}
PRIMARY_SCORE = ("primary_gap = max(critic_gap, bland_gap, misfit_gap): the worst of three validated two-sided gaps, "
                 "the critic's anomaly (too strange, or too typical), its blandness (too flat, repetitive, echoed, samey "
                 "or copied) and its misfit (a continuation that does not fit its own context)")
RANK_RULE = ("ranked by primary_gap (a row optimized against this critic: the worse of primary_gap and judge_gap); "
             "rows that copy the training set or have collapsed after every other row; "
             "ties by |c2st_auroc - 0.5|, then by name; failed rows last; a # shared with '=' means the data cannot "
             "tell those neighbours apart (paired bootstrap over the shared contexts, Holm-corrected)")
FLAGS = {"flag_copies": "copies the training set", "flag_collapsed": "collapsed: near-identical across contexts"}

EXPERIMENT_DESCRIPTION = f"""\
**phrasebench leaderboard**: one run per leaderboard row. The rows of one `python cli.py benchmark`
share the tag `benchmark_id`; `python cli.py leaderboard` prints the latest.

**How to read it.** Open *Views* (top right) → **Latest leaderboard**: that benchmark's rows,
ranked, with their main columns (`python cli.py ui` prints its link). `rank` is the row's place in
its benchmark ({RANK_RULE}; the same order as the printed table, the PNG and the report).
`<key>_ci_low` / `<key>_ci_high` are the 95% bootstrap interval of `<key>`. Best values:
primary_gap 0 (what the rank sorts by: {PRIMARY_SCORE}), judge_gap 0 (the same score read by a second
critic, the judge, tag `judge_sha`; `judge_disagrees` = 1 when its interval and primary_gap's do not
overlap; a row tagged `rank_by=worse_of_primary_and_judge` was optimized against this critic, tag
`optimized_against`, and is ranked by `rank_gap`, the worse of the two), critic_gap, bland_gap and misfit_gap 0, realness ~0.5,
anomaly ~ the real row's, nll low, jsd_* 0, copy_rate, copy_share, sameness and coverage ~ the real row's,
fcd 0, c2st_auroc 0.5. `flag_copies` / `flag_collapsed` = 1 marks a row that copies the training set or has
collapsed (ranked after every other row); rows sharing `rank_group` cannot be told apart by the data. Tags: `source` trained / imported / reference; `budget=quick` marks a model
trained for minutes by `--quick` (its numbers say little); `critic_validity` says whether the
critic passed its validity floor; `critic_sha` identifies the critic's weights.

**Artifacts of every run**: `report.html` (the whole benchmark: ranked table, piano rolls, audio
players), `examples/` (this row's phrases as MIDI and audio: context, then continuation),
`piano_rolls.png`, `phrases.csv` (per-phrase scores), `leaderboard.json` (the table) and
`leaderboard.png`."""

VIEW_LATEST, VIEW_ALL = "latest", "all"
VIEW_COLUMNS = ["metrics.`rank`", *(f"metrics.`{k}`" for k in ("primary_gap", "primary_gap_ci_low", "primary_gap_ci_high", "judge_gap",
                                                               "critic_gap", "bland_gap", "misfit_gap", "coverage",
                                                               "copy_share",
                                                               "realness", "nll", "jsd_pitch", "c2st_auroc")),
                "tags.`source`", "tags.`budget`", "tags.`benchmark_id`"]


def flags(metrics: dict) -> list[str]:
    """What a row is flagged for (`benchmark.runner.flag`), in words."""
    return [words for key, words in FLAGS.items() if metrics.get(key, 0.0) > 0]


def rank_key(name: str, status: str, metrics: dict) -> tuple:
    """The ranking rule, everywhere: failed rows last, flagged rows (copies, collapse) before
    them; then primary_gap (lower is better; critic_gap for runs logged before it); ties broken by
    |c2st_auroc - 0.5| (closer to indistinguishable first), then by name. Every row's place is
    logged as its `rank` metric, and every view orders by it."""
    gap = metrics.get("rank_gap", metrics.get(PRIMARY_METRIC, metrics.get("critic_gap", math.inf)))  # judging.py
    c2st = metrics.get("c2st_auroc", math.nan)
    return (status != "ok", bool(flags(metrics)), gap if not math.isnan(gap) else math.inf,
            abs(c2st - 0.5) if not math.isnan(c2st) else math.inf, name)


def leaderboard_experiment() -> str:
    """The id of the leaderboard experiment, set up for the MLflow UI (kind, description, views)."""
    return experiment_id(EXPERIMENT_LEADERBOARD, EXPERIMENT_DESCRIPTION, {_view_tag(VIEW_ALL): _view(
        "All leaderboard rows", {"orderByKey": "attributes.start_time", "orderByAsc": False})})


def _view_tag(view: str) -> str:
    return f"mlflow.sharedViewState.{view}"


def _view(name: str, facets: dict) -> str:
    """A saved view of MLflow's runs page (its 'Views' menu; `?viewStateShareKey=ID` opens it)."""
    now = int(time.time() * 1000)
    state = {**facets, "selectedColumns": VIEW_COLUMNS, "columnOrder": VIEW_COLUMNS}
    return json.dumps({"name": name, "createdAt": now, "updatedAt": now, "state": json.dumps(state)})


def point_latest_view(benchmark_id: str) -> None:
    """The 'Latest leaderboard' view shows this benchmark's rows, ranked."""
    exp = leaderboard_experiment()
    view = _view(f"Latest leaderboard ({benchmark_id})", {"searchFilter": f"tags.benchmark_id = '{benchmark_id}'",
                                                        "orderByKey": "metrics.`rank`", "orderByAsc": True})
    set_experiment_tag(exp, _view_tag(VIEW_LATEST), view)


def ui_links(base: str) -> list[str]:
    """Links into the MLflow UI at `base` (http://host:port) that open on the leaderboard's runs."""
    exp = find_experiment(EXPERIMENT_LEADERBOARD)
    if exp is None:
        return [f"no leaderboard in this store yet: run `python cli.py benchmark` first; the UI is at {base}"]
    runs = f"{base}/#/experiments/{exp[0]}/runs?workflowType=machine_learning&viewStateShareKey="
    view = VIEW_LATEST if _view_tag(VIEW_LATEST) in exp[1] else VIEW_ALL
    return [f"leaderboard, ranked: {runs}{view}", f"every leaderboard row: {runs}{VIEW_ALL}"]


def fetch(benchmark_id: str | None = None, log=lambda _: None) -> tuple[str, list[tuple[str, str, dict, dict]]]:
    """(benchmark_id, [(row name, status, metrics, tags)]) of the latest complete benchmark (or a
    given one), in the order of its logged `rank`. A benchmark is complete when all its rows are
    tagged `complete` (written last); `log` is told when a newer one is not."""
    exp = experiment_id(EXPERIMENT_LEADERBOARD)
    if benchmark_id and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", benchmark_id):  # it goes into a filter string
        raise UserError(f"--benchmark-id {benchmark_id[:80]!r}: not a benchmark id (like 20260101-120000-abc123); "
                        "`python cli.py leaderboard` shows the latest")
    where = f"tags.benchmark_id = '{benchmark_id}'" if benchmark_id else ""
    runs = search_runs(exp, where, max_results=50_000)
    by_id: dict[str, list] = {}
    for run in runs:  # newest benchmark first
        by_id.setdefault(run.data.tags.get("benchmark_id", ""), []).append(run)
    if benchmark_id and benchmark_id not in by_id:
        raise UserError(f"--benchmark-id {benchmark_id}: no such benchmark in {tracking_uri()}")
    for bid, rows in by_id.items():
        done = [r for r in rows if r.data.tags.get("complete") == "true"]
        expected = int(rows[0].data.params.get("rows", -1))
        if done and len(done) == expected:
            entries = [(r.data.tags.get("generator", "?"), r.data.tags.get("status", "ok"), r.data.metrics, r.data.tags)
                       for r in done]
            if all("rank" in e[2] for e in entries):  # the logged rank (rank_key for runs logged before it)
                return bid, sorted(entries, key=lambda e: e[2]["rank"])
            return bid, sorted(entries, key=lambda e: rank_key(*e[:3]))
        state = f"incomplete ({len(done)} of {expected} rows complete): it was interrupted or is still running"
        if benchmark_id:
            raise UserError(f"--benchmark-id {benchmark_id}: {state}; run the benchmark again")
        log(f"benchmark {bid} is {state}; showing the latest complete one")
    raise UserError("no complete leaderboard yet: run `python cli.py benchmark --all` first")
