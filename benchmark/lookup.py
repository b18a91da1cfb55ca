"""Find trained models through MLflow: the latest finished run of a generator or critic trained on
a given data_hash, and its checkpoint artifact."""

from __future__ import annotations

from pathlib import Path

from benchmark.tracking import EXPERIMENT_CRITICS, EXPERIMENT_GENERATORS, experiment_id, with_retries


def latest_run(experiment: str, data_hash: str, **tags: str):
    """The newest FINISHED run of `experiment` with tag data_hash and `tags`, or None."""
    import mlflow

    filters = [f"tags.data_hash = '{data_hash}'", "attributes.status = 'FINISHED'"]
    filters += [f"tags.{k} = '{v}'" for k, v in tags.items()]
    runs = with_retries(lambda: mlflow.search_runs(
        experiment_ids=[experiment_id(experiment)], filter_string=" and ".join(filters),
        order_by=["attributes.start_time DESC"], max_results=1, output_format="list",
    ))
    return runs[0] if runs else None


def checkpoint_of(run, artifact: str = "checkpoint/best.pt") -> Path:
    """Local path of a run's checkpoint artifact (a copy is downloaded for remote stores)."""
    import mlflow

    return Path(with_retries(lambda: mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=artifact)))


def latest_generator_run(name: str, data_hash: str):
    return latest_run(EXPERIMENT_GENERATORS, data_hash, generator=name)


def latest_critic_run(data_hash: str):
    return latest_run(EXPERIMENT_CRITICS, data_hash)


def pretrained_checkpoint(run_id: str) -> Path | None:
    """The MLE starting point a generator run logged (the gan's `pretrain_checkpoint`), if any."""
    import mlflow

    names = {a.path for a in with_retries(lambda: mlflow.MlflowClient().list_artifacts(run_id, "pretrain_checkpoint"))}
    if "pretrain_checkpoint/best.pt" not in names:
        return None
    return Path(with_retries(lambda: mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="pretrain_checkpoint/best.pt")))
