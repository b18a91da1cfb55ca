"""`audit NAME`: does the instrument follow a generator as it trains?

A generator's checkpoints at increasing training (kept by the training engine at given steps,
`TrainConfig.keep_steps` -> `step-<N>.pt`) continue the same test contexts and are scored by the
benchmark's own row scoring (`runner.Benchmark`): the primary score the leaderboard ranks by
(`leaderboard.PRIMARY_METRIC`), the held-out `nll` and the diversity figure
(`leaderboard.DIVERSITY_METRIC`). Spearman's rho of each against the training steps, and of the
primary score against `nll`, says whether the primary score improves as the model trains and
agrees with held-out NLL, as a trustworthy instrument must; where it does not, the audit names
the steps between which it moved the wrong way. One MLflow run in `phrasebench-audits`.

Either `audit` trains one run of NAME with those checkpoints kept (its MLflow run is tagged
`audit`, so that `benchmark` never takes it for the newest model), or `--run-id` audits the kept
checkpoints of an existing run (`train-generator NAME --keep-steps ...`). For the gan, steps count
adversarial generator updates and step 0 is its pretrained starting point (`generators/gan.py`).
"""

from __future__ import annotations

import io
import math
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from benchmark.leaderboard import BEST, DIVERSITY_METRIC, PRIMARY_METRIC
from presenting.table import fmt
from benchmark.options import BenchmarkOptions
from benchmark.runner import Benchmark, Row
from phrases.errors import UserError
from training.checkpoint import kept_checkpoints
from training.options import parse_steps
from store import (DESCRIPTION_TAG, end_run, experiment_id, find_run, log_run_batch, log_run_table, log_run_text,
                   mark_complete, process_tags, start_run)

EXPERIMENT_AUDITS = "phrasebench-audits"
AGREE = 0.8  # |rho| at or above which two figures are said to move together
MIN_STEPS = 3  # Spearman's rho of fewer points says nothing

EXPERIMENT_DESCRIPTION = f"""\
**phrasebench audits**: one run per `python cli.py audit NAME`. A generator's checkpoints at
increasing training continue the same test contexts; each is scored as a leaderboard row. Metrics
with step = the checkpoint's training step (adversarial updates for the gan): `{PRIMARY_METRIC}`
(the primary score), `nll` (held-out, nats/token) and `{DIVERSITY_METRIC}` (diversity), each with
`_ci_low` / `_ci_high`. `rho_<figure>_steps` is Spearman's rho of a figure against the steps,
`rho_{PRIMARY_METRIC}_nll` that of the primary score against nll. Tag `verdict`: `trustworthy` when
the primary score improves as the model trains and agrees with nll (|rho| >= {AGREE}), else
`not shown`. Artifacts: `audit.txt` (the printed table and lines) and `audit.json`."""


@dataclass
class AuditResult:
    name: str
    generator_run_id: str
    steps: list[int]
    rows: list[Row]
    critic: object  # lookup.Found
    options: BenchmarkOptions
    audit_id: str
    trained: bool  # True: this audit trained the run; False: --run-id
    contexts: int = 0
    notes: list[str] = field(default_factory=list)  # steps asked for but not kept, and why
    rho: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # the rho lines and the verdict
    trustworthy: bool | None = None
    mlflow_run_id: str = ""


def direction(key: str) -> int:
    """-1 when lower is better for leaderboard key `key` (its BEST is "0" or "low"), +1 when
    higher is better ("1" or "high"), 0 when neither (a target such as "~0.5")."""
    best = BEST.get(key, "")
    return -1 if best in ("0", "low") else 1 if best in ("1", "high") else 0


def spearman(x, y) -> float:
    """Spearman's rho of two sequences over the pairs where both are finite; nan with fewer than
    `MIN_STEPS` pairs or a constant sequence."""
    import warnings

    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < MIN_STEPS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(x[ok], y[ok]).statistic)


def _moves(steps, values) -> list[tuple[int, int, float, float]]:
    """(step a, step b, value a, value b) of consecutive finite checkpoints."""
    pts = [(s, v) for s, v in zip(steps, values) if np.isfinite(v)]
    return [(a, b, va, vb) for (a, va), (b, vb) in zip(pts, pts[1:])]


