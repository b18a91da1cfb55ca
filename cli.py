"""phrasebench command line: each command parses its options, calls one package function, prints."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

try:
    import typer
    from rich.console import Console

    from operating.commandline import command_factory, option, print_items, run_app, with_options
    from benchmark.options import BENCHMARK_OPTIONS
    from operating.server import SERVER_OPTIONS
    from phrases.config import DATA_OPTIONS
    from training.options import TRAIN_OPTIONS
    from tuning.study import TUNE_OPTIONS
except ModuleNotFoundError as e:  # run by a Python without the project's dependencies: say which to use
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under `python -I`, which leaves it out
    from operating.environment import missing_dependency

    sys.exit(missing_dependency(e, sys.executable, Path(__file__).resolve().parent))

app = typer.Typer(help="phrasebench: adversarial evaluation and model comparison for symbolic music generators.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(width=None if sys.stdout.isatty() else 250)  # piped: wide lines keep table columns
err = Console(stderr=True)
say = functools.partial(err.print, highlight=False, soft_wrap=True)  # progress and notes, on stderr
command = command_factory(app, say)


def show(items: list) -> None:
    """A package function's result for people: lines and (title, header, rows) tables."""
    print_items(console, items)


def _data(values: dict):
    from phrases.config import data_from_options
    from training.console import load_phrases

    return functools.partial(load_phrases, *data_from_options(values))


data_options = with_options("data", {k: option(*spec) for k, spec in DATA_OPTIONS.items()}, _data)


def training_options(exclude: tuple[str, ...] = (), **defaults):
    """The training options (`training.loop.TRAIN_OPTIONS`, with a command's own defaults, less
    `exclude`), a device and model options; the command receives {"config": TrainConfig,
    "model_opts", "device"}."""
    def build(v: dict):
        from training import TrainConfig, parse_model_options

        return {"model_opts": parse_model_options(v.pop("model_opt")), "device": v.pop("device"), "config": TrainConfig(**v)}
    specs = {k: option(kind, defaults.get(k, default), help, bounds) for k, (kind, default, help, bounds) in TRAIN_OPTIONS.items()
             if k not in exclude}
    return with_options("training", {**specs, "device": option(str, "auto", "auto (CUDA when present), cpu or cuda."),
                                     "model_opt": option(Optional[list[str]], None, "Model option key=value (repeatable), e.g. hidden=256.", None, "--model-opt")}, build)


@command("prepare-data")
@data_options
def prepare_data(data, workers: Annotated[Optional[int], typer.Option(help="Processes for parsing (default: one per core).", min=1)] = None,
                 rebuild: Annotated[bool, typer.Option(help="Ignore the cache and build again.")] = False) -> None:
    """Scan a MIDI folder, tokenize, split by song, cut phrase windows, cache; print a summary.

    Example: python cli.py prepare-data --corpus ~/midi/my_band --tracks melody
    """
    from phrases.report import summary

    show(summary(data(workers=workers, rebuild=rebuild).report))


@command("train-generator")
@data_options
@training_options()
def train_generator(
    name: Annotated[str, typer.Argument(help="Registered generator name, e.g. lstm.")], data, training,
    init_from: Annotated[Optional[str], typer.Option(help="MLflow run id of a trained generator to start from (a gan: of an lstm or transformer); only the phases after maximum likelihood train.")] = None,
    params_from: Annotated[Optional[str], typer.Option(help="An Optuna study of `tune`: train its best configuration.")] = None,
    against_critic: Annotated[Optional[str], typer.Option(help="Fine-tune a trained NAME (its newest run, or --init-from) so the critic finds its continuations real: 'default' (the critic benchmark uses) or a critic checkpoint file.")] = None,
    attack_opt: Annotated[Optional[list[str]], typer.Option(help="--against-critic option key=value (repeatable): steps (200), batch, lr, kl_weight, val_every, val_contexts.")] = None,
) -> None:
    """Train a generator on the training split; checkpoints after every epoch; one MLflow run.
    With --against-critic: fine-tune a trained one against a critic by policy gradient with a KL
    leash, and print what it gained on that critic and on the judge (the gameability table).

    Example: python cli.py train-generator lstm --max-steps 3000
    Example: python cli.py train-generator transformer --against-critic default --attack-opt steps=200
    """
    from benchmark.train import generator_report, train_generator as train
    from generators.registry import get_generator_class
    from phrases.errors import UserError
    from training import parse_model_options

    get_generator_class(name)  # an unknown name is refused before any work
    if attack_opt and not against_critic:
        raise UserError("--attack-opt: only with --against-critic; add it, or drop --attack-opt")
    if against_critic:
        from adversarial.attack import train_against_critic
        from adversarial.finetune import AttackConfig
        from training import config_from_options

        attack = config_from_options(AttackConfig, parse_model_options(attack_opt, "--attack-opt"), "--attack-opt")
        _, result, table = train_against_critic(name, data(), against_critic, attack, **training, log=say,
                                                init_from=init_from)
        show([*generator_report(name, result), *([table] if table else [])])
        return
    _, result = train(name, data(), **training, log=say, init_from=init_from, params_from=params_from)
    show(generator_report(name, result))


