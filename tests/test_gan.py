"""The GAN generator on real phrases: the discriminator, the adversarial step, MLflow, checkpoints,
--init-from, the CLI's gan-only options."""

from __future__ import annotations

import dataclasses

import mlflow
import numpy as np
import pytest
import torch

from helpers import cli, cli_killed_when, mlflow_store
from benchmark.train import init_from_run
from generators.base import Length
from generators.gan import (
    Discriminator, GANConfig, GANGenerator, continuation_length, discriminator_scores, discriminator_step,
)
from generators.lstm import LSTMConfig, LSTMGenerator
from generators.registry import available, get_generator_class
from generators.transformer import TransformerConfig, TransformerGenerator
from training import TrainConfig, load_checkpoint

TINY = GANConfig(d_embed=32, hidden=64, layers=1, dropout=0.0, disc_embed=32, disc_hidden=32, disc_dropout=0.0,
                 adv_steps=6, disc_warmup=4, adv_batch=8, val_every=3, gen_lr=1e-3)
PER_STEP = ("disc_loss", "disc_acc_real", "disc_acc_fake", "gen_reward")


def all_finite(module: torch.nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in module.parameters())


@pytest.fixture(scope="module")
def trained(jazz_data, tmp_path_factory):
    """A tiny GAN: 2 epochs of MLE pretraining, 4 discriminator-only steps, 6 adversarial steps."""
    tmp = tmp_path_factory.mktemp("gan")
    with mlflow_store(tmp) as uri:
        gan = GANGenerator(jazz_data.tokenizer, TINY, "cpu")
        result = gan.fit(jazz_data.train, jazz_data.val,
                         TrainConfig(epochs=2, batch_size=8, lr=5e-3, warmup_steps=10, checkpoint_dir=tmp / "ck",
                                     data_hash=jazz_data.data_hash, corpus="wjazzd-test"))
    return gan, result, tmp, uri


def unigram_continuations(split, reference, vocab: int, seed: int) -> list[np.ndarray]:
    """Random continuations: tokens drawn from the unigram distribution of `reference`'s
    continuations, each as long as the real continuation it replaces."""
    counts = np.bincount(np.concatenate(reference.token_lists("continuation")), minlength=vocab).astype(float)
    rng = np.random.default_rng(seed)
    return [rng.choice(vocab, size=len(c), p=counts / counts.sum()) for c in split.token_lists("continuation")]


def test_registered():
    assert "gan" in available()
    assert get_generator_class("gan") is GANGenerator


def test_initial_weights_follow_the_seed(jazz_data):
    weights = [GANGenerator(jazz_data.tokenizer, TINY, "cpu", seed=s).model.state_dict() for s in (0, 0, 1)]
    key = next(iter(weights[0]))
    assert torch.equal(weights[0][key], weights[1][key]) and not torch.equal(weights[0][key], weights[2][key])


@pytest.mark.slow  # four epochs of discriminator training on the whole training split
def test_discriminator_separates_real_from_random_continuations(jazz_data):
    """Trained on the training split's contexts (real continuation vs unigram-random), it tells
    them apart on held-out songs (validation + test) at better than 90%."""
    torch.manual_seed(0)
    vocab, pad = len(jazz_data.tokenizer), jazz_data.tokenizer.vocab["PAD_None"]
    disc = Discriminator(vocab, 32, 32, 0.0, pad)
    opt = torch.optim.AdamW(disc.parameters(), lr=3e-3)
    train = jazz_data.train
    ctx, real = train.token_lists("context"), train.token_lists("continuation")
    rng = np.random.default_rng(0)
    first = None
    for epoch in range(4):
        fake = unigram_continuations(train, train, vocab, seed=epoch)
        order = rng.permutation(len(ctx))
        for s in range(0, len(order), 16):
            idx = order[s : s + 16]
            m = discriminator_step(disc, opt, [ctx[i] for i in idx], [real[i] for i in idx], [fake[i] for i in idx], "cpu")
            assert all(np.isfinite(v) for v in m.values())
            first = first or m
    accs = []
    for split in (jazz_data.val, jazz_data.test):
        c = split.token_lists("context")
        p_real = discriminator_scores(disc, c, split.token_lists("continuation"), "cpu")
        p_fake = discriminator_scores(disc, c, unigram_continuations(split, train, vocab, seed=99), "cpu")
        accs += list(p_real > 0.5) + list(p_fake < 0.5)
    assert len(accs) > 50
    assert np.mean(accs) > 0.9, np.mean(accs)
    assert first["disc_loss"] > m["disc_loss"]
    assert all_finite(disc)


