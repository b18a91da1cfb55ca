"""The VAE critic on real phrases: scores, calibration, checkpoints, resume, MLflow, the validity
suite's corruptions, and the train-critic / critique commands. A tiny critic keeps it fast."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
import torch

from helpers import cli, cli_killed_when, mlflow_store
from critics.base import realness_from
from critics.corruptions import (
    CORRUPTIONS, corrupt, jitter, random_pitch, shuffle_pitch, swap, tritone,
)
from critics.validity import mixing_ladder, paired_accuracy, validity_suite
from critics.vae import VAECritic, VAEConfig, active_units
from phrases import Unigram, Vocab
from training import CheckpointError, TrainConfig, load_checkpoint, save_checkpoint

TINY = VAEConfig(d_embed=32, enc_hidden=32, hidden=64, latent=8, dropout=0.0, word_dropout=0.1,
                 free_bits=0.1, kl_warmup_steps=20)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny GRUs run fastest on one thread (and are then bitwise repeatable)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(tmp, data, epochs=15, **kw) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=16, lr=1e-2, warmup_steps=10, patience=100, seed=0,
                       checkpoint_dir=tmp, data_hash=data.data_hash, corpus="wjazzd-test", **kw)


@pytest.fixture(scope="module")
def trained(jazz_data, tmp_path_factory):
    """A tiny critic trained for a few epochs on the test corpus's phrases, with its MLflow store."""
    tmp = tmp_path_factory.mktemp("critic")
    with mlflow_store(tmp) as uri:
        critic = VAECritic(jazz_data.tokenizer, TINY, "cpu")
        critic.phrase_config = jazz_data.config.to_dict()  # as train-critic sets it (its context side reads it)
        critic.fit(jazz_data.train, jazz_data.val, tiny_config(tmp / "ck", jazz_data))
    return critic, tmp, uri


@pytest.fixture(scope="module")
def vocab(jazz_data):
    return Vocab.from_tokenizer(jazz_data.tokenizer)


def pairs(split):
    return split.token_lists("context"), split.token_lists("continuation")


# -- scores ---------------------------------------------------------------------------------
def test_scores_are_finite_and_random_continuations_score_higher(trained, jazz_data, vocab):
    critic, _, _ = trained
    ctx, cont = pairs(jazz_data.test)
    real = critic.score(ctx, cont)
    assert real.shape == (len(ctx),) and np.isfinite(real).all()
    unigram = Unigram.fit(jazz_data.train, vocab)
    rand = critic.score(ctx, corrupt("random", ctx, cont, jazz_data.test.arrays["song"], vocab, unigram, seed=0))
    assert np.isfinite(rand).all()
    assert rand.mean() > real.mean() + 0.5
    emb = critic.embed(ctx, cont)
    assert emb.shape == (len(ctx), TINY.latent) and np.isfinite(emb).all()


def test_one_pass_gives_the_anomaly_its_components_and_the_embedding(trained, jazz_data):
    from critics.vae import SIGNALS

    critic, _, _ = trained
    ctx, cont = pairs(jazz_data.test)
    a = critic.analyze(ctx, cont)
    assert set(SIGNALS) <= set(a.components) and all(len(v) == len(ctx) for v in a.components.values())
    np.testing.assert_array_equal(a.anomaly, critic.combiner.score(a.components))
    np.testing.assert_array_equal(a.embedding, critic.embed(ctx, cont))
    # the anomaly is the weighted minimum p-value: no lower than any one signal's own -log(p / w)
    u = critic.combiner._u(a.components)
    from scipy.special import log_ndtr
    w = np.asarray(critic.combiner.weights) / sum(critic.combiner.weights)
    assert np.all(a.anomaly >= -(log_ndtr(-u) - np.log(w)).max(1) - 1e-9)


