"""MLflow plumbing shared by every command: one store, experiments created on first use.

The default store is MLflow's own default, `sqlite:///mlflow.db` in the working directory, so a
plain `mlflow ui` there shows it; `MLFLOW_TRACKING_URI` overrides. Artifacts of a sqlite store
go to `mlartifacts/` beside the database file.

Under concurrency (any number of commands started at once): a sqlite store is created by one
process at a time (`ensure_store` holds an exclusive lock on `mlflow.db.lock` while MLflow makes
its tables), and every call that can meet SQLite's "database is locked" retries (`with_retries`).
Runs carry the host and PID of their process, so a run left RUNNING by a killed process is
marked KILLED by the next command that opens the store; a run is a candidate for "the newest
model" only once tagged `complete` (`mark_complete`, written last).
"""

from __future__ import annotations

import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

# a checkpoint is one small file: no progress bar for each download; and MLflow's INFO lines
# ("Creating initial MLflow database tables...") stay out of the commands' output
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

DEFAULT_URI = "sqlite:///mlflow.db"

EXPERIMENT_GENERATORS = "phrasebench-generators"
EXPERIMENT_CRITICS = "phrasebench-critics"

# What MLflow's UI opens an experiment on: its runs ("Machine learning"), not a GenAI trace
# dashboard. (MLflow 3.17's UI follows its GenAI / Model training switch instead; `cli.py ui`
# prints links that open on the runs either way.)
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
DESCRIPTION_TAG = "mlflow.note.content"
DESCRIPTIONS = {
    EXPERIMENT_GENERATORS: "**phrasebench generators**: one run per training of a generator (tag `generator`). "
    "Metrics: `train_loss`, `val_nll` and `best_val_nll` (teacher-forced NLL of the validation split, "
    "nats/token, lower is better; `unigram_val_nll` is the floor a model must beat), `tokens_per_s`. "
    "Tags: `data_hash` (the data it learned from; `benchmark` uses the newest run on the same data), "
    "`budget` (quick: a minutes-long `--quick` model). Artifacts: `checkpoint/best.pt`.",
    EXPERIMENT_CRITICS: "**phrasebench critics**: one run per training of the VAE critic, the instrument the "
    "leaderboard ranks with. Metrics: `val_elbo` (nats/token, lower is better), `val_kl`, `active_units`, "
    "and the validity suite: `auroc_<corruption>` (how well the critic's anomaly tells corrupted continuations "
    "from real ones: 0.5 is blind, 1 is perfect). Tags: `data_hash`, `budget`. Artifacts: `checkpoint/best.pt`.",
}
RUN_DESCRIPTIONS = {
    EXPERIMENT_GENERATORS: "Training of generator `{generator}` on data `{data_hash}` (budget {budget}). "
    "`best_val_nll` is its held-out NLL in nats/token (lower is better; `unigram_val_nll` is the floor to beat); "
    "`checkpoint/best.pt` is what `benchmark` loads.",
    EXPERIMENT_CRITICS: "Training of the critic `{critic}` on data `{data_hash}` (budget {budget}). `val_elbo` is "
    "its held-out negative ELBO in nats/token (lower is better); the `auroc_<corruption>` metrics are its validity "
    "suite (0.5 is blind, 1 is perfect); `checkpoint/best.pt` is what `benchmark` loads.",
}


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def _artifact_root(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return (db.resolve().parent / "mlartifacts").as_uri()
    return None


_ready: set[str] = set()


def ensure_store() -> str:
    """The tracking URI, its store ready for this process (once per process and URI): a sqlite
    store created under an exclusive file lock, a corrupt one refused with one line, the runs of
    dead processes of this host marked KILLED."""
    import fcntl

    import mlflow
    import sqlalchemy

    from phrases.errors import UserError

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if uri in _ready:
        return uri
    db = Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None
    try:
        if db is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
            with open(db.with_name(db.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                with_retries(lambda: mlflow.MlflowClient(uri).search_experiments(max_results=1))
        _mark_dead_runs(mlflow.MlflowClient(uri))
    except (mlflow.exceptions.MlflowException, sqlalchemy.exc.SQLAlchemyError) as e:  # not a store we can use
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        if db is None and uri.startswith(("http://", "https://")):  # a server that refuses us: no file to move
            raise UserError(f"MLFLOW_TRACKING_URI={uri}: the server answered with an error, or not at all ({first}); with `server --auth` set "
                            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD; a 403 'Invalid Host header' means "
                            "the server's --allowed-hosts lacks this name") from None
        where = db or uri
        raise UserError(f"{where}: not a usable MLflow store ({first}); move it away (e.g. mv {where} {where}.bad) "
                        "and run again, or point MLFLOW_TRACKING_URI at another store") from None
    _ready.add(uri)
    return uri


def process_tags() -> dict[str, str]:
    """Who is writing a run: `_mark_dead_runs` of a later command reads them."""
    from phrases.files import HOST

    return {"host": HOST, "pid": str(os.getpid())}


def _mark_dead_runs(client) -> None:
    """Runs still RUNNING whose process (of this host) is gone: marked KILLED."""
    from phrases.files import HOST, pid_alive

    exps = [e.experiment_id for e in with_retries(lambda: client.search_experiments())
            if e.name.startswith("phrasebench-")]
    if not exps:
        return
    for run in with_retries(lambda: client.search_runs(exps, "attributes.status = 'RUNNING'", max_results=1000)):
        tags = run.data.tags
        if tags.get("host") == HOST and tags.get("pid", "").isdigit() and not pid_alive(int(tags["pid"])):
            with_retries(lambda: client.set_terminated(run.info.run_id, "KILLED"))


def mark_complete(run_id: str) -> None:
    """The last write of a training or a leaderboard row: from now on it counts (never after a
    Ctrl-C, even one swallowed on the way: phrases.interrupt)."""
    import mlflow

    from phrases.interrupt import check

    check()

    with_retries(lambda: mlflow.MlflowClient(ensure_store()).set_tag(run_id, "complete", "true"))


def experiment_id(name: str, description: str | None = None, tags: dict[str, str] | None = None) -> str:
    """The id of experiment `name` in the current store, created if missing (race-safe), and
    tagged for the MLflow UI: its kind, its description (`description`, or this module's own for
    the training experiments) and `tags`, each set where it is missing."""
    import mlflow

    uri = ensure_store()
    wanted = {EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1], **(tags or {})}
    if description or name in DESCRIPTIONS:
        wanted[DESCRIPTION_TAG] = description or DESCRIPTIONS[name]
    exp = with_retries(lambda: mlflow.get_experiment_by_name(name))
    if exp is None:
        try:
            return with_retries(lambda: mlflow.create_experiment(name, artifact_location=_artifact_root(uri),
                                                                 tags=wanted))
        except Exception:  # another process created it between our look-up and create
            exp = with_retries(lambda: mlflow.get_experiment_by_name(name))
            if exp is None:
                raise
    for key, value in wanted.items():
        if key not in exp.tags:
            with_retries(lambda: mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, key, value))
    return exp.experiment_id


def with_retries(fn: Callable[[], T], attempts: int = 12) -> T:
    """Call `fn`, retrying with jittered back-off while sqlite says the database is locked.

    Two benchmarks writing one sqlite store at once otherwise lose writes to `database is locked`.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as e:  # mlflow wraps sqlalchemy's OperationalError in MlflowException
            if "locked" not in str(e).lower() or attempt == attempts - 1:
                raise
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


@contextmanager
def training_run(experiment: str, run_name: str, tags: dict[str, str], params: dict, resume_run_id: str | None = None):
    """The MLflow run of one training (a generator's or a critic's): `resume_run_id` reopened as it
    is (`--resume`), else a new run in `experiment` with `tags` and `params`. Yields the active run."""
    import mlflow

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


def latest_run(experiment: str, data_hash: str, **tags: str):
    """The newest complete FINISHED run of `experiment` with tag data_hash and `tags`, or None. A
    training made for an audit (tag `audit`, `benchmark/audit.py`) is never "the newest model"."""
    import mlflow

    filters = [f"tags.data_hash = '{data_hash}'", "attributes.status = 'FINISHED'", "tags.complete = 'true'",
               "tags.audit IS NULL"]
    filters += [f"tags.{k} = '{v}'" for k, v in tags.items()]
    runs = with_retries(lambda: mlflow.search_runs(
        experiment_ids=[experiment_id(experiment)], filter_string=" and ".join(filters),
        order_by=["attributes.start_time DESC"], max_results=1, output_format="list",
    ))
    return runs[0] if runs else None


def is_remote() -> bool:
    """A tracking server (http/https): runs and artifacts live there, not on this machine."""
    return tracking_uri().split(":", 1)[0].lower() in ("http", "https")


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


def mlflow_ui_command(host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    """argv of `mlflow ui` over this store, bound to `host` (loopback unless the user says
    otherwise), one worker (it starts in seconds)."""
    import shutil
    import sys

    from phrases.errors import UserError

    mlflow_bin = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if mlflow_bin is None:
        raise UserError("the mlflow command is not installed here; run `make venv`")
    return [mlflow_bin, "ui", "--backend-store-uri", ensure_store(), "--host", host, "--port", str(port), "--workers", "1"]


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
