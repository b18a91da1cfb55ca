"""The hostile-user sweep, kept as tests: fuzzed and broken MIDI files, nonsense options on every
command, interruptions (kill -9 of prepare-data, a training, a benchmark), concurrent trainings on
a fresh store, full and read-only disks. Nothing crashes, nothing is lost or mixed up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import symusic
import pytest
import torch

from helpers import REPO_ROOT, WJAZZD, cli, copy_corpus, mlflow_store, scale_notes, store_copy, write_midi
from phrases import PhraseConfig, prepare
from phrases.scan import SKIP_REASONS
from training import load_checkpoint

SEEDS = ["MilesDavis_SoWhat_FINAL.mid", "CharlieParker_DonnaLee_FINAL.mid", "JohnColtrane_GiantSteps-1_FINAL.mid"]
TINY_LSTM = ["--model-opt", "d_embed=16", "--model-opt", "hidden=32", "--model-opt", "layers=1"]


def mutants(sources: list[bytes], n: int, seed: int) -> list[bytes]:
    """`n` damaged copies: flipped bytes, truncations, duplicated and zeroed chunks, random header
    fields (tracks, ticks per quarter, chunk lengths)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        b = bytearray(sources[i % len(sources)])
        kind = i % 5
        if kind == 0:
            for pos in rng.integers(0, len(b), rng.integers(1, 20)):
                b[pos] = int(rng.integers(0, 256))
        elif kind == 1:
            b = b[: int(rng.integers(0, len(b)))]
        elif kind == 2:
            a = int(rng.integers(0, len(b)))
            b[a:a] = b[a : a + int(rng.integers(1, 200))]
        elif kind == 3:
            a = int(rng.integers(0, len(b)))
            b[a : a + int(rng.integers(1, 64))] = bytes(64)[: len(b[a : a + 64])]
        else:
            pos = int(rng.choice([10, 11, 12, 13, 18, 19, 20, 21]))
            b[pos] = int(rng.integers(0, 256))
        out.append(bytes(b))
    return out


def edge_files(folder: Path) -> dict[str, str]:
    """Hand-made edge cases, by file name -> the skip reason each must get ("" = a good song)."""
    raw = (WJAZZD / "MilesDavis_SoWhat_FINAL.mid").read_bytes()
    tpq0 = bytearray(raw)
    tpq0[12:14] = b"\x00\x00"
    (folder / "tpq0.mid").write_bytes(tpq0)
    tempo0 = bytearray(raw)
    at = raw.find(b"\xff\x51\x03")
    tempo0[at + 3 : at + 6] = b"\x00\x00\x00"
    (folder / "tempo0.mid").write_bytes(tempo0)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9 solo.mid"), "wb") as f:  # not UTF-8
        f.write(raw)
    os.mkfifo(folder / "fifo.mid")
    os.symlink("loop.mid", folder / "loop.mid")
    os.symlink("nowhere.mid", folder / "dangling.MID")
    (folder / "garbage.midi").write_bytes(b"MThd" + bytes(range(256)))
    write_midi(folder / "drums.mid", scale_notes(16), drum=True)
    return {"tpq0.mid": "bad_timing", "tempo0.mid": "bad_timing", "caf\\xe9 solo.mid": "", "fifo.mid": "not_a_file",
            "loop.mid": "unreadable", "dangling.MID": "unreadable", "garbage.midi": "corrupt", "drums.mid": "drums_only"}


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory) -> tuple[Path, dict[str, str], int]:
    folder = copy_corpus(WJAZZD, SEEDS, tmp_path_factory.mktemp("hostile"))
    sources = [(WJAZZD / s).read_bytes() for s in SEEDS]
    (folder / "mutants").mkdir()
    n = 300
    for i, data in enumerate(mutants(sources, n, seed=17)):
        (folder / "mutants" / f"m{i:03d}.mid").write_bytes(data)
    return folder, edge_files(folder), len(SEEDS) + n + 8


def test_no_file_stops_a_corpus_and_the_counts_add_up(hostile_corpus, tmp_path):
    folder, expected, n_files = hostile_corpus
    data = prepare(folder, PhraseConfig(), tmp_path / "cache", workers=2)  # through the process pool
    r = data.report
    assert r["files_found"] == n_files
    assert set(r["files_skipped"]) == set(SKIP_REASONS)
    assert len(data.songs) + sum(r["files_skipped"].values()) == n_files
    skipped_as = {name: reason for reason, names in r["skipped_files"].items() for name in names}
    for name, reason in expected.items():
        if reason:
            assert skipped_as.get(name) == reason, name
        else:
            assert name in set(data.songs.tolist()), name
    for name in SEEDS:
        assert name in set(data.songs.tolist())
    assert all(r["file_errors"][name] for name in skipped_as if skipped_as[name] == "unusable")
    # the same corpus again: the cache, verified, with the same data
    again = prepare(folder, PhraseConfig(), tmp_path / "cache", workers=1)
    assert again.report["cached"] and again.data_hash == data.data_hash