def test_wrong_notes_enters_the_anomaly_per_note(trained, jazz_data, vocab):
    """wrong_notes, a mean over the continuation's notes, is combined as (mean - c) sqrt(n): c the
    mean per note over the real validation phrases the critic was calibrated on, n their count."""
    critic, _, _ = trained
    ctx, cont = pairs(jazz_data.val)
    sig = critic.signals(ctx, cont)[0]
    np.testing.assert_array_equal(sig["pitches"], [(vocab.pitch[np.asarray(d)] >= 0).sum() for d in cont])
    c = critic.combiner.unit_mean["wrong_notes"]
    assert c == pytest.approx((sig["wrong_notes"] * sig["pitches"]).sum() / sig["pitches"].sum(), rel=1e-9)
    x = critic.combiner._x(sig)[:, list(critic.combiner.names).index("wrong_notes")]
    np.testing.assert_allclose(x, (sig["wrong_notes"] - c) * np.sqrt(np.maximum(sig["pitches"], 1)))


def test_a_per_unit_signal_is_surer_over_more_units_and_survives_its_state():
    from critics.combiner import Combiner

    rng = np.random.default_rng(0)
    n = rng.integers(4, 40, 500).astype(float)
    real = {"wn": 0.5 + rng.normal(0, 1, 500) / np.sqrt(n), "n": n, "t": rng.normal(0, 1, 500)}
    comb = Combiner(("wn", "t"), (4.0, 1.0), (1.0, 1.0), {"wn": "n"}).fit(real)
    assert comb.unit_mean["wn"] == pytest.approx(0.5, abs=0.05)
    same_excess = {"wn": np.array([0.9, 0.9]), "n": np.array([4.0, 36.0]), "t": np.zeros(2)}
    short, long_ = comb.score(same_excess)
    assert long_ > short + 1.0  # the same excess per note over 36 notes is far stranger than over 4
    again = Combiner.from_state(comb.state())
    np.testing.assert_array_equal(again.score(same_excess), comb.score(same_excess))
    plain = Combiner(("t",), (1.0,), (1.0,)).fit(real).state()
    del plain["per_unit"], plain["unit_mean"]  # a critic calibrated before per-unit signals
    np.testing.assert_array_equal(Combiner.from_state(plain).score(real), Combiner(("t",), (1.0,), (1.0,)).fit(real).score(real))


