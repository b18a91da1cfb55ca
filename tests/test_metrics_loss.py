"""Per-token NLL and bits per note from per-token NLL values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrics.loss import bits_per_note, loss_metrics, nll_per_token


def test_uniform_model_gives_log_vocab():
    vocab, tokens_per_note = 10, 3
    nll = [np.full(6, math.log(vocab)), np.full(9, math.log(vocab))]  # 2 + 3 notes
    assert nll_per_token(nll) == pytest.approx(math.log(vocab))
    assert bits_per_note(nll, [2, 3]) == pytest.approx(tokens_per_note * math.log2(vocab))


def test_tokens_are_pooled_not_phrases_averaged():
    nll = [np.array([1.0, 1.0, 1.0]), np.array([5.0])]
    assert nll_per_token(nll) == pytest.approx(2.0)  # (1 + 1 + 1 + 5) / 4, not (1 + 5) / 2
    assert nll_per_token(np.array([[1.0, 3.0], [2.0, 2.0]])) == pytest.approx(2.0)


def test_loss_metrics_keys_and_undefined_nll():
    out = loss_metrics([np.array([math.log(2)] * 4)], [2])
    assert out == pytest.approx({"nll": math.log(2), "bits_per_note": 2.0})
    assert loss_metrics(None, [3]) == {"nll": None, "bits_per_note": None}


def test_empty_inputs_say_what_is_wrong():
    with pytest.raises(ValueError, match="no tokens"):
        nll_per_token([])
    with pytest.raises(ValueError, match="no notes"):
        bits_per_note([np.ones(3)], [0])