@pytest.mark.slow  # runs cli.py in a process of its own
def test_prepare_data_cli_reports_the_broken_files(hostile_corpus, tmp_path):
    folder, _, n_files = hostile_corpus
    out = cli("prepare-data", "--corpus", folder, "--cache-dir", tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert f"{n_files} found" in out.stdout and "Traceback" not in out.stderr
    assert "tpq0.mid" in out.stdout and "fifo.mid" in out.stdout


@pytest.mark.slow  # runs cli.py in a process of its own
def test_critique_and_generate_refuse_a_bad_file_in_one_line(hostile_corpus, jazz_data, tmp_path):
    from critics.vae import VAECritic, VAEConfig
    from generators.lstm import LSTMConfig, LSTMGenerator

    folder, _, _ = hostile_corpus
    critic = VAECritic(jazz_data.tokenizer, VAEConfig(d_embed=8, enc_hidden=8, hidden=8, latent=2), "cpu")
    critic.calibrate(jazz_data.val)
    critic.save(tmp_path / "critic.pt")
    LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=8, hidden=8, layers=1), "cpu").save(tmp_path / "lstm.pt")
    for bad in ("tpq0.mid", "fifo.mid", "loop.mid"):  # the other edge files: in-process, above
        res = cli("critique", folder / bad, "--checkpoint", tmp_path / "critic.pt")
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 2, (bad, res.stderr)  # using ..., error
        assert bad in res.stderr and "Traceback" not in res.stderr
        gen = cli("generate", "lstm", "--checkpoint", tmp_path / "lstm.pt", "--context", folder / bad, "--out", tmp_path / "g")
        assert gen.returncode == 2 and "Traceback" not in gen.stderr, (bad, gen.stderr)
        assert gen.stderr.strip().splitlines()[-1].startswith("error: --context") and bad in gen.stderr
    res = cli("critique", folder / "mutants", "--checkpoint", tmp_path / "critic.pt")
    assert res.returncode == 0 and "skipped" in res.stdout and "overall:" in res.stdout, res.stderr


@pytest.mark.slow  # runs cli.py in a process of its own
def test_generate_warns_when_the_context_bars_are_silent(jazz_data, tmp_path):
    from generators.lstm import LSTMConfig, LSTMGenerator

    LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=8, hidden=8, layers=1), "cpu").save(tmp_path / "lstm.pt")
    late = write_midi(tmp_path / "late.mid", [(t + 8 * 1920, d, p) for t, d, p in scale_notes(8)])  # notes from bar 9
    res = cli("generate", "lstm", "--checkpoint", tmp_path / "lstm.pt", "--context", late, "--num", "1", "--out", tmp_path / "g")
    assert res.returncode == 0 and "hold no note" in res.stdout, res.stdout + res.stderr
    res = cli("generate", "lstm", "--checkpoint", tmp_path / "lstm.pt", "--context", late, "--start-bar", "8", "--num", "1",
              "--out", tmp_path / "g")
    assert res.returncode == 0 and "hold no note" not in res.stdout, res.stdout + res.stderr


# -- nonsense options: every command, exit 2, one line naming the option, nothing logged ---------
NONSENSE = [
    (["prepare-data", "--phrase-bars", "0"], "--phrase-bars"),
    (["prepare-data", "--phrase-bars", "100000"], "--phrase-bars"),
    (["prepare-data", "--min-notes", "100000"], "--min-notes"),
    (["prepare-data", "--max-tokens", "2"], "--max-tokens"),
    (["prepare-data", "--split", "nan,nan,nan"], "--split"),
    (["prepare-data", "--split", "0.5,0.1"], "--split"),
    (["prepare-data", "--tokenizer", "abc"], "--tokenizer"),
    (["prepare-data", "--tracks", "all"], "--tracks"),
    (["prepare-data", "--transpose", "-3"], "--transpose"),
    (["prepare-data", "--workers", "0"], "--workers"),
    (["prepare-data", "--stride", "0"], "--stride"),
    (["train-generator", "lstm", "--epochs", "0"], "--epochs"),
    (["train-generator", "lstm", "--max-steps", "0"], "--max-steps"),
    (["train-generator", "lstm", "--max-minutes", "0"], "--max-minutes"),
    (["train-generator", "lstm", "--batch-size", "-1"], "--batch-size"),
    (["train-generator", "lstm", "--batch-size", "0"], "--batch-size"),
    (["train-generator", "lstm", "--lr", "-1"], "--lr"),
    (["train-generator", "lstm", "--patience", "0"], "--patience"),
    (["train-generator", "lstm", "--model-opt", "hidden=0"], "hidden"),
    (["train-generator", "lstm", "--model-opt", "hidden"], "--model-opt"),
    (["train-generator", "lstm", "--model-opt", "width=3"], "--model-opt width"),
    (["train-generator", "lstm", "--model-opt", "dropout=2"], "dropout"),
    (["train-generator", "nosuchmodel", "--max-steps", "1"], "nosuchmodel"),
    (["train-generator", "lstm", "--device", "tpu"], "--device"),
    (["train-generator", "lstm", "--attack-opt", "steps=3"], "--attack-opt"),
    (["train-generator", "lstm", "--against-critic", "default", "--attack-opt", "steps=0"], "--attack-opt steps=0"),
    (["train-generator", "lstm", "--against-critic", "default", "--attack-opt", "width=1"], "--attack-opt width"),
    (["train-generator", "gan", "--model-opt", "adv_steps=0"], "adv_steps"),
    (["train-critic", "--model-opt", "latent=0"], "latent"),
    (["train-critic", "--epochs", "-2"], "--epochs"),
    (["generate", "lstm", "--out", "x", "--bars", "0"], "--bars"),
    (["generate", "lstm", "--out", "x", "--bars", "100000"], "--bars"),
    (["generate", "lstm", "--out", "x", "--num", "-1"], "--num"),
    (["generate", "lstm", "--out", "x", "--temperature", "-1"], "--temperature"),
    (["generate", "lstm", "--out", "x", "--top-p", "2"], "--top-p"),
    (["generate", "lstm", "--out", "x", "--context-bars", "-4"], "--context-bars"),
    (["generate", "lstm", "--out", "x", "--start-bar", "-1"], "--start-bar"),
    (["generate", "lstm", "--out", "x", "--bars", "2", "--notes", "3"], "--notes"),
    (["critique", "nowhere/"], "nowhere"),
    (["benchmark", "--generator", "lstm", "--n-boot", "0"], "--n-boot"),
    (["benchmark", "--generator", "lstm", "--contexts", "0"], "--contexts"),
    (["benchmark", "--generator", "lstm", "--samples", "0"], "--samples"),
    (["benchmark"], "--generator"),
    (["benchmark", "--generator", "nosuchmodel"], "nosuchmodel"),
    (["leaderboard", "--benchmark-id", "nope"], "--benchmark-id"),
    (["ui", "--port", "99999"], "--port"),
    (["ui", "--port", "0"], "--port"),
    (["reproduce", "csc413", "--seeds", "0"], "--seeds"),
    (["speed", "--workers", "0"], "--workers"),
    (["train-critic", "--no-such-option"], "--no-such-option"),
]


