"""Shared fixtures: a few real corpus files chosen by name, the data prepared from them, and the
tiny trained models several modules share. Helpers the tests import are in tests/helpers/."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import PLUGINS, TINY_GENERATORS, WJAZZD, WJAZZD_FILES, copy_corpus, mlflow_store, train_tiny_critic

# on the path before collection, so `registry.available()` lists the test-only plug-in
sys.path.insert(0, str(PLUGINS))

# The slow tier (`make test` runs it, `make check` does not): tests that run cli.py in a process
# of their own (servers, torchrun, workers, kills), read the whole corpus, or train for long. Whole
# modules are listed here with the reason; single tests carry `@pytest.mark.slow` and theirs.
SLOW_MODULES = {
    "test_distributed.py": "torchrun",
    "test_server.py": "a team server (PostgreSQL and mlflow server)",
    "test_first_hour.py": "the README's first hour as written: the whole corpus, `make ui`",
    "test_default_critic.py": "the whole corpus under the shipped critic",
    "test_two_sided.py": "the whole corpus under the shipped critic",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


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


@dataclass
class TinyStore:
    folder: Path  # mlflow.db, mlartifacts/, the checkpoints
    critic: object  # the tiny critic (critics.vae.VAECritic)


@pytest.fixture(scope="session")
def tiny_store(jazz_data, tmp_path_factory) -> TinyStore:
    """One sqlite store with the tiny models the benchmark tests share, trained once per session
    as the CLI trains them (benchmark.train): an lstm and a transformer (`TINY_GENERATORS`, 15
    steps) and a critic (`TINY_CRITIC`, with its validity suite). A module takes a copy of its own
    (`helpers.store_copy`), so what one module writes no other sees."""
    from benchmark.train import train_generator
    from training import TrainConfig

    folder = tmp_path_factory.mktemp("tiny-store")
    with mlflow_store(folder):
        for name, opts in TINY_GENERATORS.items():
            train_generator(name, jazz_data, TrainConfig(epochs=1, max_steps=15, batch_size=8, warmup_steps=5,
                                                         checkpoint_dir=folder / name), opts, "cpu", lambda *_: None)
        critic = train_tiny_critic(jazz_data, folder / "critic")[0]
    return TinyStore(folder, critic)


@pytest.fixture()
def store(tmp_path):
    """A fresh MLflow store for one test."""
    with mlflow_store(tmp_path) as uri:
        yield uri


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
