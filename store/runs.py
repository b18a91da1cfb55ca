"""Runs: the run of a training, the look-up of the newest trained model, runs written by id (a
study's parent and its trials, from any worker), and logging to the active run.

A run is a candidate for "the newest model" only once tagged `complete` (`mark_complete`,
written last).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from store.backend import ensure_store, process_tags, tracking_uri, with_retries
from store.experiments import DESCRIPTION_TAG, RUN_DESCRIPTIONS, experiment_for, experiment_id


def mark_complete(run_id: str) -> None:
    """The last write of a training or a leaderboard row: from now on it counts (never after a
    Ctrl-C, even one swallowed on the way: phrases.interrupt)."""
    import mlflow

    from phrases.interrupt import check

    check()

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).set_tag(run_id, "complete", "true"))


@contextmanager
def training_run(role: str, run_name: str, tags: dict[str, str], params: dict, resume_run_id: str | None = None):
    """The MLflow run of one training of a model of `role` (a generator's or a critic's):
    `resume_run_id` reopened as it is (`--resume`), else a new run in the role's experiment with
    `tags` and `params`. Yields the active run."""
    import mlflow

    experiment = experiment_for(role)
    exp = experiment_id(experiment)
    if resume_run_id is None and experiment in RUN_DESCRIPTIONS:
        fields = {"generator": "?", "critic": "?", "data_hash": "?", "budget": "full", **tags}
        tags = {DESCRIPTION_TAG: RUN_DESCRIPTIONS[experiment].format_map(fields), **tags}
    # The tags go in with the run itself: a process killed right after creating it still leaves
    # its pid behind, so the next command can mark the run KILLED.
    with mlflow.start_run(run_id=resume_run_id, experiment_id=exp if resume_run_id is None else None,
                          run_name=run_name,
                          tags={**(tags if resume_run_id is None else {}), **process_tags()}) as run:
        if resume_run_id is None:
            with_retries(lambda: mlflow.log_params(params))
        yield run


def latest_run(role: str, data_hash: str, optimized: bool = False, **tags: str):
    """The newest complete FINISHED training of a model of `role` with tag data_hash and `tags`, or None. A
    training made for an audit (tag `audit`, `operating/audit.py`) is never "the newest model"; one
    fine-tuned against a critic (tag `optimized_against`) is found only with `optimized`, and then
    only such one."""
    import mlflow

    filters = [f"tags.data_hash = '{data_hash}'", "attributes.status = 'FINISHED'", "tags.complete = 'true'",
               "tags.audit IS NULL", f"tags.optimized_against IS {'NOT ' if optimized else ''}NULL"]
    filters += [f"tags.{k} = '{v}'" for k, v in tags.items()]
    runs = with_retries(lambda: mlflow.search_runs(
        experiment_ids=[experiment_id(experiment_for(role))], filter_string=" and ".join(filters),
        order_by=["attributes.start_time DESC"], max_results=1, output_format="list",
    ))
    return runs[0] if runs else None


# -- runs written by id (a study's parent run and its trials' tags, from any worker) ---------------
def start_run(experiment: str, run_name: str, tags: dict[str, str], params: dict | None = None) -> str:
    """A new RUNNING run in `experiment` that is not this process's active run (a parent run
    that several processes write); returns its id. It carries no process tags: it outlives the
    process that opened it, and whoever ends it says so (`end_run`)."""
    import mlflow

    client = mlflow.MlflowClient(ensure_store())
    run = with_retries(lambda: client.create_run(experiment_id(experiment), run_name=run_name, tags=tags))
    if params:
        with_retries(lambda: client.log_batch(run.info.run_id, params=[
            mlflow.entities.Param(k, str(v)) for k, v in params.items()]))
    return run.info.run_id


def set_run_tags(run_id: str, tags: dict[str, str], remove: tuple[str, ...] = ()) -> None:
    """Set `tags` on a run and delete the tags named in `remove` (those it has)."""
    import mlflow

    client = mlflow.MlflowClient(ensure_store())
    with_retries(lambda: client.log_batch(run_id, tags=[mlflow.entities.RunTag(k, str(v)) for k, v in tags.items()]))
    present = with_retries(lambda: client.get_run(run_id)).data.tags
    for key in remove:
        if key in present:
            with_retries(lambda: client.delete_tag(run_id, key))


def log_run_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    import mlflow

    client = mlflow.MlflowClient(ensure_store())
    now = int(time.time() * 1000)
    with_retries(lambda: client.log_batch(run_id, metrics=[mlflow.entities.Metric(k, float(v), now, step)
                                                           for k, v in metrics.items()]))


def log_run_figure(run_id: str, figure, artifact_file: str) -> None:
    """A matplotlib figure as an image artifact of a run."""
    import mlflow

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).log_figure(run_id, figure, artifact_file))


def end_run(run_id: str, status: str = "FINISHED") -> None:
    import mlflow

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).set_terminated(run_id, status))


def get_run(run_id: str):
    import mlflow

    return with_retries(lambda: mlflow.MlflowClient(ensure_store()).get_run(run_id))


def child_runs(parent_run_id: str, experiment: str) -> list:
    """The runs whose parent is `parent_run_id` (MLflow's `mlflow.parentRunId` tag)."""
    import mlflow

    return with_retries(lambda: mlflow.search_runs(
        [experiment_id(experiment)], filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}'",
        max_results=5000, output_format="list"))