@pytest.mark.slow  # runs cli.py in a process of its own
@pytest.mark.parametrize("args,named", NONSENSE, ids=[" ".join(a) for a, _ in NONSENSE])
def test_nonsense_options_get_one_line_and_exit_2(args, named, jazz_dir, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    reads_phrases = args[0] in ("prepare-data", "train-generator", "train-critic", "generate", "critique", "benchmark")
    data = ["--corpus", jazz_dir, "--cache-dir", tmp_path / "cache"] if reads_phrases else []
    res = cli(*args, *data, env={"MLFLOW_TRACKING_URI": uri}, cwd=tmp_path)
    lines = [line for line in res.stderr.strip().splitlines() if not line.startswith("using ")]
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    if (tmp_path / "mlflow.db").exists():
        runs = mlflow.MlflowClient(uri).search_runs([e.experiment_id for e in mlflow.MlflowClient(uri).search_experiments()])
        assert runs == [], [r.info.run_name for r in runs]


# -- interruptions and concurrency ------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _gone(pids: list[int], wait_s: float = 30) -> bool:
    deadline = time.time() + wait_s
    while time.time() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in
                 Path(f"/proc/{p}/stat").read_text().split()[2]]
        if not alive:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow  # runs cli.py in a process of its own
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_prepare_data_workers_die_with_it_and_its_temp_folder_is_removed(hostile_corpus, tmp_path, sig):
    folder, _, _ = hostile_corpus
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), "prepare-data", "--corpus", str(folder),
                             "--cache-dir", str(tmp_path / "cache"), "--workers", "2"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.time() + 120
    while len(workers) < 2 and proc.poll() is None and time.time() < deadline:
        workers = _children(proc.pid)
        time.sleep(0.02)
    assert len(workers) >= 2, "the worker pool never started"
    proc.send_signal(sig)
    proc.wait()
    assert _gone(workers), "workers outlived prepare-data"
    # a temporary left by a killed run (its PID is dead) is removed by the next start
    stray = tmp_path / "cache" / "phrases" / f".0123456789abcdef.tmp-{proc.pid}-deadbeef"
    stray.mkdir(parents=True, exist_ok=True)
    assert prepare(folder, PhraseConfig(), tmp_path / "cache", workers=1).report["files_found"] > 0
    assert not stray.exists()


def _train_args(corpus, cache, seed, max_steps=6):
    return ["train-generator", "lstm", "--corpus", str(corpus), "--cache-dir", str(cache), "--max-steps", str(max_steps),
            "--batch-size", "8", "--seed", str(seed), "--device", "cpu", *TINY_LSTM]


@pytest.mark.slow  # runs cli.py in a process of its own
def test_two_trainings_at_once_on_a_fresh_store_each_keep_their_weights(jazz_dir, jazz_data, tmp_path):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    cache = jazz_data.path.parent.parent
    procs = [subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), *_train_args(jazz_dir, cache, seed)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    client = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([client.get_experiment_by_name("phrasebench-generators").experiment_id])
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.params["checkpoint_dir"] for r in runs}) == 2  # a folder per run
    weights = {}
    for run in runs:
        local = load_checkpoint(Path(tmp_path / run.data.params["checkpoint_dir"]) / "best.pt")
        logged = load_checkpoint(Path(mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="checkpoint/best.pt", tracking_uri=env["MLFLOW_TRACKING_URI"])))
        assert local["run_id"] == logged["run_id"] == run.info.run_id
        assert all(torch.equal(local["model"][k], logged["model"][k]) for k in local["model"])
        weights[run.data.params["seed"]] = local["model"]
    assert any(not torch.equal(weights["1"][k], weights["2"][k]) for k in weights["1"])
    assert cli("leaderboard", env=env, cwd=tmp_path).returncode == 2  # the store works: "no leaderboard yet"


