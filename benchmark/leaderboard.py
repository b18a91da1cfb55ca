"""The leaderboard: its keys, the one ranking rule, the table every view prints (terminal, PNG,
HTML report), and the MLflow experiment that holds it."""

from __future__ import annotations

import json
import math
import re
import time

from benchmark.judging import judge_cell, judge_notes
from benchmark.row_profile import profile_table
from phrases.errors import UserError
from store import experiment_id, find_experiment, search_runs, set_experiment_tag, tracking_uri

EXPERIMENT_LEADERBOARD = "phrasebench-leaderboard"
# The figures `audit` follows (operating/audit.py): the primary score the leaderboard ranks by,
# and the diversity figure; both are keys of `Row.metrics`.
PRIMARY_METRIC = "primary_gap"
DIVERSITY_METRIC = "coverage"
LEADERBOARD_KEYS = ("primary_gap", "critic_gap", "bland_gap", "misfit_gap", "realness", "anomaly", "nll", "jsd_pitch", "jsd_step",
                    "jsd_duration", "copy_rate", "copy_share", "sameness", "coverage", "fcd", "c2st_auroc")
PRIMARY_KEYS = ("primary_gap", "critic_gap", "bland_gap", "misfit_gap", "nll")  # the default table: fits 120 columns
SIDE_GAPS = ("critic_gap", "bland_gap", "misfit_gap", "judge_gap")  # the default table prints no interval for these
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
NLL_NOTE = "nll n/a: imported outputs and the real continuations come with no model to ask for a likelihood"

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


def place_labels(entries: list[tuple]) -> list[str]:
    """The # column: the tie group of every ranked row (`rank_group`), with '=' where neighbours
    share one; the plain position for runs logged before tie groups."""
    groups = [e[2].get("rank_group") for e in entries]
    if any(g is None for g in groups):
        return [str(i) for i in range(1, len(entries) + 1)]
    out = []
    for i, g in enumerate(groups):
        first = groups.index(g) + 1
        shared = groups.count(g) > 1
        out.append(f"{first}=" if shared else str(first))
    return out


def fmt(metrics: dict, key: str, interval: bool = True) -> str:
    value = metrics.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    digits = 3 if abs(value) < 10 else 1
    if not interval or low is None or high is None or math.isnan(low):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def row_label(name: str, tags: dict, metrics: dict | None = None) -> str:
    """The row's name, with a second line when its numbers need a word: imported, quick model,
    and what it is flagged for."""
    notes = [w for w, on in (("imported", tags.get("source") == "imported"),
                             ("quick model", tags.get("budget") == "quick"),
                             ("optimized against a critic", bool(tags.get("optimized_against")))) if on]
    notes += [f.split(":")[0].upper() for f in flags(metrics or {})]
    return name + (f"\n{', '.join(notes)}" if notes else "")


def table_rows(entries: list[tuple[str, str, dict, dict]], wide: bool = False) -> tuple[list[str], list[list[str]]]:
    """(name, status, metrics, tags) entries, already ranked -> header and string cells; each
    header says which way is better."""
    keys = LEADERBOARD_KEYS if wide else PRIMARY_KEYS
    keys = (keys[0], "judge_gap", *keys[1:])  # the judge's primary gap beside the primary (benchmark/judging.py)
    header = ["#", "row", *(f"{k}\nbest {BEST[k]}" for k in keys)]
    out = []
    for place, (name, status, metrics, tags) in zip(place_labels(entries), entries):
        if status != "ok":
            out.append([place, row_label(name, tags), "failed", *["-"] * (len(keys) - 1)])
            continue
        cells = [fmt(metrics, k, interval=wide or k not in SIDE_GAPS) for k in keys]
        cells[keys.index("judge_gap")] = judge_cell(metrics, cells[keys.index("judge_gap")])
        if "nll" in keys and "nll" not in metrics and (tags.get("source") == "imported" or name == "real"):
            cells[keys.index("nll")] = "n/a"
        out.append([place, row_label(name, tags, metrics), *cells])
    return header, out


def table_notes(entries: list[tuple[str, str, dict, dict]], wide: bool = False) -> list[str]:
    """The lines under the table: what n/a means, quick models, a critic below its floor."""
    tags = [e[3] for e in entries]
    notes = [PRIMARY_SCORE, *judge_notes(entries)]
    for name, status, metrics, _ in entries:
        for words in flags(metrics):
            notes.append(f"{name} {words} (ranked after every row that does not)")
    if any(t.get("source") == "imported" for t in tags) or any(e[0] == "real" for e in entries):
        notes.append(NLL_NOTE)
    if any(t.get("budget") == "quick" for t in tags):
        notes.append("quick model: trained for minutes by --quick or --train-missing (tag budget=quick); "
                     "its numbers say little")
    critic = next((t for t in tags if t.get("critic_run_id")), {})
    validity = critic.get("critic_validity", "")
    if validity and validity != "ok":
        notes.append(f"critic {critic.get('critic_run_id', '?')[:8]} is {validity}: a trivial statistic catches "
                     "those errors more often, so critic_gap and realness understate them")
    if critic.get("critic_budget") == "quick":
        notes.append("the critic is a quick one (--quick): train one with `python cli.py train-critic`")
    for name, _, _, t in entries:
        if t.get("import_domain_note"):
            notes.append(f"{name}: {t['import_domain_note']}")
    for name, status, _, t in entries:
        if status != "ok" and t.get("error"):
            notes.append(f"{name} failed: {t['error'][:200]}")
    if not wide:
        notes.append("--wide prints every column")
    return notes


def leaderboard_table(benchmark_id: str, entries: list[tuple], wide: bool = False) -> list:
    """What every command prints for a leaderboard: the (title, header, rows) table and its notes."""
    return [(f"phrasebench leaderboard {benchmark_id}: {RANK_RULE}; [low, high] = 95% bootstrap interval",
             *table_rows(entries, wide)), *table_notes(entries, wide), *([profile_table(entries)] if wide else [])]


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
