"""Pictures for the leaderboard: piano rolls a musician reads, and the leaderboard as a table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONTEXT_COLOUR = "#4c72b0"
CONTINUATION_COLOUR = "#dd8452"
REAL_COLOUR = "#55a868"
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
LABELLED = {24: (0, 4, 7), 48: (0, 7), 128: (0,)}  # pitch classes named on the axis, by the range shown


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name, middle C = C4."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def bar_lines(signatures: list[tuple[float, int, int]], n_bars: int) -> list[float]:
    """Beats (quarter notes) of the first `n_bars` + 1 bar lines, from time signatures given as
    (beat, numerator, denominator) sorted by beat; 4/4 before the first."""
    lines, beat, k = [0.0], 0.0, 0
    num, den = 4, 4
    for _ in range(n_bars):
        while k < len(signatures) and signatures[k][0] <= beat + 1e-6:
            num, den = signatures[k][1], signatures[k][2]
            k += 1
        beat += num * 4 / den
        lines.append(beat)
    return lines


@dataclass
class RollExample:
    """One example phrase of a row, with what its titles say."""

    song: str
    start_bar: int  # counted from 0
    context: np.ndarray  # notes views (phrases.NOTE_DTYPE); the continuations start at context_beats
    generated: np.ndarray
    real: np.ndarray
    context_beats: float
    bars: list[float]  # bar lines in beats, from 0 to the phrase's end
    score: tuple[float, float]  # (anomaly, realness) of this row's phrase
    real_score: tuple[float, float] | None = None


def _roll(ax, notes: np.ndarray, offset: float, colour: str) -> None:
    from matplotlib.patches import Rectangle

    for n in notes:
        ax.add_patch(Rectangle((n["onset_beats"] + offset, n["pitch"] - 0.4), max(float(n["duration_beats"]), 0.05), 0.8,
                               color=colour, linewidth=0))


def _panel(ax, ex: RollExample, cont: np.ndarray, colour: str, title: str) -> None:
    pitches = np.concatenate([ex.context["pitch"], cont["pitch"]]).astype(int)
    low, high = (int(pitches.min()), int(pitches.max())) if len(pitches) else (60, 72)
    _roll(ax, ex.context, 0.0, CONTEXT_COLOUR)
    _roll(ax, cont, ex.context_beats, colour)
    ax.set_xlim(0, ex.bars[-1])
    ax.set_ylim(low - 1.5, high + 1.5)  # this side's own range: nothing is cut off
    for i, beat in enumerate(ex.bars):
        ctx_end = abs(beat - ex.context_beats) < 1e-6
        ax.axvline(beat, color="black" if ctx_end else "#999999", linewidth=1.4 if ctx_end else 0.6,
                   linestyle="--" if ctx_end else "-")
    ax.set_xticks(ex.bars[:-1])
    ax.set_xticklabels([str(ex.start_bar + 1 + i) for i in range(len(ex.bars) - 1)], fontsize=8)
    named = next(classes for span, classes in LABELLED.items() if high - low <= span)
    ticks = [p for p in range(low - 1, high + 2) if p % 12 in named]
    ax.set_yticks(ticks)
    ax.set_yticklabels([pitch_name(p) for p in ticks], fontsize=8)
    for p in range(low - 1, high + 2):
        if p % 12 == 0:
            ax.axhline(p, color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_title(title, fontsize=9, loc="left", parse_math=False)  # a song or row name is words, never TeX


def piano_roll_grid(examples: list[RollExample], row: str):
    """A matplotlib figure, one line per example: context (blue) then this row's continuation
    (orange) on the left, the same context with the real continuation (green) on the right (the
    `real` row: one panel). Bar lines, bar numbers of the song, pitch names, each panel's own
    pitch range; titles give the song, the bars and the critic's score of the phrase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compare = row != "real"
    n = max(len(examples), 1)
    fig, axes = plt.subplots(n, 2 if compare else 1, figsize=(15 if compare else 8, 2.3 * n), squeeze=False)
    for i, ex in enumerate(examples):
        song = Path(ex.song).stem
        bars = f"bars {ex.start_bar + 1}-{ex.start_bar + len(ex.bars) - 1}"
        a, r = ex.score
        _panel(axes[i, 0], ex, ex.generated, REAL_COLOUR if not compare else CONTINUATION_COLOUR,
               f"{song}, {bars}: context + {row}  (anomaly {a:.2f}, realness {r:.2f})")
        if compare:
            real = f"  (anomaly {ex.real_score[0]:.2f}, realness {ex.real_score[1]:.2f})" if ex.real_score else ""
            _panel(axes[i, 1], ex, ex.real, REAL_COLOUR, f"{song}, {bars}: context + real continuation{real}")
    fig.tight_layout()
    return fig


def table_png(header: list[str], rows: list[list[str]], title: str, notes: list[str] = ()):
    """The printed leaderboard as a matplotlib figure, large enough to read when scaled down: the
    title, the table, and its notes wrapped beneath."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [[c.replace("\n", " (") + (")" if "\n" in c else "") for c in r] for r in rows] or [["-"] * len(header)]
    chars = [max(max(len(x) for x in h.split("\n")), *(len(r[j]) for r in cells)) for j, h in enumerate(header)]
    width = max(8.0, 0.6 + 0.12 * sum(c + 3 for c in chars))
    wrapped = [line for n in notes for line in textwrap.wrap(n, int(width * 10.5))]
    rows_in, head_in, title_in, notes_in = 0.42 * len(cells), 0.75, 0.6, 0.24 * len(wrapped) + 0.2
    height = title_in + head_in + rows_in + notes_in
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0.01, notes_in / height, 0.98, (head_in + rows_in) / height])
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=header, cellLoc="center", bbox=[0, 0, 1, 1],
                     colWidths=[c + 3 for c in chars])
    table.auto_set_font_size(False)
    table.set_fontsize(12)
    for (r, _), cell in table.get_celld().items():
        cell.get_text().set_parse_math(False)  # "$" in a name is a dollar sign, not TeX
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#f0f0f0")
    fig.text(0.01, 1 - 0.35 / height, title, fontsize=14, va="center", parse_math=False)
    for i, line in enumerate(wrapped):
        fig.text(0.01, (notes_in - 0.2 - 0.24 * i) / height, line, fontsize=10, va="top", parse_math=False)
    return fig
