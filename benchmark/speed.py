"""`cli.py speed`: throughput of each stage, each next to a reference measured in the same run.

Figures are printed, never asserted: timings on a shared 2-core machine vary.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import symusic

from phrases import PhraseConfig, prepare
from phrases.scan import find_midi_files


@dataclass
class SpeedRow:
    stage: str
    value: float
    unit: str
    reference: str
    ratio: str


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def prepare_data_speed(corpus: Path, workers: int | None = None) -> list[SpeedRow]:
    """prepare-data on the whole corpus, cold (empty cache) and warm, against symusic's raw parse."""
    files = find_midi_files(corpus)
    raw_s, _ = _timed(lambda: [symusic.Score(str(f)) for f in files])
    with tempfile.TemporaryDirectory() as cache:
        cold_s, data = _timed(lambda: prepare(corpus, PhraseConfig(), Path(cache), workers=workers))
        warm_s, _ = _timed(lambda: prepare(corpus, PhraseConfig(), Path(cache), workers=workers))
    n = len(files)
    raw_ref = f"symusic parse only: {raw_s:.2f} s ({n / raw_s:,.0f} files/s, 1 core)"
    return [
        SpeedRow("prepare-data cold", cold_s, "s", raw_ref, f"{cold_s / raw_s:.1f}x raw parse"),
        SpeedRow("prepare-data warm", warm_s, "s", raw_ref, f"{warm_s / raw_s:.2f}x raw parse"),
        SpeedRow(
            "prepare-data cold throughput", n / cold_s, "files/s",
            f"{data.report['windows']['train'] + data.report['windows']['val'] + data.report['windows']['test']:,} windows",
            f"{sum(data.report['tokens'].values()) / cold_s:,.0f} tokens/s",
        ),
    ]


def critic_speed(critic, phrases, max_phrases: int = 512, target: float = 200.0) -> SpeedRow:
    """Critic scoring throughput in doubled phrases (context + continuation) per second, on up to
    `max_phrases` real phrases, after one warm-up batch; next to the issue's target."""
    split = phrases.subset(range(min(len(phrases), max_phrases)))
    ctx, cont = split.token_lists("context"), split.token_lists("continuation")
    critic.score(ctx[:16], cont[:16])  # warm-up: first-call allocations
    seconds, _ = _timed(lambda: critic.score(ctx, cont))
    n_tokens = sum(len(c) + len(d) for c, d in zip(ctx, cont))
    rate = len(ctx) / seconds
    return SpeedRow(
        f"critic scoring ({critic.name}, {critic.num_parameters() / 1e6:.2f}M params)", rate, "phrases/s",
        f"target {target:.0f} phrases/s; {n_tokens / seconds:,.0f} tokens/s over {len(ctx)} phrases",
        f"{rate / target:.2f}x target",
    )
