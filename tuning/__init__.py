"""Hyper-parameter search: `cli.py tune NAME` runs an Optuna study over a generator's own search
space (`Generator.search_space`), each trial one training through the shared engine.

    space      a generator's declared search space -> Optuna suggestions -> --model-opt values and
               training options (and back, for `train-generator --params-from STUDY`)
    storage    where a study lives: an Optuna RDB storage (sqlite beside mlflow.db, or PostgreSQL)
               that several `tune` processes share, with heartbeats so a killed worker's trial fails
    study      the study: TPE sampling, pruning on the validation curve, MLflow parent and child
               runs, progress lines, importances and history pictures

It imports training/, generators/ and phrases/; nothing there imports it.
"""
