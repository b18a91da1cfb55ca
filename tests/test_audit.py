"""`audit`: checkpoints kept at given steps by the training engine (and the gan), the audit's
table, rho lines and verdict, its MLflow run, `--run-id`, and its one-line errors. Tiny models on
a few real files, a tiny critic, a real sqlite store."""

from __future__ import annotations

import math
import re

import mlflow
import numpy as np
import pytest
import torch

from operating.audit import EXPERIMENT_AUDITS, judge, run_audit
from benchmark.leaderboard import DIVERSITY_METRIC, PRIMARY_METRIC
from benchmark.lookup import MissingModel, find_generator
from benchmark.options import BenchmarkOptions
from benchmark.train import train_generator
from helpers import cli, mlflow_store, store_copy
from generators.lstm import LSTMGenerator
from training import TrainConfig, load_checkpoint
from training.checkpoint import kept_checkpoints

TINY_LSTM = {"d_embed": "16", "hidden": "32", "layers": "1"}
TINY_LSTM_OPTS = [x for k, v in TINY_LSTM.items() for x in ("--model-opt", f"{k}={v}")]
QUIET = lambda *_: None  # noqa: E731


# -- the judgement, a pure function ------------------------------------------------------------
def test_judge_says_trustworthy_when_the_score_follows_training_and_nll():
    rho, lines, ok = judge("lstm", [0, 10, 100, 1000], {PRIMARY_METRIC: [0.9, 0.7, 0.4, 0.2],
                                                        "nll": [5.0, 3.0, 2.5, 2.2], DIVERSITY_METRIC: [9, 5, 3, 1]},
                           PRIMARY_METRIC, DIVERSITY_METRIC)
    assert ok is True and rho[f"rho_{PRIMARY_METRIC}_steps"] == -1.0 and rho[f"rho_{PRIMARY_METRIC}_nll"] == 1.0
    assert lines[-1].startswith("verdict: trustworthy on this run")


def test_judge_names_the_steps_where_the_score_goes_wrong():
    rho, lines, ok = judge("lstm", [0, 10, 100, 1000], {PRIMARY_METRIC: [0.9, 0.5, 0.6, 0.2],
                                                        "nll": [5.0, 4.0, 3.0, 2.0], DIVERSITY_METRIC: [1, 1, 1, 1]},
                           PRIMARY_METRIC, DIVERSITY_METRIC, [(0.8, 1), (0.45, 0.55), (0.52, 0.7), (0.1, 0.3)])
    assert math.isclose(rho[f"rho_{PRIMARY_METRIC}_steps"], -0.8)
    assert "worse over steps 10 -> 100 (0.500 -> 0.600, intervals overlap)" in lines[0]
    assert ok is False and "within its 95% intervals" in lines[-1]
    assert "they move apart over steps 10 -> 100" in lines[3]
    assert "no rho" in lines[2] and math.isnan(rho[f"rho_{DIVERSITY_METRIC}_steps"])  # a constant figure
    rho, lines, ok = judge("lstm", [0, 10, 100], {PRIMARY_METRIC: [0.2, 0.5, 0.9], "nll": [5.0, 4.0, 3.0],
                                                  DIVERSITY_METRIC: [3, 2, 1]}, PRIMARY_METRIC, DIVERSITY_METRIC)
    assert ok is False and lines[-1].startswith("verdict: NOT shown trustworthy")
    assert "does not improve" in lines[-1] and "does not agree with held-out nll" in lines[-1]
    nan = float("nan")
    rho, lines, ok = judge("bigram", [1, 2, 3], {PRIMARY_METRIC: [0.9, 0.5, 0.1], "nll": [nan] * 3,
                                                 DIVERSITY_METRIC: [3, 2, 1]}, PRIMARY_METRIC, DIVERSITY_METRIC)
    assert ok is True and "nll is undefined for this generator" in lines[3] and "no nll to compare with" in lines[-1]


# -- kept checkpoints ----------------------------------------------------------------------
def test_the_loop_keeps_checkpoints_at_the_given_steps(jazz_data, tmp_path):
    with mlflow_store(tmp_path):
        config = TrainConfig(epochs=3, max_steps=7, batch_size=8, warmup_steps=2, checkpoint_dir=tmp_path / "ck",
                             keep_steps="0,3,7,50", tags={"audit": "test"})
        generator, result = train_generator("lstm", jazz_data, config, TINY_LSTM, "cpu", QUIET)
        kept = kept_checkpoints(tmp_path / "ck")
        assert list(kept) == [0, 3, 7]  # 50 is past the run's end: not kept, nothing else either
        states = {n: load_checkpoint(p, kind="lstm") for n, p in kept.items()}
        assert [s["step"] for s in states.values()] == [0, 3, 7]
        initial = LSTMGenerator(jazz_data.tokenizer, generator.config, "cpu", seed=0).model.state_dict()
        assert all(torch.equal(initial[k], states[0]["model"][k]) for k in initial)
        last = load_checkpoint(tmp_path / "ck" / "last.pt", kind="lstm")
        assert all(torch.equal(last["model"][k], states[7]["model"][k]) for k in initial)
        assert not all(torch.equal(states[3]["model"][k], states[7]["model"][k]) for k in initial)
        loaded = LSTMGenerator.load(kept[3], "cpu")  # a generator checkpoint like best.pt
        assert loaded.run_id == result.run_id
        # a training made for an audit is never "the newest model" a benchmark takes
        with pytest.raises(MissingModel):
            find_generator("lstm", jazz_data.data_hash, "cpu")
        assert mlflow.get_run(result.run_id).data.params["keep_steps"] == "(0, 3, 7, 50)"


