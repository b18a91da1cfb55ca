"""The generator contract, scikit-learn's `parametrize_with_checks` style: every registered
generator (the built-ins and a test-only plug-in found through its entry point) passes the same
checks: a few training steps through the engine, nll shapes, seeded generation with the asked
length, a save/load round trip, one device."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
import torch

from generators.base import Length
from generators.registry import available, get_generator_class
from training import TrainConfig, config_from_options

TINY = {
    "lstm": {"d_embed": "16", "hidden": "32", "layers": "1"},
    "transformer": {"dim": "32", "depth": "1", "heads": "2", "max_seq_len": "128"},
    "gan": {"d_embed": "16", "hidden": "32", "layers": "1", "disc_embed": "16", "disc_hidden": "16",
            "adv_steps": "2", "disc_warmup": "1", "adv_batch": "4", "val_every": "1"},
}


def test_the_plug_in_is_registered():
    assert {"lstm", "transformer", "gan", "bigram"} <= set(available())


@pytest.fixture(scope="module", params=available())
def fitted(request, jazz_data, tmp_path_factory):
    from helpers import mlflow_store

    name = request.param
    cls = get_generator_class(name)
    tmp = tmp_path_factory.mktemp(f"contract-{name}")
    with mlflow_store(tmp) as uri:
        gen = cls(jazz_data.tokenizer, config_from_options(cls.config_class, TINY.get(name)), "cpu", seed=0)
        before = {k: v.clone() for k, v in gen.model.state_dict().items()}
        result = gen.fit(jazz_data.train, jazz_data.val,
                         TrainConfig(epochs=1, max_steps=4, batch_size=8, warmup_steps=2,
                                     checkpoint_dir=tmp / "ck", data_hash=jazz_data.data_hash))
    return name, gen, before, result, tmp, uri


def test_fit_trains_and_logs_one_run(fitted, jazz_data):
    name, gen, before, result, _, uri = fitted
    assert np.isfinite(result.best) and result.state.step >= 1 and result.checkpoint.is_file()
    after = gen.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "no weight moved"
    run = mlflow.MlflowClient(uri).get_run(result.run_id)
    assert run.data.tags["generator"] == name and run.data.tags["data_hash"] == jazz_data.data_hash
    for key in ("train_loss", "val_nll", "best_val_nll", "tokens_per_s"):
        assert key in run.data.metrics, key


def test_nll_has_one_value_per_continuation_token_and_end(fitted, jazz_data):
    _, gen, _, _, _, _ = fitted
    phrases = jazz_data.test.subset(range(5))
    nll = gen.nll(phrases)
    assert [len(x) for x in nll] == [len(c) + 1 for c in phrases.token_lists("continuation")]
    assert all(np.isfinite(x).all() and (x >= 0).all() for x in nll)


def test_generation_is_seeded_and_honours_the_length(fitted, jazz_data):
    _, gen, _, _, _, _ = fitted
    contexts = jazz_data.test.token_lists("context")[:4] + [[]]
    a = gen.generate(contexts, Length(bars=2), temperature=1.0, top_p=0.9, seed=3)
    assert a == gen.generate(contexts, Length(bars=2), temperature=1.0, top_p=0.9, seed=3)
    assert len(a) == len(contexts) and all(isinstance(t, int) for seq in a for t in seq)
    assert all(gen.vocab.is_bar[np.asarray(seq, dtype=int)].sum() <= 2 for seq in a)
    for seq in gen.generate(contexts, Length(notes=3), seed=0):
        assert gen.vocab.is_pitch[np.asarray(seq, dtype=int)].sum() <= 3


def test_save_load_round_trip_on_one_device(fitted, jazz_data, tmp_path):
    name, gen, _, _, _, _ = fitted
    assert {p.device.type for p in gen.model.parameters()} == {gen.device.type} == {"cpu"}
    gen.save(tmp_path / "g.pt")
    again = get_generator_class(name).load(tmp_path / "g.pt", "cpu")
    assert again.data_hash == gen.data_hash and again.run_id == gen.run_id
    phrases = jazz_data.test.subset(range(3))
    for x, y in zip(gen.nll(phrases), again.nll(phrases)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    contexts = phrases.token_lists("context")
    assert gen.generate(contexts, Length(bars=1), seed=5) == again.generate(contexts, Length(bars=1), seed=5)
