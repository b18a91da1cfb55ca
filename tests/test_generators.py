"""Generators: registry, the LSTM, the shared training loop, checkpoints, resume, MLflow, CLI."""

from __future__ import annotations

import os

import mlflow
import numpy as np
import pretty_midi
import pytest
import torch

from helpers import cli, cli_killed_when, mlflow_store
from generators.base import Length
from generators.lstm import LSTMConfig, LSTMGenerator
from generators.registry import available, get_generator_class
from generators.sampling import StopTracker, sample_next
from phrases import NOTE_DTYPE, UserError, Vocab
from phrases.config import REPO_ROOT
from phrases.decode import decode_phrase
from training import CheckpointError, TrainConfig, config_from_options, load_checkpoint

TINY = LSTMConfig(d_embed=32, hidden=48, layers=1, dropout=0.0)


def test_registry_knows_lstm_and_names_the_others_on_error():
    assert "lstm" in available()
    assert get_generator_class("lstm") is LSTMGenerator
    with pytest.raises(UserError, match="lstm"):
        get_generator_class("no-such-model")


def test_model_options_are_typed_and_checked():
    cfg = config_from_options(LSTMConfig, {"hidden": "64", "dropout": "0.5"})
    assert cfg.hidden == 64 and cfg.dropout == 0.5 and cfg.layers == LSTMConfig().layers
    with pytest.raises(ValueError, match="--model-opt width"):
        config_from_options(LSTMConfig, {"width": "3"})


def test_tiny_lstm_overfits_a_handful_of_phrases(jazz_data, store, tmp_path):
    few = jazz_data.train.subset(range(4))
    gen = LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=64, hidden=128, layers=1, dropout=0.0), "cpu")
    before = np.mean(np.concatenate(gen.nll(few)))
    result = gen.fit(few, few, TrainConfig(epochs=150, batch_size=4, lr=1e-2, warmup_steps=10, patience=1000,
                                          checkpoint_dir=tmp_path / "ck", data_hash=jazz_data.data_hash))
    after = np.mean(np.concatenate(gen.nll(few)))
    assert before > 5.0 and result.best < 0.3 and after < 0.3
    # and it reproduces a memorized continuation greedily
    out = gen.generate([few[0].context], Length(bars=4), temperature=0.0)[0]
    assert out[:20] == few[0].continuation[:20].tolist()


@pytest.fixture(scope="module")
def trained(jazz_data, tmp_path_factory):
    """A small LSTM trained briefly on the test corpus's phrases."""
    tmp = tmp_path_factory.mktemp("trained")
    with mlflow_store(tmp) as uri:
        gen = LSTMGenerator(jazz_data.tokenizer, TINY, "cpu")
        gen.fit(jazz_data.train, jazz_data.val, TrainConfig(epochs=3, batch_size=8, lr=5e-3, warmup_steps=10,
                                                            checkpoint_dir=tmp / "ck", data_hash=jazz_data.data_hash,
                                                            corpus="wjazzd-test"))
    return gen, tmp, uri


def test_mlflow_run_has_every_required_key(trained, jazz_data):
    gen, tmp, uri = trained
    run = mlflow.MlflowClient(uri).get_run(gen.run_id)
    exp = mlflow.MlflowClient(uri).get_experiment(run.info.experiment_id)
    assert exp.name == "phrasebench-generators"
    assert run.data.tags["generator"] == "lstm"
    assert run.data.tags["corpus"] == "wjazzd-test"
    assert run.data.tags["data_hash"] == jazz_data.data_hash
    for key in ("train_loss", "val_nll", "best_val_nll", "tokens_per_s", "unigram_val_nll"):
        assert np.isfinite(run.data.metrics[key]), key
    assert run.data.metrics["best_val_nll"] < run.data.metrics["unigram_val_nll"] * 1.2
    artifacts = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(gen.run_id)}
    assert {"checkpoint", "tokenizer.json"} <= artifacts
    assert run.data.params["model.hidden"] == str(TINY.hidden)