def test_the_gan_keeps_its_adversarial_updates(jazz_data, tmp_path):
    with mlflow_store(tmp_path):
        opts = {"d_embed": "16", "hidden": "32", "layers": "1", "disc_embed": "16", "disc_hidden": "16",
                "disc_warmup": "1", "adv_batch": "4", "val_every": "2", "adv_steps": "4"}
        gan, _ = train_generator("gan", jazz_data, TrainConfig(epochs=1, max_steps=3, batch_size=8,
                                                               checkpoint_dir=tmp_path / "ck", keep_steps=(0, 2, 4)),
                                 opts, "cpu", QUIET)
        kept = kept_checkpoints(tmp_path / "ck")
        assert list(kept) == [0, 2, 4] and not kept_checkpoints(tmp_path / "ck" / "pretrain")
        assert [load_checkpoint(p, kind="gan")["adv_step"] for p in kept.values()] == [0, 2, 4]
        pretrained = load_checkpoint(tmp_path / "ck" / "pretrain" / "best.pt", kind="gan")["model"]
        step0 = load_checkpoint(kept[0], kind="gan")["model"]
        assert all(torch.equal(pretrained[k], step0[k]) for k in pretrained)  # step 0: the pretrained start


# -- the command ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tiny_store, tmp_path_factory):
    """A real sqlite store holding a tiny critic trained on the test data (a copy of the shared one)."""
    tmp = tmp_path_factory.mktemp("audit")
    with store_copy(tiny_store.folder, tmp) as uri:
        yield tmp, uri, tiny_store.critic


def _data(jazz_dir, jazz_data):
    return ["--corpus", jazz_dir, "--cache-dir", jazz_data.path.parent.parent, "--device", "cpu"]