def _span(a, b, va, vb, overlap: bool = False) -> str:
    return f"steps {a} -> {b} ({va:.3f} -> {vb:.3f}{', intervals overlap' if overlap else ''})"


def _trend(rho: float) -> str:
    return "no trend" if math.isnan(rho) else "falls" if rho < 0 else "rises" if rho > 0 else "stays level"


def _rho(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.2f}"


def _no_rho(figures: dict[str, list[float]], *keys: str) -> str:
    """Why a rho over `keys` is nan: the first figure that is missing, too short or constant."""
    for key in keys:
        v = np.asarray(figures[key], float) if key in figures else np.zeros(0)
        v = v[np.isfinite(v)]
        if len(v) == 0:
            return f"{key} is undefined for this generator" if key == "nll" else f"no {key}"
        if len(v) < MIN_STEPS:
            return f"fewer than {MIN_STEPS} checkpoints with {key}"
        if np.ptp(v) == 0:
            return f"{key} is the same at every step"
    return "too few checkpoints"


def judge(name: str, steps: list[int], figures: dict[str, list[float]], primary: str = PRIMARY_METRIC,
          diversity: str = DIVERSITY_METRIC, intervals: list[tuple[float, float]] | None = None,
          ) -> tuple[dict[str, float], list[str], bool | None]:
    """Spearman's rho of each figure against `steps` and of `primary` against `nll`, the lines
    that say what they mean (and between which steps the primary score moved the wrong way), and
    the verdict: True when the primary score improves as the model trains and agrees with nll
    (|rho| >= AGREE, in the right direction), False when not, None when it cannot be said.
    `figures` maps primary, "nll" and diversity to one value per step (nan where missing);
    `intervals`, the primary score's 95% interval per step, marks a wrong move within them."""
    better = direction(primary) or -1  # a gap: lower is better
    rho = {f"rho_{primary}_steps": spearman(figures[primary], steps),
           "rho_nll_steps": spearman(figures["nll"], steps),
           f"rho_{diversity}_steps": spearman(figures[diversity], steps),
           f"rho_{primary}_nll": spearman(figures[primary], figures["nll"])}
    r_train, r_nll_steps = rho[f"rho_{primary}_steps"], rho["rho_nll_steps"]
    r_div, r_agree = rho[f"rho_{diversity}_steps"], rho[f"rho_{primary}_nll"]
    word = {-1: "lower is better", 1: "higher is better"}
    lines = []

    improves = None if math.isnan(r_train) else better * r_train >= AGREE
    wrong = [m for m in _moves(steps, figures[primary]) if better * (m[3] - m[2]) < 0]
    ci = dict(zip(steps, intervals or []))
    overlap = {(a, b): a in ci and b in ci and max(ci[a][0], ci[b][0]) <= min(ci[a][1], ci[b][1])
               for a, b, *_ in wrong}
    figures = {**figures, "steps": list(map(float, steps))}
    line = (f"{primary} against training steps: rho {_rho(r_train)}: {_trend(r_train)} as {name} trains ({word[better]})"
            if not math.isnan(r_train) else f"{primary} against training steps: no rho: {_no_rho(figures, primary, 'steps')}")
    if wrong:
        line += "; worse over " + ", ".join(_span(*m, overlap[m[:2]]) for m in wrong)
    lines.append(line)
    lines.append(f"nll against training steps: rho {_rho(r_nll_steps)}: held-out nll {_trend(r_nll_steps)} as the "
                 "model trains" if not math.isnan(r_nll_steps) else
                 f"nll against training steps: no rho: {_no_rho(figures, 'nll', 'steps')}")
    d = direction(diversity)
    lines.append(f"{diversity} (diversity) against training steps: rho {_rho(r_div)}: {_trend(r_div)}"
                 + (f" ({word[d]})" if d else "") if not math.isnan(r_div) else
                 f"{diversity} (diversity) against training steps: no rho: {_no_rho(figures, diversity, 'steps')}")

    agrees = None if math.isnan(r_agree) else better * -1 * r_agree >= AGREE
    apart = [(a, b) for (a, b, pa, pb), (_, _, na, nb) in zip(_moves(steps, figures[primary]), _moves(steps, figures["nll"]))
             if np.sign(better * -(pb - pa)) != np.sign(nb - na)] \
        if np.isfinite(figures["nll"]).all() and np.isfinite(figures[primary]).all() else []
    if math.isnan(r_agree):
        lines.append(f"{primary} against nll: no rho: {_no_rho(figures, primary, 'nll')}")
    else:
        line = (f"{primary} against nll: rho {r_agree:+.2f}: {'agrees with' if agrees else 'does NOT agree with'} "
                "held-out nll")
        if apart:
            line += "; they move apart over " + ", ".join(f"steps {a} -> {b}" for a, b in apart)
        lines.append(line)

    if improves is None:
        verdict, ok = f"verdict: cannot say: {_no_rho(figures, primary, 'steps')}", None
    elif improves and agrees is not False:
        ok = True
        verdict = (f"verdict: trustworthy on this run: {primary} improves as {name} trains (rho {r_train:+.2f})"
                   + (f" and agrees with its held-out nll (rho {r_agree:+.2f})" if agrees else
                      " (no nll to compare with)"))
    else:
        ok = False
        why = []
        if not improves:
            why.append(f"{primary} does not improve as {name} trains (rho {r_train:+.2f}"
                       + (f"; worse over {', '.join(f'steps {a} -> {b}' for a, b, *_ in wrong)}" if wrong else "") + ")")
        if agrees is False:
            why.append(f"it does not agree with held-out nll (rho {r_agree:+.2f}"
                       + (f"; apart over {', '.join(f'steps {a} -> {b}' for a, b in apart)}" if apart else "") + ")")
        if wrong and all(overlap.values()):
            why.append(f"every move of {primary} the wrong way is within its 95% intervals (more --contexts, or "
                       "steps further apart, would tell)")
        if not math.isnan(r_nll_steps) and r_nll_steps > -AGREE:
            why.append(f"note that nll itself did not fall as the model trained (rho {r_nll_steps:+.2f})")
        verdict = "verdict: NOT shown trustworthy on this run: " + "; ".join(why)
    lines.append(verdict)
    return rho, lines, ok