def test_generation_is_deterministic_for_a_seed(trained, jazz_data):
    gen, _, _ = trained
    contexts = [p.context for p in list(jazz_data.test)[:5]]
    a = gen.generate(contexts, Length(bars=2), temperature=1.0, top_p=0.9, seed=7)
    b = gen.generate(contexts, Length(bars=2), temperature=1.0, top_p=0.9, seed=7)
    c = gen.generate(contexts, Length(bars=2), temperature=1.0, top_p=0.9, seed=8)
    assert a == b and a != c
    # batching does not change the samples of a seed
    assert gen.generate(contexts[:1], Length(bars=2), temperature=0.0) == gen.generate(contexts, Length(bars=2), temperature=0.0)[:1]


def test_requested_bars_and_notes_are_honoured(trained, jazz_data):
    gen, _, _ = trained
    kinds = gen.vocab
    contexts = [p.context for p in list(jazz_data.test)[:8]] + [[]]
    for out in gen.generate(contexts, Length(bars=2), seed=1):
        assert kinds.is_bar[out].sum() <= 2
    for out in gen.generate(contexts, Length(notes=5), seed=1):
        assert kinds.is_pitch[out].sum() <= 5  # the exact stop rule: test_stop_rule_on_real_token_streams


def test_stop_rule_on_real_token_streams(jazz_data):
    """Fed a real stream, the tracker keeps exactly the first N bars / N notes."""
    kinds = Vocab.from_tokenizer(jazz_data.tokenizer)
    phrase = jazz_data.test[0]
    stream = phrase.continuation.tolist()
    full = phrase.tokens.tolist()
    tracker = StopTracker(kinds, Length(bars=2), 1, 10_000)
    for tok in full:
        if tracker.push(np.array([tok])).all():
            break
    kept = tracker.tokens[0]
    assert kinds.is_bar[kept].sum() == 2 and full[: len(kept)] == kept and kinds.is_bar[full[len(kept)]]
    tracker = StopTracker(kinds, Length(notes=3), 1, 10_000)
    for tok in stream:
        if tracker.push(np.array([tok])).all():
            break
    notes = decode_phrase(jazz_data.tokenizer, [], tracker.tokens[0]).continuation_notes
    assert len(notes) == 3 and np.array_equal(notes["pitch"], phrase.continuation_notes["pitch"][:3])


def test_end_token_is_masked_until_the_length_is_reached(jazz_data):
    """PAD and BOS are never sampled; EOS only once a sequence has its notes."""
    kinds = Vocab.from_tokenizer(jazz_data.tokenizer)
    stream = jazz_data.test[0].continuation.tolist()
    tracker = StopTracker(kinds, Length(notes=2), 2, 10_000)
    for tok in stream:
        tracker.push(np.array([tok, kinds.pad if tracker.count[1] >= 1 else tok]))
        if tracker.count[0] >= 2:
            break
    logits = tracker.allowed(torch.zeros(2, len(jazz_data.tokenizer)))
    assert torch.isinf(logits[:, [kinds.pad, kinds.bos]]).all()
    assert torch.isfinite(logits[0, kinds.eos]) and tracker.count[0] == 2
    assert tracker.count[1] == 1 and torch.isinf(logits[1, kinds.eos])
    assert torch.isfinite(logits[:, kinds.is_pitch]).all()


def test_top_p_and_greedy():
    logits = torch.tensor([[0.0, 5.0, 4.9, -3.0]])
    gen = torch.Generator().manual_seed(0)
    assert sample_next(logits, 0.0, 1.0, gen).item() == 1
    picks = {sample_next(logits, 1.0, 0.3, gen).item() for _ in range(50)}
    assert picks == {1}
    picks = {sample_next(logits, 1.0, 0.99, gen).item() for _ in range(200)}
    assert picks == {1, 2}


def test_decoding_random_tokens_never_crashes(jazz_data):
    rng = np.random.default_rng(0)
    tok = jazz_data.tokenizer
    kept = 0
    for _ in range(20):
        ids = rng.integers(-5, len(tok) + 5, size=120)
        decoded = decode_phrase(tok, ids[:60], ids[60:])
        assert decoded.malformed > 0
        for notes in (decoded.context_notes, decoded.continuation_notes):  # what was kept is well-formed
            assert notes.dtype == NOTE_DTYPE
            assert ((notes["pitch"] >= 0) & (notes["pitch"] <= 127)).all() and (notes["duration_beats"] > 0).all()
        assert sum(len(t.notes) for t in decoded.score.tracks) == len(decoded.context_notes) + len(decoded.continuation_notes)
        kept += len(decoded.continuation_notes)
    assert kept > 0  # the valid stretches of random ids still decode to notes