@pytest.mark.slow  # 55 adversarial steps, sampling every held-out context twice
def test_adversarial_steps_change_the_generator_and_raise_its_score(trained, jazz_data, tmp_path):
    """Against a fixed discriminator that has learnt to spot this generator's samples, policy
    gradient steps (no MLE mix, no leash) move every parameter group and raise the discriminator's
    mean probability of "real" on fresh samples of held-out contexts."""
    gan, _, _, _ = trained
    gan.save(tmp_path / "g.pt")
    g = GANGenerator.load(tmp_path / "g.pt", "cpu")
    g.config.mle_weight = g.config.kl_weight = 0.0
    g.config.gen_lr = 2e-3
    g.gen_opt = None
    g.start_adversarial()
    train = jazz_data.train
    ctx, real = train.token_lists("context"), train.token_lists("continuation")
    length = continuation_length(train, g.vocab)
    max_tokens = 200
    rng = np.random.default_rng(0)
    for i in range(30):  # the discriminator learns this generator's samples
        idx = rng.choice(len(ctx), 16, replace=False)
        g.adversarial_step([ctx[j] for j in idx], [real[j] for j in idx], length, max_tokens, seed=i,
                           update_generator=False)
    held = jazz_data.test.token_lists("context") + jazz_data.val.token_lists("context")

    def score() -> float:
        fakes = g.sample_fakes(held, length, max_tokens, seed=12345)
        return float(discriminator_scores(g.discriminator, held, fakes, "cpu").mean())

    before = score()
    params = {n: p.detach().clone() for n, p in g.model.named_parameters()}
    disc_params = {n: p.detach().clone() for n, p in g.discriminator.named_parameters()}
    rewards = []
    for i in range(25):
        idx = rng.choice(len(ctx), 16, replace=False)
        m = g.adversarial_step([ctx[j] for j in idx], [real[j] for j in idx], length, max_tokens, seed=1000 + i,
                               update_discriminator=False)
        rewards.append(m["gen_reward"])
        assert all(np.isfinite(v) for v in m.values()), m
    after = score()
    for n, p in g.model.named_parameters():
        assert not torch.equal(p, params[n]), n
    for n, p in g.discriminator.named_parameters():
        assert torch.equal(p, disc_params[n]), n  # the discriminator stayed fixed
    assert after > before + 0.02, (before, after)
    assert np.mean(rewards[-5:]) > np.mean(rewards[:5])
    assert all_finite(g.model) and all_finite(g.discriminator)


