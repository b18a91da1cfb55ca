"""The printed leaderboard: it fits a 120-column terminal, --wide prints every key, each column
says which way is better, notes say what a row's numbers rest on, and one ranking rule orders
every view (the logged `rank`: tests/test_benchmark.py)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import cli
from benchmark.leaderboard import BEST, LEADERBOARD_KEYS, rank_key
from presenting.plots import table_png
from presenting.table import PRIMARY_KEYS, leaderboard_table, table_rows


def metrics(gap: float, c2st: float, **more) -> dict:
    m = {"c2st_auroc": c2st}
    for k in LEADERBOARD_KEYS[:-1]:
        v = more.get(k, gap if k in ("critic_gap", "primary_gap") else 12.345)  # 12.345: wide numbers, 3 digits each
        m |= {k: v, f"{k}_ci_low": v - 0.1, f"{k}_ci_high": v + 0.1}
    return m


ENTRIES = [  # the longest names the suite makes, a quick model, an imported row, a failed row
    ("transformer", "ok", metrics(0.061, 0.845), {"source": "trained", "budget": "quick", "critic_run_id": "c" * 32,
                                                  "critic_validity": "below its validity floor (tritone 0.610 < 0.75)",
                                                  "critic_budget": "quick"}),
    ("gan-pretrained", "ok", metrics(0.5, 0.9), {"source": "trained", "budget": "quick"}),
    ("mine", "ok", {k: v for k, v in metrics(0.6, 0.7).items() if not k.startswith("nll")}, {"source": "imported"}),
    ("real", "ok", {k: v for k, v in metrics(0.07, 0.61).items() if not k.startswith("nll")}, {"source": "reference"}),
    ("lstm", "failed", {}, {"source": "trained", "error": "RuntimeError: a broken checkpoint"}),
]


def printed(items: list, width: int, monkeypatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=width, color_system=None))
    cli.show(items)
    return out.getvalue()


def test_default_table_fits_120_columns_and_wide_prints_every_key(monkeypatch):
    def table(text: str) -> list[str]:
        return [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]

    narrow = printed(leaderboard_table("b", ENTRIES), 400, monkeypatch)
    assert table(narrow) and max(len(line) for line in table(narrow)) <= 120
    # in a 120-column terminal the table is the same: nothing squeezed, wrapped or cut
    assert table(printed(leaderboard_table("b", ENTRIES), 120, monkeypatch)) == table(narrow)
    for key in PRIMARY_KEYS:
        assert key in narrow
    assert "0.061 [-0.039, 0.161]" in narrow and "--wide prints every column" in narrow
    wide = printed(leaderboard_table("b", ENTRIES, wide=True), 400, monkeypatch)
    for key in LEADERBOARD_KEYS:
        assert key in wide
    assert max(len(line) for line in wide.splitlines() if line[:1] in "┏┃┡│└") > 120


def test_every_column_says_which_way_is_better():
    header, _ = table_rows(ENTRIES, wide=True)
    assert header[:2] == ["#", "row"]
    keys = (LEADERBOARD_KEYS[0], "judge_gap", *LEADERBOARD_KEYS[1:])  # the judge's gap beside the primary
    assert [h.split("\n") for h in header[2:]] == [[k, f"best {BEST[k]}"] for k in keys]


def test_rows_say_what_their_numbers_rest_on(monkeypatch):
    _, rows = table_rows(ENTRIES)
    by_name = {r[1].split("\n")[0]: r for r in rows}
    assert by_name["transformer"][1] == "transformer\nquick model"
    assert by_name["mine"][1] == "mine\nimported" and by_name["mine"][3 + PRIMARY_KEYS.index("nll")] == "n/a"
    assert by_name["real"][3 + PRIMARY_KEYS.index("nll")] == "n/a"
    assert by_name["lstm"][2] == "failed"
    text = printed(leaderboard_table("b", ENTRIES), 400, monkeypatch)
    assert "nll n/a: imported outputs" in text and "quick model: trained for minutes" in text
    assert "is below its validity floor (tritone 0.610 < 0.75)" in text and "the critic is a quick one" in text
    assert "lstm failed: RuntimeError: a broken checkpoint" in text


def test_one_tie_break_rule():
    tied = {"critic_gap": 0.25, "c2st_auroc": 0.6}
    order = sorted([("b", "ok", tied), ("a", "ok", tied), ("c", "ok", {"critic_gap": 0.25, "c2st_auroc": 0.45}),
                    ("d", "ok", {"critic_gap": 0.2, "c2st_auroc": 0.9}), ("e", "failed", {})], key=lambda e: rank_key(*e))
    # critic_gap first; equal gaps: |c2st_auroc - 0.5| (0.05 before 0.1); equal again: by name; failed last
    assert [e[0] for e in order] == ["d", "c", "a", "b", "e"]


def test_flagged_rows_rank_after_every_other_and_ties_share_a_place(monkeypatch):
    copier = {"primary_gap": 0.05, "c2st_auroc": 0.5, "flag_copies": 1.0}
    collapsed = {"primary_gap": 0.04, "c2st_auroc": 0.5, "flag_collapsed": 1.0}
    entries = [("a", "ok", {"primary_gap": 0.3, "c2st_auroc": 0.5, "flag_copies": 0.0}),
               ("copier", "ok", copier), ("collapsed", "ok", collapsed), ("worse", "ok", {"primary_gap": 0.9}),
               ("broken", "failed", {})]
    order = [e[0] for e in sorted(entries, key=lambda e: rank_key(*e))]
    assert order == ["a", "worse", "collapsed", "copier", "broken"]
    groups = [1, 1, 2, 3, 4]
    ranked = [(n, st, {**m, "rank_group": float(g)}, {"source": "trained"})
              for (n, st, m), g in zip(sorted(entries, key=lambda e: rank_key(*e)), groups)]
    header, rows = table_rows(ranked)
    assert [r[0] for r in rows] == ["1=", "1=", "3", "4", "5"]
    assert rows[2][1] == "collapsed\nCOLLAPSED" and rows[3][1] == "copier\nCOPIES THE TRAINING SET"
    text = printed(leaderboard_table("b", ranked), 400, monkeypatch)
    assert "copier copies the training set (ranked after every row that does not)" in text
    assert "primary_gap = max(critic_gap, bland_gap, misfit_gap)" in text


def test_the_picture_shows_the_printed_table():
    pytest.importorskip("matplotlib")
    header, rows = table_rows(ENTRIES)
    fig = table_png(header, rows, "phrasebench leaderboard b", ["a note"])
    cells = fig.axes[0].tables[0].get_celld()
    shown = [cells[(i, 1)].get_text().get_text() for i in range(1, len(rows) + 1)]
    assert shown == ["transformer (quick model)", "gan-pretrained (quick model)", "mine (imported)", "real", "lstm"]
    assert fig.get_figwidth() >= 8 and any("a note" in t.get_text() for t in fig.texts)
