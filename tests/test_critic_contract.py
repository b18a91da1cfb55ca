"""The critic contract, as tests/test_contract.py checks the generators': every registered critic
(critics.registry) trained by `train-critic`'s path (benchmark.train.train_critic) scores one finite
anomaly per phrase that does not depend on the batch, embeds every phrase, is calibrated on the
validation split (realness falls as the anomaly rises), carries its validity figures, survives a
save/load round trip, and its training is one complete run tagged with its name."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from critics.base import Critic
from critics.registry import available, critic_class_of_kind, get_critic_class
from helpers import TINY_CRITIC, store_copy, train_tiny_critic
from phrases import UserError


def test_the_registry_names_its_critics_and_refuses_others():
    assert "vae" in available()
    for name in available():
        cls = get_critic_class(name)
        assert issubclass(cls, Critic) and cls.name == name and critic_class_of_kind(cls.kind) is cls
    with pytest.raises(UserError, match="registered critics are vae"):
        get_critic_class("nope")
    with pytest.raises(UserError, match="not a critic"):
        critic_class_of_kind("generator-lstm")


@pytest.fixture(scope="module", params=available())
def fitted(request, jazz_data, tiny_store, tmp_path_factory):
    """(name, critic, its store's URI): the session's tiny critic for the VAE, a tiny one trained
    here for any other registered critic."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"critic-contract-{name}")
    with store_copy(tiny_store.folder, tmp) as uri:
        if name == tiny_store.critic.name:
            return name, tiny_store.critic, uri
        assert set(TINY_CRITIC) <= {f for f in get_critic_class(name).config_class.__dataclass_fields__}, name
        return name, train_tiny_critic(jazz_data, tmp / "critic", suite_phrases=16, name=name)[0], uri


def test_scores_and_embeddings_have_one_finite_row_per_phrase(fitted, jazz_data):
    _, critic, _ = fitted
    phrases = jazz_data.test.subset(range(6))
    ctx, cont = phrases.token_lists("context"), phrases.token_lists("continuation")
    scores, latents = critic.score(ctx, cont), critic.embed(ctx, cont)
    assert scores.shape == (6,) and np.isfinite(scores).all()
    assert latents.ndim == 2 and len(latents) == 6 and np.isfinite(latents).all()
    one_by_one = np.concatenate([critic.score(ctx[i:i + 1], cont[i:i + 1]) for i in range(6)])
    np.testing.assert_allclose(one_by_one, scores, rtol=1e-4, atol=1e-4)  # no batch effect
    both = critic.analyze(ctx, cont)
    np.testing.assert_allclose(both.anomaly, scores, rtol=1e-5, atol=1e-5)


def test_it_is_calibrated_and_realness_falls_as_anomaly_rises(fitted, jazz_data):
    _, critic, _ = fitted
    assert len(critic.calibration) > 0 and np.all(np.diff(critic.calibration) >= 0)
    lo, hi = critic.calibration[0], critic.calibration[-1]
    realness = critic.realness([lo - 1.0, lo, hi, hi + 1.0])
    assert realness[0] == 1.0 and realness[-1] == 0.0 and np.all(np.diff(realness) <= 0)


def test_its_training_is_one_complete_run_with_its_validity_figures(fitted, jazz_data):
    name, critic, uri = fitted
    run = mlflow.MlflowClient(uri).get_run(critic.run_id)
    assert run.data.tags["critic"] == name and run.data.tags["data_hash"] == jazz_data.data_hash
    assert run.data.tags["complete"] == "true" and run.info.status == "FINISHED"
    assert f"best_{critic.best_metric_name}" in run.data.metrics
    assert any(k.startswith("auroc_") for k in run.data.metrics), "no validity figure logged"


def test_save_load_gives_the_same_scores(fitted, jazz_data, tmp_path):
    name, critic, _ = fitted
    critic.save(tmp_path / "c.pt")
    again = get_critic_class(name).load(tmp_path / "c.pt", "cpu")
    phrases = jazz_data.test.subset(range(4))
    ctx, cont = phrases.token_lists("context"), phrases.token_lists("continuation")
    np.testing.assert_allclose(again.score(ctx, cont), critic.score(ctx, cont), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(again.calibration, critic.calibration)
    assert again.data_hash == critic.data_hash and again.run_id == critic.run_id