def find_run(run_id: str, option: str, experiment: str):
    """Run `run_id`, or a one-line error naming `option` when the store has no such run."""
    import mlflow

    from phrases.errors import UserError

    try:
        return with_retries(lambda: mlflow.MlflowClient(ensure_store()).get_run(run_id))
    except mlflow.exceptions.MlflowException:
        raise UserError(f"{option} {run_id}: no such MLflow run in {tracking_uri()}; copy a run id from `mlflow ui` "
                        f"(experiment {experiment})") from None


def search_runs(experiment: str, where: str = "", order_by: tuple[str, ...] = ("attributes.start_time DESC",),
                max_results: int = 1000) -> list:
    """The runs of experiment `experiment` (an id) that match `where` (MLflow's filter syntax), newest first."""
    import mlflow

    ensure_store()
    return with_retries(lambda: mlflow.search_runs([experiment], filter_string=where, order_by=list(order_by),
                                                   max_results=max_results, output_format="list"))


def newest_training(role: str, name: str, data_hash: str):
    """The newest training run (any status) of model `name` of `role` on data `data_hash`, or None."""
    runs = search_runs(experiment_id(experiment_for(role)), f"tags.{role} = '{name}' and tags.data_hash = '{data_hash}'",
                       max_results=1)
    return runs[0] if runs else None


def log_run_batch(run_id: str, metrics: dict[str, float] | None = None, params: dict | None = None,
                  steps: dict[str, int] | None = None, metric_list: list[tuple[str, float, int]] = ()) -> None:
    """Metrics (at step 0, or `steps[key]`), `metric_list` ((key, value, step) rows) and params of
    a run written by id, in one batch."""
    import mlflow

    now = int(time.time() * 1000)
    rows = [mlflow.entities.Metric(k, float(v), now, (steps or {}).get(k, 0)) for k, v in (metrics or {}).items()]
    rows += [mlflow.entities.Metric(k, float(v), now, step) for k, v, step in metric_list]
    client = mlflow.MlflowClient(ensure_store())
    with_retries(lambda: client.log_batch(run_id, metrics=rows,
                                          params=[mlflow.entities.Param(k, str(v)) for k, v in (params or {}).items()]))


def log_run_artifact(run_id: str, path, artifact_dir: str | None = None) -> None:
    """A file as an artifact of a run written by id."""
    import mlflow

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).log_artifact(run_id, str(path), artifact_dir))


def log_run_text(run_id: str, text: str, artifact_file: str) -> None:
    import mlflow

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).log_text(run_id, text, artifact_file))


def log_run_table(run_id: str, frame, artifact_file: str) -> None:
    """A pandas DataFrame as a table artifact of a run written by id."""
    import mlflow

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).log_table(run_id, frame, artifact_file))


# -- the active run (this process's, opened by `training_run` or `active_run`) ---------------------
@contextmanager
def active_run(experiment: str, run_name: str, tags: dict[str, str], nested: bool = False):
    """A new run of experiment `experiment` (an id), this process's active run for the block;
    `nested`: a child of the active run. Yields the run."""
    import mlflow

    ensure_store()
    with mlflow.start_run(experiment_id=experiment, run_name=run_name, nested=nested, tags=tags) as run:
        yield run


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    import mlflow

    with_retries(lambda: mlflow.log_metrics(metrics, step=step))


def log_params(params: dict) -> None:
    import mlflow

    with_retries(lambda: mlflow.log_params(params))


def set_tag(key: str, value: str) -> None:
    import mlflow

    with_retries(lambda: mlflow.set_tag(key, value))


def log_artifact(path, artifact_dir: str | None = None) -> None:
    import mlflow

    with_retries(lambda: mlflow.log_artifact(str(path), artifact_dir))


def log_text(text: str, artifact_file: str) -> None:
    import mlflow

    with_retries(lambda: mlflow.log_text(text, artifact_file))


def log_figure(figure, artifact_file: str) -> None:
    import mlflow

    with_retries(lambda: mlflow.log_figure(figure, artifact_file))


def log_table(frame, artifact_file: str) -> None:
    """A pandas DataFrame as a table artifact (MLflow's table view in the UI)."""
    import mlflow

    with_retries(lambda: mlflow.log_table(frame, artifact_file))