@command()
@data_options
@with_options("options", {k: option(*spec) for k, spec in TUNE_OPTIONS.items()}, dict)
def tune(name: Annotated[str, typer.Argument(help="Registered generator name, e.g. transformer.")], data, options) -> None:
    """Search generator NAME's hyper-parameters with Optuna: one training per trial, hopeless
    trials pruned on their validation curve; a parent MLflow run per study, a child per trial.
    Start it in several terminals (or machines sharing --storage) to share the study.
    --objective score (the leaderboard's primary_gap on validation contexts) or both (a Pareto
    front of NLL and score) uses the critic `benchmark` would use; only nll trials are pruned.

    Example: python cli.py tune transformer --trials 20 --max-steps 300
    """
    from tuning.study import TuneOptions, tune as run

    d, critic = data(), None
    if options["objective"] in ("score", "both"):
        from benchmark.lookup import find_critic

        found = find_critic(d, options["device"])
        say(f"critic: {found.description}")
        critic = found.model
    show(run(name, d, TuneOptions(**options), log=say, critic=critic))


@command("train-critic")
@data_options
@training_options(epochs=30, max_steps=4000, batch_size=32, patience=30)
def train_critic(data, training, suite_phrases: Annotated[Optional[int], typer.Option(help="Score at most this many test phrases in the validity suite (default: all).", min=2)] = None) -> None:
    """Train the VAE anomaly critic on real doubled phrases, calibrate it on the validation split,
    run the validity suite on the test split; one MLflow run in phrasebench-critics.

    Example: python cli.py train-critic
    """
    from benchmark.train import critic_report, train_critic as train

    show(critic_report(*train(data(), **training, log=say, suite_phrases=suite_phrases)))


CheckpointOpt = Annotated[Optional[Path], typer.Option(help="Checkpoint file (default: the newest model trained on this data).")]
DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]
TemperatureOpt, TopPOpt, ContextsOpt, SeedOpt = (option(*BENCHMARK_OPTIONS[k])[0] for k in ("temperature", "top_p", "contexts", "seed"))
WideOpt = Annotated[bool, typer.Option(help="Every column (default: the primary ones, which fit 120 columns).")]


@command()
@data_options
def generate(
    name: Annotated[str, typer.Argument(help="Registered generator name, e.g. lstm.")], data,
    out: Annotated[Path, typer.Option("--out", help="Folder for the MIDI files.")],
    context: Annotated[Optional[Path], typer.Option(help="MIDI file whose bars are the context (default: from scratch).")] = None,
    context_bars: Annotated[int, typer.Option(help="Bars of --context to use.", min=1)] = 4,
    start_bar: Annotated[int, typer.Option(help="First bar of --context to use (0 = the first).", min=0)] = 0,
    bars: Annotated[Optional[int], typer.Option(help="Length of each continuation in bars (default 4).", min=1, max=64)] = None,
    notes: Annotated[Optional[int], typer.Option(help="Length of each continuation in notes.", min=1, max=2048)] = None,
    temperature: TemperatureOpt = 1.0, top_p: TopPOpt = 0.95,
    num: Annotated[int, typer.Option(help="How many continuations.", min=1, max=10_000)] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the sampling.")] = 0, checkpoint: CheckpointOpt = None, device: DeviceOpt = "auto",
) -> None:
    """Write MIDI files: the context followed by a generated continuation on its own track.

    Example: python cli.py generate lstm --context solo.mid --bars 4 --num 8 --out samples/
    """
    from benchmark.samples import generate_command

    show(generate_command(name, data(quiet=True), out, context, context_bars, start_bar, bars, notes, temperature, top_p,
                          num, seed, checkpoint, device, say))


@command()
@data_options
def critique(path: Annotated[Path, typer.Argument(help="A MIDI file, or a folder of them (searched recursively).")], data,
             checkpoint: CheckpointOpt = None, device: DeviceOpt = "auto") -> None:
    """Rate MIDI files with the critic: anomaly (higher = stranger) and realness (share of real
    validation phrases that are stranger; real music ~0.5) per window, per file, and overall; a
    warning for every file outside the critic's domain (the polyphony, pitch range, density and
    tempo of the music it was trained on) and a count of them.

    Example: python cli.py critique my_solos/
    """
    from benchmark.critique import critique_command

    show(critique_command(path, data(quiet=True), checkpoint, device, say))


