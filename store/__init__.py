"""The MLflow store: the only package that imports `mlflow` (tests/test_layers.py checks it).

    store.backend       the store every command shares: its URI, set-up under a lock, retries
                        while sqlite is locked, runs of dead processes marked KILLED
    store.experiments   the experiments by role (`experiment_for("generator")`), created on first
                        use, with the descriptions the MLflow UI shows
    store.runs          the run of a training, the newest complete model on some data, runs
                        written by id, logging to the active run
    store.artifacts     checkpoints uploaded during a training, artifacts fetched back
    store.commands      the `mlflow ui` command line

Models (generators, critics) say their role and never name an experiment or query runs; the
training engine logs through this package; the benchmark reads and writes its rows here. Names
are imported on first use (PEP 562), and mlflow itself only inside the functions that need it:
the CLI starts without importing it. ARCHITECTURE.md, "The MLflow store", lists the experiments,
tags and artifacts.
"""

from importlib import import_module

_MODULES = {
    "store.backend": ["DEFAULT_URI", "ensure_store", "is_remote", "process_tags", "tracking_uri", "with_retries"],
    "store.experiments": ["DESCRIPTIONS", "DESCRIPTION_TAG", "EXPERIMENTS", "EXPERIMENT_CRITICS",
                          "EXPERIMENT_GENERATORS", "EXPERIMENT_KIND", "RUN_DESCRIPTIONS", "experiment_for",
                          "experiment_id", "find_experiment", "set_experiment_tag"],
    "store.runs": ["active_run", "child_runs", "end_run", "find_run", "get_run", "latest_run", "log_artifact",
                   "log_figure", "log_metrics", "log_params", "log_run_artifact", "log_run_batch", "log_run_figure",
                   "log_run_metrics", "log_run_table", "log_run_text", "log_table", "log_text", "mark_complete", "newest_training", "search_runs",
                   "set_run_tags", "set_tag", "start_run", "training_run"],
    "store.artifacts": ["download_artifact", "list_artifacts", "run_artifact", "upload_checkpoint"],
    "store.commands": ["server_command", "ui_command"],
}
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'store' has no attribute {name!r}")
