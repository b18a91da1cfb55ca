"""A ranked benchmark, published: one MLflow run per row (tags, metrics with `rank`, a
description, example MIDI and audio, piano rolls, per-phrase CSV, the leaderboard as a table and
a picture, the HTML report), and the report written next to the run. Every row is tagged
`complete` once all are logged: `leaderboard` shows complete benchmarks only."""

from __future__ import annotations

import csv
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmark.audio import SUFFIX, find_synth, render
from benchmark.examples import example_indices
from benchmark.leaderboard import (
    BEST, LEADERBOARD_KEYS, RANK_RULE, fmt, leaderboard_experiment, point_latest_view, table_notes, table_rows,
)
from benchmark.plots import RollExample, bar_lines, piano_roll_grid, table_png
from benchmark.row_profile import profile_chart
from benchmark.html_report import ExampleMedia, RowMedia, write_report
from benchmark.runner import REFERENCE_ROWS, Benchmark, BenchmarkResult, Row
from phrases.decode import context_end_tick
from store import (DESCRIPTION_TAG, active_run, log_artifact, log_figure, log_metrics, log_params, log_table, log_text,
                   mark_complete, process_tags, with_retries)


def row_tags(row: Row, result: BenchmarkResult, bench: Benchmark) -> dict[str, str]:
    critic = result.critic
    tags = {
        "generator": row.name, "benchmark_id": result.benchmark_id, "critic_run_id": critic.run_id,
        "critic_sha": critic.sha256, "critic_validity": critic.validity, "critic_budget": critic.budget,
        "critic_source": critic.source,
        "generator_run_id": row.generator_run_id, "data_hash": bench.data.data_hash, "source": row.source,
        "seed": str(bench.options.seed), "status": row.status, "reference_row": str(row.name in REFERENCE_ROWS).lower(),
        **row.tags,
    }
    if row.error:
        tags["error"] = row.error
    return tags


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


def _table(entries: list[tuple]) -> dict[str, list]:
    """The leaderboard for `mlflow.log_table`, as the printed table reads: one row per leaderboard
    row, each key with its interval in one column."""
    cols: dict[str, list] = {"rank": [], "row": [], "source": [], "budget": [], "status": [],
                             **{k: [] for k in LEADERBOARD_KEYS}}
    for name, status, metrics, tags in entries:
        for key, value in (("rank", int(metrics["rank"])), ("row", name), ("source", tags["source"]),
                           ("budget", tags.get("budget", "")), ("status", status)):
            cols[key].append(value)
        for k in LEADERBOARD_KEYS:
            cols[k].append(fmt(metrics, k) if status == "ok" else "-")
    return cols


def _per_phrase_csv(row: Row, bench: Benchmark) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["phrase", "song", "start_bar", *row.per_phrase])
    for i in range(len(row.continuations)):
        p = bench.phrases[i]
        w.writerow([i, p.song, p.start_bar, *(f"{v[i]:.6g}" if isinstance(v[i], (float, np.floating)) else v[i]
                                              for v in row.per_phrase.values())])
    return out.getvalue()


def publish(result: BenchmarkResult, bench: Benchmark, quick: bool = False, log=print) -> None:
    """Log every row to `phrasebench-leaderboard`, write the report; sets result.entries and
    result.report."""
    import matplotlib.pyplot as plt
    import pandas as pd

    t0 = time.perf_counter()
    exp = leaderboard_experiment()
    result.entries = [(r.name, r.status, {**r.metrics, "rank": float(i)}, row_tags(r, result, bench))
                      for i, r in enumerate(result.rows, 1)]
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
        table = _table(result.entries)
        t1 = time.perf_counter()
        run_ids = []
        for rank, (row, (_, _, metrics, tags)) in enumerate(zip(result.rows, result.entries), 1):
            def log_run(row=row, metrics=metrics, tags=tags, rank=rank) -> str:
                with active_run(exp, run_name=f"{row.name}-{result.benchmark_id}",
                                tags={**tags, DESCRIPTION_TAG: description(rank, result.entries, result),
                                      **process_tags()}) as run:
                    log_params({"contexts": len(bench.context_index), "samples": o.samples,
                                "temperature": o.temperature, "top_p": o.top_p, "quick": quick,
                                "rows": len(result.rows)})
                    log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
                    for ex in media[row.name].examples:
                        log_artifact(ex.midi, "examples")
                        if ex.audio is not None:
                            log_artifact(ex.audio, "examples")
                    if media[row.name].rolls_png:
                        log_artifact(Path(tmp) / row.name / "piano_rolls.png")
                        log_text(_per_phrase_csv(row, bench), "phrases.csv")
                    log_figure(picture, "leaderboard.png")
                    log_table(pd.DataFrame(table, dtype=object), "leaderboard.json")
                    log_artifact(report)
                    return run.info.run_id

            run_ids.append(with_retries(log_run))
        plt.close(picture)
        for run_id in run_ids:  # last: a benchmark killed before this is shown as incomplete, never as whole
            mark_complete(run_id)
        point_latest_view(result.benchmark_id)
        bench.stage_seconds["mlflow logging"] = time.perf_counter() - t1

