"""`cli.py tune NAME`: an Optuna study over generator NAME's own search space.

Each trial is one training through the shared engine (`Generator.fit`, `training.loop.train`)
with the trial's --model-opt values and training options, `--max-steps` optimizer steps at most,
validated every `val_every` steps; every validation reaches Optuna (`trial.report`) through the
engine's validation observer (`training.loop.observe_validation`), and a pruner (median, or
successive halving) stops a hopeless trial there (stop_reason `pruned`). The objective
(`--objective`) is the trial's best validation NLL (`nll`, nats/token), or the leaderboard's
primary score `primary_gap` of the trial's model on validation contexts (`score`,
`tuning.score`), or both at once (`both`: a multi-objective study whose result is its Pareto
front); all are minimized. Only `nll` is pruned: Optuna prunes single-objective studies only,
and a `score` trial has no curve of its own to judge early.

MLflow (experiment phrasebench-generators): a parent run per study (tags `study`,
`tuned_generator`, `data_hash`; the best trial's number, value and run; the importance of each
parameter and the study's history as pictures under `tuning/`), a child run per trial (the
training's own run: params, val_nll curve; tags `study`, `trial`, `trial_state` COMPLETE /
PRUNED / FAIL; with a score, the metrics val_primary_gap and each side's val_*_gap). Only the
best trial's run is tagged `best_trial` and `complete`, so it is the one trial `benchmark` can pick
up as the newest trained model of NAME on this data; the others never are. With `both` the best
trial is the Pareto front's trial of lowest primary_gap (ties: lowest NLL); every front trial's
run is tagged `pareto_front`, and the parent run lists the front (tag `pareto_front`, picture
`tuning/pareto_front.png`).

Workers: every `tune` process given the same study (name and storage) joins it and takes the
next trial, until the study holds `--trials` finished (complete or pruned) trials; the process
that creates the study opens its parent run, the others find it in the study's user attributes.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, replace

from phrases.errors import UserError
from tuning.space import check_space, split, suggest
from tuning.storage import open_storage, shown, storage_url

OBJECTIVES = ("nll", "score", "both")
PRUNERS = ("median", "halving", "none")

# `tune`'s own options (cli.py turns them into --options): name -> (type, default, help, bounds).
TUNE_OPTIONS = {
    "trials": (int, 20, "Finished (complete or pruned) trials the study should hold, all workers together.", {"min": 1}),
    "max_steps": (int, 300, "Optimizer steps of each trial (the budget that reproduces).", {"min": 1}),
    "val_every": (int, 0, "Validate (and report to the pruner) every this many steps (0: max-steps / 5).", {"min": 0}),
    "study": (str, "", "Study name (default: NAME-DATA_HASH, plus -score or -both for those objectives); workers "
              "given the same one share it.", {}),
    "storage": (str, "", "Optuna storage URL (default: sqlite optuna.db beside mlflow.db, or the database "
                "phrasebench_optuna on the PostgreSQL of the `cli.py server` MLFLOW_TRACKING_URI names, on this machine; "
                "else e.g. postgresql+psycopg://USER@HOST/DATABASE, its password in PHRASEBENCH_OPTUNA_STORAGE or a "
                "PGPASSFILE, never here).", {}),
    "objective": (str, "nll", "nll (best validation NLL), score (the leaderboard's primary_gap of the trial's model on "
                  "validation contexts, never test) or both (a multi-objective study; its Pareto front is printed).", {}),
    "contexts": (int, 32, "With --objective score or both: validation contexts each trial's model continues.", {"min": 2}),
    "pruner": (str, "median", "median, halving (successive halving) or none; prunes --objective nll only (score and both "
               "studies are never pruned).", {}),
    "heartbeat": (int, 30, "Seconds between a worker's heartbeats; a trial silent for twice that is failed.", {"min": 1}),
    "resume": (bool, False, "Continue an existing study (an error if there is none).", {}),
    "seed": (int, 0, "Seed of the sampler (a joining worker adds its pid) and of every trial's training.", {}),
    "device": (str, "auto", "auto (CUDA when present), cpu or cuda.", {}),
}


@dataclass
class TuneOptions:
    trials: int = 20
    max_steps: int = 300
    val_every: int = 0
    study: str = ""
    storage: str = ""
    objective: str = "nll"
    contexts: int = 32
    pruner: str = "median"
    heartbeat: int = 30
    resume: bool = False
    seed: int = 0
    device: str = "auto"


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def _pruner(optuna, kind: str, val_every: int):
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=val_every, reduction_factor=2)
    return optuna.pruners.NopPruner()


def _on_stale(study, trial) -> None:
    """A trial whose worker stopped sending heartbeats (killed): failed by Optuna; its MLflow run
    is marked KILLED, and its parameters are queued once more."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    from store import end_run, set_run_tags

    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id:
        set_run_tags(run_id, {"trial_state": "FAIL"})
        end_run(run_id, "KILLED")
    RetryHeartbeatStaleTrialCallback(max_retry=1)(study, trial)