@pytest.mark.slow  # runs cli.py in a process of its own
def test_a_killed_training_is_marked_killed_and_never_used(jazz_dir, jazz_data, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"),
                             *_train_args(jazz_dir, jazz_data.path.parent.parent, 0, max_steps=100_000)],
                            cwd=tmp_path, env={**os.environ, "MLFLOW_TRACKING_URI": uri},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = mlflow.MlflowClient(uri)
    deadline, runs = time.time() + 300, []
    while not runs and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        exp = client.get_experiment_by_name("phrasebench-generators") if (tmp_path / "mlflow.db").exists() else None
        runs = client.search_runs([exp.experiment_id]) if exp else []
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert runs and client.get_run(runs[0].info.run_id).info.status == "RUNNING"
    res = cli("generate", "lstm", "--corpus", jazz_dir, "--cache-dir", jazz_data.path.parent.parent, "--out", tmp_path / "g",
              env={"MLFLOW_TRACKING_URI": uri}, cwd=tmp_path)
    assert res.returncode == 2 and "no trained lstm" in res.stderr  # the killed run is not a model to use
    assert client.get_run(runs[0].info.run_id).info.status == "KILLED"


@pytest.fixture(scope="module")
def trained_store(tiny_store, tmp_path_factory):
    """A store with a tiny lstm and a tiny critic trained on the test corpus (a copy of the shared one)."""
    tmp = tmp_path_factory.mktemp("killstore")
    with store_copy(tiny_store.folder, tmp) as uri:
        pass
    return tmp, uri


@pytest.mark.slow  # runs cli.py in a process of its own
def test_kill_9_of_a_benchmark_never_shows_a_partial_leaderboard(trained_store, jazz_dir, jazz_data):
    from benchmark.leaderboard import fetch

    tmp, uri = trained_store
    args = [sys.executable, str(REPO_ROOT / "cli.py"), "benchmark", "--generator", "lstm", "--contexts", "6",
            "--n-boot", "5", "--corpus", str(jazz_dir), "--cache-dir", str(jazz_data.path.parent.parent), "--device", "cpu"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    client = mlflow.MlflowClient(uri)
    whole = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr
    with mlflow_store(tmp):
        complete_id, complete_rows = fetch()
    assert len(complete_rows) == 3
    exp = client.get_experiment_by_name("phrasebench-leaderboard").experiment_id
    killed_at = []
    for rows_before_kill in (0, 2):  # kill as the first / third row run of the new benchmark appears
        before = {r.info.run_id for r in client.search_runs([exp], max_results=5000)}
        proc = subprocess.Popen(args, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline:
            new = [r for r in client.search_runs([exp], max_results=5000) if r.info.run_id not in before]
            if len(new) > rows_before_kill:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_at.append(len([r for r in client.search_runs([exp], max_results=5000) if r.info.run_id not in before]))
        with mlflow_store(tmp):
            bid, rows = fetch()
        assert len(rows) == 3 and all(r[3].get("complete") == "true" for r in rows)
        assert bid == complete_id or {r[0] for r in rows} == {"lstm", "real", "random"}
    assert max(killed_at) >= 1  # at least one kill landed in the middle of the MLflow logging


# -- full and read-only disks --------------------------------------------------------------------
@pytest.fixture()
def small_disk(tmp_path):
    """A 256 KiB tmpfs (root and a kernel that allows the mount, else the test is skipped)."""
    mount = tmp_path / "small"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({res.stderr.strip() or 'not root'}): full-disk paths untested")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


def _fill(folder: Path, leave: int) -> None:
    free = shutil.disk_usage(folder).free
    (folder / "ballast").write_bytes(b"\0" * max(free - leave, 0))


@pytest.mark.slow  # runs cli.py in a process of its own
def test_a_full_disk_is_one_line_and_leaves_no_empty_file(small_disk, jazz_data, jazz_dir, tmp_path):
    from generators.lstm import LSTMConfig, LSTMGenerator

    LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=8, hidden=8, layers=1), "cpu").save(tmp_path / "lstm.pt")
    out = small_disk / "out"
    out.mkdir()
    _fill(small_disk, 6 * 1024)
    res = cli("generate", "lstm", "--checkpoint", tmp_path / "lstm.pt", "--bars", "4", "--num", "50", "--out", out)
    assert res.returncode == 2 and "No space left" in res.stderr and "Traceback" not in res.stderr, res.stderr
    files = list(out.iterdir())
    assert all(f.stat().st_size > 0 and not f.name.startswith(".") for f in files)
    # the phrase cache on a full disk: one line, and no half-written cache that looks whole
    res = cli("prepare-data", "--corpus", jazz_dir, "--cache-dir", small_disk / "cache")
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not any((small_disk / "cache" / "phrases").glob("[!.]*/report.json"))


