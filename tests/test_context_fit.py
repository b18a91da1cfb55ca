"""The context side of the critic: the comparisons of `metrics.coherence` and the misfit model of
`critics.context_fit`, fitted on the test corpus's real phrases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from critics.context_fit import ContextFit, fit_context_fit
from critics.degenerate import degenerate
from metrics.coherence import CONTEXT_FIT_FEATURES, context_fit_features
from metrics.two_sample import auroc
from phrases.decode import decode_phrase
from phrases.notes import NOTE_DTYPE


def notes(rows) -> np.ndarray:
    """(pitch, onset beats, duration beats) rows as the phrases' notes."""
    out = np.zeros(len(rows), NOTE_DTYPE)
    for i, (pitch, onset, duration) in enumerate(rows):
        out[i]["pitch"], out[i]["onset_beats"], out[i]["duration_beats"] = pitch, onset, duration
    return out


def features(context, continuation, context_beats: float = 4.0) -> dict[str, float]:
    return dict(zip(CONTEXT_FIT_FEATURES, context_fit_features(notes(context), notes(continuation), context_beats)))


def test_the_comparisons_read_key_register_and_seam():
    c_major = [(60 + p, i * 0.5, 0.5) for i, p in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]
    same = features(c_major, [(p, o, d) for p, o, d in c_major])
    far = features(c_major, [(p + 18, o, d) for p, o, d in c_major])  # a tritone and an octave up
    assert same["register_shift"] == 0 and far["register_shift"] == 18
    assert far["key_fit"] < same["key_fit"] and far["pitch_class_jsd"] > same["pitch_class_jsd"] == 0
    assert same["seam_leap"] == 12 and same["seam_step"] == -12  # from the context's top C down to its first
    assert same["density_ratio"] == 0 and same["context_notes"] == 8 and same["context_end"] == 4.0
    assert same["interval_3gram_echo"] == same["rhythm_3gram_echo"] == 1 and far["interval_3gram_echo"] == 1
    assert far["local_key_fit"] < same["local_key_fit"]


def test_the_seams_timing_counts_from_where_the_continuation_starts():
    """The context's last eighth ends on beat 4; a continuation of a 4-beat context starting on
    its own beat 0 follows without a rest, one of a 6-beat context (a bar of 3/4 twice) two beats later."""
    line = [(60 + p, i * 0.5, 0.5) for i, p in enumerate([0, 2, 4, 5, 7, 9, 11, 12])]
    tight, late = features(line, line, context_beats=4.0), features(line, line, context_beats=6.0)
    assert tight["seam_rest"] == 0 and tight["seam_ioi"] == 0.5 and tight["seam_ioi_ratio"] == 0
    assert late["seam_rest"] == 2 and late["seam_ioi"] == 2.5 and late["seam_ioi_ratio"] > 0
    assert tight["first_position_fit"] == late["first_position_fit"]  # both start on a beat
    offbeat = features(line, [(p, o + 1 / 3, d) for p, o, d in line])  # triplet onsets after a line of eighths
    assert offbeat["beat_position_fit"] < tight["beat_position_fit"]

def test_a_half_with_fewer_than_two_notes_has_nothing_to_compare():
    one = [(60, 0.0, 1.0)]
    assert not context_fit_features(notes(one), notes(one * 3), 4.0).any()
    assert len(context_fit_features(notes([]), notes([]), 4.0)) == len(CONTEXT_FIT_FEATURES)


def _by_song(split, songs):
    return split.subset(np.flatnonzero(np.isin(split.arrays["song"], songs)))


@pytest.fixture(scope="module")
def held_out(jazz_data):
    """Two of the training split's songs, which `fitted` never sees (the test corpus's own test
    split holds one song, and another song's continuation needs two)."""
    return _by_song(jazz_data.train, np.unique(jazz_data.train.arrays["song"])[-2:])