def parse_audit_steps(text: str | None) -> tuple[int, ...]:
    steps = parse_steps(text, "--steps")
    if text is not None and len(steps) < MIN_STEPS:
        raise UserError(f"--steps {text}: give at least {MIN_STEPS} distinct step counts, e.g. --steps 50,200,800")
    return steps


def _train(name: str, data, training: dict, steps: tuple[int, ...], audit_id: str, log, init_from
           ) -> tuple[str, dict[int, Path], list[str]]:
    """Train one run of `name` that keeps its checkpoints at `steps`; (run id, kept, notes). For a
    generator whose training has a phase after maximum likelihood (the gan's adversarial one),
    steps count that phase's updates, budgeted by its `phase_budget_option` (--model-opt)."""
    from benchmark.train import train_generator
    from generators.registry import get_generator_class

    config, model_opts = training["config"], dict(training["model_opts"])
    top = max(steps)
    budget = getattr(get_generator_class(name), "phase_budget_option", None)
    if budget:
        if budget in model_opts and int(model_opts[budget]) < top:
            raise UserError(f"--model-opt {budget}={model_opts[budget]}: below the largest of --steps ({top}); "
                            "raise it or drop it")
        model_opts.setdefault(budget, str(top))
    else:
        if config.max_steps is not None and config.max_steps < top:
            raise UserError(f"--max-steps {config.max_steps}: below the largest of --steps ({top}); raise it or drop it")
        config = replace(config, max_steps=config.max_steps or top)
    config = replace(config, keep_steps=steps, tags={**config.tags, "audit": audit_id})
    generator, result = train_generator(name, data, config, model_opts, training["device"], log, init_from=init_from)
    kept = kept_checkpoints(result.checkpoint.parent)
    s = result.state
    end = f"the run stopped at step {s.step} ({s.stop_reason})"
    if not kept:
        raise UserError(f"{name}: its training kept no checkpoint (step-N.pt) in {result.checkpoint.parent}; a "
                        "generator that trains outside the shared engine must honour TrainConfig.keep_steps")
    notes = [f"step {n}: no checkpoint: {end}" for n in steps if n not in kept]
    return result.run_id, {n: p for n, p in kept.items() if n in steps}, notes