@command()
@data_options
@with_options("options", {k: option(*spec) for k, spec in BENCHMARK_OPTIONS.items()}, dict)
def benchmark(
    data, options,
    all_: Annotated[bool, typer.Option("--all", help="Every registered generator.")] = False,
    generator: Annotated[Optional[list[str]], typer.Option("--generator", help="A generator to include (repeatable).")] = None,
    import_: Annotated[Optional[list[str]], typer.Option("--import", help="NAME=DIR: a folder of continuations of `export-contexts`' contexts, one <id>.mid (or MIREX 2025 <id>.json) each, as a row (repeatable).")] = None,
    train_missing: Annotated[bool, typer.Option(help="Train (quick budget) any generator or critic not trained on this data.")] = False,
    quick: Annotated[bool, typer.Option(help="Tiny budgets (in steps) for anything missing and 64 contexts: the whole pipeline in minutes.")] = False,
    wide: WideOpt = False,
) -> None:
    """Every generator (and imported folder) continues the same test contexts; critic + metrics;
    an MLflow leaderboard and an HTML report with piano rolls and audio.

    Example: python cli.py benchmark --all ; python cli.py benchmark --generator lstm --import mine=outside/mine
    """
    import shlex

    from operating.benchmarking import benchmark_command

    show(benchmark_command(data, options, all_, generator, import_, train_missing, quick, wide,
                           shlex.join(["python", "cli.py", *sys.argv[1:]]), say))


@command()
@data_options
@training_options(exclude=("keep_steps",))
def audit(
    name: Annotated[str, typer.Argument(help="Registered generator name, e.g. lstm.")], data, training,
    steps: Annotated[Optional[str], typer.Option(help="Training steps to audit, comma-separated (at least 3; a gan: adversarial updates, 0 = pretrained); trains one run keeping those checkpoints.")] = None,
    run_id: Annotated[Optional[str], typer.Option(help="Audit the kept checkpoints (--keep-steps) of this training run instead of training one.")] = None,
    contexts: ContextsOpt = 64, temperature: TemperatureOpt = 1.0, top_p: TopPOpt = 0.95,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.", min=5, max=100_000)] = 200,
    init_from: Annotated[Optional[str], typer.Option(help="MLflow run id of a trained generator to start from (a gan: of an lstm or transformer); only the phases after maximum likelihood train.")] = None,
) -> None:
    """Score a generator's checkpoints at increasing training on the same test contexts: the primary
    score, nll and diversity per step, Spearman's rho of each against the steps and of the primary
    score against nll, and a verdict; one MLflow run in phrasebench-audits. --seed also seeds the
    contexts and the sampling.

    Example: python cli.py audit lstm --steps 50,200,800 ; python cli.py audit lstm --run-id RUN
    """
    from operating.audit import audit_report, parse_audit_steps, run_audit
    from benchmark.options import BenchmarkOptions
    from generators.registry import get_generator_class

    get_generator_class(name)  # an unknown name is refused before any work
    chosen = parse_audit_steps(steps)
    options = BenchmarkOptions([name], contexts=contexts, temperature=temperature, top_p=top_p,
                               seed=training["config"].seed, n_boot=n_boot, device=training["device"])
    show(audit_report(run_audit(name, data(), options, training, chosen, run_id, say, init_from)))


@command()
@data_options
def gameability(
    run_id: Annotated[str, typer.Argument(help="MLflow run id of a `train-generator NAME --against-critic` fine-tuning.")], data,
    critic: Annotated[str, typer.Option(help="The critic it was optimized against: 'default' or its checkpoint file (checked by sha256).")] = "default",
    contexts: ContextsOpt = 64, seed: SeedOpt = 0,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.", min=5, max=100_000)] = 50,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
) -> None:
    """The gameability table of a fine-tuning against a critic, from its kept checkpoints
    (--keep-steps), scored again on validation contexts under that critic and the judge.

    Example: python cli.py gameability RUN_ID
    """
    from adversarial.attack import rescore_run

    show([rescore_run(run_id, data(), critic, device, contexts, seed, n_boot, say)])


@command("export-contexts")
@data_options
def export_contexts(out: Annotated[Path, typer.Argument(help="Folder for manifest.json and contexts/<id>.mid.")], data,
                    contexts: ContextsOpt = BENCHMARK_OPTIONS["contexts"][1], seed: SeedOpt = 0,
                    format_: Annotated[str, typer.Option("--format", help="midi (contexts/<id>.mid) or mirex2025 (prompts/<id>.json, the MIREX 2025 symbolic generation task's prompt).")] = "midi") -> None:
    """Write the test contexts `benchmark` uses (same data options, --contexts, --seed) as MIDI
    files (or MIREX 2025 prompt JSON) and a manifest, for a model outside phrasebench; bring its
    outputs back with --import.

    Example: python cli.py export-contexts outside/ --contexts 64 ; python cli.py benchmark --import mine=outside/mine --contexts 64
    """
    from benchmark.mirex import FORMAT, export_command
    from phrases.errors import UserError
    from phrases.files import writable_folder

    if format_ not in ("midi", FORMAT):  # before the folder is made
        raise UserError(f"--format {format_}: choose midi or {FORMAT}")
    writable_folder(out, "OUT")  # before any work
    show(export_command(data, out, contexts, seed, format_))


