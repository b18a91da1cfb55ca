"""JSD of pitch / step / duration histograms: hand-computed values, both protocols."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.jsd import N_BEAT_BINS, beat_bins, jsd, jsd_metrics, note_histograms
from helpers.notes import make_notes, make_notes_s


def test_jsd_identical_is_zero_and_disjoint_is_one():
    p = np.array([3.0, 1.0, 0.0, 6.0])
    assert jsd(p, p) == pytest.approx(0.0, abs=1e-12)
    assert jsd(p, 2 * p) == pytest.approx(0.0, abs=1e-12)  # counts are normalized
    assert jsd([1, 2, 0, 0], [0, 0, 5, 1]) == pytest.approx(1.0)


def test_jsd_two_bin_worked_example():
    # p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4)
    # KL(p||m) = 1/2 log2(2/3) + 1/2 log2(2) = 0.207519;  KL(q||m) = log2(4/3) = 0.415037
    # JSD = (0.207519 + 0.415037) / 2 = 0.311278
    assert jsd([1, 1], [1, 0]) == pytest.approx(0.311278, abs=1e-6)
    assert jsd([1, 0], [1, 1]) == pytest.approx(0.311278, abs=1e-6)  # symmetric


def test_jsd_rejects_empty_or_mismatched():
    with pytest.raises(ValueError):
        jsd([0, 0], [1, 0])
    with pytest.raises(ValueError):
        jsd([1, 0], [1, 0, 0])


def test_beat_bins_tell_sixteenths_triplets_and_eighths_apart():
    values = np.array([0, 0.25, 1 / 3, 0.5, 2 / 3, 1.0, 4.0, 4.25, 100.0], dtype=np.float32)
    assert beat_bins(values).tolist() == [0, 3, 4, 6, 8, 12, 48, 49, 49]
    assert N_BEAT_BINS == 50


def test_steps_stay_within_phrases():
    # Two phrases, each two notes a beat apart: steps are [1, 1]. A step across the boundary
    # (from beat 1 back to beat 0) would land in bin 0 and make the JSD positive.
    phrase = make_notes([(60, 0, 1), (62, 1, 1)])
    ref = [make_notes([(60, 0, 1), (62, 1, 1)])]
    assert note_histograms([phrase, phrase])["step"].sum() == 2
    assert jsd_metrics([phrase, phrase], ref)["jsd_step"] == pytest.approx(0.0, abs=1e-12)


def test_beats_protocol_values():
    gen = [make_notes([(60, 0, 0.5), (62, 0.5, 0.5), (64, 1.0, 1 / 3)])]
    ref = [make_notes([(60, 0, 0.5), (62, 0.5, 0.5), (64, 1.0, 0.5)])]
    out = jsd_metrics(gen, ref)
    assert out["jsd_pitch"] == pytest.approx(0.0, abs=1e-12)
    assert out["jsd_step"] == pytest.approx(0.0, abs=1e-12)
    # durations: gen {1/2: 2, 1/3: 1}, ref {1/2: 3}: the two-bin example with (2/3, 1/3) vs (1, 0)
    p, m = np.array([2 / 3, 1 / 3]), np.array([5 / 6, 1 / 6])
    want = (np.sum(p * np.log2(p / m)) + math.log2(1 / (5 / 6))) / 2
    assert out["jsd_duration"] == pytest.approx(want, abs=1e-9)
    assert jsd_metrics(gen, [make_notes([(70, 0, 4)])])["jsd_pitch"] == pytest.approx(1.0)


def _hand_jsd(p_counts: dict[int, float], q_counts: dict[int, float], n_bins: int, pseudo: float = 1e-4) -> float:
    """Plain-Python JSD of two sparse count dicts with a pseudo-count in every bin."""
    p = [p_counts.get(i, 0) + pseudo for i in range(n_bins)]
    q = [q_counts.get(i, 0) + pseudo for i in range(n_bins)]
    sp, sq = sum(p), sum(q)
    kl_p = kl_q = 0.0
    for a, b in zip(p, q):
        a, b = a / sp, b / sq
        m = (a + b) / 2
        kl_p += a * math.log2(a / m)
        kl_q += b * math.log2(b / m)
    return (kl_p + kl_q) / 2


def test_csc413_protocol_by_hand():
    # (pitch, onset s, duration s). Sorted: 60@0, 64@0, 62@1.2, 60@20.
    gen = [make_notes_s([(64, 0.0, 0.7), (60, 0.0, 0.3), (62, 1.2, 2.6), (60, 20.0, 0.4)])]
    ref = [make_notes_s([(60, 0.0, 0.7), (62, 0.6, 1.1)])]
    out = jsd_metrics(gen, ref, protocol="csc413")
    # steps: gen 0, 1.2, 18.8 -> bins 0, 2, 29 (clipped); ref 0.6 -> bin 1
    assert out["jsd_step"] == pytest.approx(_hand_jsd({0: 1, 2: 1, 29: 1}, {1: 1}, 30), rel=1e-9)
    # durations: 0.3 -> 0; 0.7 has step 0 -> bin 0 (the quirk); 2.6 -> 5; 0.4 -> 0. ref 0.7 -> 1, 1.1 -> 2
    assert out["jsd_duration"] == pytest.approx(_hand_jsd({0: 3, 5: 1}, {1: 1, 2: 1}, 30), rel=1e-9)
    assert out["jsd_duration"] != pytest.approx(_hand_jsd({0: 2, 1: 1, 5: 1}, {1: 1, 2: 1}, 30), rel=1e-6)
    assert out["jsd_pitch"] == pytest.approx(_hand_jsd({60: 2, 62: 1, 64: 1}, {60: 1, 62: 1}, 128), rel=1e-9)
    # the pseudo-counts keep it finite and below 1 even for disjoint supports
    disjoint = jsd_metrics(gen, [make_notes_s([(90, 0.0, 9.0)])], protocol="csc413")["jsd_pitch"]
    assert 0.99 < disjoint < 1.0


def test_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="beats, csc413"):
        jsd_metrics([], [], protocol="seconds")


def test_empty_sets_give_nan_in_beats():
    out = jsd_metrics([make_notes([])], [make_notes([(60, 0, 1)])])
    assert all(math.isnan(v) for v in out.values())
