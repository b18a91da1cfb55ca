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
console = Console()
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


@app.command()
@friendly_errors
def speed(
    corpus: CorpusOpt = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes for prepare-data (default: one per core).")] = None,
) -> None:
    """Print throughput figures for every stage, each next to a reference measured in the same run."""
    from benchmark.speed import prepare_data_speed
    from phrases import default_corpus

    rows = prepare_data_speed(corpus or default_corpus(), workers)
    table = Table("stage", "figure", "reference (same run)", "ratio", title="phrasebench speed")
    for r in rows:
        table.add_row(r.stage, f"{r.value:,.2f} {r.unit}", r.reference, r.ratio)
    console.print(table)


if __name__ == "__main__":
    sys.exit(app())
