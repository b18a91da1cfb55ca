"""Debian's system packages in tests: FluidSynth (audio) and Chromium (the report, the MLflow UI).

A test that needs one skips, with the reason and the command that installs it, when it is missing;
with PHRASEBENCH_REQUIRE_SYSTEM_PACKAGES=1 (set by .ci/run after `make system-packages`) it fails
instead, so CI cannot pass without testing the audio and browser paths.

`Browser` drives headless Chromium over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
no port, no extra package): open a page, wait until a JavaScript condition holds (a page built by
scripts, audio decoded), read it, take a screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  # one process for every frame: a sandboxed iframe (MLflow's HTML viewer) is painted too
                  "--disable-site-isolation-trials", "--disable-features=IsolateOrigins,site-per-process"]
SCREENSHOTS = os.environ.get("PHRASEBENCH_SCREENSHOTS")  # also keep the screenshots there


def missing(reason: str) -> None:
    """Skip (or, in CI, fail) a test for want of a system package; `reason` says how to install it."""
    if os.environ.get("PHRASEBENCH_REQUIRE_SYSTEM_PACKAGES"):
        pytest.fail(reason)
    pytest.skip(reason)


def synth_or_skip():
    from presenting.audio import find_synth

    synth, why = find_synth()
    if synth is None:
        missing(why)
    return synth


def chromium_or_skip() -> str:
    named = os.environ.get("PHRASEBENCH_CHROMIUM")
    found = shutil.which(named) if named else next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if found is None:
        missing("Chromium is not installed: `make system-packages` (as root) installs it")
    return found


class Browser:
    """One headless Chromium with one page, driven over the DevTools protocol on fds 3 and 4."""

    def __init__(self, binary: str, width: int = 1400, height: int = 1000) -> None:
        self.profile = tempfile.TemporaryDirectory()
        to_chrome, from_chrome = os.pipe(), os.pipe()

        def pipes_on_3_and_4():  # in the child, before exec
            read = fcntl.fcntl(to_chrome[0], fcntl.F_DUPFD, 100)
            write = fcntl.fcntl(from_chrome[1], fcntl.F_DUPFD, 100)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile.name}", f"--window-size={width},{height}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=pipes_on_3_and_4, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome[0])
        os.close(from_chrome[1])
        self.send, self.receive = to_chrome[1], from_chrome[0]
        self.count, self.buffer = 0, b""
        page = next(t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self.count += 1
        message = {"id": self.count, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self.send, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.receive, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed its DevTools pipe")
                self.buffer += chunk
            raw, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.count:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str) -> None:
        self.call("Page.navigate", self.session, url=url)

    def evaluate(self, js: str):
        result = self.call("Runtime.evaluate", self.session, expression=js, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def wait_for(self, js: str, limit_s: float = 120.0) -> bool:
        """Whether `js` became true before `limit_s` (a bound on waiting, not a check of speed)."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            if self.evaluate(js):
                return True
            time.sleep(0.25)
        return bool(self.evaluate(js))

    def html(self) -> str:
        return self.evaluate("document.documentElement.outerHTML")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        """A PNG of the page; a copy goes to $PHRASEBENCH_SCREENSHOTS when set."""
        params = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics", self.session)["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}
        path = Path(path)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", self.session, **params)["data"]))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(SCREENSHOTS) / path.name)
        return path

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.send)
        os.close(self.receive)
        self.profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
