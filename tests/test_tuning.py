"""`cli.py tune`: Optuna studies over a generator's own search space, each trial a training through
the engine, on tiny budgets (the test plug-in `bigram`, which declares its own search space, on a
few real solos). Real CLI processes, a real sqlite MLflow store and Optuna storage, a real
kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
import pytest

from helpers import PLUGINS, cli, mlflow_store, tracking, train_tiny_critic
from phrases.config import REPO_ROOT
from store import EXPERIMENT_GENERATORS

TUNE = ("--max-steps", "20", "--val-every", "5")


def _env(tmp: Path) -> dict:
    return {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}", "PYTHONPATH": str(PLUGINS),
            "PHRASEBENCH_CACHE": str(tmp / "cache"), "PHRASEBENCH_THREADS": "1"}


def _study(tmp: Path, name: str):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp / 'optuna.db'}")


def _worker_trials(output: str) -> list[int]:
    found = re.search(r"this worker ran trials ([\d, ]+|none)", output)
    assert found, output[-2000:]
    return [] if found.group(1) == "none" else [int(n) for n in found.group(1).split(",")]


def _runs(uri: str, filter_string: str) -> list:
    with tracking(uri):
        return mlflow.search_runs(experiment_names=[EXPERIMENT_GENERATORS], filter_string=filter_string,
                                  output_format="list", max_results=1000)


@pytest.mark.slow  # runs cli.py in a process of its own
def test_tune_logs_a_parent_and_one_child_per_trial_with_pruned_and_best(jazz_dir, tmp_path):
    env = _env(tmp_path)
    done = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 6, *TUNE, "--study", "six", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"trial \d+ pruned at step \d+", done.stderr), done.stderr[-3000:]
    study = _study(tmp_path, "six")
    states = [t.state for t in study.trials]
    assert len(states) == 6 and optuna.trial.TrialState.PRUNED in states
    uri = env["MLFLOW_TRACKING_URI"]
    parents = _runs(uri, "tags.study = 'six' and tags.tuned_generator = 'bigram'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    parent = parents[0]
    children = _runs(uri, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert sorted(int(r.data.tags["trial"]) for r in children) == list(range(6))
    by_trial = {int(r.data.tags["trial"]): r for r in children}
    for t in study.trials:  # each child run says what became of its trial, and holds its curve
        run = by_trial[t.number]
        assert run.data.tags["trial_state"] == t.state.name
        assert run.info.run_id == t.user_attrs["mlflow_run_id"]
        assert float(run.data.params["lr"]) == pytest.approx(t.params["lr"])
        assert run.data.params["model.dim"] == str(t.params["dim"])
        if t.state == optuna.trial.TrialState.PRUNED:
            assert run.data.tags["stop_reason"] == "pruned" and int(run.data.params["max_steps"]) == 20
            assert max(t.intermediate_values) < 20
    curve = mlflow.MlflowClient(uri).get_metric_history(by_trial[0].info.run_id, "val_nll")
    steps = sorted(m.step for m in curve)  # every --val-every steps, and at each epoch's end
    assert {5, 10, 15, 20} <= set(steps) and steps[-1] == 20
    assert sorted(study.trials[0].intermediate_values) == steps  # the same curve reached Optuna
    best = study.best_trial
    tagged = [r for r in children if r.data.tags.get("best_trial") == "true"]
    assert [r.data.tags["trial"] for r in tagged] == [str(best.number)]
    assert [r.data.tags["trial"] for r in children if r.data.tags.get("complete") == "true"] == [str(best.number)]
    assert parent.data.tags["best_trial"] == str(best.number)
    pictures = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(parent.info.run_id, "tuning")}
    assert {"tuning/history.png", "tuning/importances.png"} <= pictures

    # benchmark's look-up finds the best trial's model (the only complete one)
    from benchmark.lookup import find_generator

    data_hash = by_trial[0].data.tags["data_hash"]
    with tracking(uri):
        assert find_generator("bigram", data_hash, "cpu").run_id == best.user_attrs["mlflow_run_id"]

    # the best configuration, retrained with a longer budget
    again = cli("train-generator", "bigram", "--corpus", jazz_dir, "--params-from", "six", "--max-steps", 30,
                env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    run = _runs(uri, "tags.params_from = 'six'")
    assert len(run) == 1
    assert run[0].data.params["model.dim"] == str(best.params["dim"])
    assert float(run[0].data.params["lr"]) == pytest.approx(best.params["lr"])
    assert run[0].data.params["max_steps"] == "30"

    # a finished study is not run again by accident; --resume adds trials to it
    refused = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 6, *TUNE, "--study", "six", env=env, cwd=tmp_path)
    assert refused.returncode == 2 and "--resume --trials" in refused.stderr
    more = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 7, *TUNE, "--study", "six", "--resume",
               env=env, cwd=tmp_path)
    assert more.returncode == 0, more.stderr[-3000:]
    assert len(_study(tmp_path, "six").trials) == 7


@pytest.mark.slow  # runs cli.py in a process of its own
def test_tune_refuses_what_it_cannot_do(jazz_dir, tmp_path):
    env = _env(tmp_path)
    for args, words in ((("bigram", "--objective", "loss"), "--objective loss: choose one of nll, score, both"),
                        (("bigram", "--resume", "--study", "none"), "--resume: no study none"),
                        (("gan",), "declares no search space"),
                        (("bigram", "--pruner", "sometimes"), "--pruner sometimes"),
                        (("bigram", "--storage", "postgresql+psycopg://me:s3cret@localhost/optuna"),
                         "--storage holds a password")):
        done = cli("tune", *args, "--corpus", jazz_dir, "--trials", 2, *TUNE, env=env, cwd=tmp_path)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert "s3cret" not in done.stderr
    done = cli("train-generator", "bigram", "--corpus", jazz_dir, "--params-from", "nothing", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "--params-from nothing: no such study" in done.stderr, done.stderr[-2000:]
    # through a tracking server, no file every worker reaches: a storage must be named
    done = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 2, *TUNE, cwd=tmp_path,
               env={**env, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"})
    assert done.returncode == 2 and "pass --storage postgresql" in done.stderr, done.stderr[-2000:]


@pytest.mark.slow  # runs cli.py in a process of its own
def test_objective_both_is_a_pareto_front_of_nll_and_the_validation_score(jazz_dir, tmp_path):
    """--objective both: two values per trial (best val NLL, primary_gap of the trial's model on
    validation contexts, scored with the shipped default critic), never pruned, the Pareto front
    printed, tagged on its runs and listed on the parent; the best is the front's lowest score."""
    env = _env(tmp_path)
    done = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 4, *TUNE, "--objective", "both", "--contexts", 8,
               "--study", "two", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    used = re.search(r"primary_gap on (\d+) validation contexts", done.stderr)  # 8, or all of a smaller half
    assert used and 2 <= int(used.group(1)) <= 8 and "Pareto front:" in done.stdout, done.stderr[-3000:]
    study = _study(tmp_path, "two")
    assert len(study.directions) == 2 and len(study.trials) == 4
    assert all(t.state == optuna.trial.TrialState.COMPLETE and len(t.values) == 2 for t in study.trials)
    assert all(0.0 <= t.values[1] <= 1.0 and t.values[0] > 0 for t in study.trials)
    uri = env["MLFLOW_TRACKING_URI"]
    parent = _runs(uri, "tags.study = 'two' and tags.tuned_generator = 'bigram'")[0]
    children = {int(r.data.tags["trial"]): r for r in _runs(uri, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")}
    for t in study.trials:  # the run holds the figures the study optimized
        metrics = children[t.number].data.metrics
        assert metrics["val_primary_gap"] == pytest.approx(t.values[1])
        assert metrics["val_primary_gap"] == pytest.approx(max(metrics["val_critic_gap"], metrics["val_bland_gap"]))
        assert metrics["best_val_nll"] == pytest.approx(t.values[0])
    front = sorted(t.number for t in study.best_trials)
    assert sorted(n for n, r in children.items() if r.data.tags.get("pareto_front") == "true") == front
    best = min(study.best_trials, key=lambda t: (t.values[1], t.values[0], t.number))
    assert [n for n, r in children.items() if r.data.tags.get("best_trial") == "true"] == [best.number]
    assert parent.data.tags["best_trial"] == str(best.number)
    assert [int(x.split(" ")[0]) for x in parent.data.tags["pareto_front"].split("; ")] == front
    for n in front:  # the printed front: one row per front trial
        assert re.search(rf"\b{n}\b.*{study.trials[n].values[0]:.4f}.*{study.trials[n].values[1]:.4f}", done.stdout), done.stdout
    pictures = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(parent.info.run_id, "tuning")}
    assert {"tuning/pareto_front.png", "tuning/history.png"} <= pictures
    # --params-from takes the same best trial; a worker with another objective cannot join
    again = cli("train-generator", "bigram", "--corpus", jazz_dir, "--params-from", "two", "--max-steps", 5,
                env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _runs(uri, "tags.params_from = 'two'")[0].data.params["model.dim"] == str(best.params["dim"])
    other = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 5, *TUNE, "--study", "two", "--resume",
                env=env, cwd=tmp_path)
    assert other.returncode == 2 and "optimizes --objective both, not nll" in other.stderr, other.stderr[-2000:]


@pytest.mark.parametrize("which", ["default", "trained"])
def test_objective_score_is_the_benchmarks_primary_gap_on_validation_contexts(which, jazz_data, tmp_path):
    """The score a trial is given is the figure `benchmark` would put in the primary_gap column
    for the same continuations, were the validation split its test split: same contexts, same
    reference half, same sides (the shipped default critic: anomaly and blandness; a critic
    trained now: the context side too); and the contexts are validation windows."""
    from dataclasses import replace

    from benchmark.lookup import find_critic
    from benchmark.options import BenchmarkOptions
    from benchmark.runner import Benchmark
    from generators.registry import get_generator_class
    from tuning.score import ValidationScore

    if which == "default":
        critic = find_critic(jazz_data, "cpu").model
    else:
        with mlflow_store(tmp_path):
            critic = train_tiny_critic(jazz_data, tmp_path / "critic", suite_phrases=None)[0]
        assert critic.context_fit is not None
    cls = get_generator_class("bigram")
    generator = cls(jazz_data.tokenizer, cls.config_class(), "cpu", 0)
    scorer = ValidationScore(jazz_data, critic, contexts=10, seed=3)
    val_contexts = jazz_data.val.token_lists("context")
    assert [list(c) for c in scorer.context_tokens] == [list(val_contexts[i]) for i in scorer.context_index]
    ours = scorer(generator)
    bench = Benchmark(replace(jazz_data, splits={**jazz_data.splits, "test": jazz_data.val}), critic, BenchmarkOptions(["bigram"], contexts=10, seed=3,
                                                                                       n_boot=5, device="cpu"),
                      log=lambda *_: None)
    row = bench.score(bench.generator_row("bigram", generator, ""))
    assert row.status == "ok", row.error
    assert ours["primary_gap"] == pytest.approx(row.metrics["primary_gap"])
    assert ours["critic_gap"] == pytest.approx(row.metrics["critic_gap"])
    assert ours["bland_gap"] == pytest.approx(row.metrics["bland_gap"])
    assert ("misfit_gap" in ours) == ("misfit_gap" in row.metrics)  # the context side, when the critic has one
    if "misfit_gap" in ours:
        assert ours["misfit_gap"] == pytest.approx(row.metrics["misfit_gap"])


def _start(jazz_dir, tmp: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), "tune", "bigram", "--corpus", str(jazz_dir), *args],
                            cwd=tmp, env={**os.environ, **_env(tmp)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # os.environ: a PGPASSFILE set by the test reaches the workers


@pytest.mark.slow  # runs cli.py in a process of its own
def test_two_workers_split_one_sqlite_study(jazz_dir, tmp_path):
    # the data cache is built once first, so that both workers start their trials together
    assert cli("prepare-data", "--corpus", jazz_dir, env=_env(tmp_path), cwd=tmp_path).returncode == 0
    workers = [_start(jazz_dir, tmp_path, "--trials", "8", "--max-steps", "40", "--val-every", "10", "--study", "pair")
               for _ in range(2)]
    outputs = [w.communicate(timeout=900)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    ran = [_worker_trials(out) for out in outputs]
    assert all(ran), ran  # both took trials
    assert not set(ran[0]) & set(ran[1])  # none twice
    study = _study(tmp_path, "pair")
    assert sorted(ran[0] + ran[1]) == [t.number for t in study.trials]  # the study's count is the sum
    assert len(study.trials) >= 8
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2
    # one parent run for both workers, one child per trial
    uri = _env(tmp_path)["MLFLOW_TRACKING_URI"]
    parents = _runs(uri, "tags.study = 'pair' and tags.tuned_generator = 'bigram'")
    assert len(parents) == 1
    assert len(_runs(uri, f"tags.`mlflow.parentRunId` = '{parents[0].info.run_id}'")) == len(study.trials)


@pytest.mark.slow  # runs cli.py in a process of its own
def test_a_killed_worker_fails_its_trial_and_the_study_goes_on(jazz_dir, tmp_path):
    assert cli("prepare-data", "--corpus", jazz_dir, env=_env(tmp_path), cwd=tmp_path).returncode == 0
    args = ("--trials", "6", "--max-steps", "60", "--val-every", "10", "--study", "killed", "--heartbeat", "1")
    victim = _start(jazz_dir, tmp_path, *args)
    other = _start(jazz_dir, tmp_path, *args)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    killed = None
    while killed is None and victim.poll() is None:  # wait for the victim to be inside a trial, past a validation
        time.sleep(0.2)
        try:
            trials = optuna.load_study(study_name="killed", storage=storage).trials
        except KeyError:  # not created yet
            continue
        mine = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values
                and t.user_attrs.get("worker", "").endswith(f":{victim.pid}")]
        if mine:
            victim.send_signal(signal.SIGKILL)
            killed = mine[0].number
    victim.wait()
    assert killed is not None, "the victim finished before it could be killed mid-trial"
    out = other.communicate(timeout=900)[0]
    assert other.returncode == 0, out[-3000:]
    # the restart: goes on with the same study
    restart = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 8, "--resume", *args[2:], env=_env(tmp_path),
                  cwd=tmp_path)
    assert restart.returncode == 0, restart.stderr[-3000:]
    trials = optuna.load_study(study_name="killed", storage=storage).trials
    assert trials[killed].state == optuna.trial.TrialState.FAIL
    finished = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(finished) >= 8
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1 and retried[0].params == trials[killed].params
    with tracking(_env(tmp_path)["MLFLOW_TRACKING_URI"]):
        run = mlflow.get_run(trials[killed].user_attrs["mlflow_run_id"])
    assert run.info.status == "KILLED" and run.data.tags["trial_state"] == "FAIL"


