"""Test helpers, imported by the test modules (`from helpers import ...`): the corpus files the
tests use, tiny MIDI files written here, the tiny model configs, a real sqlite MLflow store for a
block, and the CLI as a user runs it. Fixtures live in conftest.py; hand-made note arrays in
helpers/notes.py; the system packages (FluidSynth, Chromium) in helpers/system.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import symusic

from phrases.config import REPO_ROOT

CORPORA = Path(os.environ.get("PHRASEBENCH_CORPORA") or REPO_ROOT.parent / "shared" / "corpora")
WJAZZD = CORPORA / "wjazzd"
PIANOMIDI = CORPORA / "pianomidi"

# A test-only plug-in generator, registered by its entry point like any third-party one (conftest.py
# puts it on the path before collection, so `registry.available()` lists it: tests/test_contract.py).
PLUGINS = Path(__file__).parent.parent / "plugins"

# Chosen to span tempos, meters and players; a test's corpus is a folder of copies of these.
WJAZZD_FILES = [
    "ArtPepper_Anthropology_FINAL.mid",
    "BenWebster_ByeByeBlackbird_FINAL.mid",
    "CharlieParker_DonnaLee_FINAL.mid",
    "ChetBaker_ThereWillNeverBeAnotherYou-1_FINAL.mid",
    "ColemanHawkins_BodyAndSoul_FINAL.mid",
    "JohnColtrane_GiantSteps-1_FINAL.mid",
    "MilesDavis_SoWhat_FINAL.mid",
    "JohnColtrane_MyFavoriteThings-1_FINAL.mid",  # 3/4
    "DizzyGillespie_Groovin'High_FINAL.mid",  # an apostrophe in the name
    "MichaelBrecker_SongForBilbao_FINAL.mid",  # meter changes 4/4 <-> 3/4
]
PIANOMIDI_FILES = ["alb_esp1.mid", "chpn_op25_e1.mid", "bach_846.mid"]


def copy_corpus(src: Path, names: list[str], dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = src / name
        if not path.exists():
            raise FileNotFoundError(f"test corpus file missing: {path}")
        shutil.copy(path, dest / name)
    return dest


def write_midi(path: Path, notes: list[tuple[int, int, int]], drum: bool = False, tpq: int = 480,
               extra_tracks: list[tuple[list[tuple[int, int, int]], bool]] = ()) -> Path:
    """A MIDI file of (onset tick, duration ticks, pitch) notes, 4/4 at 120 qpm."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, 120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for track_notes, is_drum in [(notes, drum), *extra_tracks]:
        track = symusic.Track(name="drums" if is_drum else "piano", program=0, is_drum=is_drum)
        for t, d, p in track_notes:
            track.notes.append(symusic.Note(t, d, p, 80))
        score.tracks.append(track)
    score.dump_midi(str(path))
    return path


def scale_notes(bars: int, tpq: int = 480, per_bar: int = 8, low: int = 60) -> list[tuple[int, int, int]]:
    """Eighth notes walking up and down a C major scale for `bars` bars."""
    scale = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2]
    step = 4 * tpq // per_bar
    return [(i * step, step, low + scale[i % len(scale)]) for i in range(bars * per_bar)]


# Generators small enough to train in seconds (--model-opt values): those of the shared store
# (conftest.py `tiny_store`) and of tests that train their own.
TINY_GENERATORS = {
    "lstm": {"d_embed": "32", "hidden": "64", "layers": "1"},
    "transformer": {"dim": "32", "depth": "1", "heads": "2", "max_seq_len": "128"},
}

# A critic small enough to train in seconds (the shared store's, and where a test needs its own).
TINY_CRITIC = {"d_embed": "32", "enc_hidden": "32", "hidden": "64", "latent": "16", "kl_warmup_steps": "20"}


def train_tiny_critic(data, folder: Path, suite_phrases: int | None = 64, name: str = "vae", **config):
    """A tiny critic trained on `data` into the current store, checkpoints under `folder`."""
    from benchmark.train import train_critic
    from training import TrainConfig

    config = {"epochs": 2, "batch_size": 16, "warmup_steps": 5, **config}
    return train_critic(data, TrainConfig(checkpoint_dir=Path(folder), **config), TINY_CRITIC, "cpu",
                        lambda *_: None, suite_phrases=suite_phrases, name=name)


@contextmanager
def mlflow_store(folder: Path):
    """A real sqlite MLflow store in `folder`, the current one for the block (see `tracking`)."""
    with tracking(f"sqlite:///{Path(folder) / 'mlflow.db'}") as uri:
        yield uri


@contextmanager
def store_copy(source: Path, folder: Path):
    """A copy of the sqlite store in `source` (its runs, tags and metrics; the artifacts stay where
    they are, in `source`/mlartifacts, and the new runs' go there too, each in a folder of its own),
    the current store for the block, in `folder`: the trained models of a shared store, without
    another module's writes."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(source) / "mlflow.db", folder / "mlflow.db")
    with mlflow_store(folder) as uri:
        yield uri


@contextmanager
def tracking(uri: str):
    """`uri` the current store for the block (the environment variable the CLI reads and mlflow's
    own global URI); the previous store is back after."""
    import mlflow

    old_env, old_uri = os.environ.get("MLFLOW_TRACKING_URI"), mlflow.get_tracking_uri()
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        if old_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_env
        mlflow.set_tracking_uri(old_uri)


def cli_killed_when(path: Path, *args, env=None, timeout=300) -> None:
    """Run `python cli.py ARGS` and kill it (SIGKILL, as `kill -9`) as soon as `path` exists."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "cli.py"), *map(str, args)], cwd=REPO_ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not Path(path).exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def cli(*args, env=None, timeout=600, cwd=REPO_ROOT):
    """Run `python cli.py ARGS` as a user would; the completed process."""
    return subprocess.run([sys.executable, str(REPO_ROOT / "cli.py"), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
