"""Musical descriptors on hand-made phrases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.musical import (
    descriptor_matrix, descriptors, grooving_similarity, musical_metrics, note_density,
    pitch_class_entropy, pitch_range, polyphony_rate, scale_consistency,
)
from helpers.notes import make_notes


def test_uniform_pitch_classes_have_entropy_log2_12():
    notes = make_notes([(60 + k, k / 3, 1 / 3) for k in range(12)])  # 12 classes in one bar
    assert pitch_class_entropy(notes, 1, n_bars=1) == pytest.approx(math.log2(12))
    one_class = make_notes([(60 + 12 * (k % 3), k, 1) for k in range(4)])
    assert pitch_class_entropy(one_class, 1, n_bars=1) == pytest.approx(0.0)


def test_h1_averages_bars_and_h4_pools_them():
    # bar 0: C C (entropy 0); bar 1: C G (entropy 1)
    notes = make_notes([(60, 0, 1), (72, 2, 1), (60, 4, 1), (67, 6, 1)])
    assert pitch_class_entropy(notes, 1, n_bars=2) == pytest.approx(0.5)
    # a 4-bar window over a 2-bar phrase is cut to the phrase: C 3, G 1
    h = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert pitch_class_entropy(notes, 4, n_bars=2) == pytest.approx(h)
    # empty bars are skipped: the same notes in a 4-bar phrase give the same H1
    assert pitch_class_entropy(notes, 1, n_bars=4) == pytest.approx(0.5)
    assert math.isnan(pitch_class_entropy(make_notes([]), 1))


def test_grooving_similarity_counts_differing_grid_positions():
    # bar 0 onsets on beats 0 1 2 3, bar 1 on beats 0 1: 2 of 48 positions differ
    notes = make_notes([(60, b, 0.5) for b in (0, 1, 2, 3, 4, 5)])
    assert grooving_similarity(notes, n_bars=2) == pytest.approx(1 - 2 / 48)
    # three bars: pairs (0,1): 2 differ, (0,2): 4 differ (bar 2 empty), (1,2): 2 differ
    assert grooving_similarity(notes, n_bars=3) == pytest.approx(1 - (2 + 4 + 2) / 3 / 48)
    # a triplet eighth and a sixteenth land on different positions
    a = make_notes([(60, 1 / 3, 0.25), (60, 4.25, 0.25)])
    assert grooving_similarity(a, n_bars=2) == pytest.approx(1 - 2 / 48)


def test_scale_consistency_range_density():
    c_major = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = make_notes([(p, k / 2, 0.5) for k, p in enumerate(c_major)])
    assert scale_consistency(notes) == pytest.approx(1.0)
    with_sharp = make_notes([(p, k / 2, 0.5) for k, p in enumerate(c_major[:7] + [66])])
    assert scale_consistency(with_sharp) == pytest.approx(7 / 8)
    assert pitch_range(notes) == 12
    assert note_density(notes, n_bars=2) == pytest.approx(8 / 8)
    assert note_density(make_notes([]), n_bars=2) == 0.0


def test_polyphony_rate_is_the_share_of_steps_with_two_notes():
    notes = make_notes([(60, 0, 2), (64, 1, 2)])  # overlap on [1, 2): one beat of four
    assert polyphony_rate(notes, n_bars=1) == pytest.approx(0.25)
    mono = make_notes([(60, k, 1) for k in range(4)])  # back to back, never two at once
    assert polyphony_rate(mono, n_bars=1) == 0.0
    # MusPy's default threshold (more than two pitches): three notes at once on [2, 3) only
    triad = make_notes([(60, 0, 3), (64, 1, 2), (67, 2, 1)])
    assert polyphony_rate(triad, n_bars=1) == pytest.approx(0.5)
    assert polyphony_rate(triad, n_bars=1, threshold=2) == pytest.approx(0.25)


def test_notes_before_the_phrase_start_are_kept():
    # decoded malformed tokens can put notes before 0: they widen the phrase by a bar
    notes = make_notes([(60, -1, 0.5), (67, 0, 0.5)])
    assert note_density(notes, n_bars=1) == pytest.approx(2 / 8)
    assert pitch_class_entropy(notes, 1, n_bars=1) == pytest.approx(0.0)  # one class per bar
    assert pitch_class_entropy(notes, 4, n_bars=1) == pytest.approx(1.0)


def test_musical_metrics_of_identical_sets_have_zero_gaps():
    rng = np.random.default_rng(0)
    phrases = [make_notes([(int(p), k / 2, 0.5) for k, p in enumerate(rng.integers(55, 80, 32))]) for _ in range(5)]  # 4 bars of eighths
    out = musical_metrics(phrases, phrases)
    names = list(descriptors())
    assert set(out) == set(names) | {f"{n}_diff" for n in names}
    assert all(out[f"{n}_diff"] == 0 for n in names)
    assert out["note_density"] == pytest.approx(2.0)
    shifted = musical_metrics([make_notes([(60, 0, 1)])] * 2, phrases)
    assert shifted["note_density_diff"] == pytest.approx(2.0 - 1 / 16)
    assert descriptor_matrix(phrases).shape == (5, len(names))
