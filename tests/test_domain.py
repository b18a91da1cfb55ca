"""The critic's domain (critics.domain): the properties measured on tiny phrases written here,
the profile of the default corpus, and `critique` saying when files are music the critic does
not know (real piano-midi.de pieces, a tiny polyphonic file) and staying quiet on real solos of
the test split (the false-alarm rate on the whole test split)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from benchmark.critique import critique, critique_command, report
from helpers import PIANOMIDI, WJAZZD, cli, scale_notes, write_midi
from critics import default
from critics.domain import PROPERTIES, DomainProfile, critic_profile, measure, split_measures, typical
from phrases import PhraseConfig, prepare
from phrases.notes import NOTE_DTYPE

PIANO_FILES = ["alb_esp1.mid", "bach_846.mid"]  # small, each gives windows the critic scores


def notes(rows: list[tuple[float, float, int]]) -> np.ndarray:
    """(onset beats, duration beats, pitch) -> the notes view."""
    out = np.zeros(len(rows), NOTE_DTYPE)
    for i, (onset, duration, pitch) in enumerate(rows):
        out[i]["onset_beats"], out[i]["duration_beats"], out[i]["pitch"] = onset, duration, pitch
    return out


def test_properties_of_a_line_and_of_chords():
    line = measure(notes([(0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 65)]), 120.0)
    assert line == {"polyphony": 1.0, "chords": 0.0, "lowest_pitch": 60, "highest_pitch": 65, "pitch_span": 5,
                    "density": 1.0, "tempo": 120.0}
    # two beats of three-note chords, then a rest, then one note: 7 notes over 4 beats
    chords = measure(notes([(0, 1, 48), (0, 1, 52), (0, 1, 55), (1, 1, 50), (1, 1, 53), (1, 1, 57), (3, 1, 72)]))
    assert chords["polyphony"] == pytest.approx(7 / 3) and chords["chords"] == pytest.approx(6 / 7)
    assert (chords["lowest_pitch"], chords["pitch_span"], chords["density"]) == (48, 24, 7 / 4)
    assert np.isnan(chords["tempo"])
    assert all(np.isnan(v) for v in measure(notes([])).values())
    # a legato overlap of a tenth of a beat is nearly one line
    assert measure(notes([(0, 1.1, 60), (1, 1, 62)]))["polyphony"] == pytest.approx(2.1 / 2.0)


def test_a_profile_is_json_and_names_what_is_outside():
    profile = DomainProfile({"polyphony": [1.0, 1.05], "lowest_pitch": [40.0, 80.0]}, halves=10)
    again = DomainProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert again == profile
    inside = {"polyphony": 1.0, "lowest_pitch": 60.0}
    assert profile.check_values(inside) == []
    assert profile.outside({"polyphony": 1.054, "lowest_pitch": 37.0}) == []  # within the margin (a tenth of the width)
    out = profile.check_values({"polyphony": 2.5, "lowest_pitch": 30.0})
    assert out == ["polyphony 2.50, the critic knows 1.00-1.05 (one line at a time)",
                   "lowest pitch 30, the critic knows 40-80"]
    assert profile.outside({"polyphony": float("nan"), "lowest_pitch": 60.0}) == []


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def corpus(cache):
    return prepare(WJAZZD, PhraseConfig(), cache_dir=cache)


@pytest.fixture(scope="module")
def critic():
    return default.load("cpu")


@pytest.fixture(scope="module")
def profile(critic, corpus):
    profile, source = critic_profile(critic, corpus)
    # the critic's own profile, or (a default critic shipped before profiles) one fitted on its training split
    assert profile is not None and ("training split" in source or source == "carried by the critic")
    return profile


@pytest.mark.slow  # the whole corpus
def test_the_default_corpus_profile_is_monophonic(profile):
    assert set(profile.ranges) == set(PROPERTIES)
    assert profile.ranges["polyphony"][0] == pytest.approx(1.0) and profile.ranges["polyphony"][1] < 1.1
    assert profile.ranges["chords"][1] < 0.3
    assert profile.halves > 10_000 and profile.false_alarms < 0.01


@pytest.mark.slow  # the whole corpus
def test_no_real_solo_of_the_test_split_is_called_foreign(profile, corpus):
    """The false-alarm rate: every song of the test split (songs the critic never trained on),
    judged as `critique` judges a file, by the median of its phrases' halves; and every half."""
    test = corpus.test
    halves = split_measures(test)
    songs = np.repeat(test.arrays["song"], 2)
    flagged = {str(test.songs[s]): profile.check_values(typical([h for h, t in zip(halves, songs) if t == s]))
               for s in np.unique(songs)}
    flagged = {k: v for k, v in flagged.items() if v}
    half_rate = np.mean([bool(profile.outside(h)) for h in halves])
    print(f"\ntest split: {len(flagged)} of {len(np.unique(songs))} songs outside the domain {flagged}; "
          f"{half_rate:.4f} of {len(halves)} phrase halves")
    assert len(flagged) <= 1
    assert half_rate <= 0.01