def test_scores_do_not_depend_on_the_batch(trained, jazz_data):
    """Unidirectional GRUs over right-padded rows, z = 0: a phrase scores the same alone as amid
    longer and shorter ones."""
    critic, _, _ = trained
    ctx, cont = pairs(jazz_data.val)
    together = critic.signals(ctx, cont, batch_size=64)[0]
    for i, (c, d) in enumerate(zip(ctx[:4], cont[:4])):
        alone = critic.signals([c], [d])[0]
        for k in together:
            np.testing.assert_allclose(alone[k], together[k][i:i + 1], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(critic.score(ctx, cont), critic.score(ctx, cont))


def test_signals_are_read_with_z_zero_so_the_encoder_cannot_pass_faults_on(trained, jazz_data):
    """The decoder reads every row with the latent at the prior's mean: an encoder that reads the
    phrases differently moves the embedding and the KL, never a signal the anomaly combines."""
    from critics.vae import SIGNALS

    critic, _, _ = trained
    ctx, cont = (x[:32] for x in pairs(jazz_data.test))
    before, mu_before = critic.signals(ctx, cont)
    bias = critic.model.to_latent.bias
    saved = bias.detach().clone()
    with torch.no_grad():
        bias.add_(torch.linspace(-1.0, 1.0, len(bias)))
    try:
        after, mu_after = critic.signals(ctx, cont)
    finally:
        with torch.no_grad():
            bias.copy_(saved)
    assert np.abs(mu_after - mu_before).max() > 0.5 and not np.allclose(after["kl"], before["kl"])
    for name in (*SIGNALS, "nll"):
        np.testing.assert_array_equal(after[name], before[name])


def test_bad_token_ids_are_a_one_line_error(trained):
    critic, _, _ = trained
    with pytest.raises(ValueError, match="vocabulary"):
        critic.score([[1, 2]], [[10_000]])
    with pytest.raises(ValueError, match="2 contexts but 1"):
        critic.score([[5], [6]], [[7]])


def test_realness_is_calibrated_and_monotone(trained, jazz_data):
    critic, _, _ = trained
    cal = critic.calibration
    assert len(cal) == len(jazz_data.val) and np.all(np.diff(cal) >= 0)
    grid = np.linspace(cal.min() - 1, cal.max() + 1, 200)
    r = critic.realness(grid)
    assert np.all(np.diff(r) <= 0) and r[0] == 1.0 and r[-1] == 0.0
    # on the calibration phrases themselves realness is ~uniform: its mean is (n + 1) / 2n
    ctx, cont = pairs(jazz_data.val)
    assert critic.realness(critic.score(ctx, cont)).mean() == pytest.approx((len(cal) + 1) / (2 * len(cal)), abs=1e-9)
    # hand-checked: share of reference scores >= s
    assert realness_from(np.array([3.0, 1.0, 2.0, 2.0]), [0.5, 2.0, 2.5, 9.0]).tolist() == [1.0, 0.75, 0.25, 0.0]


def test_active_units_counts_dimensions_that_vary():
    rng = np.random.default_rng(0)
    mu = np.zeros((500, 4))
    mu[:, 0] = rng.normal(0, 1.0, 500)  # varies
    mu[:, 1] = rng.normal(0, 0.01, 500)  # variance 1e-4: inactive
    mu[:, 2] = 5.0  # constant: inactive
    mu[:, 3] = rng.normal(0, 0.3, 500)  # variance 0.09: active
    assert active_units(mu) == 2


# -- checkpoints, resume, MLflow ---------------------------------------------------------------
def test_save_load_gives_identical_scores(trained, jazz_data, tmp_path):
    critic, _, _ = trained
    critic.save(tmp_path / "c.pt")
    again = VAECritic.load(tmp_path / "c.pt", "cpu")
    ctx, cont = pairs(jazz_data.test)
    np.testing.assert_array_equal(critic.score(ctx, cont), again.score(ctx, cont))
    np.testing.assert_array_equal(critic.embed(ctx, cont), again.embed(ctx, cont))
    np.testing.assert_array_equal(critic.calibration, again.calibration)
    assert again.config == TINY and again.data_hash == jazz_data.data_hash


def test_best_checkpoint_holds_the_calibration(trained):
    critic, tmp, _ = trained
    loaded = VAECritic.load(tmp / "ck" / "best.pt", "cpu")
    np.testing.assert_array_equal(loaded.calibration, critic.calibration)


def test_the_critic_carries_the_domain_of_its_training_split(trained, jazz_data):
    """Fitted by finish_training on the training split, kept in best.pt (critics.domain)."""
    from critics.domain import DomainProfile

    critic, tmp, _ = trained
    assert critic.domain == DomainProfile.fit(jazz_data.train).to_dict()
    low, high = critic.domain["ranges"]["polyphony"]
    assert low == pytest.approx(1.0) and high < 1.2  # monophonic solos
    assert VAECritic.load(tmp / "ck" / "best.pt", "cpu").domain == critic.domain


def test_corrupt_or_foreign_checkpoints_get_one_line_errors(trained, tmp_path):
    critic, tmp, _ = trained
    raw = (tmp / "ck" / "best.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(CheckpointError, match="trunc.pt") as e:
        VAECritic.load(tmp_path / "trunc.pt")
    assert "\n" not in str(e.value)
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="garbage.pt"):
        VAECritic.load(tmp_path / "garbage.pt")
    state = load_checkpoint(tmp / "ck" / "best.pt")
    save_checkpoint({**state, "kind": "lstm"}, tmp_path / "gen.pt")
    with pytest.raises(CheckpointError, match=f"not '{VAECritic.kind}'"):
        VAECritic.load(tmp_path / "gen.pt")


def test_mlflow_run_has_the_required_keys(trained, jazz_data):
    critic, _, uri = trained
    client = mlflow.MlflowClient(uri)
    run = client.get_run(critic.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "phrasebench-critics"
    assert run.data.tags["critic"] == "vae" and run.data.tags["data_hash"] == jazz_data.data_hash
    for key in ("val_elbo", "val_kl", "active_units", "best_val_elbo", "train_loss", "tokens_per_s"):
        assert np.isfinite(run.data.metrics[key]), key
    assert 0 <= run.data.metrics["active_units"] <= TINY.latent
    assert run.data.params["model.latent"] == str(TINY.latent)
    assert "checkpoint" in {a.path for a in client.list_artifacts(critic.run_id)}


# -- corruptions ------------------------------------------------------------------------------
def test_tritone_moves_every_pitch_by_six_and_nothing_else(jazz_data, vocab):
    for phrase in list(jazz_data.test)[:10]:
        out = tritone(phrase.continuation, vocab)
        is_pitch = vocab.pitch[phrase.continuation] >= 0
        assert is_pitch.sum() > 0
        np.testing.assert_array_equal(out[~is_pitch], phrase.continuation[~is_pitch])
        diff = vocab.pitch[out[is_pitch]] - vocab.pitch[phrase.continuation[is_pitch]]
        assert set(np.abs(diff).tolist()) == {6}
        assert (diff == 6).mean() > 0.9  # down only at the top of the range


def test_shuffle_keeps_the_pitch_multiset_and_the_rhythm(jazz_data, vocab):
    moved = 0
    for phrase in list(jazz_data.test)[:10]:
        out = shuffle_pitch(phrase.continuation, vocab, np.random.default_rng(1))
        is_pitch = vocab.pitch[phrase.continuation] >= 0
        np.testing.assert_array_equal(out[~is_pitch], phrase.continuation[~is_pitch])
        assert sorted(out[is_pitch]) == sorted(phrase.continuation[is_pitch])
        moved += not np.array_equal(out, phrase.continuation)
    assert moved >= 8


@pytest.mark.parametrize("share", [0.1, 0.3, 0.6, 1.0])
def test_random_pitch_replaces_that_share_within_the_range(jazz_data, vocab, share):
    for phrase in list(jazz_data.test)[:10]:
        out = random_pitch(phrase.context, phrase.continuation, vocab, share, np.random.default_rng(2))
        is_pitch = vocab.pitch[phrase.continuation] >= 0
        n = is_pitch.sum()
        np.testing.assert_array_equal(out[~is_pitch], phrase.continuation[~is_pitch])
        changed = (out != phrase.continuation).sum()
        assert changed == max(1, round(share * n))
        everything = np.concatenate([vocab.pitches(phrase.context), vocab.pitches(phrase.continuation)])
        new = vocab.pitch[out[is_pitch]]
        assert new.min() >= everything.min() and new.max() <= everything.max()


def test_jitter_moves_only_onsets_by_at_most_an_eighth_beat(jazz_data, vocab):
    k = max(1, int(vocab.positions_per_beat / 8))
    moved = 0
    for phrase in list(jazz_data.test)[:10]:
        out = jitter(phrase.context, phrase.continuation, vocab, np.random.default_rng(3))
        is_pos = vocab.position[phrase.continuation] >= 0
        np.testing.assert_array_equal(out[~is_pos], phrase.continuation[~is_pos])
        shift = vocab.position[out[is_pos]] - vocab.position[phrase.continuation[is_pos]]
        assert np.abs(shift).max() <= k
        moved += (shift != 0).mean()
        # onsets stay in order inside every bar
        bar = np.cumsum(vocab.is_bar[out])[is_pos]
        pos = vocab.position[out[is_pos]]
        assert np.all((np.diff(pos) > 0) | (np.diff(bar) > 0))
    assert moved / 10 > 0.5


def test_swap_takes_another_songs_continuation_and_random_draws_unigram_tokens(jazz_data, vocab):
    split = jazz_data.train
    ctx, cont = pairs(split)
    songs = split.arrays["song"]
    out = swap(cont, songs, np.random.default_rng(4))
    by_bytes = {c.tobytes(): i for i, c in enumerate(cont)}
    for i, o in enumerate(out):
        assert songs[by_bytes[o.astype(cont[0].dtype).tobytes()]] != songs[i]
    with pytest.raises(ValueError, match="two songs"):
        swap(cont[:3], [0, 0, 0], np.random.default_rng(0))
    rand = corrupt("random", ctx, cont, songs, vocab, Unigram.fit(split, vocab), seed=5)
    assert [len(r) for r in rand] == [len(c) for c in cont]
    assert not vocab.special[np.concatenate(rand)].any()


def test_corruptions_are_seeded(jazz_data, vocab):
    ctx, cont = pairs(jazz_data.train.subset(range(20)))
    songs = jazz_data.train.subset(range(20)).arrays["song"]
    probs = Unigram.fit(jazz_data.train.subset(range(20)), vocab)
    for name in CORRUPTIONS:
        if name == "swap" and len(set(songs.tolist())) < 2:
            continue
        a = corrupt(name, ctx, cont, songs, vocab, probs, seed=0)
        b = corrupt(name, ctx, cont, songs, vocab, probs, seed=0)
        assert all(np.array_equal(x, y) for x, y in zip(a, b)), name
        if name != "tritone":
            c = corrupt(name, ctx, cont, songs, vocab, probs, seed=1)
            assert not all(np.array_equal(x, y) for x, y in zip(a, c)), name
    with pytest.raises(ValueError, match="choose one of"):
        corrupt("nope", ctx, cont, songs, vocab, probs)


def test_validity_suite_reports_every_corruption(trained, jazz_data, vocab):
    critic, _, _ = trained
    rows = {r.name: r for r in validity_suite(critic, jazz_data.val, Unigram.fit(jazz_data.train, vocab), seed=0)}
    one_song = len(np.unique(jazz_data.val.arrays["song"])) < 2
    assert set(rows) == {"real", *CORRUPTIONS} - ({"swap"} if one_song else set())
    assert all(0.0 <= r.auroc <= 1.0 and 0.0 <= r.paired <= 1.0 for r in rows.values())
    assert rows["random"].auroc > 0.9 and rows["random"].realness < rows["real"].realness
    for name, r in rows.items():
        if name == "real":
            continue
        assert set(r.baselines) == {"mean_interval", "pc_mismatch", "unigram_nll"}
        assert r.floor == pytest.approx(min(max(a for a, _ in r.baselines.values()) + 0.05, 0.98))
        assert r.valid == (r.auroc >= r.floor)
    # what each baseline is blind to, by construction
    assert rows["jitter"].baselines["mean_interval"][0] == 0.5 and rows["jitter"].baselines["pc_mismatch"][0] == 0.5
    assert rows["tritone"].baselines["mean_interval"][0] == pytest.approx(0.5, abs=0.05)
    assert rows["shuffle_pitch"].baselines["pc_mismatch"][0] == 0.5
    assert rows["random_pitch_100"].baselines["mean_interval"][0] > 0.8  # random pitches leap


def test_paired_accuracy_counts_pairs_and_ties():
    assert paired_accuracy([2, 1, 3, 5], [1, 1, 4, 0]) == pytest.approx((1 + 0.5 + 0 + 1) / 4)


def test_mixing_ladder_rises_with_the_share_of_noise(trained, jazz_data, vocab):
    critic, _, _ = trained
    ladder = mixing_ladder(critic, jazz_data.test, Unigram.fit(jazz_data.train, vocab), seed=0)
    assert [q for q, _ in ladder] == [0.0, 0.25, 0.5, 0.75, 1.0]
    gaps = [g for _, g in ladder]
    assert all(0.0 <= g <= 1.0 for g in gaps) and gaps[-1] > 0.8 and gaps[-1] > gaps[0]


# -- commands ---------------------------------------------------------------------------------
def _train_args(corpus, ckpt, epochs=4):
    return ["train-critic", "--corpus", str(corpus), "--cache-dir", str(ckpt.parent / "cache"), "--epochs", str(epochs),
            "--batch-size", "16", "--patience", "100", "--device", "cpu", "--checkpoint-dir", str(ckpt),
            "--model-opt", "d_embed=16", "--model-opt", "enc_hidden=16", "--model-opt", "hidden=32",
            "--model-opt", "latent=4", "--model-opt", "kl_warmup_steps=10", "--suite-phrases", "12"]


@pytest.fixture(scope="module")
def cli_trained(jazz_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
    out = cli(*_train_args(jazz_dir, tmp / "whole"), env=env)
    assert out.returncode == 0, out.stderr
    return tmp, env, out


@pytest.mark.slow  # runs cli.py in a process of its own
def test_train_critic_logs_the_validity_suite(cli_trained):
    tmp, env, out = cli_trained
    assert "auroc" in out.stdout and "random_pitch_100" in out.stdout and "active_units" in out.stdout
    run_id = out.stdout.split("MLflow run ")[-1].split()[0]
    metrics = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"]).get_run(run_id).data.metrics
    for name in ("random_pitch_10", "random_pitch_100", "tritone", "shuffle_pitch", "jitter", "random"):
        assert 0.0 <= metrics[f"auroc_{name}"] <= 1.0, name
        assert 0.0 <= metrics[f"paired_{name}"] <= 1.0 and 0.0 <= metrics[f"mean_interval_auroc_{name}"] <= 1.0
    for key in ("val_elbo", "val_kl", "active_units", "validity_pass", "ladder_gap_q000", "ladder_gap_q100"):
        assert key in metrics
    assert "mean_interval" in out.stdout and "mixing ladder" in out.stdout


@pytest.mark.slow  # runs cli.py in a process of its own
def test_sigkill_then_resume_reaches_the_same_weights(cli_trained, jazz_dir):
    tmp, env, _ = cli_trained
    ckpt = tmp / "killed"
    cli_killed_when(ckpt / "last.pt", *_train_args(jazz_dir, ckpt), env=env)
    killed_at = load_checkpoint(ckpt / "last.pt")
    assert 1 <= killed_at["epoch"] < 4
    resumed = cli(*_train_args(jazz_dir, ckpt), "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_checkpoint(tmp / "whole" / "last.pt"), load_checkpoint(ckpt / "last.pt")
    assert a["epoch"] == b["epoch"] == 4 and a["step"] == b["step"]
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), (key, killed_at["epoch"], (a["model"][key] - b["model"][key]).abs().max())
    assert b["run_id"] == killed_at["run_id"] != a["run_id"]  # the resumed training logs into its own run


@pytest.mark.slow  # runs cli.py in a process of its own
def test_critique_rates_files_and_folders(cli_trained, jazz_dir, tmp_path):
    tmp, _, _ = cli_trained
    best = tmp / "whole" / "best.pt"
    song = jazz_dir / "MilesDavis_SoWhat_FINAL.mid"
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "broken.mid").write_bytes(b"MThd garbage")
    (tmp_path / "folder" / "so_what.mid").write_bytes(song.read_bytes())
    res = cli("critique", str(tmp_path / "folder"), "--checkpoint", str(best), "--device", "cpu")
    assert res.returncode == 0, res.stderr
    assert "broken.mid: skipped" in res.stdout and "so_what.mid:" in res.stdout
    assert res.stdout.count("anomaly") >= 3 and "overall: 1 files" in res.stdout
    window = next(line for line in res.stdout.splitlines() if line.lstrip().startswith("bars"))
    assert all(f" {name} " in window for name in ("wrong_notes", "timing", "coherence"))  # the anomaly's components
    overall = float(res.stdout.split("mean realness ")[-1].split()[0])
    assert 0.0 <= overall <= 1.0

    missing = cli("critique", str(tmp_path / "nope"), "--checkpoint", str(best))
    assert missing.returncode == 2 and "nope" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    bad_ckpt = cli("critique", str(song), "--checkpoint", str(tmp_path / "none.pt"))
    assert bad_ckpt.returncode == 2 and "none.pt" in bad_ckpt.stderr
    bad_bars = cli("critique", str(song), "--checkpoint", str(best), "--phrase-bars", "0")
    assert bad_bars.returncode == 2 and "--phrase-bars" in bad_bars.stderr
