"""benchmark end to end on a few real files with tiny models: rows, keys, determinism, failure
isolation, concurrent invocations, the MLflow UI and its REST API."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pytest

from presenting.audio import find_synth
from benchmark.leaderboard import LEADERBOARD_KEYS, fetch
from benchmark.lookup import MissingModel
from operating.benchmarking import run_benchmark
from benchmark.options import BenchmarkOptions
from benchmark.train import train_generator
from helpers import TINY_GENERATORS, mlflow_store, store_copy
from phrases.config import REPO_ROOT
from training import TrainConfig

TINY = TINY_GENERATORS
GENERATORS = list(TINY)


@pytest.fixture(scope="module")
def store(tiny_store, tmp_path_factory):
    """A real sqlite MLflow store holding tiny trained generators and a tiny critic (a copy of the shared one)."""
    tmp = tmp_path_factory.mktemp("bench")
    with store_copy(tiny_store.folder, tmp) as uri:
        yield tmp, uri


REPORTS = Path(tempfile.mkdtemp(prefix="phrasebench-reports-"))  # not the working tree's outputs/
atexit.register(shutil.rmtree, REPORTS, True)


def options(**kw):
    return BenchmarkOptions(GENERATORS, **{"contexts": 12, "n_boot": 20, "device": "cpu", "examples": 2,
                                           "report_dir": REPORTS, **kw})


def test_every_row_and_key(store, jazz_data):
    result = run_benchmark(jazz_data, options(), log=lambda *_: None)
    names = {r.name for r in result.rows}
    assert names == {*GENERATORS, "real", "random"}
    for row in result.rows:
        assert row.status == "ok", row.error
        for key in LEADERBOARD_KEYS:
            if key == "nll" and row.name == "real":
                continue
            if key == "copy_rate" and all(len(d.continuation_notes) < 8 for d in row.decoded):
                assert np.isnan(row.metrics[key])  # no 8-note pattern to look up (unigram noise may have none)
                continue
            assert key in row.metrics and np.isfinite(row.metrics[key]), (row.name, key)
            if key not in ("c2st_auroc",):
                assert f"{key}_ci_low" in row.metrics and f"{key}_ci_high" in row.metrics
    # logged: one run per row, with the tags and artifacts the leaderboard promises
    client = mlflow.MlflowClient(store[1])
    bid, entries = fetch(result.benchmark_id)
    assert bid == result.benchmark_id and {e[0] for e in entries} == names
    for rank, (name, status, metrics, tags) in enumerate(entries, 1):
        for tag in ("generator", "benchmark_id", "critic_run_id", "critic_sha", "generator_run_id", "source",
                    "data_hash", "seed", "mlflow.note.content"):
            assert tag in tags
        assert tags["data_hash"] == jazz_data.data_hash and status == "ok" and len(tags["critic_sha"]) == 64
        assert tags["source"] == ("reference" if name in ("real", "random") else "trained")
        assert metrics["critic_gap"] == next(r for r in result.rows if r.name == name).metrics["critic_gap"]
        assert metrics["rank"] == rank and result.rows[rank - 1].name == name  # one order: printed and logged
    run_id = mlflow.search_runs(filter_string=f"tags.benchmark_id = '{bid}' and tags.generator = 'lstm'",
                                experiment_names=["phrasebench-leaderboard"], output_format="list")[0].info.run_id
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"leaderboard.png", "leaderboard.json", "report.html", "piano_rolls.png", "phrases.csv", "examples"} <= artifacts
    examples = [a.path for a in client.list_artifacts(run_id, "examples")]
    assert len([p for p in examples if p.endswith(".mid")]) == 2
    assert len([p for p in examples if p.endswith(".ogg")]) == (2 if find_synth()[0] else 0)
    assert result.report.is_file() and result.report.parent.name == result.benchmark_id
    # the reference rows are ordered as they must be: real is closer to the reference than random
    # (on these 12 contexts of one test song, with a critic trained for seconds, only the note
    # statistics are steady enough to ask this; `make demo` checks every key on the full corpus)
    real = next(r for r in result.rows if r.name == "real").metrics
    rand = next(r for r in result.rows if r.name == "random").metrics
    assert real["jsd_step"] < rand["jsd_step"]
    assert abs(real["c2st_auroc"] - 0.5) < abs(rand["c2st_auroc"] - 0.5)


def test_same_seed_same_numbers(store, jazz_data):
    a = run_benchmark(jazz_data, options(seed=5), log=lambda *_: None)
    b = run_benchmark(jazz_data, options(seed=5), log=lambda *_: None)
    assert a.benchmark_id != b.benchmark_id
    for ra, rb in zip(a.rows, b.rows):
        assert ra.name == rb.name and ra.metrics == rb.metrics


def test_a_failing_generator_gets_a_failed_row(store, jazz_data):
    ckpt = store[0] / "broken"
    train_generator("lstm", jazz_data, TrainConfig(epochs=1, max_steps=2, checkpoint_dir=ckpt), TINY["lstm"],
                    "cpu", lambda *_: None)
    # corrupt the newest lstm's logged checkpoint: loading it fails, the other rows complete
    run = mlflow.search_runs(experiment_names=["phrasebench-generators"], filter_string="tags.generator = 'lstm'",
                             order_by=["attributes.start_time DESC"], max_results=1, output_format="list")[0]
    from urllib.parse import unquote, urlparse

    artifact = unquote(urlparse(run.info.artifact_uri).path) + "/checkpoint/best.pt"
    with open(artifact, "r+b") as f:
        f.truncate(100)
    result = run_benchmark(jazz_data, options(), log=lambda *_: None)
    rows = {r.name: r for r in result.rows}
    assert rows["lstm"].status == "failed" and "best.pt" in rows["lstm"].error
    assert rows["transformer"].status == "ok" and rows["real"].status == "ok"
    _, entries = fetch(result.benchmark_id)
    tags = {e[0]: e[3] for e in entries}
    assert tags["lstm"]["status"] == "failed" and tags["lstm"]["error"]
    assert result.rows[-1].name == "lstm"  # failed rows rank last


def test_missing_model_names_the_command(jazz_dir, jazz_data, tmp_path):
    from phrases import PhraseConfig, prepare

    with mlflow_store(tmp_path):
        # the shipped default critic fits these phrases: what is missing is a generator
        with pytest.raises(MissingModel, match="python cli.py train-generator lstm"):
            run_benchmark(jazz_data, options(), log=lambda *_: None)
        # two-bar phrases: no critic fits them
        two_bars = prepare(jazz_dir, PhraseConfig(phrase_bars=2), tmp_path / "cache", workers=1)
        with pytest.raises(MissingModel, match="python cli.py train-critic"):
            run_benchmark(two_bars, options(), log=lambda *_: None)


def _cli(*args, uri):
    return subprocess.Popen([sys.executable, "cli.py", *args], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "MLFLOW_TRACKING_URI": uri})


@pytest.mark.slow  # runs cli.py in a process of its own
def test_two_benchmarks_at_once_into_one_store(store, jazz_dir, jazz_data):
    """Two invocations started together: both finish and every row of both is logged."""
    uri = store[1]
    args = ["benchmark", "--generator", "lstm", "--generator", "transformer", "--contexts", "6", "--n-boot", "5",
            "--corpus", str(jazz_dir), "--cache-dir", str(jazz_data.path.parent.parent), "--device", "cpu",
            "--report-dir", str(REPORTS)]
    procs = [_cli(*args, "--seed", str(s), uri=uri) for s in (11, 12)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "leaderboard" in out
    client = mlflow.MlflowClient(uri)
    experiment = client.get_experiment_by_name("phrasebench-leaderboard")
    by_seed = {}
    for seed in ("11", "12"):
        runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.seed = '{seed}'")
        by_seed[seed] = {r.data.tags["generator"] for r in runs}
    assert by_seed == {"11": {"lstm", "transformer", "real", "random"}, "12": {"lstm", "transformer", "real", "random"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # starts `cli.py ui`
def test_ui_serves_the_page_and_the_rest_api(store, jazz_data):
    result = run_benchmark(jazz_data, options(), log=lambda *_: None)
    port = _free_port()
    server = _cli("ui", "--port", str(port), uri=store[1])
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            try:
                page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise AssertionError(f"mlflow ui did not come up: {server.stderr.read() if server.poll() is not None else ''}")
                time.sleep(0.5)
        assert "<html" in page.lower()
        exp = mlflow.get_experiment_by_name("phrasebench-leaderboard").experiment_id
        body = json.dumps({"experiment_ids": [exp], "filter": f"tags.benchmark_id = '{result.benchmark_id}'",
                           "max_results": 100}).encode()
        req = urllib.request.Request(base + "/api/2.0/mlflow/runs/search", data=body,
                                     headers={"Content-Type": "application/json"})
        runs = json.loads(urllib.request.urlopen(req, timeout=30).read())["runs"]
        assert {t["value"] for r in runs for t in r["data"]["tags"] if t["key"] == "generator"} == {*GENERATORS, "real", "random"}
        real = next(r for r in runs if {"key": "generator", "value": "real"} in r["data"]["tags"])
        metrics = {m["key"] for m in real["data"]["metrics"]}
        assert {"critic_gap", "jsd_pitch", "fcd", "c2st_auroc"} <= metrics
    finally:
        server.terminate()
        server.wait(timeout=30)