@command()
def leaderboard(benchmark_id: Annotated[Optional[str], typer.Option(help="A benchmark id (default: the latest).")] = None,
                wide: WideOpt = False) -> None:
    """Print the latest (or a given) leaderboard from MLflow, in the order of its logged rank."""
    from benchmark.leaderboard import fetch
    from presenting.table import leaderboard_table

    show(leaderboard_table(*fetch(benchmark_id, log=say), wide))


@command()
def report(benchmark_id: Annotated[Optional[str], typer.Option(help="A benchmark id (default: the latest).")] = None,
           open_: Annotated[bool, typer.Option("--open/--no-open", help="Open it in the browser (where there is one).")] = True) -> None:
    """The latest (or a given) leaderboard's HTML report: print its path and open it in the browser.

    Example: python cli.py report
    """
    from presenting.report_file import report_command

    show(report_command(benchmark_id, open_, say))


@command()
def ui(host: Annotated[str, typer.Option(help="Address to bind; loopback unless you say otherwise.")] = "127.0.0.1",
       port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 5000) -> None:
    """Start `mlflow ui` over the project's store (one worker: starts in seconds)."""
    import os

    from store import ui_command

    from benchmark.leaderboard import ui_links

    argv = ui_command(host, port)
    say(f"MLflow UI on http://{host}:{port} over {argv[3]}")
    show(ui_links(f"http://{host}:{port}"))
    sys.stdout.flush()
    os.execv(argv[0], argv)


@command()
@with_options("options", {k: option(*spec) for k, spec in SERVER_OPTIONS.items()}, dict)
def server(options) -> None:
    """The team's MLflow server: PostgreSQL + `mlflow server --serve-artifacts`, until Ctrl-C.

    Example: python cli.py server ; elsewhere: export MLFLOW_TRACKING_URI=http://127.0.0.1:5000
    """
    from operating.server import serve

    serve(**options, say=say, announce=lambda line: show([line]))


reproduce_app = typer.Typer(help="Reproduce published numbers with phrasebench's generators.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


@command("csc413", reproduce_app)
@training_options(epochs=20, max_minutes=4.0)
def reproduce_csc413(
    training,
    corpus: Annotated[Optional[Path], typer.Option(help="piano-midi.de folder (default: ../shared/corpora/pianomidi).")] = None,
    generator: Annotated[str, typer.Option(help="lstm or transformer (any registered generator).")] = "lstm",
    seeds: Annotated[int, typer.Option(help="Training runs, seeds 0..N-1; the table gives mean and spread.", min=1)] = 3,
    cache_dir: Annotated[Optional[Path], typer.Option(help="Cache folder.")] = None,
) -> None:
    """The CSC413 report's Table 3 on piano-midi.de: their data protocol, 50 samples of 100 notes
    from scratch at temperature 0.8, csc413-protocol JSD; MLflow experiment phrasebench-reproductions.

    Example: python cli.py reproduce csc413 --generator lstm --seeds 3
    """
    from operating.reproduce import reproduce_csc413 as run
    from phrases import PhraseConfig
    from phrases.config import PIANOMIDI_CORPUS
    from training.console import load_phrases

    data = load_phrases(corpus or PIANOMIDI_CORPUS, PhraseConfig.csc413(), cache_dir)
    say(f"csc413 protocol: {data.report['windows']} segments, {data.report['songs']} songs; data_hash {data.data_hash}")
    show(run(data, generator, list(range(seeds)), **training, log=say).report())


@command()
def speed(
    corpus: Annotated[Optional[Path], typer.Option(help="MIDI folder (default: the default corpus).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes for prepare-data (default: one per core).", min=1)] = None,
    benchmark: Annotated[bool, typer.Option(help="Also time `benchmark --all --quick` per stage (minutes; in a scratch store).")] = True,
) -> None:
    """Print throughput figures for every stage, each next to a reference measured in the same run."""
    from operating.speed import measure
    from phrases import default_corpus

    show(measure(corpus or default_corpus(), workers, benchmark))


def main() -> int:
    """The console entry point (`phrasebench`): a bad option is one line naming it, exit code 2."""
    return run_app(app, say)


if __name__ == "__main__":
    sys.exit(main())
