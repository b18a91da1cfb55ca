"""Hearing and seeing every row: FluidSynth audio of real phrases, the HTML report loaded in
headless Chromium, and the MLflow UI as a user meets it (it opens on the leaderboard's runs, the
report and an audio player in a run's artifacts). Tests that need FluidSynth or Chromium skip
with the reason when they are missing (fail in CI: tests/helpers/system.py)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser

import mlflow
import pytest

from presenting.audio import find_synth, render, seconds
from benchmark.leaderboard import EXPERIMENT_LEADERBOARD, fetch
from benchmark.options import BenchmarkOptions
from operating.benchmarking import run_benchmark
from helpers import mlflow_store, store_copy
from phrases.config import REPO_ROOT
from phrases.decode import decode_phrase
from helpers.system import Browser, chromium_or_skip, synth_or_skip

EXAMPLES = 2


@pytest.fixture(scope="module")
def bench(jazz_data, tiny_store, tmp_path_factory):
    """A benchmark of the reference rows in a real store with a tiny critic: its result and store."""
    tmp = tmp_path_factory.mktemp("report")
    with store_copy(tiny_store.folder, tmp) as uri:
        options = BenchmarkOptions([], contexts=8, n_boot=20, device="cpu", examples=EXAMPLES, report_dir=tmp / "reports")
        result = run_benchmark(jazz_data, options, log=lambda *_: None, command="python cli.py benchmark (a test)")
        yield result, uri, tmp


def test_audio_of_a_real_phrase_lasts_as_long_as_the_phrase(jazz_data, tmp_path):
    """Three real test phrases (context + true continuation) rendered: each file lasts as long as
    its MIDI (to the end of the last note) within 10%, compressed to about 40 kbit/s."""
    synth = synth_or_skip()
    for i in (0, len(jazz_data.test) // 2, len(jazz_data.test) - 1):
        p = jazz_data.test[i]
        score = decode_phrase(jazz_data.tokenizer, p.context, p.continuation, p.tempo_qpm).two_track_score()
        midi = tmp_path / f"{i}.mid"
        score.dump_midi(str(midi))
        end = max(int(n.time + n.duration) for t in score.tracks for n in t.notes)
        expected = end / score.ticks_per_quarter * 60.0 / p.tempo_qpm
        out = render(synth, midi, tmp_path / f"{i}.ogg")
        got = seconds(out)
        assert abs(got - expected) <= 0.10 * expected, (got, expected)
        assert out.stat().st_size < 60_000 / 8 * got  # compressed (WAV would be 350 kbit/s)


def test_without_fluidsynth_one_line_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PHRASEBENCH_FLUIDSYNTH", "no-such-fluidsynth-binary")
    synth, why = find_synth()
    assert synth is None and "make system-packages" in why and "\n" not in why


def test_benchmark_without_fluidsynth_runs_and_says_so(bench, jazz_data, monkeypatch, tmp_path):
    monkeypatch.setenv("PHRASEBENCH_FLUIDSYNTH", "no-such-fluidsynth-binary")
    lines = []
    result = run_benchmark(jazz_data, BenchmarkOptions([], contexts=4, n_boot=5, device="cpu", examples=1,
                                                       report_dir=tmp_path / "r"), log=lines.append)
    assert [line for line in lines if "FluidSynth" in line] == [
        "no audio: FluidSynth (no-such-fluidsynth-binary) is not installed; `make system-packages` (as root; it runs "
        "apt-get install fluidsynth fluid-soundfont-gm) renders every example"]
    assert result.report.is_file() and "<audio" not in result.report.read_text()
    assert all(r.status == "ok" for r in result.rows)


class _Page(HTMLParser):
    """The leaderboard table's rows and the audio players of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[str] = []
        self.audio: list[dict] = []
        self.in_board = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.in_board = a.get("id") == "leaderboard"
        elif tag == "tr" and self.in_board and "data-row" in a:
            self.rows.append(a["data-row"])
        elif tag == "audio":
            self.audio.append(a)

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_board = False


@pytest.mark.slow  # starts Chromium
def test_report_in_headless_chromium(bench, tmp_path):
    """The page from disk: the ranked table, and a player per example that Chromium decodes (the
    page's script writes the length it read into each player)."""
    result, _, _ = bench
    with_audio = find_synth()[0] is not None
    with Browser(chromium_or_skip(), 1400, 1800) as browser:
        browser.open(result.report.resolve().as_uri())
        loaded = ("document.querySelectorAll('audio').length > 0 && "
                  "[...document.querySelectorAll('audio')].every(a => a.dataset.seconds)") if with_audio else \
            "!!document.querySelector('#leaderboard')"
        assert browser.wait_for(loaded), "the report's players did not load"
        page = _Page()
        page.feed(browser.html())
        browser.screenshot(tmp_path / "report.png")
    assert page.rows == [r.name for r in result.rows]  # the ranked table, in rank order
    text = result.report.read_text()
    assert "python cli.py benchmark (a test)" in text and result.critic.sha256 in text
    assert text.count("data:image/png;base64,") == 2 * len(result.rows)  # every row's profile chart and piano rolls
    if with_audio:
        assert len(page.audio) == EXAMPLES * len(result.rows)
        lengths = [float(a["data-seconds"]) for a in page.audio]
        assert all(3.0 < s < 60.0 for s in lengths), lengths