@pytest.mark.slow  # runs cli.py in a process of its own
def test_read_only_or_file_outputs_are_refused_before_any_work(small_disk, jazz_data, jazz_dir, tmp_path):
    from generators.lstm import LSTMConfig, LSTMGenerator

    LSTMGenerator(jazz_data.tokenizer, LSTMConfig(d_embed=8, hidden=8, layers=1), "cpu").save(tmp_path / "lstm.pt")
    (tmp_path / "a_file").write_text("x")
    res = cli("generate", "lstm", "--checkpoint", tmp_path / "lstm.pt", "--out", tmp_path / "a_file")
    assert res.returncode == 2 and "--out" in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    res = cli("generate", "lstm", "--checkpoint", tmp_path / "lstm.pt", "--out", small_disk / "out")
    assert res.returncode == 2 and "--out" in res.stderr and "Read-only" in res.stderr, res.stderr
    res = cli("train-generator", "lstm", "--max-steps", "1", "--checkpoint-dir", small_disk / "ck", "--cache-dir",
              jazz_data.path.parent.parent, "--corpus", jazz_dir)
    assert res.returncode == 2 and "--checkpoint-dir" in res.stderr and "Traceback" not in res.stderr, res.stderr


# --- issue 23: safe to run for a team ------------------------------------------------------------

INTRUDER = "phrasebench-intruder"


@pytest.fixture(scope="module")
def intruder():
    """An unprivileged local account (made with useradd, removed after): the other user of the
    machine. Needs root, as CI runs."""
    if os.geteuid() != 0:
        pytest.skip("making a second local account needs root (CI runs as root)")
    import pwd

    made = subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", INTRUDER], capture_output=True)
    assert made.returncode in (0, 9), made.stderr  # 9: it exists already
    try:
        yield pwd.getpwnam(INTRUDER)
    finally:
        subprocess.run(["userdel", INTRUDER], capture_output=True)


def _connect_as(account, socket_path: Path) -> subprocess.CompletedProcess:
    """`account` opens the PostgreSQL socket (what psql does first), with the system's Python."""
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or os.path.realpath(sys.executable)
    return subprocess.run([python, "-c", "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])",
                           str(socket_path)], capture_output=True, text=True, user=account.pw_uid, group=account.pw_gid,
                          extra_groups=[], cwd="/")


@pytest.mark.slow  # starts PostgreSQL
@pytest.mark.parametrize("length", ["short", "long"])
def test_finding_1_another_account_cannot_log_in_to_the_server_postgres(intruder, server_home, length):
    import psycopg

    from operating.private_postgres import private_postgres

    data = server_home / f"pg-{length}" / ("d" * 110 if length == "long" else "d") / "server"
    data.parent.mkdir(parents=True)
    before = {p: p.stat().st_mode for p in data.parents}
    with private_postgres(data) as (uri, env):
        sockets = Path(uri.split("host=")[1])
        assert len(str(sockets)) < 40 and sockets.stat().st_mode & 0o777 == 0o700
        socket_file = sockets / ".s.PGSQL.5432"
        assert socket_file.stat().st_mode & 0o777 == 0o700 and sockets.stat().st_uid != intruder.pw_uid
        tried = _connect_as(intruder, socket_file)
        assert tried.returncode != 0 and "PermissionError" in tried.stderr, tried.stderr
        # even on the socket, no login without the password (root reaches any socket)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}", connect_timeout=10)
        password_file = Path(env["PGPASSFILE"])
        assert password_file.parent == data.resolve() and password_file.stat().st_mode & 0o777 == 0o600
        with psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}&passfile={password_file}") as c:
            assert c.execute("select 1").fetchone() == (1,)
    assert not sockets.exists()  # removed with the cluster
    assert {p: p.stat().st_mode for p in data.parents} == before  # finding 2: nothing opened above --data


@pytest.mark.slow  # starts `cli.py server`
def test_finding_2_root_refuses_a_data_folder_the_postgres_account_cannot_enter(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the PostgreSQL system account exists only when `server` runs as root")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    modes = {p: p.stat().st_mode for p in [closed, *closed.parents]}
    done = cli("server", "--data", closed / "server", "--port", _free_port())
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "embedded_postgres cannot enter" in done.stderr and "changes no permissions outside --data" in done.stderr
    assert {p: p.stat().st_mode for p in modes} == modes and not (closed / "server" / "postgres").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_holding(secret: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if secret.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


@pytest.mark.slow  # starts `cli.py server`
def test_findings_3_5_6_a_team_server_with_auth_on_every_interface(server_home, tmp_path):
    """`server --host 0.0.0.0 --auth` on a PostgreSQL given by a URI with a password (in
    MLFLOW_BACKEND_STORE_URI): the printed URL answers, without credentials 401, with them 200;
    the password is in no message and no process's arguments."""
    import urllib.error
    import urllib.request
    from base64 import b64encode

    from operating.private_postgres import password_of, private_postgres

    admin = tmp_path / "admin-password"
    admin.write_text("a-long-team-admin-password-23\n")
    data = server_home / "auth-pg"
    with private_postgres(data) as (uri, _):
        secret = password_of(data)
        given = uri.replace("postgresql+psycopg://postgres@", f"postgresql://postgres:{secret}@")
        refused = cli("server", "--data", server_home / "never", "--backend-store-uri", given)
        assert refused.returncode == 2 and "MLFLOW_BACKEND_STORE_URI" in refused.stderr and secret not in refused.stderr
        log = open(tmp_path / "server.log", "w+")
        proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), "server", "--data", server_home / "auth",
                                 "--host", "0.0.0.0", "--port", str(_free_port()), "--auth", "--admin-password-file", admin],
                                cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                                env={**os.environ, "MLFLOW_BACKEND_STORE_URI": given})
        try:
            line = proc.stdout.readline()
            assert line.startswith("export MLFLOW_TRACKING_URI=http://"), (line, log.seek(0), log.read())
            url = line.split("=", 1)[1].strip()
            assert "0.0.0.0" not in url and "127.0.0.1" not in url  # the machine's name, as others use it
            assert _processes_holding(secret) == []
            api = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
            with pytest.raises(urllib.error.HTTPError) as no_credentials:
                urllib.request.urlopen(api, timeout=30)
            assert no_credentials.value.code == 401
            basic = b64encode(b"admin:a-long-team-admin-password-23").decode()
            with urllib.request.urlopen(urllib.request.Request(api, headers={"Authorization": f"Basic {basic}"}),
                                        timeout=30) as answer:
                assert answer.status == 200
            # a command without credentials: one line saying what to set, not advice to move a file
            shown = cli("leaderboard", env={"MLFLOW_TRACKING_URI": url})
            assert shown.returncode == 2 and "MLFLOW_TRACKING_USERNAME" in shown.stderr, shown.stderr
            assert len(shown.stderr.strip().splitlines()) == 1 and " mv " not in shown.stderr
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=120) == 0
        log.seek(0)
        messages = log.read() + proc.stdout.read()
        assert secret not in messages and "a-long-team-admin-password-23" not in messages
        assert "postgresql://postgres@" in messages  # the store it used, shown without the password


