"""Debian's system packages in tests: FluidSynth (audio) and Chromium (the report, the MLflow UI).

A test that needs one skips, with the reason and the command that installs it, when it is missing;
with PHRASEBENCH_REQUIRE_SYSTEM_PACKAGES=1 (set by .ci/run after `make system-packages`) it fails
instead, so CI cannot pass without testing the audio and browser paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  # one process for every frame: a sandboxed iframe (MLflow's HTML viewer) is painted too
                  "--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process"]
SCREENSHOTS = os.environ.get("PHRASEBENCH_SCREENSHOTS")  # also keep the screenshots there


def missing(what: str) -> None:
    """Skip (or, in CI, fail) a test for want of a system package."""
    reason = f"{what} is not installed: `make system-packages` (as root) installs it"
    if os.environ.get("PHRASEBENCH_REQUIRE_SYSTEM_PACKAGES"):
        pytest.fail(reason)
    pytest.skip(reason)


def synth_or_skip():
    from benchmark.audio import find_synth

    synth, why = find_synth()
    if synth is None:
        missing(f"FluidSynth or its SoundFont ({why})")
    return synth


def chromium_or_skip() -> str:
    named = os.environ.get("PHRASEBENCH_CHROMIUM")
    found = shutil.which(named) if named else next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if found is None:
        missing("Chromium (headless)")
    return found


def _chromium(binary: str, args: list[str], timeout: int = 180) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout)


def dump_dom(binary: str, url: str, budget_ms: int = 10_000, size: str = "1400,1000") -> str:
    """The page's DOM after `budget_ms` of virtual time (scripts run, media metadata loads)."""
    done = _chromium(binary, [f"--window-size={size}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url])
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(binary: str, url: str, path: Path, budget_ms: int = 10_000, size: str = "1400,1000") -> Path:
    """A PNG of the page; a copy goes to $PHRASEBENCH_SCREENSHOTS when set."""
    done = _chromium(binary, [f"--window-size={size}", f"--virtual-time-budget={budget_ms}",
                              f"--screenshot={path}", url])
    assert done.returncode == 0 and path.is_file() and path.stat().st_size > 1000, done.stderr[-2000:]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SCREENSHOTS) / path.name)
    return path