@pytest.mark.slow  # the whole corpus's profile
def test_critique_warns_on_piano_pieces_per_file_and_overall(critic, profile, tmp_path):
    ratings = critique([PIANOMIDI / name for name in PIANO_FILES], critic, profile)
    assert all(len(r.anomaly) for r in ratings)
    for r in ratings:
        assert "polyphony" in r.outside_what, r.path
    lines = report(ratings, critic)
    for name in PIANO_FILES:
        warning = next(line for line in lines if line.startswith(f"warning: {PIANOMIDI / name} is outside"))
        polyphony = float(re.search(r"polyphony ([0-9.]+), the critic knows", warning).group(1))
        assert polyphony > 1.5
    assert lines[-1].startswith(f"warning: {len(PIANO_FILES)} of {len(PIANO_FILES)} files are outside the critic's "
                                "domain (polyphony in 2") and lines[-1].endswith("their realness says little")


@pytest.mark.slow  # the whole corpus
def test_critique_of_solos_and_of_a_tiny_polyphonic_file(corpus, cache, tmp_path):
    """As a user runs it, with the default critic: three test-split solos and a file of chords
    under a melody (written here) in one folder: one warning, for the chords."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    solos = sorted(corpus.test.song_names())[:3]
    for name in solos:
        (folder / name).write_bytes((WJAZZD / name).read_bytes())
    melody = scale_notes(16, low=72)
    chords = [(bar * 1920 + beat * 480, 480, root + step) for bar in range(16) for beat in range(4)
              for root in (48,) for step in (0, 4, 7)]
    write_midi(folder / "comping.mid", melody, extra_tracks=[(chords, False)])
    res = cli("critique", folder, "--corpus", WJAZZD, "--cache-dir", cache, "--device", "cpu",
              env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, res.stdout
    assert "comping.mid is outside the critic's domain: polyphony" in warnings[0]
    assert warnings[1].startswith("warning: 1 of 4 files are outside the critic's domain (polyphony in 1")
    assert re.search(r"domain \((fitted on the training split of data|carried by the critic)", res.stderr)  # its source


@pytest.mark.slow  # the whole corpus
def test_a_critic_without_a_profile_on_other_data_says_domain_unknown_once(corpus, tmp_path):
    jazz = tmp_path / "jazz"
    jazz.mkdir()
    for name in sorted(corpus.test.song_names())[:2]:
        (jazz / name).write_bytes((WJAZZD / name).read_bytes())
    other = prepare(jazz, PhraseConfig(), tmp_path / "cache", workers=1)  # another data_hash
    bare = default.load("cpu")
    bare.domain = {}  # as a critic from before profiles
    assert critic_profile(bare, other)[0] is None
    bare.save(tmp_path / "critic.pt")
    lines = critique_command(jazz, other, tmp_path / "critic.pt", "cpu", lambda _: None)
    unknown = [line for line in lines if "domain unknown" in line]
    assert len(unknown) == 1 and lines[-1] == unknown[0]
    assert not any("is outside the critic's domain" in line for line in lines)
