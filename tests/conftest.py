"""Shared fixtures: a few real corpus files chosen by name, and tiny MIDI files written here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import symusic

from phrases.config import REPO_ROOT

CORPORA = Path(os.environ.get("PHRASEBENCH_CORPORA") or REPO_ROOT.parent / "shared" / "corpora")
WJAZZD = CORPORA / "wjazzd"
PIANOMIDI = CORPORA / "pianomidi"

# A test-only plug-in generator, registered by its entry point like any third-party one; on the
# path before collection, so `registry.available()` lists it (tests/test_contract.py).
PLUGINS = Path(__file__).parent / "plugins"
sys.path.insert(0, str(PLUGINS))

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


@pytest.fixture(scope="session")
def jazz_dir(tmp_path_factory) -> Path:
    return copy_corpus(WJAZZD, WJAZZD_FILES, tmp_path_factory.mktemp("wjazzd"))


@pytest.fixture(scope="session")
def jazz_data(jazz_dir, tmp_path_factory):
    from phrases import PhraseConfig, prepare

    return prepare(jazz_dir, PhraseConfig(), tmp_path_factory.mktemp("cache"), workers=1)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny test models gain nothing from threads, and one thread keeps the suite steady when
    the machine is busy. CLI subprocesses still use every core."""
    import torch

    torch.set_num_threads(1)


# A critic small enough to train in seconds, where a test needs a critic of its own.
TINY_CRITIC = {"d_embed": "32", "enc_hidden": "32", "hidden": "64", "latent": "16", "kl_warmup_steps": "20"}


def train_tiny_critic(data, folder: Path, suite_phrases: int | None = 64, **config):
    """A tiny critic trained on `data` into the current store, checkpoints under `folder`."""
    from benchmark.train import train_critic
    from training import TrainConfig

    config = {"epochs": 2, "batch_size": 16, "warmup_steps": 5, **config}
    return train_critic(data, TrainConfig(checkpoint_dir=Path(folder), **config), TINY_CRITIC, "cpu",
                        lambda *_: None, suite_phrases=suite_phrases)


@contextmanager
def mlflow_store(folder: Path):
    """A real sqlite MLflow store in `folder`, the current one for the block (see `tracking`)."""
    with tracking(f"sqlite:///{Path(folder) / 'mlflow.db'}") as uri:
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


@pytest.fixture()
def store(tmp_path):
    """A fresh MLflow store for one test."""
    with mlflow_store(tmp_path) as uri:
        yield uri


def cli(*args, env=None, timeout=600, cwd=REPO_ROOT):
    """Run `python cli.py ARGS` as a user would; the completed process."""
    return subprocess.run([sys.executable, str(REPO_ROOT / "cli.py"), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def server_home():
    """A folder for `cli.py server --data` folders. As root, PostgreSQL runs as a system user that
    must enter the data folder, and `server` opens no folder for it: pytest's own temporary folder
    (/tmp/pytest-of-root, 0700) is closed to it, so this one is a fresh /tmp folder it may enter
    (0711: no listing). Removed after the session."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="phrasebench-test-server-"))
    folder.chmod(0o711)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