BAD_NAMES = ["../../../tmp/phrasebench-escape", "/tmp/phrasebench-escape", "a/b", "x" * 252, "m$\\foo$x", ".hidden", ""]


@pytest.mark.slow  # runs cli.py in a process of its own
@pytest.mark.parametrize("name", BAD_NAMES, ids=["dotdot", "absolute", "slash", "long", "mathtext", "dot", "empty"])
def test_finding_3_an_import_name_that_is_no_file_name_is_refused_before_any_work(name, jazz_dir, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    done = cli("benchmark", "--import", f"{name}={folder}", "--corpus", jazz_dir, "--cache-dir", tmp_path / "cache",
               env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}, cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--import" in done.stderr and ("a name becomes a file name" in done.stderr or "NAME=DIR" in done.stderr)
    assert not Path("/tmp/phrasebench-escape").exists() and not Path("/tmp/phrasebench-escape_00.mid").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no cache, store or report: no work done


def test_finding_3_titles_with_dollar_signs_are_drawn_as_written(tmp_path):
    from presenting.plots import RollExample, piano_roll_grid, table_png
    from phrases import NOTE_DTYPE

    notes = np.zeros(2, dtype=NOTE_DTYPE)
    notes["pitch"], notes["onset_beats"], notes["duration_beats"] = [60, 62], [0, 1], [1, 1]
    example = RollExample("Solo m$\\foo$x.mid", 0, notes, notes, notes, 4.0, [0.0, 4.0, 8.0], (1.0, 0.5), (1.0, 0.5))
    for fig in (piano_roll_grid([example], "m$\\foo$x"), table_png(["row"], [["m$\\foo$x"]], "m$\\foo$x", ["$\\foo$"])):
        fig.savefig(tmp_path / "t.png")  # mathtext would end in ParseFatalException here
        from matplotlib.text import Text

        texts = [t.get_text() for t in fig.findobj(Text)]
        assert any("m$\\foo$x" in t for t in texts)
    assert (tmp_path / "t.png").stat().st_size > 0


def write_bombs(folder: Path) -> dict[str, str]:
    """The memory bombs of issue 23: tiny files with a gap of millions of empty bars (ticks per
    quarter 1), and one of two million notes; file name -> the skip reason each must get."""
    folder.mkdir(parents=True, exist_ok=True)
    for bars in (1_000_000, 3_000_000, 12_000_000):
        write_midi(folder / f"gap_{bars}.mid", [(0, 1, 60), (4 * bars, 1, 62)], tpq=1)
    score = symusic.Score(480)
    track = symusic.Track(program=0)
    n = 2_000_000
    track.notes = symusic.Note.from_numpy(time=(np.arange(n) * 120).astype(np.int32), duration=np.full(n, 120, np.int32),
                                          pitch=(60 + np.arange(n) % 12).astype(np.int8), velocity=np.full(n, 80, np.int8))
    score.tracks.append(track)
    score.dump_midi(folder / "notes_2000000.mid")
    return {"gap_1000000.mid": "too_many_bars", "gap_3000000.mid": "too_many_bars", "gap_12000000.mid": "too_many_bars",
            "notes_2000000.mid": "too_many_notes"}


@pytest.mark.slow  # runs cli.py in a process of its own
def test_finding_4_bombs_are_skipped_by_name_and_prepare_data_stays_under_1_gb(tmp_path):
    corpus = copy_corpus(WJAZZD, SEEDS[:2], tmp_path / "corpus")
    bombs = write_bombs(corpus / "bombs")
    # peak RSS of prepare-data and its workers, measured by a parent that runs nothing else
    measure = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)")
    out = subprocess.run([sys.executable, "-c", measure, sys.executable, str(REPO_ROOT / "cli.py"), "prepare-data",
                          "--corpus", str(corpus), "--cache-dir", str(tmp_path / "cache"), "--workers", "2"],
                         capture_output=True, text=True, timeout=600)
    peak_kb, code = map(int, out.stdout.strip().splitlines()[-1].split())
    assert code == 0, out.stderr
    assert peak_kb < 1024 * 1024, f"peak RSS {peak_kb} KB"
    for name, reason in bombs.items():
        assert f"bombs/{name}" in out.stdout.split(f"skipped ({reason}):")[1].split("\n")[0]
    # every reader meets the same limits: one file given to critique is one line naming the reason
    rated = cli("critique", corpus / "bombs" / "gap_1000000.mid", "--corpus", corpus, "--cache-dir", tmp_path / "cache")
    assert rated.returncode == 2 and "Traceback" not in rated.stderr
    assert "too many bars" in rated.stderr.strip().splitlines()[-1] and "error:" in rated.stderr.strip().splitlines()[-1]
    # and the limits are options: a lower one skips the real songs as well (raising works alike)
    lower = cli("prepare-data", "--corpus", corpus, "--cache-dir", tmp_path / "cache", "--max-notes", 10)
    assert lower.returncode == 2 and "too_many_notes" in lower.stderr, lower.stderr
    bad = cli("prepare-data", "--corpus", corpus, env={"PHRASEBENCH_MAX_BARS": "lots"})
    assert bad.returncode == 2 and "PHRASEBENCH_MAX_BARS" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_finding_4_the_import_and_context_readers_skip_a_bomb_by_name(tmp_path):
    from benchmark.imported import read_continuation
    from phrases import PhraseConfig
    from phrases.decode import context_from_midi
    from phrases.pipeline import make_tokenizer
    from phrases.errors import UserError

    write_bombs(tmp_path)
    config, tokenizer = PhraseConfig(), make_tokenizer("remi")
    with pytest.raises(UserError, match="too many bars"):
        context_from_midi(tokenizer, tmp_path / "gap_3000000.mid", 4, config)
    got = read_continuation(tmp_path / "notes_2000000.mid", [], 120.0, tokenizer, config)
    assert got.problem == "too_long" and got.ids == [] and "2000000 notes" in got.detail


