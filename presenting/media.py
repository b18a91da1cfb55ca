"""What a ranked benchmark shows people, made once for all its rows' runs (`benchmark/publish.py`
logs them): each row's description, its first examples as MIDI and audio and their piano rolls,
the HTML report written next to the run, and the leaderboard as a picture and as columns."""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.leaderboard import BEST, RANK_RULE
from benchmark.publish import Shown
from benchmark.runner import Benchmark, BenchmarkResult, Row
from phrases.decode import context_end_tick
from presenting.audio import SUFFIX, find_synth, render
from presenting.examples import example_indices
from presenting.html_report import ExampleMedia, RowMedia, write_report
from presenting.musical_profile import profile_chart
from presenting.plots import RollExample, bar_lines, piano_roll_grid, table_png
from presenting.table import fmt, table_columns, table_notes, table_rows


def description(rank: int, entries: list[tuple], result: BenchmarkResult) -> str:
    """The run's `mlflow.note.content`: what the row is, where it ranks, how to read it."""
    name, status, metrics, tags = entries[rank - 1]
    what = {"trained": f"a trained generator (run `{tags.get('generator_run_id', '')}`, budget {tags.get('budget', 'full')})",
            "imported": f"continuations imported from `{tags.get('import_dir', '')}`",
            "reference": "a reference row (real: the true continuations, the noise floor; random: unigram tokens, "
                         "the floor)"}[tags["source"]]
    lines = [f"**{name}**: rank {rank} of {len(entries)} in benchmark `{result.benchmark_id}` ({RANK_RULE}); {what}."]
    if status != "ok":
        lines.append(f"This row failed: {tags.get('error', '')}")
    else:
        lines.append(" · ".join(f"{k} {fmt(metrics, k)} (best {BEST[k]})" for k in (
            "primary_gap", "judge_gap", "critic_gap", "bland_gap", "misfit_gap", "realness", "nll", "coverage", "copy_share", "c2st_auroc")
            if k in metrics))
    lines += [f"- {n}" for n in table_notes(entries[rank - 1: rank], wide=True)]
    lines.append("Artifacts: **report.html** (the whole benchmark: ranked table, piano rolls, audio players), "
                 "`examples/` (this row's phrases as MIDI and audio), `piano_rolls.png`, `phrases.csv` "
                 "(per-phrase scores), `leaderboard.json` and `leaderboard.png`.")
    return "\n\n".join(lines)


def _roll_example(i: int, row: Row, real: Row | None, bench: Benchmark) -> RollExample:
    p = bench.phrases[i]
    tok, bars = bench.tokenizer, bench.data.config.phrase_bars
    shown = real.decoded[i] if real is not None and real.decoded else row.decoded[i]
    tpq = shown.score.ticks_per_quarter
    sigs = [(s.time / tpq, s.numerator, s.denominator) for s in shown.score.time_signatures]
    real_score = (float(real.per_phrase["anomaly"][i]), float(real.per_phrase["realness"][i])) if real else None
    return RollExample(p.song, p.start_bar, row.decoded[i].context_notes, row.decoded[i].continuation_notes,
                       real.decoded[i].continuation_notes if real else p.continuation_notes,
                       context_end_tick(tok, bench.contexts[i], bars) / tok.time_division, bar_lines(sigs, 2 * bars),
                       (float(row.per_phrase["anomaly"][i]), float(row.per_phrase["realness"][i])), real_score)


def row_media(row: Row, real: Row | None, bench: Benchmark, folder: Path, synth, log) -> RowMedia:
    """The row's first examples as MIDI (context and continuation on two tracks) and audio, and
    its piano rolls as PNG bytes."""
    import matplotlib.pyplot as plt

    media = RowMedia(row.name, profile_png=profile_chart(row.name, row.metrics) if row.status == "ok" else None)
    k = min(bench.options.examples, len(row.decoded)) if row.status == "ok" else 0
    if not k:
        return media
    folder.mkdir(parents=True, exist_ok=True)
    shown = example_indices([(p.song, p.start_bar) for p in bench.phrases], k)  # different songs and contexts
    rolls = [_roll_example(i, row, real if real is not None and real.status == "ok" else None, bench) for i in shown]
    for n, (i, ex) in enumerate(zip(shown, rolls)):
        midi = folder / f"{row.name}_{n:02d}.mid"
        row.decoded[i].two_track_score().dump_midi(str(midi))
        audio = None
        if synth is not None:
            try:
                audio = render(synth, midi, midi.with_suffix(SUFFIX))
            except RuntimeError as e:  # one bad render loses one player, not the benchmark
                log(f"{row.name}: no audio for example {n}: {e}")
        media.examples.append(ExampleMedia(f"{Path(ex.song).stem}, bars {ex.start_bar + 1}-{ex.start_bar + len(ex.bars) - 1}",
                                           f"anomaly {ex.score[0]:.2f}, realness {ex.score[1]:.2f}", midi, audio))
    fig = piano_roll_grid(rolls, row.name)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    media.rolls_png = buf.getvalue()
    (folder / "piano_rolls.png").write_bytes(media.rolls_png)
    return media


@contextmanager
def shown(result: BenchmarkResult, bench: Benchmark, log=print) -> Iterator[Shown]:
    """What `result` (its `entries` ranked) shows, its files in a temporary folder that lasts as
    long as the `with` block; sets result.report (the report, written under --report-dir)."""
    import matplotlib.pyplot as plt
    import pandas as pd

    t0 = time.perf_counter()
    synth, audio_note = find_synth()
    if audio_note:
        log(audio_note)
    real = next((r for r in result.rows if r.name == "real"), None)
    o = bench.options
    with tempfile.TemporaryDirectory() as tmp:
        media = {r.name: row_media(r, real, bench, Path(tmp) / r.name, synth, log) for r in result.rows}
        bench.stage_seconds["examples: midi, audio, piano rolls"] = time.perf_counter() - t0
        meta = {"data": f"{bench.data.report['corpus']} (data_hash {bench.data.data_hash})",
                "contexts": f"{len(bench.context_index)} test contexts, seed {o.seed}, {o.samples} sample(s) each",
                "sampling": f"temperature {o.temperature}, top_p {o.top_p}",
                "written": time.strftime("%Y-%m-%d %H:%M:%S")}
        report = write_report(Path(o.report_dir) / result.benchmark_id / "report.html", result.benchmark_id,
                              result.command or "run_benchmark() from Python", meta, result.entries, result.critic,
                              media, audio_note)
        result.report = report
        header, cells = table_rows(result.entries)
        picture = table_png(header, cells, f"phrasebench leaderboard {result.benchmark_id}",
                            [RANK_RULE, *table_notes(result.entries)[:-1]])
        files = {}
        for row in result.rows:
            m = media[row.name]
            files[row.name] = [(f, "examples") for ex in m.examples for f in (ex.midi, ex.audio) if f is not None]
            if m.rolls_png:
                files[row.name].append((Path(tmp) / row.name / "piano_rolls.png", None))
        try:
            yield Shown({r.name: description(rank, result.entries, result) for rank, r in enumerate(result.rows, 1)},
                        files, report, picture, pd.DataFrame(table_columns(result.entries), dtype=object))
        finally:
            plt.close(picture)
