"""The experiments of the store, by role, and what the MLflow UI says about them.

A model says its role (`generator`, `critic`); the experiment of its trainings is named here
(`experiment_for`), never by the model. Each experiment is created on first use, tagged for the
UI (its kind, its description).
"""

from __future__ import annotations

import time

from store.backend import _artifact_root, ensure_store, with_retries


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

# The experiment of each role's trainings.
EXPERIMENTS = {"generator": EXPERIMENT_GENERATORS, "critic": EXPERIMENT_CRITICS}


def experiment_for(role: str) -> str:
    """The experiment that holds the trainings of a model of `role` ("generator" or "critic")."""
    return EXPERIMENTS[role]


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
            set_experiment_tag(exp.experiment_id, key, value)
    return exp.experiment_id


def find_experiment(name: str) -> tuple[str, dict[str, str]] | None:
    """(id, tags) of experiment `name`, or None when the store has none of that name (nothing made)."""
    import mlflow

    ensure_store()
    exp = with_retries(lambda: mlflow.get_experiment_by_name(name))
    return (exp.experiment_id, dict(exp.tags)) if exp is not None else None


def set_experiment_tag(experiment: str, key: str, value: str, attempts: int = 5) -> None:
    """Set (or replace) an experiment's tag. Two processes that set a tag the experiment does not
    have yet both insert it, and on a database server the slower one fails on the duplicate key;
    it tries again, finds the row and replaces it (the last writer wins, as with any tag)."""
    import mlflow

    client = mlflow.MlflowClient(ensure_store())
    for attempt in range(attempts):
        try:
            return with_retries(lambda: client.set_experiment_tag(experiment, key, value))
        except Exception as e:  # mlflow wraps sqlalchemy's IntegrityError in MlflowException
            text = str(e).lower()
            if not ("duplicate key" in text or "unique constraint" in text) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