@pytest.mark.parametrize("text", ["[1, 2]", '"a manifest"', "[" * 100_000 + "]" * 100_000, '{"items": 3}'],
                         ids=["list", "string", "nested", "items"])
def test_finding_7_a_manifest_of_any_shape_is_named_unreadable(text, tmp_path):
    from benchmark.contexts import MANIFEST, Manifest
    from benchmark.imported import _manifest_check  # noqa: PLC2701 - the reader itself, same package
    from phrases.errors import UserError

    (tmp_path / "mine").mkdir()
    (tmp_path / MANIFEST).write_text(text)  # the import folder's parent, where an export puts it
    with pytest.raises(UserError, match="not a manifest"):
        Manifest.read(tmp_path / MANIFEST)
    tag, line = _manifest_check(tmp_path / "mine", "0123", 0, ["001-x-bar1"])
    assert tag == "unreadable" and "not a manifest" in line


@pytest.mark.slow  # runs cli.py in a process of its own
def test_finding_7_outputs_are_checked_before_any_work(jazz_dir, tmp_path):
    (tmp_path / "a_file").write_text("x")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    for args in (["benchmark", "--generator", "lstm", "--report-dir", tmp_path / "a_file"],
                 ["export-contexts", tmp_path / "a_file"]):
        done = cli(*args, "--corpus", jazz_dir, "--cache-dir", tmp_path / "cache", env=env, cwd=tmp_path)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "a file is in the way" in done.stderr and not (tmp_path / "cache").exists()  # no data was read


def test_finding_7_export_contexts_replaces_the_old_export_whole(jazz_data, tmp_path):
    from benchmark.contexts import MANIFEST, Manifest, export_contexts
    from phrases.files import temp_path

    out = tmp_path / "out"
    export_contexts(jazz_data, out, 6, 0)
    (out / "mine").mkdir()  # the user's folder inside it stays
    stale = temp_path(out / "contexts")  # what a kill -9 of an export leaves
    stale.mkdir()
    os.rename(stale, stale.with_name(stale.name.replace(f"-{os.getpid()}-", "-999999999-")))
    second = export_contexts(jazz_data, out, 4, 1)
    assert Manifest.read(out / MANIFEST).ids == second.ids
    assert sorted(p.name for p in (out / "contexts").iterdir()) == sorted(f"{i}.mid" for i in second.ids)
    assert sorted(p.name for p in out.iterdir()) == ["contexts", "manifest.json", "mine"]


def test_finding_7_a_song_name_of_250_characters_still_makes_file_names(jazz_data):
    from benchmark.contexts import context_id
    from phrases.names import short_stem

    long = "Solo " + "x" * 245
    ident = context_id(0, long + ".mid", 3)
    assert len(f"{ident}.mid".encode()) < 255 and len(f"lstm_{short_stem(long)}_000.mid".encode()) < 255
    assert context_id(0, "y" * 250 + ".mid", 3) != ident  # cut names stay apart (a hash of the whole)
    assert short_stem("MilesDavis_SoWhat_FINAL") == "MilesDavis_SoWhat_FINAL"  # usual names unchanged


def test_finding_7_a_corpus_1500_folders_deep_is_read(tmp_path):
    from phrases.scan import find_midi_files

    deep = tmp_path
    for _ in range(1500):  # Path.mkdir(parents=True) recurses too
        deep = deep / "d"
        deep.mkdir()
    try:
        write_midi(deep / "song.mid", scale_notes(4))
        assert find_midi_files(tmp_path).files == [deep / "song.mid"]
    finally:  # removed bottom up: shutil.rmtree (and so pytest's clean-up) recurses as well
        (deep / "song.mid").unlink(missing_ok=True)
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


