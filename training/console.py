"""What a training shows on stderr: a progress bar per epoch and one line of metrics per epoch; and
the progress bar of preparing the phrases."""

from __future__ import annotations

from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def epoch_line(name: str, metrics: dict, step: int) -> str:
    """"lstm epoch 2: val_nll 2.3141, best_val_nll 2.3141 (step 706)"."""
    shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) and abs(v) < 1e4 else f"{k} {v:g}"
                      for k, v in metrics.items() if k != "epoch")
    return f"{name} epoch {int(metrics['epoch'])}: {shown} (step {step})"


def metric_logger(name: str) -> Callable[[dict, int], None]:
    """Metrics to the active MLflow run; one line per epoch (metrics holding `epoch`) on stderr."""
    from store import log_metrics

    console = Console(stderr=True)

    def log(metrics: dict, step: int) -> None:
        log_metrics(metrics, step=step)
        if "epoch" in metrics:
            console.print(epoch_line(name, metrics, step), highlight=False, soft_wrap=True)

    return log


def progress_bar(name: str) -> Callable[[int, int, float, float], None]:
    """A rich progress callback for the training loop (on stderr; silent when not a terminal)."""
    console = Console(stderr=True)
    bar = Progress(TextColumn(f"[bold]{name}[/bold] epoch"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]:.3f}  {task.fields[tps]:,.0f} tok/s"),
                   TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)
    state: dict = {"task": None}

    def update(done: int, total: int, loss: float, tps: float) -> None:
        if state["task"] is None or done == 1:
            if not bar.live.is_started:
                bar.start()
            if state["task"] is not None:
                bar.remove_task(state["task"])
            state["task"] = bar.add_task("", total=total, loss=loss, tps=tps)
        bar.update(state["task"], completed=done, loss=loss, tps=tps)
        if done == total:
            bar.stop()

    update.close = bar.stop  # for a loop that stops mid-epoch
    return update


def load_phrases(corpus, config, cache_dir, workers=None, rebuild=False, quiet=False):
    """`phrases.prepare` with a progress bar on stderr (what every command that reads phrases uses)."""
    from phrases import prepare

    err = Console(stderr=True)
    with Progress(TextColumn("[bold]phrases[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True, disable=quiet) as bar:
        task = bar.add_task(str(corpus), total=None)
        return prepare(corpus, config, cache_dir, workers=workers, rebuild=rebuild,
                       log=lambda line: err.print(line, highlight=False, soft_wrap=True),
                       progress=lambda done, total: bar.update(task, completed=done, total=total))