def test_report_shows_each_rows_profile_varied_examples_and_a_full_validity_table(bench, jazz_data):
    """Without a browser: one profile chart per row, examples from different songs, and no
    empty column in the critic's validity table."""
    result, _, _ = bench
    text = result.report.read_text()
    for row in result.rows:
        assert f"alt=\"musical profile of {row.name}\"" in text
        assert all(f"profile_{d}_dist" in row.metrics for d in ("pitch_class_entropy", "key_consistency"))
    _, entries = fetch(result.benchmark_id)  # in MLflow: every row's profile, with its interval and distance
    for _, _, metrics, _ in entries:
        for d in ("pitch_class_entropy", "scale_consistency", "mean_abs_interval"):
            assert metrics[f"profile_{d}_ci_low"] <= metrics[f"profile_{d}"] <= metrics[f"profile_{d}_ci_high"]
            assert f"profile_{d}_ref" in metrics and f"profile_{d}_dist" in metrics
    titles = re.findall(r"<figcaption><b>([^<]+), bars \d+-\d+</b>", text)
    assert titles and len(titles) == EXAMPLES * len(result.rows)
    songs = {jazz_data.test[int(i)].song for i in result.context_index}
    per_row = titles[:EXAMPLES]
    assert len(set(per_row)) == min(EXAMPLES, len(songs)), per_row  # each example of a row from its own song
    table = text[text.index("<table id=critic-validity>"):]
    table = table[:table.index("</table>")]
    assert "<th></th>" not in table and "auroc - floor" in table
    cells = re.findall(r"<tr><td class=name>[^<]+</td>(.*?)</tr>", table)
    assert cells and all("<td></td>" not in c and "<td>-</td>" not in c for c in cells), cells


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # starts `cli.py ui`
def test_mlflow_ui_opens_on_the_leaderboard_runs(bench, tmp_path):
    """`cli.py ui` prints a link; Chromium on it shows the latest leaderboard's runs, ranked, not a
    GenAI trace dashboard; a run's artifacts show the report and an audio player."""
    result, uri, _ = bench
    chromium = chromium_or_skip()
    exp = mlflow.get_experiment_by_name(EXPERIMENT_LEADERBOARD)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "How to read it" in exp.tags["mlflow.note.content"]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "cli.py", "ui", "--port", str(port)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**__import__("os").environ, "MLFLOW_TRACKING_URI": uri})
    try:
        first = server.stdout.readline()
        link = re.search(r"leaderboard, ranked: (\S+)", first).group(1)
        assert f":{port}/#/experiments/{exp.experiment_id}/runs?" in link and "viewStateShareKey=latest" in link
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise AssertionError("mlflow ui did not come up")
                time.sleep(0.5)
        latest, entries = fetch()  # the view shows the newest benchmark (another test may have run one)
        with Browser(chromium, 1600, 900) as browser:
            browser.open(link)
            assert browser.wait_for("document.body.innerText.includes('matching runs')"), "no runs table"
            shown = browser.evaluate("document.body.innerText")
            assert "Detect Issues" not in shown and "Traces\n0" not in shown  # not the GenAI dashboard
            for name, *_ in entries:
                assert browser.wait_for(f"document.body.innerHTML.includes('{name}-{latest}')"), name
            browser.screenshot(tmp_path / "mlflow_leaderboard.png")
        run = mlflow.search_runs([exp.experiment_id], filter_string=f"tags.benchmark_id = '{result.benchmark_id}' "
                                 "and tags.generator = 'real'", output_format="list")[0]
        assert "rank" in run.data.metrics and run.data.tags["mlflow.note.content"].startswith("**real**: rank")
        artifacts = f"{base}/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}/artifacts"
        with Browser(chromium, 1600, 1000) as browser:
            browser.open(f"{artifacts}/report.html?workflowType=machine_learning")
            assert browser.wait_for("!!document.querySelector('iframe.mlflow-html-iframe')"), "no HTML preview"
            time.sleep(2)  # the iframe paints its page (only the screenshot depends on it)
            browser.screenshot(tmp_path / "mlflow_run_report.png")
        if find_synth()[0] is not None:  # MLflow's audio previewer: a waveform and a player
            with Browser(chromium, 1600, 1000) as browser:
                browser.open(f"{artifacts}/examples/real_00.ogg?workflowType=machine_learning")
                assert browser.wait_for("(() => { const p = document.querySelector('[data-testid=audio-artifact-preview]');"
                                        " return !!p && !p.querySelector('[data-testid=mlflow-artifact-view-skeleton]'); })()")
                browser.screenshot(tmp_path / "mlflow_run_audio.png")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout:
            server.stdout.close()
