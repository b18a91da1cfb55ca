"""The README's path after `make demo`, as a new user types it: the activation line of "Two
commands", then every line of "First hour" as written there (parsed from the README, so a README
and a CLI that drift apart fail here), each in bash, in a scratch copy of the repository (links to
its files; the store, the cache and the outputs are the copy's own), on the default corpus with
the shipped default critic. And `cli.py` run by a Python without the dependencies: one line, exit 2.

`make demo` itself is not run (minutes): the section's own benchmark (steps 4 to 6) runs first and
gives `report` and `make ui` their leaderboard. Nothing is added to the README's commands; the
environment gives `make ui` a free port (`UI_PORT`, which the README shows) and `report` a
browser that writes down what it was asked to open ($BROWSER, Python's `webbrowser`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import WJAZZD
from phrases.config import REPO_ROOT

README = REPO_ROOT / "README.md"
SCRATCH_OWN = {"outputs", "mlflow.db", "mlflow.db.lock", "mlartifacts", "checkpoints", ".cache", ".git", "outside",
               "continue.py", "my_solo.mid", ".pytest_cache", ".screenshots"}


def section(title: str) -> str:
    text = README.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, f"README: no section '## {title}'"
    return match.group(1)


def code_lines(text: str) -> list[str]:
    """The commands of a section's indented code blocks, comments dropped."""
    text = re.sub(r"\\\n\s*", "", text)  # a command continued on the next line is one command
    lines = [line[4:] for line in text.splitlines() if line.startswith("    ") and line.strip()]
    return [re.split(r"\s+#", line, maxsplit=1)[0].strip() for line in lines]


def activation() -> str:
    lines = [line for line in code_lines(section("Two commands")) if "activate" in line]
    assert lines == ["source .venv/bin/activate"], lines
    return lines[0]


def first_hour() -> list[str]:
    return code_lines(section("First hour"))


def readme_script() -> str:
    match = re.search(r"```python\n(# continue\.py.*?)```", README.read_text(), re.S)
    assert match, "README: the pretty_midi example script (a ```python block starting with '# continue.py')"
    return match.group(1)


def test_every_example_uses_one_command_form():
    """After the activation line, every example calls the CLI one way: `python cli.py`."""
    text = README.read_text()
    after = text[text.index(activation()):]
    commands = [line for line in code_lines(after) if re.search(r"\bcli\.py\b|^phrasebench\b|\.venv/bin/", line)]
    assert len(commands) > 30
    odd = [c for c in commands if not re.match(r"^(PHRASEBENCH_THREADS=\d+ )?python cli\.py |^torchrun .* cli\.py ", c)]
    assert not odd, odd