def test_save_load_round_trip_and_bad_checkpoints(trained, jazz_data, tmp_path):
    gen, _, _ = trained
    gen.save(tmp_path / "g.pt")
    again = LSTMGenerator.load(tmp_path / "g.pt", "cpu")
    phrases = jazz_data.test.subset(range(3))
    for a, b in zip(gen.nll(phrases), again.nll(phrases)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    raw = (tmp_path / "g.pt").read_bytes()
    (tmp_path / "trunc.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="trunc.pt"):
        LSTMGenerator.load(tmp_path / "trunc.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a phrasebench checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"format": "phrasebench-checkpoint-1", "x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="evil.pt"):
        load_checkpoint(tmp_path / "evil.pt")


def _train_args(corpus, ckpt, epochs):
    return ["train-generator", "lstm", "--corpus", str(corpus), "--cache-dir", str(ckpt.parent / "cache"),
            "--epochs", str(epochs), "--batch-size", "2", "--patience", "100", "--device", "cpu",
            "--checkpoint-dir", str(ckpt), "--model-opt", "hidden=96", "--model-opt", "d_embed=48",
            "--model-opt", "layers=2", "--model-opt", "dropout=0.1"]


@pytest.mark.slow  # runs cli.py in a process of its own
def test_sigkill_then_resume_reaches_the_same_weights(jazz_dir, tmp_path):
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    epochs = 4
    whole = cli(*_train_args(jazz_dir, tmp_path / "whole", epochs), env=env)
    assert whole.returncode == 0, whole.stderr
    # the same run, killed as soon as its first checkpoint exists, then resumed
    ckpt = tmp_path / "killed"
    cli_killed_when(ckpt / "last.pt", *_train_args(jazz_dir, ckpt, epochs), env=env)
    killed_at = load_checkpoint(ckpt / "last.pt")
    assert 1 <= killed_at["epoch"] < epochs
    resumed = cli(*_train_args(jazz_dir, ckpt, epochs), "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    a, b = load_checkpoint(tmp_path / "whole" / "last.pt"), load_checkpoint(ckpt / "last.pt")
    assert a["epoch"] == b["epoch"] == epochs and a["step"] == b["step"]
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert b["run_id"] == killed_at["run_id"]  # the resumed training logs into the same MLflow run


@pytest.mark.slow  # runs cli.py in a process of its own
def test_generate_cli_writes_midi_that_pretty_midi_opens(trained, tmp_path):
    gen, tmp, _ = trained
    ctx = REPO_ROOT.parent / "shared" / "corpora" / "wjazzd" / "MilesDavis_SoWhat_FINAL.mid"
    out = cli("generate", "lstm", "--checkpoint", str(tmp / "ck" / "best.pt"), "--context", str(ctx),
              "--bars", "2", "--num", "3", "--seed", "1", "--out", str(tmp_path / "midi"))
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "midi").glob("*.mid"))
    assert len(files) == 3
    for f in files:
        pm = pretty_midi.PrettyMIDI(str(f))
        assert [i.name for i in pm.instruments] == ["context", "continuation"]
        assert len(pm.instruments[0].notes) > 0
        assert min(n.start for n in pm.instruments[1].notes or [pretty_midi.Note(0, 60, 1e9, 1e9)]) >= \
            max(n.start for n in pm.instruments[0].notes) - 1e-6
    scratch = cli("generate", "lstm", "--checkpoint", str(tmp / "ck" / "best.pt"), "--notes", "6", "--num", "1",
                  "--out", str(tmp_path / "scratch"))
    assert scratch.returncode == 0, scratch.stderr
    pm = pretty_midi.PrettyMIDI(str(next((tmp_path / "scratch").glob("*.mid"))))
    tracks = {i.name: i for i in pm.instruments}
    assert len(tracks.get("context", pretty_midi.Instrument(0)).notes) == 0
    assert 0 < len(tracks["continuation"].notes) <= 6
