"""Pictures for the leaderboard: piano-roll grids of phrases and the leaderboard as a table."""

from __future__ import annotations

import numpy as np

CONTEXT_COLOUR = "#4c72b0"
CONTINUATION_COLOUR = "#dd8452"
REAL_COLOUR = "#55a868"


def _roll(ax, notes: np.ndarray, offset: float, colour: str) -> None:
    for n in notes:
        ax.add_patch(_rect(n["onset_beats"] + offset, n["pitch"], n["duration_beats"], colour))


def _rect(x, y, w, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y - 0.4), max(w, 0.05), 0.8, color=colour, linewidth=0)


def piano_roll_grid(examples: list[tuple[np.ndarray, np.ndarray, np.ndarray]], title: str, context_beats: float):
    """A matplotlib figure, one row per example: context (blue) then the generated continuation
    (orange) on the left, the same context with the real continuation (green) on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(examples), 1)
    fig, axes = plt.subplots(n, 2, figsize=(12, 1.8 * n), squeeze=False, sharey="row")
    for i, (ctx, gen, real) in enumerate(examples):
        for j, (cont, colour, label) in enumerate([(gen, CONTINUATION_COLOUR, title), (real, REAL_COLOUR, "real")]):
            ax = axes[i, j]
            _roll(ax, ctx, 0.0, CONTEXT_COLOUR)
            _roll(ax, cont, context_beats, colour)
            pitches = np.concatenate([ctx["pitch"], cont["pitch"], real["pitch"]]) if len(ctx) + len(cont) + len(real) else np.array([60])
            ax.set_xlim(0, 2 * context_beats)
            ax.set_ylim(pitches.min() - 2, pitches.max() + 2)
            ax.axvline(context_beats, color="grey", linewidth=0.8, linestyle="--")
            if i == 0:
                ax.set_title(f"context + {label}")
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def table_png(header: list[str], rows: list[list[str]], title: str):
    """The printed leaderboard as a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(min(2 + 1.6 * len(header), 24), 1 + 0.45 * (len(rows) + 1)))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.4)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