@pytest.mark.slow  # runs cli.py in a process of its own
def test_audit_trains_keeps_scores_and_logs(store, jazz_dir, jazz_data):
    tmp, uri, critic = store
    ck = tmp / "lstm"
    out = cli("audit", "lstm", "--steps", "12,0,4", "--contexts", 8, "--n-boot", 10, "--batch-size", 8, "--lr", 0.05,
              "--checkpoint-dir", ck, *TINY_LSTM_OPTS, *_data(jazz_dir, jazz_data), env={"MLFLOW_TRACKING_URI": uri})
    assert out.returncode == 0, out.stderr
    assert list(kept_checkpoints(ck)) == [0, 4, 12]
    text = out.stdout
    assert "audit of lstm" in text and "trained by this audit" in text and "8 test contexts" in text
    assert PRIMARY_METRIC in text and DIVERSITY_METRIC in text and "nll" in text
    cells = {int(m.group(1)): m.group(2) for m in re.finditer(r"│ (\d+)\s+│ ([0-9.]+) \[", text)}
    assert list(cells) == [0, 4, 12]
    for line in (f"{PRIMARY_METRIC} against training steps:", "nll against training steps:",
                 f"{DIVERSITY_METRIC} (diversity) against training steps:", f"{PRIMARY_METRIC} against nll:"):
        assert line in text
    assert re.search(r"^verdict: (trustworthy|NOT shown trustworthy|cannot say)", text, re.M)
    assert re.search(r"nll against training steps: rho -1\.00: held-out nll falls", text)  # it did learn

    client = mlflow.MlflowClient(uri)
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT_AUDITS], output_format="list")
    assert len(runs) == 1 and runs[0].info.run_id in text
    run = runs[0]
    tags = run.data.tags
    assert tags["generator"] == "lstm" and tags["data_hash"] == jazz_data.data_hash and tags["complete"] == "true"
    assert tags["critic_sha"] == critic_sha(critic, uri) and tags["verdict"] in ("trustworthy", "not shown", "cannot say")
    assert tags["primary_metric"] == PRIMARY_METRIC and tags["diversity_metric"] == DIVERSITY_METRIC
    history = client.get_metric_history(run.info.run_id, PRIMARY_METRIC)
    assert sorted(m.step for m in history) == [0, 4, 12]
    assert {m.step: f"{m.value:.3f}" for m in history} == cells  # the printed figures are the logged ones
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "nll")) == [0, 4, 12]
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, DIVERSITY_METRIC)) == [0, 4, 12]
    assert "rho_nll_steps" in run.data.metrics and run.data.metrics["rho_nll_steps"] == -1.0
    assert {"audit.txt", "audit.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    logged = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/audit.txt")
    assert "audit of lstm" in logged and "verdict:" in logged
    trained = client.get_run(tags["generator_run_id"])
    assert trained.data.tags["audit"] == tags["audit_id"]  # the training run says it was an audit's

    # --run-id: the same kept checkpoints audited again give the same figures
    again = cli("audit", "lstm", "--run-id", tags["generator_run_id"], "--steps", "0,4,12", "--contexts", 8,
                "--n-boot", 10, *_data(jazz_dir, jazz_data), env={"MLFLOW_TRACKING_URI": uri})
    assert again.returncode == 0, again.stderr
    assert "trained by this audit" not in again.stdout
    assert {int(m.group(1)): m.group(2) for m in re.finditer(r"│ (\d+)\s+│ ([0-9.]+) \[", again.stdout)} == cells

    # errors a user can fix: one line, exit 2
    for args, message in ((("--steps", "5,10"), "--steps 5,10: give at least 3 distinct step counts"),
                          (("--steps", "5,x,10"), "--steps 5,x,10: write step counts separated by commas"),
                          ((), "give --steps"),
                          (("--run-id", "nope"), "--run-id nope: no such MLflow run"),
                          (("--run-id", tags["generator_run_id"], "--steps", "0,4,7"),
                           "--steps: the run kept no checkpoint at step 7; it kept 0, 4, 12"),
                          (("--steps", "1,2,30", "--max-steps", "10"), "--max-steps 10: below the largest of --steps")):
        bad = cli("audit", "lstm", *args, *_data(jazz_dir, jazz_data), env={"MLFLOW_TRACKING_URI": uri})
        assert bad.returncode == 2 and message in " ".join(bad.stderr.split()), (args, bad.stderr)
        assert "Traceback" not in bad.stderr
    assert len(mlflow.search_runs(experiment_names=[EXPERIMENT_AUDITS], output_format="list")) == 2


def critic_sha(critic, uri) -> str:
    from phrases.files import file_sha256
    from store import run_artifact

    return file_sha256(run_artifact(critic.run_id, "checkpoint/best.pt"))


@pytest.mark.slow  # runs cli.py in a process of its own
def test_audit_of_the_gan(store, jazz_dir, jazz_data):
    tmp, uri, _ = store
    ck = tmp / "gan"
    out = cli("audit", "gan", "--steps", "0,1,3", "--epochs", 1, "--max-steps", 4, "--batch-size", 8,
              "--contexts", 6, "--n-boot", 10, "--checkpoint-dir", ck, *TINY_LSTM_OPTS, "--model-opt", "disc_hidden=16",
              "--model-opt", "disc_embed=16", "--model-opt", "disc_warmup=1", "--model-opt", "adv_batch=4",
              "--model-opt", "val_every=1", *_data(jazz_dir, jazz_data), env={"MLFLOW_TRACKING_URI": uri})
    assert out.returncode == 0, out.stderr
    assert list(kept_checkpoints(ck)) == [0, 1, 3]
    assert load_checkpoint(ck / "best.pt", kind="gan")["adv_step"] == 3  # adv_steps (its phase_budget_option): the largest of --steps
    assert "step (adversarial updates)" in " ".join(out.stdout.split()) and "verdict:" in out.stdout


def test_audit_of_a_plugin(store, jazz_data):
    """A third-party generator (tests/plugins: a bigram model) is audited like the built-ins."""
    tmp, uri, _ = store
    from training import TrainConfig as Config

    training = {"config": Config(epochs=2, batch_size=8, warmup_steps=2, checkpoint_dir=tmp / "bigram"),
                "model_opts": {}, "device": "cpu"}
    options = BenchmarkOptions(["bigram"], contexts=6, n_boot=10, device="cpu")
    result = run_audit("bigram", jazz_data, options, training, (0, 5, 20), log=QUIET)
    assert result.steps == [0, 5, 20] and all(r.status == "ok" for r in result.rows)
    assert all(np.isfinite(r.metrics[PRIMARY_METRIC]) and np.isfinite(r.metrics["nll"]) for r in result.rows)
    nll = [r.metrics["nll"] for r in result.rows]
    assert nll[0] > nll[-1]  # 20 steps of a bigram model lower its nll
    assert mlflow.get_run(result.mlflow_run_id).data.tags["generator"] == "bigram"
