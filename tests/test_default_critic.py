"""The shipped default critic as the instrument it claims to be, on the whole default corpus's
test split (songs it never trained on): scoring only, no training."""

from __future__ import annotations

import re

import numpy as np
import pytest
import symusic

from helpers import WJAZZD, cli
from critics import default
from critics.degenerate import FAMILIES
from critics.validity import bland_suite, mixing_ladder, validity_metrics, validity_suite
from phrases import PhraseConfig, Unigram, prepare


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return prepare(WJAZZD, PhraseConfig(), cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def critic():
    assert default.available(), f"{default.FILE} or its SHA256 is missing"
    return default.load("cpu")  # checks the file's sha256


@pytest.fixture(scope="module")
def suite(critic, corpus):
    return {r.name: r for r in validity_suite(critic, corpus.test, Unigram.fit(corpus.train, critic.vocab), seed=0)}


def test_the_default_critic_fits_the_default_corpus(critic, corpus):
    assert default.matches(critic, corpus)
    assert critic.data_hash == corpus.data_hash
    assert default.FILE.stat().st_size <= 10 * 2**20


@pytest.fixture(scope="module")
def bland(critic, corpus):
    return {r.name: r for r in bland_suite(critic, corpus.test, corpus.train, seed=0)}


def test_the_shipped_figures_are_what_the_critic_measures(critic, suite, bland):
    """The validity figures in the file are reproduced by scoring alone, on this machine."""
    measured = validity_metrics(list(suite.values()), list(bland.values()))
    assert {f"auroc_{name}" for name in FAMILIES} <= set(critic.validity)
    for key, shipped in critic.validity.items():
        if key in measured:
            assert measured[key] == pytest.approx(shipped, abs=0.005), key
    assert critic.card["version"] == default.VERSION and len(critic.card["bland"]) == len(FAMILIES)


def test_no_rule_made_family_passes_for_real(bland):
    """The bland side on songs the critic never saw: every family at or above its floor (best
    trivial statistic + 0.05, at most 0.98), and at 0.90 or more; other_context, another context's
    true continuation, through the context side (README: Two-sided)."""
    families = {name: row for name, row in bland.items() if name != "real"}
    assert set(families) == set(FAMILIES)
    for name, row in families.items():
        assert row.auroc >= row.floor, (name, row.auroc, row.floor)
        assert row.auroc >= 0.90, (name, row.auroc)
    assert bland["other_context"].misfit >= 0.90 > bland["other_context"].critic
    assert 0.35 <= bland["real"].realness <= 0.65


def test_the_critic_beats_every_trivial_baseline_by_its_floor(suite):
    """On every corruption: at least the best trivial baseline + 0.05 (at most 0.98)."""
    corrupted = {name: row for name, row in suite.items() if name != "real"}
    assert len(corrupted) == 9
    for name, row in corrupted.items():
        assert row.auroc >= row.floor, (name, row.auroc, row.floor)
        assert row.paired > 0.5, name
    assert suite["jitter"].auroc >= 0.80
    ladder = [suite[f"random_pitch_{p}"].auroc for p in (10, 30, 60, 100)]
    assert ladder == sorted(ladder) and len(set(ladder)) == 4


def test_the_mixing_ladder_rises_strictly_from_a_real_row_near_zero(critic, corpus):
    gaps = [g for _, g in mixing_ladder(critic, corpus.test, Unigram.fit(corpus.train, critic.vocab), seed=0)]
    assert all(a < b for a, b in zip(gaps, gaps[1:])), gaps
    assert gaps[0] <= 0.15 and gaps[-1] >= 0.95


def _mean_realness(folder, tmp_path) -> float:
    res = cli("critique", folder, "--corpus", WJAZZD, "--cache-dir", tmp_path / "cache", "--device", "cpu",
              env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return float(re.search(r"overall: .* mean realness ([0-9.]+)", res.stdout).group(1))


def test_critique_rates_unseen_solos_real_and_their_shuffled_pitches_not(corpus, tmp_path):
    """`critique` on the test split's solos (the critic never trained on them), and on the same
    solos with the pitches of each track shuffled (rhythm kept)."""
    real, shuffled = tmp_path / "real", tmp_path / "shuffled"
    real.mkdir(), shuffled.mkdir()
    rng = np.random.default_rng(0)
    for name in sorted(corpus.test.song_names()):
        score = symusic.Score(str(WJAZZD / name))
        score.dump_midi(str(real / name))
        for track in score.tracks:
            pitches = track.notes.numpy()["pitch"]
            rng.shuffle(pitches)
            for note, pitch in zip(track.notes, pitches):
                note.pitch = int(pitch)
        score.dump_midi(str(shuffled / name))
    assert 0.3 <= _mean_realness(real, tmp_path) <= 0.7
    assert _mean_realness(shuffled, tmp_path) < 0.1
