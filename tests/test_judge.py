"""The judge (critics/judge.py, benchmark/judging.py): a second shipped critic that loads and
scores; every leaderboard row gets its `judge_gap` (in the table, the notes and MLflow); the table
says where the two critics disagree beyond their intervals; a row optimized against the primary
critic is ranked by the worse of its primary and judge gaps."""

from __future__ import annotations

import io

import mlflow
import numpy as np
import pytest
from rich.console import Console

import cli
from benchmark.judging import RANK_BY_WORSE, apply_rank_rule, judge_metrics
from presenting.table import leaderboard_table, table_rows
from benchmark.runner import Row, rank
from critics import default, judge
from critics.judge import JudgeScale, disagree
from helpers import TINY_GENERATORS, store_copy


def scored(name: str, primary: float, judged: float, width: float = 0.05, **tags) -> Row:
    """A scored row with a primary gap and a judge gap (and their intervals)."""
    m = {"c2st_auroc": 0.6, "critic_gap": primary, "bland_gap": 0.0, "misfit_gap": 0.0, "nll": 2.0,
         **{f"{k}{end}": 0.0 for k in ("copy_share", "sameness") for end in ("", "_ci_low", "_ci_high")}}
    interval = (primary, max(0.0, primary - width), min(1.0, primary + width))
    m |= {"primary_gap": interval[0], "primary_gap_ci_low": interval[1], "primary_gap_ci_high": interval[2]}
    m |= judge_metrics(interval, (judged, max(0.0, judged - width), min(1.0, judged + width)))
    return Row(name, [[1]], metrics=m, tags={"source": "trained", **tags})


def entries(rows: list[Row]) -> list[tuple]:
    return [(r.name, r.status, {**r.metrics, "rank": float(i)}, r.tags) for i, r in enumerate(rows, 1)]


def printed(items: list, width: int, monkeypatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, width=width, color_system=None))
    cli.show(items)
    return out.getvalue()


def test_disagreement_is_intervals_that_do_not_overlap():
    assert disagree((0.10, 0.05, 0.15), (0.50, 0.40, 0.60))
    assert disagree((0.50, 0.40, 0.60), (0.10, 0.05, 0.15))
    assert not disagree((0.10, 0.05, 0.45), (0.50, 0.40, 0.60))
    assert judge_metrics((0.1, 0.0, 0.2), (0.9, 0.8, 1.0))["judge_disagrees"] == 1.0
    assert judge_metrics((0.1, 0.0, 0.2), (0.15, 0.1, 0.3))["judge_disagrees"] == 0.0


def test_a_row_optimized_against_the_critic_is_ranked_by_the_worse_gap(monkeypatch):
    sha, other = "a" * 64, "b" * 64
    rows = [scored("fitted", 0.10, 0.70, optimized_against=sha, init_from="r" * 32),  # fits the critic, not the judge
            scored("honest", 0.40, 0.45),
            scored("elsewhere", 0.20, 0.80, optimized_against=other),  # optimized against another critic
            scored("real", 0.05, 0.06)]
    assert [r.name for r in rank(list(rows))] == ["real", "fitted", "elsewhere", "honest"]  # without the rule
    apply_rank_rule(rows, sha)
    fitted = rows[0]
    assert fitted.metrics["rank_gap"] == 0.70 and fitted.tags["rank_by"] == RANK_BY_WORSE
    assert "rank_gap" not in rows[2].metrics and "rank_by" not in rows[2].tags
    ranked = rank(list(rows))
    assert [r.name for r in ranked] == ["real", "elsewhere", "honest", "fitted"]
    # the default table shows judge_gap beside primary_gap, marks the disagreements, and says why
    # the fitted row ranks where it does, in 120 columns
    header, cells = table_rows(entries(ranked))
    assert header[3].startswith("judge_gap")
    by_name = {c[1].split("\n")[0]: c for c in cells}
    assert by_name["fitted"][3] == "0.700 !=" and by_name["honest"][3] == "0.450"
    assert by_name["fitted"][1] == "fitted\noptimized against a critic"
    text = printed(leaderboard_table("b", entries(ranked)), 400, monkeypatch)
    assert max(len(line) for line in text.splitlines() if line[:1] in "┏┃┡│└") <= 120
    assert "fitted was optimized against the primary critic (sha256 aaaaaaaaaaaa): ranked by the worse of " \
           "primary_gap and judge_gap, 0.700" in text
    assert "fitted: the critic and the judge disagree beyond their intervals: primary_gap 0.100 [0.050, 0.150] " \
           "vs judge_gap 0.700 [0.650, 0.750]" in text
    assert "elsewhere was optimized against another critic (sha256 bbbbbbbbbbbb)" in text
    assert "honest: the critic and the judge disagree" not in text


@pytest.fixture(scope="module")
def shipped_judge():
    if not judge.available():
        pytest.fail(f"the judge {judge.FILE} is not shipped (or critics/judge.py has no SHA256)")
    return judge.load("cpu")


def test_the_shipped_judge_is_above_every_floor_of_its_validity_tables(shipped_judge):
    """The figures its recipe measured on the test split travel in the file (`critics.assessment`):
    both sides, every corruption and rule-made family at or above its floor."""
    figures, card = shipped_judge.validity, shipped_judge.card
    assert card["version"] == f"judge-{judge.VERSION}" and len(card["strange"]) == 9 and len(card["bland"]) == 14
    below = {r["name"]: (r["auroc"], r["floor"]) for r in card["strange"] + card["bland"] if r["auroc"] < r["floor"]}
    assert not below and figures["validity_pass"] == 1.0
    assert all(figures[f"auroc_{r['name']}"] == r["auroc"] for r in card["strange"] + card["bland"])


