"""Fine-tuning a generator against a critic (`train-generator NAME --against-critic`): a phase of
the engine that moves the weights, tags its run with the critic and the run it started from, logs
the gameability figures at every validation, and is found by `benchmark` as a row of its own."""

from __future__ import annotations

import math

import mlflow
import numpy as np
import pytest
import torch

from helpers import store_copy
from phrases.files import file_sha256
from store import latest_run

ATTACK = {"steps": 3, "batch": 4, "val_every": 2, "val_contexts": 8, "n_boot": 5}


@pytest.fixture(scope="module")
def attacked(tiny_store, jazz_data, tmp_path_factory):
    from adversarial.attack import train_against_critic
    from adversarial.finetune import AttackConfig
    from training import TrainConfig

    folder = tmp_path_factory.mktemp("attack")
    with store_copy(tiny_store.folder, folder) as uri:
        start = latest_run("generator", jazz_data.data_hash, generator="transformer")
        generator, result, table = train_against_critic(
            "transformer", jazz_data, "default", AttackConfig(**ATTACK), TrainConfig(checkpoint_dir=folder / "ck", seed=0, keep_steps=(0, 2, 3)),
            device="cpu", log=lambda *_: None)
        yield generator, result, table, start, uri, folder


def test_the_run_is_tagged_with_the_critic_and_its_start(attacked, tiny_store, jazz_data):
    generator, result, _, start, uri, _ = attacked
    run = mlflow.MlflowClient(uri).get_run(result.run_id)
    critic_file = mlflow.artifacts.download_artifacts(run_id=tiny_store.critic.run_id, artifact_path="checkpoint/best.pt",
                                                      tracking_uri=uri)
    assert run.data.tags["optimized_against"] == file_sha256(critic_file)
    assert run.data.tags["init_from"] == start.info.run_id != result.run_id
    assert run.data.tags["generator"] == "transformer" and run.data.tags["complete"] == "true"
    # never "the newest transformer": a plain look-up still finds the run it started from
    assert latest_run("generator", jazz_data.data_hash, generator="transformer").info.run_id == start.info.run_id
    assert latest_run("generator", jazz_data.data_hash, optimized=True, generator="transformer").info.run_id == result.run_id


def test_the_fine_tuning_moves_the_weights_within_the_leash(attacked):
    from generators.transformer import TransformerGenerator

    generator, result, _, _, _, folder = attacked
    before = TransformerGenerator.load(folder / "ck" / "pretrain" / "best.pt", "cpu")
    after = TransformerGenerator.load(result.checkpoint, "cpu")
    moved = [not torch.equal(a, b) for a, b in zip(before.model.parameters(), after.model.parameters())]
    assert sum(moved) > len(moved) // 2
    assert after.init_from == generator.init_from and after.init_from  # the start run travels with the file


def test_gameability_figures_are_logged_at_every_validation(attacked):
    _, result, table, _, uri, _ = attacked
    client = mlflow.MlflowClient(uri)
    for key in ("val_primary_gap", "val_c2st_auroc", "val_sameness", "val_coverage", "val_copy_share", "val_nll"):
        history = client.get_metric_history(result.run_id, key)
        steps = sorted(h.step for h in history)
        assert len(steps) == 3 and steps[1] - steps[0] == 2 and steps[2] - steps[0] == 3, (key, steps)  # 0, 2, 3
        assert all(math.isfinite(h.value) for h in history), key
    for key in ("pg_loss", "kl", "reward"):
        assert len(client.get_metric_history(result.run_id, key)) == 3, key
    rewards = [h.value for h in client.get_metric_history(result.run_id, "reward")]
    assert all(0.0 <= r <= 1.0 for r in rewards)
    title, header, rows = table
    assert header[0] == "step" and [r[0] for r in rows] == ["0", "2", "3"]
    gap = [h for h in client.get_metric_history(result.run_id, "val_primary_gap")]
    assert float(rows[-1][1]) == pytest.approx(max(gap, key=lambda h: h.step).value, abs=1e-3)
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"gameability.tsv", "checkpoint", "pretrain_checkpoint"} <= artifacts


def test_benchmark_finds_the_fine_tuned_generator_as_a_row_of_its_own(attacked, jazz_data, tmp_path):
    from benchmark.command import optimized_row_name
    from operating.benchmarking import run_benchmark
    from benchmark.options import BenchmarkOptions

    _, result, _, start, uri, _ = attacked
    sha = mlflow.MlflowClient(uri).get_run(result.run_id).data.tags["optimized_against"]
    out = run_benchmark(jazz_data, BenchmarkOptions(["transformer"], contexts=8, n_boot=5, device="cpu", examples=0,
                                                    report_dir=tmp_path), log=lambda *_: None)
    rows = {r.name: r for r in out.rows}
    attacked_row = rows[optimized_row_name("transformer", sha)]
    assert attacked_row.tags["optimized_against"] == sha and attacked_row.generator_run_id == result.run_id
    assert attacked_row.tags["init_from"] == start.info.run_id
    assert rows["transformer"].generator_run_id == start.info.run_id
    assert np.isfinite(attacked_row.metrics["primary_gap"])


def test_the_table_from_kept_checkpoints_is_the_fine_tunings_own(attacked, jazz_data):
    from adversarial.attack import rescore_run
    from phrases.errors import UserError

    _, result, table, start, _, _ = attacked
    again = rescore_run(result.run_id, jazz_data, "default", "cpu", contexts=8, seed=0, n_boot=5, log=lambda *_: None)
    assert again[1] == table[1] and again[2] == table[2]  # same header, same figures at steps 0, 2, 3
    with pytest.raises(UserError, match="not a fine-tuning against a critic"):
        rescore_run(start.info.run_id, jazz_data, "default", "cpu", contexts=8, log=lambda *_: None)


def test_attack_options_are_checked(jazz_data):
    from adversarial.finetune import AttackConfig
    from phrases.errors import UserError
    from training import config_from_options

    with pytest.raises(UserError, match="--attack-opt steps=0"):
        config_from_options(AttackConfig, {"steps": "0"}, "--attack-opt")
    with pytest.raises(UserError, match="--attack-opt nonsense"):
        config_from_options(AttackConfig, {"nonsense": "1"}, "--attack-opt")
