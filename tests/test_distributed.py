"""Distributed training with torchrun: real processes, gloo on CPU, the real CLI.

Parity: 2 processes with a per-rank batch of B train like 1 process with a batch of 2B (same seed,
the same global batches, the loss normalised by the global batch's tokens), over two epochs, the
second one a `--resume` of the first under torchrun; rank 0 alone logs one MLflow run and writes
the checkpoints.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
import pytest
import torch

from helpers import cli, mlflow_store
from phrases.config import REPO_ROOT
from phrases.errors import UserError
from training import TrainConfig, batches

# dropout 0: with dropout, each rank draws its own masks and the runs differ by design
TINY_LSTM = ["--model-opt", "d_embed=32", "--model-opt", "hidden=64", "--model-opt", "layers=1", "--model-opt", "dropout=0"]
B = 4  # per-rank batch

# Tolerances, from float32 reduction order (the gradient all-reduce adds two half-batch sums; each
# rank pads to its own longest phrase). Measured on these files and this model (46 steps, lr 0.02):
# the loss curves of 2 x B and 1 x 2B differ by at most 1.7e-7 relative (one or two float32 ulps)
# and the final weights by at most 2.4e-7 (4.8e-7 with seed 0). What the tolerances must catch:
# normalising each rank's loss by its own token count, instead of the global batch's, moves the
# loss by 3.2e-5 relative and the weights by 9.2e-4 over the same steps (seed 0). 2e-6 and 2e-5
# sit more than 10x away from both.
LOSS_RTOL = 2e-6
WEIGHT_ATOL = 2e-5


def torchrun(*args, nproc: int = 2, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node N cli.py ARGS`, one thread per rank (a free
    rendezvous port: tests running side by side do not meet)."""
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                           str(REPO_ROOT / "cli.py"), *map(str, args)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PHRASEBENCH_THREADS": "1", **(env or {})})


def _history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_two_processes_match_one_with_twice_the_batch_and_resume(jazz_dir, jazz_data, tmp_path):
    data = ["--corpus", jazz_dir, "--cache-dir", jazz_data.path.parent.parent, "--device", "cpu"]
    common = ["train-generator", "lstm", *TINY_LSTM, *data, "--lr", "0.02", "--log-every", "1", "--seed", "3"]
    steps = 2 * len(batches([[0]] * len(jazz_data.train), 2 * B, 3))  # two epochs of global batches
    # --resume extends the budget from 1 to 2 epochs: the learning rate is the same only while
    # every step is in the warm-up, whose length does not depend on the budget
    assert 24 <= steps < TrainConfig().warmup_steps
    with mlflow_store(tmp_path) as uri:
        env = {"MLFLOW_TRACKING_URI": uri}
        one = cli(*common, "--batch-size", 2 * B, "--epochs", 2, "--checkpoint-dir", tmp_path / "one",
                  env={**env, "PHRASEBENCH_THREADS": "1"})
        assert one.returncode == 0, one.stderr
        first = torchrun(*common, "--batch-size", B, "--epochs", 1, "--checkpoint-dir", tmp_path / "two", env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        assert "x 2 processes (DDP)" in first.stderr
        resumed = torchrun(*common, "--batch-size", B, "--epochs", 2, "--resume", env=env)  # found through MLflow
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        for out in (first.stdout, resumed.stdout):
            assert out.count("MLflow run") == 1  # rank 0 reports; rank 1 says nothing

        client = mlflow.MlflowClient(uri)
        runs = mlflow.search_runs(experiment_names=["phrasebench-generators"], output_format="list")
        by_processes = {r.data.params["processes"]: r for r in runs}
        assert len(runs) == 2 and set(by_processes) == {"1", "2"}  # the resume went on in rank 0's run
        single, ddp = by_processes["1"], by_processes["2"]
        assert ddp.data.params["global_batch_size"] == single.data.params["batch_size"] == str(2 * B)
        assert [v for _, v in _history(client, ddp.info.run_id, "epoch")] == [1.0, 2.0]

        a, b = _history(client, single.info.run_id, "train_loss"), _history(client, ddp.info.run_id, "train_loss")
        assert [s for s, _ in a] == [s for s, _ in b] == list(range(1, steps + 1))
        a, b = np.array([v for _, v in a]), np.array([v for _, v in b])
        assert a[-1] < a[0] - 0.5  # it trained: the curves compared are not flat
        np.testing.assert_allclose(b, a, rtol=LOSS_RTOL, atol=0)
        np.testing.assert_allclose([v for _, v in _history(client, ddp.info.run_id, "val_nll")],
                                   [v for _, v in _history(client, single.info.run_id, "val_nll")], rtol=LOSS_RTOL)

        w1 = torch.load(tmp_path / "one" / "last.pt", weights_only=True)
        w2 = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
        assert w1["step"] == w2["step"] == steps and w1["epoch"] == w2["epoch"] == 2
        assert len(w2["rng_cpu_ranks"]) == 2  # every rank's generator, for the next --resume
        for k in w1["model"]:
            torch.testing.assert_close(w2["model"][k], w1["model"][k], rtol=0, atol=WEIGHT_ATOL)
        assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["best.pt", "last.pt"]  # rank 0's files only


def test_the_gan_says_it_is_single_process(jazz_data, monkeypatch, tmp_path):
    from benchmark.train import train_generator

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with mlflow_store(tmp_path), pytest.raises(UserError, match="gan training .* one process; start it with python"):
        train_generator("gan", jazz_data, TrainConfig(epochs=1, max_steps=1), device="cpu", log=lambda *_: None)
