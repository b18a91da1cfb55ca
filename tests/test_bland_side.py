"""The bland side of the instrument: the degeneracy statistics on notes written here, the rule-made
families on real phrases, the blandness score, the tie groups of the rank, density and coverage."""

from __future__ import annotations

import numpy as np
import pytest

from critics.blandness import Blandness, fit_blandness
from critics.degenerate import FAMILIES, degenerate, family_notes
from metrics.degeneracy import (
    DEGENERACY, context_echo, copied_run, degeneracy, length_flatness, pitch_flatness, repetition, rhythm_flatness,
    sameness,
)
from metrics.fidelity import density_coverage
from metrics.plagiarism import TrainingPatterns
from metrics.ranking import holm, paired_gap_p, tie_groups, worst_gap
from phrases.decode import decode_phrase
from phrases.notes import NOTE_DTYPE


def notes(pitches, onsets=None, durations=None) -> np.ndarray:
    n = len(pitches)
    out = np.zeros(n, NOTE_DTYPE)
    out["pitch"] = pitches
    out["onset_beats"] = np.arange(n) * 0.5 if onsets is None else onsets
    out["duration_beats"] = 0.5 if durations is None else durations
    return out


LINE = [60, 62, 63, 67, 65, 62, 70, 58, 61, 64, 69, 66, 59, 63, 68, 71]
SWING = np.cumsum([0, 0.67, 0.33, 1, 0.5, 0.25, 0.25, 1.5, 0.5, 0.67, 0.33, 0.5, 1, 0.25, 0.75, 0.5])


def test_the_statistics_rise_with_degeneracy_on_lines_written_here():
    real = notes(LINE, SWING, np.diff(np.append(SWING, SWING[-1] + 0.5)))
    assert pitch_flatness(notes([60] * 16)) == 0.0 > pitch_flatness(real)
    assert pitch_flatness(notes([60, 62] * 8)) == pytest.approx(-1.0)  # two pitches, equally used: -1 bit
    assert rhythm_flatness(notes(LINE)) == 0.0 > rhythm_flatness(real)  # straight eighths: one gap
    assert length_flatness(notes(LINE)) == 0.0 > length_flatness(real)
    loop = notes([60, 64, 67, 64] * 4)
    assert repetition(loop) == pytest.approx(1 - 4 / 13) and repetition(real) == 0.0  # 13 patterns, 4 distinct
    assert context_echo(real, notes(np.array(LINE) + 5, SWING, np.diff(np.append(SWING, SWING[-1] + 0.5)))) == 1.0
    assert context_echo(loop, real) == 0.0
    same = sameness([real, real, loop])
    assert same[0] == same[1] == 1.0 and same[2] == 0.0
    training = TrainingPatterns([real])
    assert copied_run(notes(np.array(LINE) - 3, SWING, np.diff(np.append(SWING, SWING[-1] + 0.5))), training) == 1.0
    assert copied_run(loop, training) == 0.0
    empty = notes([])
    assert all(v[0] == 0.0 for v in degeneracy([real], [empty], training).values())


def test_sameness_reads_a_fixed_number_of_peers_whatever_the_row_size():
    rng = np.random.default_rng(0)
    lines = [notes(rng.integers(50, 80, 12), np.cumsum(rng.choice([0.25, 0.5, 0.75], 12))) for _ in range(200)]
    a, b = sameness(lines, seed=0, peers=20), sameness(lines, seed=1, peers=20)
    assert a.shape == (200,) and np.all((0 <= a) & (a <= 1))
    assert not np.array_equal(a, b)  # the peers are drawn with the seed
    assert np.array_equal(a, sameness(lines, seed=0, peers=20))


@pytest.fixture(scope="module")
def val(jazz_data):
    return jazz_data.val.subset(np.arange(min(24, len(jazz_data.val))))