@pytest.mark.slow  # runs cli.py in a process of its own
def test_finding_7_a_benchmark_id_with_a_quote_is_one_line(tmp_path):
    done = cli("leaderboard", "--benchmark-id", "x'", env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "--benchmark-id" in done.stderr


@pytest.mark.slow  # runs cli.py in a process of its own
def test_finding_7_ctrl_c_swallowed_on_the_way_still_exits_130_and_marks_nothing_complete(tmp_path):
    """A KeyboardInterrupt that something swallows (as a destructor's does) still stops the run:
    mark_complete refuses, and the command line exits 130."""
    script = f"""
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when this runs in the background
sys.path.insert(0, {str(REPO_ROOT)!r})
import mlflow, typer
from operating.commandline import run_app
from store import mark_complete
app = typer.Typer()
@app.command()
def work():
    mlflow.set_tracking_uri({f"sqlite:///{tmp_path / 'm.db'}"!r})
    run = mlflow.MlflowClient().create_run("0")
    print(run.info.run_id, flush=True)
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        pass  # swallowed
    mark_complete(run.info.run_id)
sys.exit(run_app(app, print))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 130, done.stderr
    run = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'm.db'}").get_run(done.stdout.split()[0])
    assert "complete" not in run.data.tags


def test_finding_7_temporaries_of_another_machine_are_left_alone(tmp_path):
    from phrases.files import remove_stale, temp_path

    ours = temp_path(tmp_path / "x")
    dead = ours.with_name(ours.name.replace(f"-{os.getpid()}-", "-999999999-"))
    theirs = tmp_path / ".x.tmp-othernode-999999999-abcdef12"
    for p in (dead, theirs):
        p.write_text("")
    assert remove_stale(tmp_path) == 1 and not dead.exists() and theirs.exists()


@pytest.mark.parametrize("name", ["MusicTokenizer", "__class__", "TokenizerConfig", ["REMI"]])
def test_finding_7_a_tokenizer_file_names_only_an_allowed_tokenization(name, tmp_path):
    import json

    from phrases.errors import UserError
    from phrases.tokenizer import load_tokenizer, make_tokenizer, save_tokenizer

    path = save_tokenizer(make_tokenizer("remi"), tmp_path)
    saved = json.loads(path.read_text())
    saved["tokenization"] = name
    path.write_text(json.dumps(saved))
    with pytest.raises(UserError, match="unknown tokenization"):
        load_tokenizer(path)


@pytest.mark.slow  # starts PostgreSQL
def test_finding_1_a_cluster_made_with_trust_logins_gets_a_password(server_home):
    """A data folder from before (the wheel's `initdb --auth=trust`): the next start sets a
    password and logins without it are refused."""
    import psycopg

    from operating.private_postgres import _as, binaries, private_postgres, service_account

    data = server_home / "old-trust"
    data.mkdir(mode=0o711)
    account = service_account()
    (data / "postgres").mkdir(mode=0o700)
    if account is not None:
        os.chown(data / "postgres", account.pw_uid, account.pw_gid)
    made = subprocess.run([str(binaries() / "initdb"), "-D", str(data / "postgres"), "--auth=trust", "-U", "postgres"],
                          capture_output=True, text=True, **_as(account))
    assert made.returncode == 0, made.stderr
    with private_postgres(data) as (uri, env):
        sockets = uri.split("host=")[1]
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}", connect_timeout=10)
        with psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}&passfile={env['PGPASSFILE']}") as c:
            assert c.execute("select 1").fetchone() == (1,)


def test_finding_8_mlflow_has_a_floor_of_3_17_with_auth_and_make_venv_upgrades_pip():
    import re
    import tomllib
    from importlib.metadata import requires, version

    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floor = [re.fullmatch(r"mlflow\[auth\]>=(\d+)\.(\d+)(?:\.\d+)?", d) for d in deps if d.startswith("mlflow")]
    assert len(floor) == 1 and floor[0] and tuple(map(int, floor[0].groups())) >= (3, 17), deps
    assert tuple(map(int, version("mlflow").split(".")[:2])) >= (3, 17)
    assert any(r.startswith("Flask-WTF") for r in requires("mlflow") or [])  # the [auth] extra, installable
    version("flask-wtf")  # and installed: `server --auth` needs it
    assert "-m pip install -q --upgrade pip" in (REPO_ROOT / "Makefile").read_text()


def test_finding_4_a_mirex_answer_past_the_note_limit_is_too_long(tmp_path):
    import json

    from benchmark.imported import read_continuation
    from phrases import PhraseConfig
    from phrases.pipeline import make_tokenizer

    answer = tmp_path / "001-x-bar1.json"
    answer.write_text(json.dumps({"generation": [{"start": 80 + i, "pitch": 60, "duration": 1} for i in range(12)]}))
    os.environ["PHRASEBENCH_MAX_NOTES"] = "10"
    try:
        got = read_continuation(answer, [], 120.0, make_tokenizer("remi"), PhraseConfig())
    finally:
        del os.environ["PHRASEBENCH_MAX_NOTES"]
    assert got.problem == "too_long" and "12 notes" in got.detail