def _kept_of_run(name: str, data, run_id: str, steps: tuple[int, ...]) -> dict[int, Path]:
    """The kept checkpoints of an existing training run of `name` (those of `steps` when given)."""
    from store import EXPERIMENT_GENERATORS

    run = find_run(run_id, "--run-id", EXPERIMENT_GENERATORS)
    kind = run.data.tags.get("generator", "")
    if kind != name:
        raise UserError(f"--run-id {run_id}: a training of {kind or 'no generator'!r}, not {name!r}; "
                        f"give the run of a {name} training")
    if run.data.tags.get("data_hash") != data.data_hash:
        raise UserError(f"--run-id {run_id}: trained on data {run.data.tags.get('data_hash')}, this data is "
                        f"{data.data_hash}; pass the data options of its training")
    folder = Path(run.data.params.get("checkpoint_dir", ""))
    kept = kept_checkpoints(folder)
    if not kept:
        raise UserError(f"--run-id {run_id}: no kept checkpoints (step-N.pt) in {folder}; train with "
                        f"`train-generator {name} --keep-steps 50,200,800`, or let `audit {name} --steps ...` train one")
    missing = [n for n in steps if n not in kept]
    if missing:
        raise UserError(f"--steps: the run kept no checkpoint at step {', '.join(map(str, missing))}; it kept "
                        f"{', '.join(map(str, kept))}")
    if len(kept if not steps else steps) < MIN_STEPS:
        raise UserError(f"--run-id {run_id}: {len(kept)} kept checkpoint(s) ({', '.join(map(str, kept))}); an audit "
                        f"needs at least {MIN_STEPS}")
    return {n: p for n, p in kept.items() if not steps or n in steps}


def run_audit(name: str, data, options: BenchmarkOptions, training: dict | None = None, steps: tuple[int, ...] = (),
              run_id: str | None = None, log=print, init_from: str | None = None) -> AuditResult:
    """Train (or, with `run_id`, find) `name`'s checkpoints at `steps`, score each as a
    leaderboard row on the same contexts, judge, and log one MLflow run."""
    from benchmark.command import load_critic
    from generators.registry import get_generator_class
    from training import distributed, set_threads

    distributed.refuse("audit")
    cls = get_generator_class(name)  # an unknown name is refused before any work
    if run_id is None and not steps:
        raise UserError("give --steps (e.g. --steps 50,200,800) to train one run and audit it, or --run-id RUN to "
                        "audit the kept checkpoints of a training")
    set_threads()
    audit_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    found = load_critic(data, options, False, False, log)  # before any training: a missing critic fails fast
    if run_id is None:
        gen_run, kept, notes = _train(name, data, training, steps, audit_id, log, init_from)
    else:
        gen_run, kept, notes = run_id, _kept_of_run(name, data, run_id, steps), []
    bench = Benchmark(data, found.model, options, log)
    rows = []
    for step, path in kept.items():
        log(f"{name} step {step}: generating and scoring {len(bench.contexts)} continuations ({path.name})")
        rows.append(bench.score(bench.generator_row(f"{name}@{step}", cls.load(path, options.device), gen_run)))
        if rows[-1].status != "ok":
            notes.append(f"step {step}: failed: {rows[-1].error}")
    result = AuditResult(name, gen_run, list(kept), rows, found, options, audit_id, run_id is None,
                         len(bench.context_index), notes)
    figures = {k: [r.metrics.get(k, math.nan) if r.status == "ok" else math.nan for r in rows]
               for k in (PRIMARY_METRIC, "nll", DIVERSITY_METRIC)}
    intervals = [(r.metrics.get(f"{PRIMARY_METRIC}_ci_low", math.nan), r.metrics.get(f"{PRIMARY_METRIC}_ci_high", math.nan))
                 for r in rows]
    result.rho, result.lines, result.trustworthy = judge(name, result.steps, figures, intervals=intervals)
    result.mlflow_run_id = log_audit(result, data.data_hash)
    return result