@pytest.fixture(scope="module")
def fitted(jazz_data):
    songs = np.unique(jazz_data.train.arrays["song"])[:-2]
    return fit_context_fit(jazz_data.tokenizer, _by_song(jazz_data.train, songs), jazz_data.config.phrase_bars,
                           jazz_data.config)


def _misfit(model, data, continuations, split):
    decoded = [decode_phrase(data.tokenizer, c, k, t, data.config.phrase_bars) for c, k, t in
               zip(split.token_lists("context"), continuations, split.arrays["tempo_qpm"])]
    return model.score(decoded)


def test_another_songs_continuation_fits_worse_than_the_true_one_on_held_out_songs(fitted, jazz_data, held_out):
    real = _misfit(fitted, jazz_data, held_out.token_lists("continuation"), held_out)
    other = _misfit(fitted, jazz_data, degenerate("other_context", held_out, jazz_data.train, jazz_data.tokenizer,
                                                  jazz_data.config, 0), held_out)
    assert auroc(other, real) > 0.65


def test_the_stored_trees_survive_a_weights_only_checkpoint(fitted, jazz_data, tmp_path):
    torch.save(fitted.state(), tmp_path / "fit.pt")
    again = ContextFit.from_state(torch.load(tmp_path / "fit.pt", weights_only=True))
    split = jazz_data.val
    np.testing.assert_array_equal(_misfit(fitted, jazz_data, split.token_lists("continuation"), split),
                                  _misfit(again, jazz_data, split.token_lists("continuation"), split))


def test_the_stored_trees_give_scikit_learns_scores():
    """`fit` checks this on its own data; here on points it never saw, near every threshold."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from critics.context_fit import BOOSTING

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(CONTEXT_FIT_FEATURES)))
    y = (x[:, 0] + x[:, 5] * x[:, 6] > 0).astype(float)
    fitted = ContextFit.fit(x[y == 0], x[y == 1], seed=0)
    model = HistGradientBoostingClassifier(random_state=0, **BOOSTING).fit(np.concatenate([x[y == 0], x[y == 1]]),
                                                                            np.r_[np.zeros(int((y == 0).sum())), np.ones(int(y.sum()))])
    fresh = rng.normal(size=(300, len(CONTEXT_FIT_FEATURES)))
    np.testing.assert_allclose(fitted.score_features(fresh), model.decision_function(fresh), atol=1e-9)


def test_a_one_song_split_gets_no_context_side(jazz_data):
    songs = jazz_data.train.arrays["song"]
    one = jazz_data.train.subset(np.flatnonzero(songs == songs[0]))
    assert fit_context_fit(jazz_data.tokenizer, one, jazz_data.config.phrase_bars, jazz_data.config) is None


def test_the_primary_score_is_the_worst_side_with_or_without_a_context_side(tiny_store, jazz_data):
    """A critic from before the context side (v4, or one trained on a one-song split) ranks by the
    two gaps it has; one with it by all three, and the interval's ends are the sides' maxima."""
    from benchmark.options import BenchmarkOptions
    from benchmark.runner import Benchmark

    critic = tiny_store.critic
    fitted = critic.context_fit
    assert fitted is not None
    options = BenchmarkOptions([], contexts=12, n_boot=20, device="cpu")
    try:
        for side in (fitted, None):
            critic.context_fit = side
            bench = Benchmark(jazz_data, critic, options, lambda *_: None)
            for row in bench.reference_rows():
                m = bench.score(row).metrics
                assert ("misfit_gap" in m) == (side is not None) and ("misfit" in row.per_phrase) == (side is not None)
                keys = [k for k in ("critic_gap", "bland_gap", "misfit_gap") if k in m]
                for end in ("", "_ci_low", "_ci_high"):
                    assert m[f"primary_gap{end}"] == max(m[f"{k}{end}"] for k in keys)
                assert len(bench.sides(row)) == len(bench.ref_sides) == len(keys)
    finally:
        critic.context_fit = fitted
