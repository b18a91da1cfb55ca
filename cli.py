"""phrasebench command line: a thin typer app; every command calls into the packages."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    help="phrasebench: adversarial evaluation and model comparison for symbolic music generators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped or logged output gets wide lines, so the leaderboard's columns are not cut to 80.
console = Console(width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True)

# Options shared by every command that reads the phrase data.
CorpusOpt = Annotated[
    Optional[Path],
    typer.Option("--corpus", help="MIDI folder (default: $PHRASEBENCH_CORPUS or ../shared/corpora/wjazzd)."),
]
TokenizerOpt = Annotated[str, typer.Option(help="miditok tokenization: remi or tsd.")]
TracksOpt = Annotated[str, typer.Option(help="merge: all pitched tracks in one stream; melody: skyline.")]
PhraseBarsOpt = Annotated[int, typer.Option(help="Bars in a context (the continuation has as many).")]
StrideOpt = Annotated[Optional[int], typer.Option(help="Bars between window starts (default: phrase-bars).")]
MinNotesOpt = Annotated[int, typer.Option(help="Drop windows with fewer notes in either half.")]
MaxTokensOpt = Annotated[int, typer.Option(help="Drop windows longer than this (context + continuation).")]
SplitOpt = Annotated[str, typer.Option("--split", help="train,val,test fractions of the songs.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the song split (and of everything random).")]
TransposeOpt = Annotated[int, typer.Option(help="Augment the training split by +-K semitones.")]
CacheOpt = Annotated[Optional[Path], typer.Option(help="Cache folder (default: $PHRASEBENCH_CACHE or .cache/phrasebench).")]


def friendly_errors(fn):
    """Turn the errors a user can fix into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, ValueError, KeyError, RuntimeError) as e:
            msg = e.args[0] if e.args else str(e)
            err.print(f"[red]error:[/red] {msg}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def phrase_config(tokenizer, tracks, phrase_bars, stride, min_notes, max_tokens, split, seed, transpose):
    from phrases import PhraseConfig

    try:
        fractions = tuple(float(x) for x in split.split(","))
    except ValueError:
        raise ValueError(f"--split {split!r}: give three fractions like 0.8,0.1,0.1") from None
    return PhraseConfig(
        tokenizer=tokenizer, tracks=tracks, phrase_bars=phrase_bars, stride_bars=stride,
        min_notes=min_notes, max_tokens=max_tokens, split_fractions=fractions, seed=seed,
        transpose=transpose,
    )


def load_phrases(corpus, config, cache_dir=None, rebuild=False, workers=None, quiet=False):
    """prepare() with a progress bar on the console."""
    from phrases import default_corpus, prepare

    corpus = corpus or default_corpus()
    with Progress(
        TextColumn("[bold]phrases[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True, disable=quiet,
    ) as bar:
        task = bar.add_task(str(corpus), total=None)
        data = prepare(
            corpus, config, cache_dir, workers=workers, rebuild=rebuild,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    return data


def print_data_summary(report: dict) -> None:
    skipped = report["files_skipped"]
    console.print(f"[bold]corpus[/bold]     {report['corpus']}")
    console.print(
        f"[bold]files[/bold]      {report['files_found']} found, {report['files_parsed']} parsed, "
        f"{sum(skipped.values())} skipped"
        + "".join(f", {n} {reason}" for reason, n in skipped.items() if n)
    )
    for reason, names in report.get("skipped_files", {}).items():
        shown = ", ".join(names[:5]) + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")
        console.print(f"  skipped ({reason}): {shown}", highlight=False)
    dropped = report["windows_dropped"]
    console.print(
        f"[bold]windows[/bold]    dropped {dropped.get('few_notes', 0)} with too few notes, "
        f"{dropped.get('too_long', 0)} over --max-tokens"
    )
    table = Table("split", "songs", "windows", "tokens")
    for split in ("train", "val", "test"):
        table.add_row(split, str(report["songs"][split]), f"{report['windows'][split]:,}", f"{report['tokens'][split]:,}")
    console.print(table)
    console.print(f"[bold]songs[/bold]      split by song: {'no song in two splits' if report['songs_disjoint'] else 'SONGS SHARED BETWEEN SPLITS'}")
    console.print(f"[bold]vocabulary[/bold] {report['vocab_size']} tokens ({report['tokenizer']})")
    console.print(f"[bold]cache[/bold]      {report['cache_path']} ({'loaded' if report['cached'] else 'built'} in {report['seconds']:.2f} s)")
    console.print(f"[bold]data_hash[/bold]  {report['data_hash']}")


@app.command("prepare-data")
@friendly_errors
def prepare_data(
    corpus: CorpusOpt = None,
    tokenizer: TokenizerOpt = "remi",
    tracks: TracksOpt = "merge",
    phrase_bars: PhraseBarsOpt = 4,
    stride: StrideOpt = None,
    min_notes: MinNotesOpt = 4,
    max_tokens: MaxTokensOpt = 512,
    split: SplitOpt = "0.8,0.1,0.1",
    seed: SeedOpt = 0,
    transpose: TransposeOpt = 0,
    cache_dir: CacheOpt = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes for parsing (default: one per core).")] = None,
    rebuild: Annotated[bool, typer.Option(help="Ignore the cache and build again.")] = False,
) -> None:
    """Scan a MIDI folder, tokenize, split by song, cut phrase windows, cache; print a summary.

    Example: python cli.py prepare-data --corpus ~/midi/my_band --tracks melody
    """
    config = phrase_config(tokenizer, tracks, phrase_bars, stride, min_notes, max_tokens, split, seed, transpose)
    data = load_phrases(corpus, config, cache_dir, rebuild=rebuild, workers=workers)
    print_data_summary(data.report)


DeviceOpt = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")]
ModelOpt = Annotated[Optional[list[str]], typer.Option("--model-opt", help="Model size option key=value (repeatable), e.g. hidden=256.")]
CheckpointDirOpt = Annotated[Optional[Path], typer.Option(help="Checkpoint folder (default: checkpoints/NAME/DATA_HASH).")]
SplitSeedOpt = Annotated[int, typer.Option(help="Seed of the song split (the data), apart from --seed.")]


def default_checkpoint_dir(name: str, data_hash: str) -> Path:
    from benchmark.train import default_checkpoint_dir as default

    return default(name, data_hash)


def generator_checkpoint_dir(given: Path | None, name: str, data_hash: str) -> Path:
    return given or default_checkpoint_dir(name, data_hash)


def parse_model_opts(opts: list[str] | None) -> dict[str, str]:
    out = {}
    for opt in opts or []:
        if "=" not in opt:
            raise ValueError(f"--model-opt {opt!r}: write key=value, e.g. --model-opt hidden=256")
        key, value = opt.split("=", 1)
        out[key.strip()] = value.strip()
    return out


@app.command("train-generator")
@friendly_errors
def train_generator(
    name: Annotated[str, typer.Argument(help="Registered generator name, e.g. lstm.")],
    corpus: CorpusOpt = None,
    tokenizer: TokenizerOpt = "remi",
    tracks: TracksOpt = "merge",
    phrase_bars: PhraseBarsOpt = 4,
    transpose: TransposeOpt = 0,
    split_seed: SplitSeedOpt = 0,
    cache_dir: CacheOpt = None,
    epochs: Annotated[int, typer.Option(help="Epochs at most.")] = 10,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-clock budget; stops after the step that crosses it.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimizer steps at most (smoke runs).")] = None,
    batch_size: Annotated[int, typer.Option(help="Phrases per batch.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, warm-up then cosine decay).")] = 2e-3,
    patience: Annotated[int, typer.Option(help="Early stopping: epochs without a better validation NLL.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, batch order, dropout.")] = 0,
    device: DeviceOpt = "auto",
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --checkpoint-dir.")] = False,
    checkpoint_dir: CheckpointDirOpt = None,
    model_opt: ModelOpt = None,
    pretrain_epochs: Annotated[Optional[int], typer.Option(help="gan only: MLE pretraining epochs (default: --epochs; 0 with --init-from).")] = None,
    adv_steps: Annotated[Optional[int], typer.Option(help="gan only: adversarial generator updates (default 500).")] = None,
    init_from: Annotated[Optional[str], typer.Option(help="gan only: MLflow run id of a trained lstm or transformer to start from.")] = None,
) -> None:
    """Train a generator on the training split; checkpoints after every epoch; one MLflow run.

    Example: python cli.py train-generator lstm --max-minutes 15
    GAN: python cli.py train-generator gan --pretrain-epochs 10 --adv-steps 500
    (--max-minutes bounds the pretraining; --model-opt adv_max_minutes=M the adversarial phase).
    """
    import mlflow

    from benchmark.train import train_generator as train
    from generators.training import TrainConfig

    gan_only = [flag for flag, v in (("--pretrain-epochs", pretrain_epochs), ("--adv-steps", adv_steps),
                                     ("--init-from", init_from)) if v is not None]
    if adv_steps is not None and adv_steps < 0 or pretrain_epochs is not None and pretrain_epochs < 0:
        raise ValueError("--adv-steps / --pretrain-epochs: give 0 or more")
    if gan_only and name != "gan":
        raise ValueError(f"{', '.join(gan_only)}: only for the gan generator; drop it, or train gan")
    if resume and name == "gan":
        raise ValueError("--resume: not supported for gan; start again, or --init-from the run of a trained lstm")
    config = phrase_config(tokenizer, tracks, phrase_bars, None, 4, 512, "0.8,0.1,0.1", split_seed, transpose)
    data = load_phrases(corpus, config, cache_dir)
    model_opts = parse_model_opts(model_opt)
    if name == "gan":
        epochs = pretrain_epochs if pretrain_epochs is not None else (0 if init_from else epochs)
        if adv_steps is not None:
            model_opts["adv_steps"] = str(adv_steps)
    train_cfg = TrainConfig(
        epochs=epochs, max_minutes=max_minutes, max_steps=max_steps, batch_size=batch_size, lr=lr,
        patience=patience, seed=seed, checkpoint_dir=checkpoint_dir, resume=resume,
    )
    generator, state = train(name, data, train_cfg, model_opts, device,
                             log=lambda msg: err.print(msg, highlight=False), init_from=init_from)
    ckpt = generator_checkpoint_dir(checkpoint_dir, name, data.data_hash)
    run = mlflow.get_run(generator.run_id)
    unigram = run.data.metrics.get("unigram_val_nll", float("nan"))
    console.print(
        f"{name}: stopped after epoch {state.epoch} ({state.stop_reason}); best_val_nll {state.best_val_nll:.4f} "
        f"nats/token, unigram_val_nll {unigram:.4f} (ratio {state.best_val_nll / unigram:.3f}); "
        f"{state.tokens_per_s:,.0f} tokens/s"
    )
    console.print(f"checkpoint {ckpt / 'best.pt'}; MLflow run {generator.run_id}")


@app.command()
@friendly_errors
def generate(
    name: Annotated[str, typer.Argument(help="Registered generator name, e.g. lstm.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the MIDI files.")],
    context: Annotated[Optional[Path], typer.Option(help="MIDI file whose first --context-bars bars are the context (default: from scratch).")] = None,
    context_bars: Annotated[int, typer.Option(help="Bars of --context to use.")] = 4,
    bars: Annotated[Optional[int], typer.Option(help="Length of each continuation in bars.")] = None,
    notes: Annotated[Optional[int], typer.Option(help="Length of each continuation in notes.")] = None,
    temperature: Annotated[float, typer.Option(help="Softmax temperature; 0 is greedy.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 0.95,
    num: Annotated[int, typer.Option(help="How many continuations.")] = 4,
    seed: SeedOpt = 0,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Checkpoint file (default: best.pt of the default corpus's data).")] = None,
    corpus: CorpusOpt = None,
    cache_dir: CacheOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Write MIDI files: the context followed by a generated continuation on its own track.

    Example: python cli.py generate lstm --context solo.mid --bars 4 --num 8 --out samples/
    """
    from generators.base import Length
    from generators.registry import get_generator_class
    from phrases.decode import context_from_midi, decode_phrase

    if bars is not None and notes is not None:
        raise ValueError("give --bars N or --notes N, not both")
    length = Length(notes=notes) if notes is not None else Length(bars=bars or 4)
    cls = get_generator_class(name)
    if checkpoint is None:
        data = load_phrases(corpus, phrase_config("remi", "merge", 4, None, 4, 512, "0.8,0.1,0.1", 0, 0), cache_dir)
        checkpoint = generator_checkpoint_dir(None, name, data.data_hash) / "best.pt"
    generator = cls.load(checkpoint, device)
    tok = generator.tokenizer
    ctx, tempo = context_from_midi(tok, context, context_bars) if context else ([], 120.0)
    continuations = generator.generate([ctx] * num, length, temperature, top_p, seed)
    out.mkdir(parents=True, exist_ok=True)
    malformed = 0
    stem = context.stem if context else "scratch"
    for i, cont in enumerate(continuations):
        decoded = decode_phrase(tok, ctx, cont, tempo)
        malformed += decoded.malformed
        path = out / f"{name}_{stem}_{i:03d}.mid"
        decoded.two_track_score().dump_midi(str(path))
        console.print(f"{path}  {len(decoded.continuation_notes)} notes", highlight=False)
    console.print(f"{num} files in {out}; {malformed} malformed tokens dropped")


CRITIC_CHECKPOINT_NAME = "critic-vae"


@app.command("train-critic")
@friendly_errors
def train_critic(
    corpus: CorpusOpt = None,
    tokenizer: TokenizerOpt = "remi",
    tracks: TracksOpt = "merge",
    phrase_bars: PhraseBarsOpt = 4,
    transpose: TransposeOpt = 0,
    split_seed: SplitSeedOpt = 0,
    cache_dir: CacheOpt = None,
    epochs: Annotated[int, typer.Option(help="Epochs at most.")] = 30,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-clock training budget; stops after the step that crosses it (the validity suite runs after).")] = 18.0,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimizer steps at most (smoke runs).")] = None,
    batch_size: Annotated[int, typer.Option(help="Phrases per batch.")] = 32,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, warm-up then cosine decay).")] = 2e-3,
    patience: Annotated[int, typer.Option(help="Early stopping: epochs without a better validation ELBO.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of initialisation, batch order, dropout, corruptions.")] = 0,
    device: DeviceOpt = "auto",
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --checkpoint-dir.")] = False,
    checkpoint_dir: Annotated[Optional[Path], typer.Option(help="Checkpoint folder (default: checkpoints/critic-vae/DATA_HASH).")] = None,
    model_opt: ModelOpt = None,
    suite_phrases: Annotated[Optional[int], typer.Option(help="Score at most this many test phrases in the validity suite (default: all).")] = None,
) -> None:
    """Train the VAE anomaly critic on real doubled phrases, calibrate it on the validation split,
    run the validity suite on the test split; one MLflow run in phrasebench-critics.

    Example: python cli.py train-critic --max-minutes 18
    """
    from benchmark.train import train_critic as train
    from generators.training import TrainConfig

    config = phrase_config(tokenizer, tracks, phrase_bars, None, 4, 512, "0.8,0.1,0.1", split_seed, transpose)
    data = load_phrases(corpus, config, cache_dir)
    ckpt = checkpoint_dir or default_checkpoint_dir(CRITIC_CHECKPOINT_NAME, data.data_hash)
    train_cfg = TrainConfig(
        epochs=epochs, max_minutes=max_minutes, max_steps=max_steps, batch_size=batch_size, lr=lr,
        patience=patience, seed=seed, checkpoint_dir=ckpt, resume=resume,
    )
    critic, state, rows = train(data, train_cfg, parse_model_opts(model_opt), device,
                                log=lambda msg: err.print(msg, highlight=False), suite_phrases=suite_phrases)
    table = Table("continuation", "auroc", "anomaly (nats/token)", "realness", title="critic validity suite (test split)")
    for r in rows:
        table.add_row(r.name, "-" if r.name == "real" else f"{r.auroc:.3f}", f"{r.anomaly:.3f}", f"{r.realness:.3f}")
    console.print(table)
    final = critic.validation_metrics(data.val)
    console.print(
        f"critic-vae: stopped after epoch {state.epoch} ({state.stop_reason}); best val_elbo {state.best_val_nll:.4f} "
        f"nats/token, val_kl {final['val_kl']:.2f} nats/phrase, active_units {int(final['active_units'])}/"
        f"{critic.config.latent}; {state.tokens_per_s:,.0f} tokens/s"
    )
    console.print(f"checkpoint {ckpt / 'best.pt'}; MLflow run {critic.run_id}")


def _critique_files(path: Path) -> list[Path]:
    from phrases.scan import MIDI_SUFFIXES

    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder; give a MIDI file or a folder of them")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{path}: no .mid/.midi files in this folder")
    return files


@app.command()
@friendly_errors
def critique(
    path: Annotated[Path, typer.Argument(help="A MIDI file, or a folder of them (searched recursively).")],
    phrase_bars: Annotated[Optional[int], typer.Option(help="Bars in a context (default: the critic's).")] = None,
    checkpoint: Annotated[Optional[Path], typer.Option(help="Critic checkpoint (default: best.pt of the default corpus's data).")] = None,
    corpus: CorpusOpt = None,
    cache_dir: CacheOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Rate MIDI files with the critic: anomaly (nats/token, higher = stranger) and realness
    (share of real validation phrases that are stranger; real music ~0.5) per window of
    2 x phrase-bars bars, per file, and overall.

    Example: python cli.py critique my_solos/ --phrase-bars 4
    """
    import numpy as np

    from critics.vae import VAECritic
    from phrases.scan import SKIP_REASONS, load_song
    from phrases.windows import cut_windows

    if checkpoint is None:
        data = load_phrases(corpus, phrase_config("remi", "merge", 4, None, 4, 512, "0.8,0.1,0.1", 0, 0), cache_dir, quiet=True)
        checkpoint = default_checkpoint_dir(CRITIC_CHECKPOINT_NAME, data.data_hash) / "best.pt"
        if not checkpoint.is_file():
            raise FileNotFoundError(f"{checkpoint}: no critic trained on the default corpus yet; run "
                                    "`python cli.py train-critic` or pass --checkpoint FILE")
    files = _critique_files(path)
    critic = VAECritic.load(checkpoint, device)
    if len(critic.calibration) == 0:
        raise ValueError(f"{checkpoint}: the critic is not calibrated (an interrupted training?); run train-critic to the end")
    pc = critic.phrase_config
    bars = phrase_bars if phrase_bars is not None else pc.get("phrase_bars", 4)
    if bars < 1:
        raise ValueError(f"--phrase-bars {bars}: must be at least 1")
    if bars != pc.get("phrase_bars", bars):
        err.print(f"[yellow]warning:[/yellow] the critic was trained on {pc['phrase_bars']}-bar contexts; "
                  f"scores of {bars}-bar windows are not calibrated alike", highlight=False, soft_wrap=True)
    tok = critic.tokenizer
    all_scores = []
    for f in files:
        score, reason = load_song(f, pc.get("tracks", "merge"))
        if score is not None:
            score = tok.preprocess_score(score)
            if not score.tracks:
                score, reason = None, "empty"
        if score is None:
            console.print(f"{f}: skipped ({SKIP_REASONS.get(reason, reason)})", highlight=False, soft_wrap=True)
            continue
        w = cut_windows(tok, score, bars, bars, pc.get("min_notes", 4), pc.get("max_tokens", 512))
        if not w.start_bar:
            console.print(f"{f}: skipped (no window of {2 * bars} bars with {pc.get('min_notes', 4)}+ notes in each "
                          f"half and at most {pc.get('max_tokens', 512)} tokens)", highlight=False, soft_wrap=True)
            continue
        anomaly = critic.score(w.context_ids, w.continuation_ids)
        real = critic.realness(anomaly)
        all_scores.append(anomaly)
        for b, a, r in zip(w.start_bar, anomaly, real):
            console.print(f"  bars {b + 1:>3}-{b + 2 * bars:<3} anomaly {a:6.3f}  realness {r:.3f}", highlight=False, soft_wrap=True)
        dropped = w.dropped_few_notes + w.dropped_too_long
        console.print(f"{f}: {len(anomaly)} windows, mean anomaly {anomaly.mean():.3f}, mean realness {real.mean():.3f}"
                      + (f" ({dropped} windows skipped)" if dropped else ""), highlight=False, soft_wrap=True)
    if not all_scores:
        raise ValueError(f"{path}: no file gave a window to score; give MIDI with at least {2 * bars} bars of notes")
    scores = np.concatenate(all_scores)
    console.print(f"overall: {len(all_scores)} files, {len(scores)} windows, mean anomaly {scores.mean():.3f} nats/token, "
                  f"mean realness {critic.realness(scores).mean():.3f} (real held-out jazz ~0.5)", highlight=False, soft_wrap=True)


@app.command()
@friendly_errors
def benchmark(
    all_: Annotated[bool, typer.Option("--all", help="Every registered generator.")] = False,
    generator: Annotated[Optional[list[str]], typer.Option("--generator", help="A generator to include (repeatable).")] = None,
    contexts: Annotated[int, typer.Option(help="Test contexts, the same for every generator.")] = 256,
    samples: Annotated[int, typer.Option(help="Continuations per context.")] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling mass.")] = 0.95,
    seed: SeedOpt = 0,
    train_missing: Annotated[bool, typer.Option(help="Train (quick budget) any generator or critic not trained on this data.")] = False,
    quick: Annotated[bool, typer.Option(help="Tiny budgets for anything missing and 64 contexts: the whole pipeline in minutes.")] = False,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.")] = 200,
    corpus: CorpusOpt = None,
    cache_dir: CacheOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """Every generator continues the same test contexts; critic + metrics; an MLflow leaderboard.

    Example: python cli.py benchmark --all ; python cli.py benchmark --generator lstm --contexts 64
    """
    from benchmark.pipeline import run_benchmark
    from benchmark.runner import BenchmarkOptions
    from generators.registry import available
    from generators.training import set_threads

    names = available() if all_ else list(generator or [])
    if not names:
        raise ValueError("name the generators: --all, or --generator NAME (repeatable)")
    set_threads()
    data = load_phrases(corpus, phrase_config("remi", "merge", 4, None, 4, 512, "0.8,0.1,0.1", 0, 0), cache_dir)
    options = BenchmarkOptions(names, contexts=64 if quick and contexts == 256 else contexts, samples=samples,
                               temperature=temperature, top_p=top_p, seed=seed, n_boot=n_boot, device=device)
    result = run_benchmark(data, options, train_missing, quick, log=lambda m: err.print(m, highlight=False))
    print_leaderboard(result.benchmark_id, [(r.name, r.status, r.metrics) for r in result.rows])
    for stage, seconds in result.stage_seconds.items():
        err.print(f"  {stage}: {seconds:.1f} s", highlight=False)


def print_leaderboard(benchmark_id: str, entries: list[tuple[str, str, dict]]) -> None:
    from benchmark.leaderboard import table_rows

    header, rows = table_rows(entries)
    table = Table(*header, title=f"phrasebench leaderboard {benchmark_id} (ranked by critic_gap; 95% bootstrap intervals)")
    for r in rows:
        table.add_row(*r)
    console.print(table)


@app.command()
@friendly_errors
def leaderboard(
    benchmark_id: Annotated[Optional[str], typer.Option(help="A benchmark id (default: the latest).")] = None,
) -> None:
    """Print the latest (or a given) leaderboard from MLflow."""
    from benchmark.leaderboard import fetch

    bid, entries = fetch(benchmark_id)
    print_leaderboard(bid, [(name, status, metrics) for name, status, metrics, _ in entries])


@app.command()
@friendly_errors
def ui(
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless you say otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
) -> None:
    """Start `mlflow ui` over the project's store (one worker: starts in seconds)."""
    import os
    import shutil

    from benchmark.tracking import tracking_uri

    mlflow_bin = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if mlflow_bin is None:
        raise FileNotFoundError("the mlflow command is not installed here; run make venv")
    uri = tracking_uri()
    err.print(f"MLflow UI on http://{host}:{port} over {uri}")
    os.execv(mlflow_bin, [mlflow_bin, "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port),
                          "--workers", "1"])


reproduce_app = typer.Typer(help="Reproduce published numbers with phrasebench's generators.", no_args_is_help=True)
app.add_typer(reproduce_app, name="reproduce")


@reproduce_app.command("csc413")
@friendly_errors
def reproduce_csc413(
    corpus: Annotated[Optional[Path], typer.Option(help="piano-midi.de folder (default: ../shared/corpora/pianomidi).")] = None,
    generator: Annotated[str, typer.Option(help="lstm or transformer (any registered generator).")] = "lstm",
    seeds: Annotated[int, typer.Option(help="Training runs, seeds 0..N-1; the table gives mean and spread.")] = 3,
    epochs: Annotated[int, typer.Option(help="Epochs at most per seed.")] = 20,
    max_minutes: Annotated[Optional[float], typer.Option(help="Wall-clock training budget per seed.")] = 4.0,
    batch_size: Annotated[int, typer.Option(help="Segments per batch.")] = 16,
    model_opt: ModelOpt = None,
    cache_dir: CacheOpt = None,
    device: DeviceOpt = "auto",
) -> None:
    """The CSC413 report's Table 3 on piano-midi.de: their data protocol, 50 samples of 100 notes
    from scratch at temperature 0.8, csc413-protocol JSD; MLflow experiment phrasebench-reproductions.

    Example: python cli.py reproduce csc413 --generator lstm --seeds 3
    """
    from benchmark.reproduce import reproduce_csc413 as run
    from generators.training import TrainConfig
    from phrases import PhraseConfig
    from phrases.config import PIANOMIDI_CORPUS

    if seeds < 1:
        raise ValueError("--seeds: give 1 or more")
    data = load_phrases(corpus or PIANOMIDI_CORPUS, PhraseConfig.csc413(), cache_dir)
    console.print(f"csc413 protocol: {data.report['windows']['train']:,} / {data.report['windows']['val']:,} / "
                  f"{data.report['windows']['test']:,} segments of 64 notes from "
                  f"{data.report['songs']['train']} / {data.report['songs']['val']} / {data.report['songs']['test']} "
                  f"songs (train / val / test); data_hash {data.data_hash}", highlight=False)
    config = TrainConfig(epochs=epochs, max_minutes=max_minutes, batch_size=batch_size)
    result = run(data, generator, list(range(seeds)), config, parse_model_opts(model_opt), device,
                 log=lambda m: err.print(m, highlight=False))
    rows = result.table()
    table = Table(*rows[0], title=f"CSC413 Table 3, test set: theirs vs phrasebench {generator}")
    for r in rows[1:]:
        table.add_row(*r)
    console.print(table)
    console.print(result.markdown().split("\n\n", 1)[1], highlight=False)
    verdict = result.beats_theirs()
    console.print("at or below theirs on test: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in verdict.items())
                  + f"; MLflow run {result.run_id}", highlight=False)


@app.command()
@friendly_errors
def speed(
    corpus: CorpusOpt = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes for prepare-data (default: one per core).")] = None,
    benchmark: Annotated[bool, typer.Option(help="Also time `benchmark --all --quick` per stage (minutes; in a scratch store).")] = True,
) -> None:
    """Print throughput figures for every stage, each next to a reference measured in the same run."""
    from benchmark.speed import (
        adversarial_speed, critic_speed, generator_speed, prepare_data_speed, quick_benchmark_speed,
    )
    from critics.vae import VAECritic
    from generators.checkpoint import CheckpointError
    from generators.training import set_threads
    from phrases import PhraseConfig, default_corpus, prepare

    corpus = corpus or default_corpus()
    rows = prepare_data_speed(corpus, workers)
    set_threads()
    data = prepare(corpus, PhraseConfig(), workers=workers)
    rows += generator_speed(data)
    rows += adversarial_speed(data)
    try:  # the trained critic when there is one; the speed of an untrained one is the same
        critic = VAECritic.load(default_checkpoint_dir("critic-vae", data.data_hash) / "best.pt", "cpu")
    except CheckpointError:
        critic = VAECritic(data.tokenizer, device="cpu")
    rows.append(critic_speed(critic, data.test))
    if benchmark:
        rows += quick_benchmark_speed(data)
    table = Table("stage", "figure", "reference (same run)", "ratio", title="phrasebench speed")
    for r in rows:
        table.add_row(r.stage, f"{r.value:,.2f} {r.unit}", r.reference, r.ratio)
    console.print(table)


if __name__ == "__main__":
    sys.exit(app())