def audit_table(result: AuditResult) -> tuple[str, list[str], list[list[str]]]:
    o = result.options
    keys = (PRIMARY_METRIC, "nll", DIVERSITY_METRIC)
    title = (f"audit of {result.name} (training run {result.generator_run_id}"
             f"{', trained by this audit' if result.trained else ''}): {result.contexts} test contexts, seed {o.seed}; critic sha256 {result.critic.sha256[:12]}; [low, high] = 95% bootstrap interval")
    header = [f"step{' (adversarial updates)' if result.name == 'gan' else ''}",
              *(f"{k}\nbest {BEST.get(k, '?')}" for k in keys)]
    cells = [[str(s), *((fmt(r.metrics, k) for k in keys) if r.status == "ok" else ["failed"] * len(keys))]
             for s, r in zip(result.steps, result.rows)]
    return title, header, cells


def audit_report(result: AuditResult) -> list:
    """What `cli.py audit` prints: the table, the rho lines, the verdict, where it is logged."""
    return [audit_table(result), *result.notes, *result.lines,
            f"MLflow: run {result.mlflow_run_id} in {EXPERIMENT_AUDITS}"]


def _text(items: list) -> str:
    from rich.console import Console

    from operating.commandline import print_items

    buf = io.StringIO()
    print_items(Console(file=buf, width=200, color_system=None), items)
    return buf.getvalue()


def log_audit(result: AuditResult, data_hash: str) -> str:
    """One run in `phrasebench-audits`: tags, per-step figures as metrics at step=N, rho values,
    the table as artifacts; tagged `complete` last. Returns its id."""
    import pandas as pd

    experiment_id(EXPERIMENT_AUDITS, EXPERIMENT_DESCRIPTION)  # made with its description
    o, verdict = result.options, {True: "trustworthy", False: "not shown", None: "cannot say"}[result.trustworthy]
    tags = {"generator": result.name, "generator_run_id": result.generator_run_id, "audit_id": result.audit_id,
            "critic_sha": result.critic.sha256, "critic_run_id": result.critic.run_id, "data_hash": data_hash,
            "primary_metric": PRIMARY_METRIC, "diversity_metric": DIVERSITY_METRIC, "verdict": verdict,
            "source": "trained by the audit" if result.trained else "kept checkpoints of the run",
            DESCRIPTION_TAG: f"Audit of `{result.name}` (training run `{result.generator_run_id}`) at steps "
                             f"{', '.join(map(str, result.steps))}.\n\n" + "\n\n".join(result.lines),
            **process_tags()}
    run_id = start_run(EXPERIMENT_AUDITS, f"audit-{result.name}-{result.audit_id}", tags)
    keys = [k + s for k in (PRIMARY_METRIC, "nll", DIVERSITY_METRIC) for s in ("", "_ci_low", "_ci_high")]
    metrics = [(k, float(r.metrics[k]), step) for step, r in zip(result.steps, result.rows)
               if r.status == "ok" for k in keys if k in r.metrics and np.isfinite(r.metrics[k])]
    metrics += [(k, v, 0) for k, v in result.rho.items() if np.isfinite(v)]
    params = {"steps": ",".join(map(str, result.steps)), "contexts": result.contexts, "seed": o.seed,
              "temperature": o.temperature, "top_p": o.top_p, "n_boot": o.n_boot, "agree_threshold": AGREE}
    log_run_batch(run_id, metric_list=metrics, params=params)
    result.mlflow_run_id = run_id
    title, header, cells = audit_table(result)
    log_run_text(run_id, _text(audit_report(result)), "audit.txt")
    table = pd.DataFrame([dict(zip([h.split("\n")[0] for h in header], c)) for c in cells], dtype=object)
    log_run_table(run_id, table, "audit.json")
    end_run(run_id)
    mark_complete(run_id)
    return run_id
