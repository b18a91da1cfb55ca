"""`cli.py report`: the HTML report of the latest complete leaderboard (or a given one), the
file `benchmark` wrote and logged with every row: its path, opened in the browser where there is
one."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from benchmark.leaderboard import EXPERIMENT_LEADERBOARD, fetch
from benchmark.options import BenchmarkOptions
from phrases.errors import UserError
from store import download_artifact, experiment_id, search_runs

REPORT = "report.html"


def report_path(benchmark_id: str | None = None, log=lambda _: None) -> tuple[str, Path]:
    """(benchmark_id, path of its report.html): the file `benchmark` wrote under the default
    `--report-dir` when it is there, else the copy logged with the benchmark's runs, downloaded
    there."""
    bid, _ = fetch(benchmark_id, log=log)
    written = BenchmarkOptions([]).report_dir / bid / REPORT
    if written.is_file():
        return bid, written
    runs = search_runs(experiment_id(EXPERIMENT_LEADERBOARD), f"tags.benchmark_id = '{bid}'", max_results=50_000)
    for run in runs:
        try:
            written.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=written.parent, prefix=".report-") as tmp:  # whole, or not there
                got = download_artifact(run.info.run_id, REPORT, tmp)
                os.replace(got, written)
            return bid, written
        except OSError as e:
            raise UserError(f"{written.parent}: cannot write the report there ({e.strerror or e})") from None
        except Exception:  # this run has no report logged (a failed row): try the next
            continue
    raise UserError(f"benchmark {bid}: no {REPORT} in {written.parent} nor logged with its runs; run the benchmark again")


def can_open() -> bool:
    """Whether a browser can show a page here: one named by $BROWSER, a display, or a desktop OS
    (on a server over ssh, `webbrowser` would start a text browser in the terminal)."""
    return bool(os.environ.get("BROWSER") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or sys.platform in ("darwin", "win32"))


def report_command(benchmark_id: str | None, open_: bool, log) -> list[str]:
    """What `cli.py report` prints; opens the report when `open_` and a browser can."""
    import webbrowser

    bid, path = report_path(benchmark_id, log)
    lines = [f"report of benchmark {bid}: {path}"]
    if open_ and can_open() and webbrowser.open(path.resolve().as_uri()):
        lines.append("opened in your browser")
    elif open_:
        lines.append("no browser here: open that file in one (it is self-contained: images and audio are inside, "
                     "so it can be copied anywhere)")
    return lines