def _finished(study, optuna) -> list:
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))


def open_study(name: str, data_hash: str, opts: TuneOptions, log=print):
    """(study, parent run id, created): the study `opts.study` in its storage, created (with its
    MLflow parent run) unless it exists; refused when it tunes another generator or data, when
    `--resume` finds none, or when it is already done and `--resume` is not given."""
    optuna = _optuna()
    from store import EXPERIMENT_GENERATORS, start_run

    url = storage_url(opts.storage or None)
    storage = open_storage(url, opts.heartbeat, _on_stale)
    study_name = opts.study or f"{name}-{data_hash}" + ("" if opts.objective == "nll" else f"-{opts.objective}")
    exists = study_name in optuna.study.get_all_study_names(storage)
    if opts.resume and not exists:
        raise UserError(f"--resume: no study {study_name} in {shown(url)}; drop --resume to start it")
    val_every = opts.val_every or max(1, opts.max_steps // 5)
    seed = opts.seed
    sampler = lambda s: optuna.samplers.TPESampler(seed=s, n_startup_trials=max(2, min(10, opts.trials // 3)))  # noqa: E731
    pruner = _pruner(optuna, opts.pruner if opts.objective == "nll" else "none", val_every)
    directions = ["minimize", "minimize"] if opts.objective == "both" else ["minimize"]
    created = False
    if not exists:
        try:
            study = optuna.create_study(storage=storage, study_name=study_name, directions=directions,
                                        sampler=sampler(seed), pruner=pruner)
            created = True
        except optuna.exceptions.DuplicatedStudyError:  # another worker created it first
            pass
    if not created:
        # a worker that joins draws its own configurations: the sampler's seed plus its pid
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler(seed + os.getpid()),
                                  pruner=pruner)
    if created:
        study.set_user_attr("generator", name)
        study.set_user_attr("data_hash", data_hash)
        study.set_user_attr("max_steps", opts.max_steps)
        study.set_user_attr("objective", opts.objective)
        study.set_user_attr("contexts", opts.contexts)
        parent = start_run(EXPERIMENT_GENERATORS, f"study {study_name}",
                           {"study": study_name, "tuned_generator": name, "data_hash": data_hash,
                            "optuna_storage": shown(url),
                            "mlflow.note.content": f"Optuna study `{study_name}` over the search space of generator "
                            f"`{name}`: one child run per trial; the best trial's run is tagged `best_trial`."},
                           {"trials": opts.trials, "max_steps": opts.max_steps, "val_every": val_every,
                            "objective": opts.objective, "pruner": opts.pruner if opts.objective == "nll" else "none",
                            "seed": opts.seed, **({"contexts": opts.contexts} if opts.objective != "nll" else {})})
        study.set_user_attr("mlflow_parent_run_id", parent)
    else:
        parent = _wait_for_parent(study)
        attrs = study.user_attrs
        if attrs.get("generator") != name or attrs.get("data_hash") != data_hash:
            raise UserError(f"study {study_name} tunes {attrs.get('generator')} on data {attrs.get('data_hash')}, "
                            f"not {name} on data {data_hash}; choose another --study")
        if attrs.get("objective", "nll") != opts.objective:
            raise UserError(f"study {study_name} optimizes --objective {attrs.get('objective', 'nll')}, not "
                            f"{opts.objective}; give the same --objective, or choose another --study")
        done = len(_finished(study, optuna))
        if done >= opts.trials:
            raise UserError(f"study {study_name} already holds {done} finished trials (--trials {opts.trials}); "
                            f"continue it with --resume --trials {done + opts.trials}, or choose another --study")
    log(f"study {study_name} in {shown(url)} ({'new' if created else 'joined'}); MLflow parent run {parent}")
    return study, parent, val_every


def _wait_for_parent(study, seconds: float = 120.0) -> str:
    """The parent run id the creating worker writes just after creating the study."""
    deadline = time.monotonic() + seconds
    while True:
        parent = study.user_attrs.get("mlflow_parent_run_id")
        if parent:
            return parent
        if time.monotonic() > deadline:
            raise UserError(f"study {study.study_name}: the worker that created it never wrote its MLflow parent run; "
                            "choose another --study")
        time.sleep(0.5)


def tune(name: str, data, opts: TuneOptions, log=print, critic=None) -> list:
    """Run (or join) the study; returns what `cli.py tune` prints. `critic`: the critic that
    scores a trial's model with --objective score or both (the one `benchmark` would use)."""
    from generators.registry import get_generator_class
    from training import TrainConfig, config_from_options, set_threads
    from rich.console import Console

    from training.loop import observe_validation

    if opts.objective not in OBJECTIVES:
        raise UserError(f"--objective {opts.objective}: choose one of {', '.join(OBJECTIVES)}")
    if opts.objective != "nll" and critic is None:
        raise UserError(f"--objective {opts.objective}: needs a critic (train-critic, or the shipped default critic)")
    if opts.pruner not in PRUNERS:
        raise UserError(f"--pruner {opts.pruner}: choose one of {', '.join(PRUNERS)}")
    optuna = _optuna()
    cls = get_generator_class(name)
    space = check_space(name, cls)
    set_threads()
    study, parent, val_every = open_study(name, data.data_hash, opts, log)
    scorer = None
    if opts.objective != "nll":
        from tuning.score import ValidationScore

        contexts = int(study.user_attrs.get("contexts", opts.contexts))  # the study's, for a joining worker too
        scorer = ValidationScore(data, critic, contexts, opts.seed)
        log(f"objective {opts.objective}: primary_gap on {len(scorer.context_index)} validation contexts "
            f"(seed {opts.seed}); trials are not pruned")
    base = TrainConfig(epochs=10**6, max_steps=opts.max_steps, val_every=val_every, patience=10**6, seed=opts.seed,
                       data_hash=data.data_hash, corpus=data.report["corpus"], budget="tune", log_every=max(1, val_every))

    def objective(trial):
        from phrases.files import HOST

        trial.set_user_attr("worker", f"{HOST}:{os.getpid()}")
        trial.set_user_attr("mlflow_run_id", "")  # a retried trial's copy of the failed one's is not its own
        params = suggest(trial, space)
        model_opts, train = split(params, cls)
        config = replace(base, **train, tags={"mlflow.parentRunId": parent, "study": study.study_name,
                                              "trial": str(trial.number)})
        generator = cls(data.tokenizer, config_from_options(cls.config_class, model_opts), opts.device, opts.seed)
        reported: set[int] = set()

        def observe(metrics: dict, step: int) -> str | None:
            if not reported and generator.run_id:
                trial.set_user_attr("mlflow_run_id", generator.run_id)
            value = metrics.get("val_nll")
            if value is None or step in reported or scorer is not None:  # only an nll study is pruned
                return None
            reported.add(step)
            trial.report(value, step)
            return "pruned" if trial.should_prune() else None

        try:
            with observe_validation(observe):
                # complete=False: only the best trial's run is ever a candidate for `benchmark`
                result = generator.fit(data.train, data.val, config, complete=False)
        except BaseException:
            if generator.run_id:
                _tag(generator.run_id, "FAIL")
            raise
        trial.set_user_attr("mlflow_run_id", result.run_id)
        trial.set_user_attr("steps", result.state.step)
        if result.state.stop_reason == "pruned":
            _tag(result.run_id, "PRUNED")
            trial.set_user_attr("pruned_value", result.best)
            raise optuna.TrialPruned()
        if scorer is not None:
            try:
                scores = scorer(generator)
            except BaseException:
                _tag(result.run_id, "FAIL")
                raise
            _log_scores(result.run_id, scores, result.state.step)
            trial.set_user_attr("val_nll", result.best)
            for key, value in scores.items():
                trial.set_user_attr(key, value)
        _tag(result.run_id, "COMPLETE")
        if opts.objective == "score":
            return scores["primary_gap"]
        if opts.objective == "both":
            return result.best, scores["primary_gap"]
        return result.best

    mine: list[int] = []
    console = Console(stderr=True)

    def finished(study, trial) -> None:
        mine.append(trial.number)
        done = len(_finished(study, optuna))
        state = trial.state.name.lower()
        values = trial.values or ([trial.user_attrs["pruned_value"]] if "pruned_value" in trial.user_attrs else None)
        best = _best(study, optuna)
        if best is not None and trial.state == optuna.trial.TrialState.COMPLETE:
            _mark_best(study, parent)
        shown = _shown(study, values) if values else "no value"
        best_shown = f"best {_shown(study, best.values)} (trial {best.number})" if best is not None else "no complete trial yet"
        if len(study.directions) > 1 and best is not None:
            best_shown += f", Pareto front of {len(study.best_trials)}"
        where = f" at step {trial.user_attrs.get('steps')}" if state == "pruned" else ""
        log(f"trial {trial.number} {state}{where}: {shown}; {best_shown}; {done}/{opts.trials} finished")
        bar.update(task, completed=min(done, opts.trials))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(f"[bold]study {study.study_name}[/bold] trials"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, disable=not console.is_terminal)
    task = bar.add_task("", total=opts.trials, completed=min(len(_finished(study, optuna)), opts.trials))
    stop = optuna.study.MaxTrialsCallback(opts.trials, states=(optuna.trial.TrialState.COMPLETE,
                                                                optuna.trial.TrialState.PRUNED))
    optuna.storages.fail_stale_trials(study)  # a killed worker's trial, before this worker starts its own
    with bar:
        if len(_finished(study, optuna)) < opts.trials:
            study.optimize(objective, callbacks=[finished, stop], gc_after_trial=True)
    return summary(study, parent, mine, opts, log)


def _tag(run_id: str, state: str) -> None:
    from store import set_run_tags

    set_run_tags(run_id, {"trial_state": state})


def _log_scores(run_id: str, scores: dict[str, float], step: int) -> None:
    from store import log_run_metrics

    log_run_metrics(run_id, {f"val_{k}": v for k, v in scores.items()}, step=step)


def _names(study) -> list[str]:
    """The study's objective values by name, in Optuna's order."""
    return {"nll": ["val_nll"], "score": ["val_primary_gap"], "both": ["val_nll", "val_primary_gap"]}[
        study.user_attrs.get("objective", "nll")]


def _shown(study, values) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in zip(_names(study), values))


def _best(study, optuna):
    """The best complete trial: the lowest value; in a two-objective (NLL, score) study, the
    Pareto front's trial of lowest score, ties broken by NLL."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return None
    if len(study.directions) == 1:
        return min(complete, key=lambda t: t.value)
    return min(study.best_trials, key=lambda t: (t.values[1], t.values[0], t.number))


def _mark_best(study, parent: str) -> None:
    """The best trial's run tagged `best_trial` and `complete` (a candidate for `benchmark`), every
    other trial's run without them; with two objectives the Pareto front's runs tagged
    `pareto_front`; the parent run says which they are."""
    from store import EXPERIMENT_GENERATORS, child_runs, log_run_metrics, set_run_tags

    optuna = _optuna()
    best = _best(study, optuna)
    best_run = best.user_attrs.get("mlflow_run_id")
    multi = len(study.directions) > 1
    front = sorted(study.best_trials, key=lambda t: t.number) if multi else []
    front_runs = {t.user_attrs.get("mlflow_run_id") for t in front}
    for run in child_runs(parent, EXPERIMENT_GENERATORS):
        tags, run_id = run.data.tags, run.info.run_id
        if run_id == best_run:
            if tags.get("best_trial") != "true":
                set_run_tags(best_run, {"best_trial": "true", "complete": "true"})
        elif "best_trial" in tags or "complete" in tags:
            _untag(run_id, ("best_trial", "complete"))
        if multi and (run_id in front_runs) != (tags.get("pareto_front") == "true"):
            if run_id in front_runs:
                set_run_tags(run_id, {"pareto_front": "true"})
            else:
                _untag(run_id, ("pareto_front",))
    tags = {"best_trial": str(best.number), "best_run_id": best_run or "",
            "best_params": ", ".join(f"{k}={v}" for k, v in best.params.items())}
    if multi:
        tags["pareto_front"] = "; ".join(f"{t.number} ({_shown(study, t.values)})" for t in front)[:4900]
    set_run_tags(parent, tags)
    log_run_metrics(parent, {f"best_{k}": v for k, v in zip(_names(study), best.values)}, step=best.number)


def _untag(run_id: str, keys: tuple[str, ...]) -> None:
    """Remove tags from a run that another worker may be removing at the same moment (both saw
    the same old best): a tag already gone is what was wanted."""
    from store import set_run_tags

    for key in keys:
        try:
            set_run_tags(run_id, {}, remove=(key,))
        except Exception as e:  # mlflow's MlflowException: RESOURCE_DOES_NOT_EXIST, "No tag with name"
            if getattr(e, "error_code", "") != "RESOURCE_DOES_NOT_EXIST" and "No tag with name" not in str(e):
                raise


def _front_table(study) -> tuple:
    """The Pareto front as a table: trial, both values, its parameters."""
    front = sorted(study.best_trials, key=lambda t: (t.values[1], t.values[0], t.number))
    keys = list(dict.fromkeys(k for t in front for k in t.params))
    rows = [[str(t.number), f"{t.values[0]:.4f}", f"{t.values[1]:.4f}",
             *(_value(t.params.get(k, "")) for k in keys)] for t in front]
    return (f"Pareto front: {len(front)} of {len(study.get_trials(deepcopy=False))} trials (lower is better in both)",
            ["trial", "val_nll", "val_primary_gap", *keys], rows)


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def summary(study, parent: str, mine: list[int], opts: TuneOptions, log=print) -> list:
    """What a worker prints at its end, and the study's pictures and counts on the parent run
    (which is ended once no trial of the study is running)."""
    from store import end_run, get_run, log_run_metrics, set_run_tags

    optuna = _optuna()
    states = [t.state for t in study.get_trials(deepcopy=False)]
    counts = {s.name.lower(): states.count(s) for s in optuna.trial.TrialState}
    set_run_tags(parent, {f"n_{k}": v for k, v in counts.items()})
    log_run_metrics(parent, {f"trials_{k}": v for k, v in counts.items() if k in ("complete", "pruned", "fail")})
    lines = [f"study {study.study_name}: {counts['complete']} complete, {counts['pruned']} pruned, {counts['fail']} failed, "
             f"{counts['running']} running; this worker ran trials {', '.join(map(str, mine)) or 'none'}"]
    best = _best(study, optuna)
    if best is None:
        return lines + ["no complete trial yet"]
    _mark_best(study, parent)
    importances = _pictures(study, parent, log)
    names = _names(study)
    if len(names) > 1:
        lines.append(_front_table(study))
    rows = [[k, _value(v), *(f"{importances[n][k]:.3f}" if k in importances.get(n, {}) else "" for n in names)]
            for k, v in best.params.items()]
    heads = ["importance"] if len(names) == 1 else [f"importance for {n}" for n in names]
    why = " (of the Pareto front, the lowest val_primary_gap)" if len(names) > 1 else ""
    lines.append((f"best trial {best.number}{why}: {_shown(study, best.values)} (MLflow run "
                  f"{best.user_attrs.get('mlflow_run_id')})", ["parameter", "best value", *heads], rows))
    shown = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items())
    lines += [f"retrain it longer: python cli.py train-generator {study.user_attrs.get('generator')} --params-from "
              f"{study.study_name} --max-steps N   ({shown})",
              "benchmark picks the best trial's run (tagged best_trial, complete) while it is the newest trained "
              f"{study.user_attrs.get('generator')} on this data"]
    if counts["running"] == 0 and get_run(parent).info.status == "RUNNING":
        end_run(parent)
    return lines


def _pictures(study, parent: str, log=print) -> dict[str, dict[str, float]]:
    """The importance of each parameter for each objective (Optuna's fANOVA evaluator; none below
    two complete trials), the optimization history (of the score, with two objectives) and, with
    two objectives, the Pareto front, as images on the parent run. {objective name: importances}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optuna = _optuna()
    from optuna.visualization import matplotlib as oplt

    from store import log_run_figure, log_run_metrics

    names = _names(study)
    multi = len(names) > 1
    targets = {n: ((lambda t, i=i: t.values[i]) if multi else None) for i, n in enumerate(names)}
    importances: dict[str, dict[str, float]] = {}
    for n, target in targets.items():
        try:
            importances[n] = dict(optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0), target=target))
        except (ValueError, RuntimeError) as e:  # fewer than two complete trials, or one value for all
            log(f"no parameter importances for {n} yet ({str(e).splitlines()[0][:100]})")
            continue
        prefix = "importance_" if not multi else f"importance_{n}_"
        log_run_metrics(parent, {f"{prefix}{k}": v for k, v in importances[n].items()})
    last = names[-1]  # what the history and importance pictures show: the score with two objectives
    target = {"target": targets[last], "target_name": last} if multi else {}
    draws = [("tuning/history.png", lambda: oplt.plot_optimization_history(study, **target)),
             ("tuning/importances.png", (lambda: oplt.plot_param_importances(
                 study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0), **target)) if importances.get(last) else None),
             ("tuning/intermediate_values.png", (lambda: oplt.plot_intermediate_values(study)) if names == ["val_nll"] else None),
             ("tuning/pareto_front.png", (lambda: oplt.plot_pareto_front(study, target_names=names)) if multi else None)]
    for artifact, draw in draws:
        if draw is None:
            continue
        try:
            ax = draw()
        except (ValueError, RuntimeError) as e:
            log(f"{artifact}: not drawn ({str(e).splitlines()[0][:100]})")
            continue
        fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
        fig.set_size_inches(8, 5)
        fig.tight_layout()
        log_run_figure(parent, fig, artifact)
        plt.close(fig)
    return importances


def best_params(study_name: str, name: str, storage: str | None = None) -> dict:
    """The best complete trial's parameters of study `study_name`, for `train-generator NAME
    --params-from STUDY`; refused with one line when there is no such study or trial, or the study
    tuned another generator."""
    optuna = _optuna()
    url = storage_url(storage)
    store = open_storage(url, heartbeat=None)
    if study_name not in optuna.study.get_all_study_names(store):
        raise UserError(f"--params-from {study_name}: no such study in {shown(url)}; `python cli.py tune {name}` prints "
                        "its study's name")
    study = optuna.load_study(study_name=study_name, storage=store)
    if study.user_attrs.get("generator") != name:
        raise UserError(f"--params-from {study_name}: that study tunes {study.user_attrs.get('generator')}, not {name}")
    best = _best(study, optuna)
    if best is None:
        raise UserError(f"--params-from {study_name}: the study has no complete trial yet; run tune on it first")
    return dict(best.params)
