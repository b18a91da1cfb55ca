"""Files of runs: checkpoints uploaded during a training, artifacts fetched back."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from store.backend import ensure_store, is_remote, tracking_uri, with_retries


def upload_checkpoint(artifact_dir: str = "checkpoint") -> Callable[[Path], None] | None:
    """For a tracking server: a callback that logs a checkpoint file (last.pt after every epoch)
    as an artifact of the active run, so that `--resume` works from another machine; None for a
    local store, where the file is already on the only machine."""
    import mlflow

    if not is_remote():
        return None
    return lambda path: with_retries(lambda: mlflow.log_artifact(str(path), artifact_dir))


def run_artifact(run_id: str, artifact: str) -> Path:
    """Local path of a run's artifact (downloaded from a remote store; a sqlite store's own file)."""
    import mlflow

    return Path(with_retries(lambda: mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact,
                                                                          tracking_uri=tracking_uri())))


def list_artifacts(run_id: str, folder: str | None = None) -> set[str]:
    """The paths of a run's artifacts in `folder`."""
    import mlflow

    return {a.path for a in with_retries(lambda: mlflow.MlflowClient(ensure_store()).list_artifacts(run_id, folder))}


def download_artifact(run_id: str, artifact: str, dest) -> Path:
    """A run's artifact copied into folder `dest`; its path there."""
    import mlflow

    return Path(with_retries(lambda: mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact,
                                                                          dst_path=str(dest), tracking_uri=tracking_uri())))