def test_the_judge_loads_and_scores(shipped_judge, jazz_data):
    j = shipped_judge
    assert j.sha256 == judge.SHA256 != default.SHA256
    assert default.matches(j, jazz_data)
    assert (j.config.latent, j.config.hidden, j.config.enc_hidden) != (32, 256, 128)  # not the default's sizes
    # its sides read real test phrases as real and shuffled pitches as strange
    from phrases.decode import decode_phrase
    from critics.sides import other_sides
    from critics.corruptions import shuffle_pitch
    from metrics.plagiarism import TrainingPatterns
    from phrases.vocab import Vocab

    test, bars = jazz_data.test, jazz_data.config.phrase_bars
    half = len(test) // 2
    ref, mine = test.subset(range(half)), test.subset(range(half, 2 * half))
    patterns = TrainingPatterns.from_split(jazz_data.train)

    def parts(split, continuations):
        contexts = split.token_lists("context")
        decoded = [decode_phrase(jazz_data.tokenizer, c, k, t, bars)
                   for c, k, t in zip(contexts, continuations, split.arrays["tempo_qpm"])]
        stats = other_sides(None, None, decoded, patterns)[2]
        return contexts, continuations, decoded, stats

    scale = JudgeScale(j, *parts(ref, ref.token_lists("continuation")))
    real = scale.gap(scale.sides(*parts(mine, mine.token_lists("continuation"))), 50, 0)
    rng, vocab = np.random.default_rng(0), Vocab.of(jazz_data.tokenizer)
    shuffled = [shuffle_pitch(c, vocab, rng) for c in mine.token_lists("continuation")]
    strange = scale.gap(scale.sides(*parts(mine, shuffled)), 50, 0)
    assert 0.0 <= real[1] <= real[0] <= real[2] <= 1.0
    assert strange[0] > real[0] + 0.2, (real, strange)


def test_benchmark_rows_carry_the_judge_and_the_rank_rule(shipped_judge, tiny_store, jazz_data, tmp_path):
    """A tiny lstm tagged as optimized against the store's tiny critic: its row (a row of its own,
    beside the plain lstm's) carries the tag and is ranked by the worse of its gaps; every row
    carries judge_gap in MLflow and the judge's sha."""
    from benchmark.command import optimized_row_name
    from operating.benchmarking import run_benchmark
    from benchmark.lookup import find_critic
    from benchmark.options import BenchmarkOptions
    from benchmark.train import train_generator
    from training import TrainConfig

    with store_copy(tiny_store.folder, tmp_path / "store") as uri:
        sha = find_critic(jazz_data, "cpu").sha256
        train_generator("lstm", jazz_data, TrainConfig(epochs=1, max_steps=3, batch_size=8, warmup_steps=1,
                                                       checkpoint_dir=tmp_path / "lstm",
                                                       tags={"optimized_against": sha, "init_from": "x" * 32}),
                        TINY_GENERATORS["lstm"], "cpu", lambda *_: None)
        options = BenchmarkOptions(["lstm"], contexts=12, n_boot=20, device="cpu", examples=1,
                                   report_dir=tmp_path / "reports")
        result = run_benchmark(jazz_data, options, log=lambda *_: None)
        for row in result.rows:
            assert row.status == "ok", row.error
            assert 0.0 <= row.metrics["judge_gap_ci_low"] <= row.metrics["judge_gap"] <= row.metrics["judge_gap_ci_high"]
            assert row.tags["judge_sha"] == judge.SHA256
        lstm = next(r for r in result.rows if r.name == optimized_row_name("lstm", sha))
        assert lstm.tags["optimized_against"] == sha and lstm.tags["rank_by"] == RANK_BY_WORSE
        assert "rank_by" not in next(r for r in result.rows if r.name == "lstm").tags
        assert lstm.metrics["rank_gap"] == max(lstm.metrics["primary_gap"], lstm.metrics["judge_gap"])
        runs = mlflow.search_runs(experiment_names=["phrasebench-leaderboard"], output_format="list",
                                  filter_string=f"tags.benchmark_id = '{result.benchmark_id}'")
        assert len(runs) == 4
        for run in runs:
            assert "judge_gap" in run.data.metrics and run.data.tags["judge_sha"] == judge.SHA256
        logged = next(r for r in runs if r.data.tags["generator"] == lstm.name)
        assert logged.data.tags["rank_by"] == RANK_BY_WORSE and logged.data.tags["optimized_against"] == sha
        assert logged.data.metrics["rank_gap"] == lstm.metrics["rank_gap"]
        table = mlflow.artifacts.load_dict(f"runs:/{logged.info.run_id}/leaderboard.json")
        column = dict(zip(table["columns"], zip(*table["data"])))
        at = column["row"].index(lstm.name)
        assert table["columns"].index("judge_gap") == table["columns"].index("primary_gap") + 1
        assert column["judge_gap"][at].startswith(f"{lstm.metrics['judge_gap']:.3f}")
        report = result.report.read_text()
        assert "judge_gap" in report and "ranked by the worse of primary_gap and judge_gap" in report
        assert uri