def _scratch(tmp: Path) -> Path:
    """A copy of the repository as a fresh clone has it (links to its files), with a store, a
    cache and outputs of its own."""
    work = tmp / "clone"
    work.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in SCRATCH_OWN:
            (work / entry.name).symlink_to(entry)
    return work


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_first_hour_as_written(tmp_path):
    steps = first_hour()
    report, ui, critique, export, model, benchmark, report_again = steps  # the seven steps the README lists
    assert report == report_again == "python cli.py report" and ui == "make ui"
    assert critique.startswith("python cli.py critique ") and export.startswith("python cli.py export-contexts ")
    assert benchmark.startswith("python cli.py benchmark --import ") and model.startswith("python continue.py ")

    work = _scratch(tmp_path)
    own = critique.split()[-1]  # "a MIDI file of your own": a real solo, under the README's name for it
    shutil.copy(WJAZZD / "ChetBaker_ThereWillNeverBeAnotherYou-1_FINAL.mid", work / own)
    (work / model.split()[1]).write_text(readme_script())
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys\nopen({str(opened)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PHRASEBENCH_CACHE",
                                                           "PHRASEBENCH_CORPUS", "VIRTUAL_ENV")}
    env |= {"BROWSER": f"{sys.executable} {browser} %s", "UI_PORT": str(_free_port()),
            "PHRASEBENCH_THREADS": os.environ.get("PHRASEBENCH_THREADS", "1")}

    def typed(command: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", f"{activation()} && {command}"], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900, **kw)

    # 3. critique a file of your own: a line per window, the file, overall
    done = typed(critique)
    assert done.returncode == 0, done.stderr
    assert own in done.stdout and "realness" in done.stdout and "overall" in done.stdout.lower(), done.stdout
    # 4-6. the contexts out, the stand-in's files in, a leaderboard with the imported row
    done = typed(export)
    assert done.returncode == 0, done.stderr
    folder = work / export.split()[3]
    manifest = json.loads((folder / "manifest.json").read_text())
    done = typed(model)
    assert done.returncode == 0, done.stderr
    assert len(list((folder / "mine").glob("*.mid"))) == len(manifest["items"]) == 64
    done = typed(benchmark)
    assert done.returncode == 0, done.stderr
    assert "mine: 64 of 64 continuations read" in done.stderr, done.stderr
    assert re.search(r"│ \d+=? +│ mine", done.stdout), done.stdout
    assert "critic: the default critic" in done.stderr
    written = re.search(r"^report: (\S+)$", done.stdout + done.stderr, re.M)
    assert written, done.stdout
    # 1 and 7. the report: its path printed and handed to the browser
    done = typed(report)
    assert done.returncode == 0, done.stderr
    path = re.search(r"^report of benchmark \S+: (\S+)$", done.stdout, re.M)
    assert path and (work / path.group(1)).resolve() == (work / written.group(1)).resolve(), done.stdout
    assert "opened in your browser" in done.stdout
    assert opened.read_text().split() == [(work / path.group(1)).resolve().as_uri()]
    assert "<html" in (work / path.group(1)).read_text()[:500].lower()
    # 2. make ui: the MLflow UI over this store, on 127.0.0.1, until stopped
    server = subprocess.Popen(["bash", "-c", f"{activation()} && {ui}"], cwd=work, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{env['UI_PORT']}"
        deadline = time.monotonic() + 180
        while True:
            try:
                page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    stopped = server.stderr.read() if server.poll() is not None else ""
                    raise AssertionError(f"make ui did not serve {base}: {stopped}") from None
                time.sleep(0.5)
        assert "<html" in page.lower()
        api = f"{base}/api/2.0/mlflow"
        get = f"{api}/experiments/get-by-name?experiment_name=phrasebench-leaderboard"
        experiment = json.loads(urllib.request.urlopen(get, timeout=30).read())["experiment"]
        body = json.dumps({"experiment_ids": [experiment["experiment_id"]], "max_results": 100}).encode()
        search = urllib.request.Request(f"{api}/runs/search", data=body, headers={"Content-Type": "application/json"})
        runs = json.loads(urllib.request.urlopen(search, timeout=30).read())["runs"]
        rows = {t["value"] for r in runs for t in r["data"]["tags"] if t["key"] == "generator"}
        assert rows == {"mine", "real", "random"}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make, the CLI it started and the mlflow ui it became
        out, err = server.communicate(timeout=60)
    assert f"leaderboard, ranked: {base}/#/experiments/" in out, (out, err)


def _bare_python(tmp: Path) -> Path:
    """A Python without the project's dependencies: a venv of the base interpreter, no packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "bare")], check=True, timeout=120)
    python = tmp / "bare" / "bin" / "python"
    assert subprocess.run([python, "-I", "-c", "import typer"], capture_output=True).returncode != 0
    return python


def test_cli_without_its_dependencies_says_what_to_run(tmp_path):
    python = _bare_python(tmp_path)
    done = subprocess.run([python, "-I", "cli.py", "leaderboard"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "has no typer" in done.stderr and "source .venv/bin/activate" in done.stderr, done.stderr
    # a clone without .venv yet: make venv first
    clone = tmp_path / "clone"
    (clone / "operating").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "cli.py", clone)
    shutil.copy(REPO_ROOT / "operating" / "__init__.py", clone / "operating")
    shutil.copy(REPO_ROOT / "operating" / "environment.py", clone / "operating")
    done = subprocess.run([python, "-I", "cli.py", "--help"], cwd=clone, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "run `make venv` first" in done.stderr and "source .venv/bin/activate" in done.stderr, done.stderr
