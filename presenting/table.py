"""The leaderboard as a table, the one every view prints (terminal, PNG, HTML report, the
`leaderboard.json` of every run): its columns, cells, row labels and the notes under it."""

from __future__ import annotations

import math

from benchmark.judging import RANK_BY_WORSE
from benchmark.leaderboard import BEST, LEADERBOARD_KEYS, PRIMARY_SCORE, RANK_RULE, flags
from presenting.musical_profile import profile_table

PRIMARY_KEYS = ("primary_gap", "critic_gap", "bland_gap", "misfit_gap", "nll")  # the default table: fits 120 columns
SIDE_GAPS = ("critic_gap", "bland_gap", "misfit_gap", "judge_gap")  # the default table prints no interval for these
JUDGE_SCORE = ("judge_gap: the same primary score read by the judge, a second shipped critic with other weights, "
               "seed and sizes (README: The judge); '!=' marks a row whose primary_gap and "
               "judge_gap intervals do not overlap")
NLL_NOTE = "nll n/a: imported outputs and the real continuations come with no model to ask for a likelihood"


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


def with_judge(keys: tuple[str, ...]) -> tuple[str, ...]:
    """`keys` with the judge's primary gap beside the primary (benchmark/judging.py)."""
    return (keys[0], "judge_gap", *keys[1:])


def table_rows(entries: list[tuple[str, str, dict, dict]], wide: bool = False) -> tuple[list[str], list[list[str]]]:
    """(name, status, metrics, tags) entries, already ranked -> header and string cells; each
    header says which way is better."""
    keys = with_judge(LEADERBOARD_KEYS if wide else PRIMARY_KEYS)
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


def table_columns(entries: list[tuple]) -> dict[str, list]:
    """The leaderboard for `mlflow.log_table`, as the printed table reads: one row per leaderboard
    row, each key with its interval in one column."""
    keys = with_judge(LEADERBOARD_KEYS)
    cols: dict[str, list] = {"rank": [], "row": [], "source": [], "budget": [], "status": [], **{k: [] for k in keys}}
    for name, status, metrics, tags in entries:
        for key, value in (("rank", int(metrics["rank"])), ("row", name), ("source", tags["source"]),
                           ("budget", tags.get("budget", "")), ("status", status)):
            cols[key].append(value)
        for k in keys:
            cell = fmt(metrics, k) if status == "ok" else "-"
            cols[k].append(judge_cell(metrics, cell) if k == "judge_gap" and status == "ok" else cell)
    return cols


def judge_cell(metrics: dict, text: str) -> str:
    """The judge_gap cell of a table, marked '!=' when it disagrees with primary_gap."""
    return f"{text} !=" if metrics.get("judge_disagrees", 0.0) > 0 else text


def judge_notes(entries: list[tuple]) -> list[str]:
    """The lines under a leaderboard about the judge: what judge_gap is, which rows it disagrees
    on, which rows are ranked by the worse of the two gaps."""
    ok = [(n, m, t) for n, s, m, t in entries if s == "ok"]
    notes = []
    if any("judge_gap" in m for _, m, _ in ok):
        sha = next((t.get("judge_sha", "") for _, _, t in ok if t.get("judge_sha")), "")
        notes.append(JUDGE_SCORE + (f" (judge sha256 {sha[:12]})" if sha else ""))
    for name, m, _ in ok:
        if m.get("judge_disagrees", 0.0) > 0:
            notes.append(f"{name}: the critic and the judge disagree beyond their intervals: primary_gap "
                         f"{_interval(m, 'primary_gap')} vs judge_gap {_interval(m, 'judge_gap')}")
    for name, m, t in ok:
        if t.get("rank_by") == RANK_BY_WORSE:
            notes.append(f"{name} was optimized against the primary critic (sha256 {t['optimized_against'][:12]}): "
                         f"ranked by the worse of primary_gap and judge_gap, {m['rank_gap']:.3f}")
        elif t.get("rank_by"):
            notes.append(f"{name} was optimized against the primary critic and no judge measured it: "
                         "its primary_gap flatters it")
        elif t.get("optimized_against"):
            notes.append(f"{name} was optimized against another critic (sha256 {t['optimized_against'][:12]}), "
                         "not this one: ranked by primary_gap")
    return notes


def _interval(m: dict, key: str) -> str:
    low, high = m.get(f"{key}_ci_low", math.nan), m.get(f"{key}_ci_high", math.nan)
    return f"{m[key]:.3f} [{low:.3f}, {high:.3f}]"