def test_each_family_is_what_its_rule_says(jazz_data, val):
    tok, config = jazz_data.tokenizer, jazz_data.config
    made = {name: family_notes(name, val, jazz_data.train, tok, config, seed=0) for name in FAMILIES
            if name != "other_context"}  # needs two songs: below
    for cont, s, _ in made["one_pitch"]:
        assert len(set(cont["pitch"].tolist())) == 1 and cont["pitch"][0] == s.context["pitch"][-1]
        assert np.all(np.diff(cont["time"]) == s.tpq)
    for cont, s, _ in made["loop_bar"]:
        bar = cont["time"] < s.bar
        second = (cont["time"] >= s.bar) & (cont["time"] < 2 * s.bar)
        assert np.array_equal(cont["pitch"][bar], cont["pitch"][second])
    for cont, s, _ in made["echo"]:
        assert np.array_equal(cont["pitch"], s.context["pitch"][s.context["time"] >= s.end - s.length])
    for (cont, _, _), (same, _, _) in zip(made["echo"], made["echo_transposed"]):
        shift = set((same["pitch"] - cont["pitch"]).tolist())
        assert len(shift) == 1 and 1 <= abs(shift.pop()) <= 5
    first = made["collapse"][0][0]
    assert all(np.array_equal(c["pitch"], first["pitch"]) for c, _, _ in made["collapse"])
    train_lines = {tuple(p.continuation_notes["pitch"].tolist()) for p in jazz_data.train}
    assert all(tuple(c["pitch"].tolist()) in train_lines for c, _, _ in made["copy_train"])
    train_shapes = {tuple(np.diff(p.continuation_notes["pitch"]).tolist()) for p in jazz_data.train}
    for t, s, _ in made["copy_train_transposed"]:  # a training line moved as a whole, to the context's register
        assert tuple(np.diff(t["pitch"]).tolist()) in train_shapes
        assert abs(t["pitch"].mean() - s.context["pitch"].mean()) <= 0.5 + 1e-9 or t["pitch"].min() in (21, 108)
    for cont, _, _ in made["straight_eighths"]:
        assert len(set(np.diff(cont["time"]).tolist())) <= 1
    songs = jazz_data.train.arrays["song"]
    two = jazz_data.train.subset(np.concatenate([np.flatnonzero(songs == s)[:6] for s in np.unique(songs)[:2]]))
    truths = {tuple(p.continuation_notes["pitch"].tolist()): p.song for p in two}
    for i, (cont, _, _) in enumerate(family_notes("other_context", two, jazz_data.train, tok, config, seed=0)):
        assert truths[tuple(cont["pitch"].tolist())] != two[i].song
    with pytest.raises(ValueError, match="two songs"):
        family_notes("other_context", val.subset([0, 1]) if len(set(val.arrays["song"][:2])) == 1 else val.subset([0]),
                     jazz_data.train, tok, config)


def test_families_tokenize_as_continuations_and_decode_back(jazz_data, val):
    tok, config = jazz_data.tokenizer, jazz_data.config
    for name in ("one_pitch", "loop_bar", "copy_train"):
        ids = degenerate(name, val, jazz_data.train, tok, config, seed=0)
        assert len(ids) == len(val) and all(len(i) > 0 for i in ids)
        d = decode_phrase(tok, val[0].context, ids[0], float(val[0].tempo_qpm), config.phrase_bars)
        assert len(d.continuation_notes) > 0 and d.malformed == 0
        assert d.continuation_notes["onset_beats"].max() < config.phrase_bars * 4 + 1e-6
    assert degenerate("one_pitch", val, jazz_data.train, tok, config, seed=0)[3].tolist() == \
        degenerate("one_pitch", val, jazz_data.train, tok, config, seed=0)[3].tolist()
    with pytest.raises(ValueError, match="choose one of"):
        degenerate("nope", val, jazz_data.train, tok, config)


def test_blandness_puts_degenerate_lines_above_real_ones_and_survives_its_state(jazz_data, val):
    tok, config = jazz_data.tokenizer, jazz_data.config
    training = TrainingPatterns.from_split(jazz_data.train)
    fitted = fit_blandness(tok, jazz_data.val, training, config.phrase_bars)
    again = Blandness.from_state(fitted.state())

    def score(conts):
        decoded = [decode_phrase(tok, c, k, float(t), config.phrase_bars) for c, k, t in
                   zip(val.token_lists("context"), conts, val.arrays["tempo_qpm"])]
        stats = degeneracy([d.context_notes for d in decoded], [d.continuation_notes for d in decoded], training)
        assert set(stats) == set(DEGENERACY)
        assert np.array_equal(fitted.score(stats), again.score(stats))
        return fitted.score(stats)

    real = score(val.token_lists("continuation"))
    for name in ("one_pitch", "loop_bar", "collapse"):
        fake = score(degenerate(name, val, jazz_data.train, tok, config))
        assert np.median(fake) > np.quantile(real, 0.9), name
    p = fitted.p_values({k: np.full(1, -np.inf) for k in DEGENERACY})
    assert np.allclose(p, 1.0)  # less degenerate than every real phrase: p = 1


def test_holm_and_tie_groups():
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    rng = np.random.default_rng(0)
    ref = [rng.normal(size=300), rng.normal(size=300)]
    a = [rng.normal(size=100), rng.normal(size=100)]
    near = [a[0] + 0.01, a[1]]
    far = [rng.normal(size=100) + 2, rng.normal(size=100)]
    assert worst_gap(far, ref) > 0.8 > worst_gap(a, ref)
    assert paired_gap_p(a, near, ref, n_boot=100) > 0.5 and paired_gap_p(a, far, ref, n_boot=100) < 0.05
    assert tie_groups([a, near, far], ref, n_boot=100) == [1, 1, 2]
    assert tie_groups([], ref) == []


def test_coverage_falls_when_a_set_collapses():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 8))
    d, c = density_coverage(real, rng.normal(size=(128, 8)))
    d1, c1 = density_coverage(real, np.repeat(rng.normal(size=(1, 8)), 128, 0))
    assert c > 0.7 and c1 < 0.05 and 0.5 < d < 1.5
    assert np.isnan(density_coverage(real[:1], real)[0])