@pytest.mark.slow  # a team server (PostgreSQL and mlflow server)
def test_two_workers_split_one_study_on_the_team_servers_postgresql(jazz_dir, tmp_path, server_home):
    """Through a real `cli.py server` (its private PostgreSQL and MLflow): two workers given only
    MLFLOW_TRACKING_URI, no --storage and no password anywhere, share a study that lives in a
    database of its own on the server's PostgreSQL; the record is gone once the server stops."""
    from test_server import start_server, stop_server

    assert cli("prepare-data", "--corpus", jazz_dir, env=_env(tmp_path), cwd=tmp_path).returncode == 0
    runtime = tmp_path / "run"  # where the server publishes its studies' database (XDG_RUNTIME_DIR)
    runtime.mkdir(mode=0o700)
    data = server_home / f"tune-{os.getpid()}" / "server"
    data.parent.mkdir()
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)  # the server inherits it
    try:
        proc, uri = start_server(data)
    finally:
        os.environ.pop("XDG_RUNTIME_DIR")
    try:
        password = (data / "postgres.pgpass").read_text().strip().rsplit(":", 1)[1]
        env = {**os.environ, **_env(tmp_path), "MLFLOW_TRACKING_URI": uri, "XDG_RUNTIME_DIR": str(runtime)}
        env.pop("PGPASSFILE", None)
        env.pop("PHRASEBENCH_OPTUNA_STORAGE", None)
        argv = [sys.executable, str(REPO_ROOT / "cli.py"), "tune", "bigram", "--corpus", str(jazz_dir), "--trials", "6",
                "--max-steps", "40", "--val-every", "10", "--study", "pg"]
        workers = [subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                   for _ in range(2)]
        outputs = [w.communicate(timeout=900)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
        assert all(password not in out for out in outputs) and "/phrasebench_optuna" in outputs[0], outputs[0][-2000:]
        ran = [_worker_trials(out) for out in outputs]
        assert all(ran) and not set(ran[0]) & set(ran[1]), ran
        record = json.loads((runtime / "phrasebench-servers" / f"{uri.rsplit(':', 1)[1]}.json").read_text())
        assert password not in json.dumps(record) and "passfile=" in record["storage"]
        study = optuna.load_study(study_name="pg", storage=record["storage"])
        assert sorted(ran[0] + ran[1]) == [t.number for t in study.trials] and len(study.trials) >= 6
        assert not (tmp_path / "optuna.db").exists()  # nothing went to a sqlite file
        with tracking(uri):  # the runs went to the server's MLflow: one parent, a child per trial
            parents = mlflow.search_runs(experiment_names=[EXPERIMENT_GENERATORS], output_format="list",
                                         filter_string="tags.study = 'pg' and tags.tuned_generator = 'bigram'")
            assert len(parents) == 1
            children = mlflow.search_runs(experiment_names=[EXPERIMENT_GENERATORS], output_format="list",
                                          filter_string=f"tags.`mlflow.parentRunId` = '{parents[0].info.run_id}'")
            assert len(children) == len(study.trials)
    finally:
        if proc.poll() is None:
            assert stop_server(proc) == 0
    assert not list((runtime / "phrasebench-servers").iterdir())  # a stopped server publishes nothing
    # with the server gone, a worker is told what to do instead of guessing
    done = cli("tune", "bigram", "--corpus", jazz_dir, "--trials", 2, *TUNE, cwd=tmp_path,
               env={**env, "MLFLOW_TRACKING_URI": uri})
    assert done.returncode == 2 and "pass --storage postgresql" in done.stderr, done.stderr[-2000:]


def test_the_engine_validates_every_val_every_steps_and_an_observer_stops_it(jazz_data, tmp_path):
    """What a trial rests on, in one process without MLflow: `val_every` validations inside an
    epoch reach every observer, best.pt follows them, and an observer's reason stops the loop."""
    from generators.lstm import LSTMConfig, LSTMGenerator
    from training import TrainConfig
    from training.checkpoint import load_checkpoint
    from training.loop import observe_validation, train

    gen = LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=16, hidden=16, layers=1), "cpu", seed=0)
    seqs = gen.training_sequences(jazz_data.train)
    seen: list[tuple[int, float]] = []

    def observer(metrics, step):
        seen.append((step, metrics["val_nll"]))
        return "enough" if step >= 6 else None

    cfg = TrainConfig(epochs=5, max_steps=50, val_every=3, batch_size=4, checkpoint_dir=tmp_path, data_hash="x")
    with observe_validation(observer):
        state = train(gen, seqs, jazz_data.val, cfg)
    assert [s for s, _ in seen] == [3, 6] and state.step == 6 and state.stop_reason == "enough"
    assert state.best == pytest.approx(min(v for _, v in seen))
    assert load_checkpoint(tmp_path / "best.pt", kind="lstm")["step"] in (3, 6)
    outside = train(LSTMGenerator(jazz_data.tokenizer, gen.config, "cpu", seed=0), seqs, jazz_data.val,
                    TrainConfig(epochs=1, max_steps=6, batch_size=4, checkpoint_dir=tmp_path / "b", data_hash="x"))
    assert outside.stop_reason == "max_steps" and len(seen) == 2  # no observer outside the block
