"""Hyper-parameter search: `cli.py tune NAME` runs an Optuna study over a generator's own search
space (`Generator.search_space`), each trial one training through the shared engine.

    space      a generator's declared search space -> Optuna suggestions -> --model-opt values and
               training options (and back, for `train-generator --params-from STUDY`)
    storage    where a study lives: an Optuna RDB storage (sqlite beside mlflow.db, the database a
               `cli.py server` of this machine publishes on its PostgreSQL, or a given URL) that
               several `tune` processes share, with heartbeats so a killed worker's trial fails
    score      `--objective score`: the leaderboard's primary_gap of a trial's model on validation
               contexts (critics/ and metrics/ only; the critic is handed in by cli.py)
    study      the study: TPE sampling, pruning on the validation curve, MLflow parent and child
               runs, progress lines, importances and history pictures

It imports training/, generators/, critics/, metrics/ and phrases/; nothing there imports it.
"""