def test_mlflow_run_logs_every_step_and_the_required_keys(trained, jazz_data):
    gan, result, tmp, uri = trained
    client = mlflow.MlflowClient(uri)
    run = client.get_run(gan.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "phrasebench-generators"
    assert run.data.tags["generator"] == "gan"
    assert run.data.tags["data_hash"] == jazz_data.data_hash and run.data.tags["corpus"] == "wjazzd-test"
    for key in ("train_loss", "val_nll", "best_val_nll", "tokens_per_s", "pretrain_best_val_nll", "unigram_val_nll",
                *PER_STEP, "pg_loss", "kl"):
        assert np.isfinite(run.data.metrics[key]), key
    steps = TINY.disc_warmup + TINY.adv_steps
    for key in PER_STEP:
        history = client.get_metric_history(gan.run_id, key)
        assert len(history) == steps, key
        assert len({h.step for h in history}) == steps
        assert all(np.isfinite(h.value) for h in history), key
    for key in ("disc_acc_real", "disc_acc_fake", "gen_reward"):
        assert all(0.0 <= h.value <= 1.0 for h in client.get_metric_history(gan.run_id, key))
    # val_nll: every pretraining epoch, at the start of the adversarial phase, every val_every steps, at the end
    val = client.get_metric_history(gan.run_id, "val_nll")
    assert len(val) >= 2 + 1 + TINY.adv_steps // TINY.val_every
    assert len(client.get_metric_history(gan.run_id, "train_loss")) >= TINY.adv_steps
    # the adversarial steps continue the pretraining's step axis
    pre_steps = max(h.step for h in client.get_metric_history(gan.run_id, "epoch"))
    assert min(h.step for h in client.get_metric_history(gan.run_id, "disc_loss")) > pre_steps
    assert result.best == pytest.approx(run.data.metrics["best_val_nll"])
    assert run.data.metrics["best_val_nll"] < run.data.metrics["unigram_val_nll"]
    artifacts = {a.path for a in client.list_artifacts(gan.run_id)}
    assert {"checkpoint", "pretrain_checkpoint", "tokenizer.json"} <= artifacts
    assert all_finite(gan.model) and all_finite(gan.discriminator)


def test_checkpoints_round_trip_with_discriminator_and_optimizers(trained, jazz_data, tmp_path):
    gan, _, tmp, _ = trained
    best = load_checkpoint(tmp / "ck" / "best.pt", kind="gan")  # torch.load(weights_only=True) inside
    assert {"model", "discriminator", "gen_optimizer", "disc_optimizer"} <= set(best)
    assert best["adv_step"] == TINY.adv_steps
    again = GANGenerator.load(tmp / "ck" / "best.pt", "cpu")
    phrases = jazz_data.test.subset(range(4))
    for a, b in zip(gan.nll(phrases), again.nll(phrases)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    ctx = phrases.token_lists("context")
    np.testing.assert_allclose(discriminator_scores(gan.discriminator, ctx, phrases.token_lists("continuation"), "cpu"),
                               discriminator_scores(again.discriminator, ctx, phrases.token_lists("continuation"), "cpu"),
                               rtol=1e-6)
    assert gan.generate(ctx, Length(bars=2), seed=3) == again.generate(ctx, Length(bars=2), seed=3)
    for a, b in ((gan.gen_opt, again.gen_opt), (gan.disc_opt, again.disc_opt)):
        sa, sb = a.state_dict()["state"], b.state_dict()["state"]
        assert sa.keys() == sb.keys() and len(sa) > 0
        for key in sa:
            assert torch.equal(sa[key]["exp_avg"], sb[key]["exp_avg"])
    # the MLE starting point loads as a gan too, and differs from the adversarially trained one
    start = GANGenerator.load(tmp / "ck" / "pretrain" / "best.pt", "cpu")
    assert start.adv_step == 0
    assert any(not torch.equal(p, q) for p, q in zip(start.model.parameters(), gan.model.parameters()))


def test_init_from_an_lstm_run(jazz_data, tmp_path, store):
    """--init-from: the GAN starts with the LSTM's exact weights (same NLL), trains without
    pretraining, and tags its run with the source run."""
    uri = store
    few = jazz_data.train.subset(range(24))
    lstm = LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=32, hidden=48, layers=1, dropout=0.0), "cpu")
    lstm.fit(few, jazz_data.val, TrainConfig(epochs=1, batch_size=8, warmup_steps=2, checkpoint_dir=tmp_path / "lstm",
                                             data_hash=jazz_data.data_hash))
    cfg = GANConfig(disc_embed=16, disc_hidden=16, adv_steps=2, disc_warmup=1, adv_batch=4, val_every=1)
    gan = init_from_run(GANGenerator, lstm.run_id, cfg, "cpu")
    assert gan.config.base == "lstm" and gan.init_from == lstm.run_id
    phrases = jazz_data.test.subset(range(3))
    for a, b in zip(lstm.nll(phrases), gan.nll(phrases)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    gan.fit(few, jazz_data.val, TrainConfig(epochs=0, checkpoint_dir=tmp_path / "gan", data_hash=jazz_data.data_hash))
    run = mlflow.MlflowClient(uri).get_run(gan.run_id)
    assert run.data.tags["init_from"] == lstm.run_id and run.data.tags["generator"] == "gan"
    for key in ("train_loss", "val_nll", "best_val_nll", "tokens_per_s", *PER_STEP):
        assert np.isfinite(run.data.metrics[key]), key
    loaded = GANGenerator.load(tmp_path / "gan" / "best.pt", "cpu")
    assert loaded.init_from == lstm.run_id and loaded.adv_step == 2
    with pytest.raises(ValueError, match="data"):
        init_from_run(GANGenerator, lstm.run_id, cfg, "cpu").fit(
            few, jazz_data.val, TrainConfig(epochs=0, checkpoint_dir=tmp_path / "x", data_hash="another"))
    with pytest.raises(ValueError, match="no such MLflow run"):
        init_from_run(GANGenerator, "0123456789abcdef", cfg, "cpu")


def test_a_transformer_can_be_the_generator_network(jazz_data, tmp_path):
    """from_base on a transformer: same NLL as the transformer, finite adversarial steps that move
    it, and a checkpoint that rebuilds the transformer network."""
    torch.manual_seed(0)
    tf = TransformerGenerator(jazz_data.tokenizer, TransformerConfig(dim=32, depth=1, heads=2, dropout=0.1,
                                                                     max_seq_len=128), "cpu")
    gan = GANGenerator.from_base(tf, GANConfig(disc_embed=16, disc_hidden=16), "cpu")
    assert gan.config.base == "transformer"
    phrases = jazz_data.test.subset(range(3))
    for a, b in zip(tf.nll(phrases), gan.nll(phrases)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    before = [p.detach().clone() for p in gan.model.parameters()]
    ctx, real = phrases.token_lists("context"), phrases.token_lists("continuation")
    m = gan.adversarial_step(ctx, real, Length(bars=1), 40, seed=0)
    assert all(np.isfinite(v) for v in m.values()) and all_finite(gan.model)
    assert sum(not torch.equal(p, q) for p, q in zip(gan.model.parameters(), before)) > len(before) // 2
    gan.save(tmp_path / "t.pt")
    again = GANGenerator.load(tmp_path / "t.pt", "cpu")
    assert isinstance(again.model, type(tf.model))
    assert gan.generate(ctx, Length(bars=1), seed=1) == again.generate(ctx, Length(bars=1), seed=1)


@pytest.mark.slow  # runs cli.py in a process of its own
def test_cli_init_from_names_the_run_it_cannot_find(tmp_path):
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    out = cli("train-generator", "lstm", "--init-from", "abc", env=env)
    assert out.returncode == 2
    assert "--init-from abc" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow  # runs cli.py in a process of its own
def test_cli_trains_a_tiny_gan(jazz_dir, tmp_path):
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    ck = tmp_path / "ck"
    out = cli("train-generator", "gan", "--corpus", str(jazz_dir), "--cache-dir", str(tmp_path / "cache"),
              "--epochs", "1", "--model-opt", "adv_steps=2", "--batch-size", "8", "--device", "cpu",
              "--checkpoint-dir", str(ck), "--model-opt", "hidden=32", "--model-opt", "d_embed=16",
              "--model-opt", "layers=1", "--model-opt", "disc_hidden=16", "--model-opt", "disc_embed=16",
              "--model-opt", "disc_warmup=1", "--model-opt", "adv_batch=4", "--model-opt", "val_every=1", env=env)
    assert out.returncode == 0, out.stderr
    assert load_checkpoint(ck / "best.pt", kind="gan")["adv_step"] == 2
    assert (ck / "pretrain" / "best.pt").is_file()


def test_speed_harness_runs_adversarial_steps(jazz_data):
    from operating.speed import adversarial_steps_per_second

    torch.manual_seed(0)
    gan = GANGenerator(jazz_data.tokenizer, dataclasses.replace(TINY, adv_batch=4), "cpu")
    before = [p.detach().clone() for p in gan.model.parameters()]
    per_s, sampling_share = adversarial_steps_per_second(gan, jazz_data.train, steps=1, warmup=1)
    assert np.isfinite(per_s) and per_s > 0 and np.isfinite(sampling_share) and sampling_share > 0
    assert gan.adv_step == 2 and any(not torch.equal(p, q) for p, q in zip(gan.model.parameters(), before))


def _gan_args(corpus, ckpt):
    return ["train-generator", "gan", "--corpus", str(corpus), "--cache-dir", str(ckpt.parent / "cache"),
            "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--checkpoint-dir", str(ckpt),
            "--model-opt", "hidden=32", "--model-opt", "d_embed=16", "--model-opt", "layers=1",
            "--model-opt", "disc_hidden=16", "--model-opt", "disc_embed=16", "--model-opt", "disc_warmup=2",
            "--model-opt", "adv_batch=4", "--model-opt", "adv_steps=30", "--model-opt", "val_every=2"]


@pytest.mark.slow  # runs cli.py in processes of its own
def test_sigkill_in_the_adversarial_phase_then_resume_reaches_the_same_weights(jazz_dir, tmp_path):
    """The adversarial phase is a phase of the engine: killed -9 after its first last.pt, `--resume`
    skips the finished pretraining and ends with the weights, discriminator and optimizers of a
    run never interrupted, in the same MLflow run."""
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    whole = cli(*_gan_args(jazz_dir, tmp_path / "whole"), env=env)
    assert whole.returncode == 0, whole.stderr
    ckpt = tmp_path / "killed"
    cli_killed_when(ckpt / "last.pt", *_gan_args(jazz_dir, ckpt), env=env)
    killed_at = load_checkpoint(ckpt / "last.pt", kind="gan")
    assert killed_at["phase"] == "adversarial" and 2 <= killed_at["step"] < 32
    resumed = cli(*_gan_args(jazz_dir, ckpt), "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_checkpoint(tmp_path / "whole" / "best.pt"), load_checkpoint(ckpt / "best.pt")
    assert a["adv_step"] == b["adv_step"] == 30
    for part in ("model", "discriminator"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key, killed_at["step"])
    for opt in ("gen_optimizer", "disc_optimizer"):
        for i, state in a[opt]["state"].items():
            assert torch.equal(state["exp_avg"], b[opt]["state"][i]["exp_avg"]), opt
    assert b["run_id"] == killed_at["run_id"]  # the resumed training logs into the same MLflow run
    assert mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"]).get_run(b["run_id"]).data.tags["complete"] == "true"
