"""The musical profile's descriptors on hand-made phrases, the profile of a set against a
reference, and which examples a row shows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.row_profile import profile_metrics
from presenting.examples import example_indices
from presenting.musical_profile import profile_chart, profile_table
from metrics.musical import (
    best_scale, compression_ratio, empty_beat_rate, groove_consistency, key_consistency, mean_abs_interval,
    scale_consistency,
)
from metrics.profile import PROFILE, profile, profile_matrix, standardized_difference
from helpers.notes import make_notes


def test_groove_consistency_compares_neighbouring_bars_only():
    # bar 0 on beats 0 1 2 3, bar 1 on beats 0 1, bar 2 on 0 1 2 3: neighbours differ in 2 and 2 of 48
    notes = make_notes([(60, b, 0.5) for b in (0, 1, 2, 3, 4, 5, 8, 9, 10, 11)])
    assert groove_consistency(notes, n_bars=3) == pytest.approx(1 - 4 / (48 * 2))
    same = make_notes([(60, b + 4 * bar, 0.5) for bar in range(4) for b in (0, 1.5, 3)])
    assert groove_consistency(same, n_bars=4) == 1.0
    # a trailing empty bar counts: 3 onsets appear, then vanish
    assert groove_consistency(same[:9], n_bars=4) == pytest.approx(1 - 3 / (48 * 3))
    assert math.isnan(groove_consistency(make_notes([]), n_bars=4))
    assert math.isnan(groove_consistency(same[:3], n_bars=1))


def test_empty_beat_rate_counts_beats_where_nothing_sounds():
    # a half note on beat 0 sounds over beats 0 and 1; a note ending exactly on beat 3 leaves it alone
    notes = make_notes([(60, 0, 2), (62, 2.5, 0.5)])
    assert empty_beat_rate(notes, n_bars=1) == pytest.approx(1 / 4)  # beat 3 empty
    assert empty_beat_rate(notes, n_bars=2) == pytest.approx(5 / 8)
    assert empty_beat_rate(make_notes([]), n_bars=1) == 1.0


def test_mean_abs_interval_reads_the_line_in_onset_order():
    notes = make_notes([(67, 1, 1), (60, 0, 1), (64, 2, 1), (76, 3, 1)])  # C G E E': 7, 3, 12
    assert mean_abs_interval(notes) == pytest.approx((7 + 3 + 12) / 3)
    assert math.isnan(mean_abs_interval(make_notes([(60, 0, 1)])))


def test_compression_ratio_grows_with_repetition():
    riff = make_notes([(60 + (0, 3, 5, 3)[k % 4], k * 0.5, 0.5) for k in range(32)])
    rng = np.random.default_rng(0)
    wander = make_notes([(int(p), k * 0.5, 0.5) for k, p in enumerate(rng.integers(40, 90, 32))])
    assert compression_ratio(riff) > 3 * compression_ratio(wander)
    # LZ76 of (a b a b a b a): phrases a | b | ababa -> 6 symbols / 3 phrases. Symbols are (interval, step).
    line = make_notes([(60 + (0, 2)[k % 2], k, 1) for k in range(7)])  # intervals +2 -2 +2 -2 +2 -2
    assert compression_ratio(line) == pytest.approx(6 / 3)
    assert math.isnan(compression_ratio(make_notes([(60, 0, 1), (62, 1, 1)])))


def test_key_consistency_judges_the_continuation_in_its_contexts_key():
    c_major = make_notes([(60 + p, k * 0.5, 0.5) for k, p in enumerate([0, 2, 4, 5, 7, 9, 11, 12, 7, 4, 0, 2] * 2)])
    assert best_scale(c_major) == (0, "major")
    in_key = make_notes([(64, 0, 1), (67, 1, 1), (72, 2, 1)])
    off_key = make_notes([(61, 0, 1), (66, 1, 1), (68, 2, 1)])  # C# F# G#: all in B major, none in C major
    assert key_consistency(in_key, c_major) == 1.0 and key_consistency(off_key, c_major) == 0.0
    assert scale_consistency(off_key) == 1.0  # alone, three notes always fit some scale
    assert math.isnan(key_consistency(make_notes([]), c_major))


def test_profile_gives_the_mean_its_interval_and_the_distance_in_reference_sd():
    rng = np.random.default_rng(1)
    scale = [0, 2, 4, 5, 7, 9, 11]
    ref = [make_notes([(60 + (scale[int(i)] if rng.random() > 0.1 else 1), k * 0.5, 0.5)  # now and then a C#
                       for k, i in enumerate(rng.integers(0, 7, 24))]) for _ in range(60)]
    chromatic = [make_notes([(int(p), k * 0.5, 0.5) for k, p in enumerate(rng.integers(48, 84, 24))])
                 for _ in range(60)]
    r, c = profile_matrix(ref, 4), profile_matrix(chromatic, 4)
    assert r.shape == (60, len(PROFILE))
    p = profile(c, r, n_boot=50, seed=0)
    same = profile(r, r, n_boot=50, seed=0)
    for name in PROFILE:
        assert p[name]["ci_low"] <= p[name]["value"] <= p[name]["ci_high"] or math.isnan(p[name]["value"])
        assert same[name]["ref"] == pytest.approx(same[name]["value"])
    assert same["scale_consistency"]["distance"] == pytest.approx(0.0)
    assert p["scale_consistency"]["distance"] < -2 and p["pitch_class_entropy"]["distance"] > 1
    assert p["pitch_range"]["distance"] > 2 and p["mean_abs_interval"]["distance"] > 2
    k = PROFILE.index("scale_consistency")
    sd = np.nanstd(r[:, k], ddof=1)
    assert p["scale_consistency"]["distance"] == pytest.approx((p["scale_consistency"]["value"] - r[:, k].mean()) / sd)
    assert math.isnan(standardized_difference(1.0, np.array([2.0, 2.0])))  # no spread: no distance


def test_profile_metrics_table_and_chart():
    ref = [make_notes([(60 + (k * 5) % 12, k * 0.5, 0.5) for k in range(16)]) for _ in range(10)]
    row = [make_notes([(60 + (k * 7) % 24, k * 0.25, 0.25) for k in range(k0, 30)]) for k0 in range(10)]
    m = profile_metrics(row, [r[:0] for r in row], profile_matrix(ref, 4), 4, n_boot=20, seed=0)
    assert set(m) == {f"profile_{d}{s}" for d in PROFILE for s in ("", "_ci_low", "_ci_high", "_ref", "_dist",
                                                                   "_dist_ci_low", "_dist_ci_high")}
    assert m["profile_note_density"] > m["profile_note_density_ref"]
    title, header, rows = profile_table([("mine", "ok", m, {}), ("broken", "failed", {}, {})])
    assert len(header) == 2 + len(PROFILE) and rows[1][2:] == ["-"] * len(PROFILE)
    assert rows[0][1] == "mine" and f"{m['profile_note_density']:.2f}" in rows[0][2 + PROFILE.index("note_density")]
    png = profile_chart("mine", m)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and profile_chart("broken", {}) is None


def test_examples_come_from_different_songs_then_other_contexts():
    contexts = [("a", 0), ("a", 4), ("a", 8), ("b", 0), ("b", 4), ("c", 0), ("d", 3), ("d", 3)]
    assert example_indices(contexts, 4) == [0, 3, 5, 6]  # one per song
    picked = example_indices(contexts, 6)
    assert len({contexts[i] for i in picked}) == 6  # no context twice
    assert example_indices(contexts, 100) == [0, 1, 2, 3, 4, 5, 6]  # every context once; sample 2 of d left
    assert example_indices(contexts, 2) == [0, 6]  # spread over the songs
    assert example_indices([], 4) == []
