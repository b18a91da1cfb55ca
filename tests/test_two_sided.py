"""The leaderboard as an adversary would try it: continuations made by rules (loops, one pitch,
mechanical rhythm, runs, echoes, collapse, copies of the training set) imported as MIDI files the
way a user's model would write them, and ranked by the shipped default critic against the real
continuations, on the whole default corpus."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from benchmark.contexts import benchmark_items, export_contexts
from benchmark.options import BenchmarkOptions
from operating.benchmarking import run_benchmark
from helpers import WJAZZD, mlflow_store
from critics import default
from critics.degenerate import family_notes
from phrases import PhraseConfig, prepare

CONTEXTS = 128
DEGENERATE = ("loop_bar", "one_pitch", "straight_eighths", "arpeggio", "echo_transposed")
COPIES = ("copy_train", "copy_train_transposed")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return prepare(WJAZZD, PhraseConfig(), cache_dir=tmp_path_factory.mktemp("cache"))


def write_family(name: str, data, out, seed: int = 0) -> None:
    """One MIDI file per exported context: the family's continuation alone, in the manifest's meter
    and tempo (as the README's continue.py writes its files)."""
    index, items = benchmark_items(data, CONTEXTS, seed)
    out.mkdir(parents=True)
    tpq = data.tokenizer.time_division
    for item, (notes, _, _) in zip(items, family_notes(name, data.test.subset(index), data.train, data.tokenizer,
                                                       data.config, seed)):
        score = symusic.Score(tpq)
        score.tempos.append(symusic.Tempo(0, item.tempo_qpm))
        score.time_signatures.append(symusic.TimeSignature(0, *map(int, item.time_signature.split("/"))))
        track = symusic.Track(name=name, program=65)
        for t, d, p in zip(notes["time"], notes["duration"], notes["pitch"]):
            track.notes.append(symusic.Note(int(t), int(d), int(p), 90))
        score.tracks.append(track)
        score.dump_midi(str(out / f"{item.id}.mid"))


def test_no_rule_made_or_copied_row_ranks_near_real(corpus, tmp_path):
    assert default.matches(default.load("cpu"), corpus)
    export_contexts(corpus, tmp_path / "contexts", CONTEXTS, 0)
    names = (*DEGENERATE, *COPIES, "collapse")
    for name in names:
        write_family(name, corpus, tmp_path / name)
    with mlflow_store(tmp_path):
        result = run_benchmark(corpus, BenchmarkOptions([], contexts=CONTEXTS, n_boot=50, device="cpu", examples=1,
                                                        report_dir=tmp_path / "reports"),
                               log=lambda *_: None, imports=[(n, tmp_path / n) for n in names])
    rows = {r.name: r for r in result.rows}
    order = [r.name for r in result.rows]
    real = rows["real"].metrics
    assert real["primary_gap"] <= 0.15 and real["flag_copies"] == 0 and real["flag_collapsed"] == 0
    assert rows["random"].metrics["primary_gap"] >= 0.95
    for name in names:
        m = rows[name].metrics
        assert rows[name].status == "ok" and m["import_missing"] == 0, name
        assert m["primary_gap"] >= 0.8 or m["flag_copies"] or m["flag_collapsed"], (name, m["primary_gap"])
    for name in DEGENERATE:
        assert rows[name].metrics["primary_gap"] >= 0.8 > real["primary_gap"], name
        assert order.index(name) > order.index("real")
    for name in COPIES:
        assert rows[name].metrics["flag_copies"] == 1.0, name
    assert rows["collapse"].metrics["flag_collapsed"] == 1.0
    flagged = [n for n in order if rows[n].metrics.get("flag_copies") or rows[n].metrics.get("flag_collapsed")]
    assert order[-len(flagged):] == flagged  # flagged rows after every other row
    assert {"real", "random"} <= set(order[: -len(flagged)])
    assert "one_pitch" in flagged  # the same line in every context, moved to its last pitch: collapsed too
    groups = [rows[n].metrics["rank_group"] for n in order]
    assert groups == sorted(groups) and groups[0] == 1
    assert np.isfinite(rows["one_pitch"].metrics["coverage"])
