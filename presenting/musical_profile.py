"""A leaderboard row's musical profile for people (the `profile_*` metrics of
`benchmark/row_profile.py`): the `--wide` table's second table, and one small chart per row in
the report."""

from __future__ import annotations

import math

from metrics.profile import PROFILE

SHORT = {"pitch_class_entropy": "pc entropy", "bar_pitch_class_entropy": "pc entropy/bar", "scale_consistency": "scale cons.", "key_consistency": "in key", "groove_consistency": "groove cons.",
         "pitch_range": "pitch range", "mean_abs_interval": "mean |interval|", "note_density": "notes/beat",
         "compression_ratio": "compression", "empty_beat_rate": "empty beats"}


def _num(value, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def profile_table(entries: list[tuple[str, str, dict, dict]]) -> tuple[str, list[str], list[list[str]]]:
    """(title, header, rows) for `--wide`: per row and descriptor, "mean (d)" with d the distance
    from the reference in its standard deviations; the header gives the reference's mean."""
    ref = next((m for _, status, m, _ in entries if status == "ok" and f"profile_{PROFILE[0]}_ref" in m), {})
    header = ["#", "row", *(f"{SHORT[d]}\nreal {_num(ref.get(f'profile_{d}_ref'))}" for d in PROFILE)]
    rows = []
    for i, (name, status, m, _) in enumerate(entries, 1):
        if status != "ok" or f"profile_{PROFILE[0]}" not in m:
            rows.append([str(i), name, *["-"] * len(PROFILE)])
            continue
        rows.append([str(i), name, *(f"{_num(m.get(f'profile_{d}'))} ({_num(m.get(f'profile_{d}_dist'), 1)})"
                                     for d in PROFILE)])
    return ("musical profile: the row's mean (its distance from the reference continuations, in their standard "
            "deviations: 0 is real; 95% intervals in MLflow and the report)", header, rows)


def profile_chart(name: str, metrics: dict[str, float]) -> bytes | None:
    """A small PNG: one line per descriptor, the row's distance from the reference (dot) with its
    95% interval, against the band |d| < 1 around real (0); None when the row has no profile."""
    if f"profile_{PROFILE[0]}_dist" not in metrics:
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 2.5))
    ax.axvspan(-1, 1, color="#e8f2e8", zorder=0)
    ax.axvline(0, color="#55a868", linewidth=1.2)
    limit = 3.0
    for y, d in enumerate(PROFILE):
        dist, low, high = (metrics.get(f"profile_{d}_dist{s}", math.nan) for s in ("", "_ci_low", "_ci_high"))
        if math.isnan(dist):
            ax.text(0, y, "undefined", fontsize=7, ha="center", va="center", color="#999999")
            continue
        clip = lambda v: max(-limit, min(limit, v))  # noqa: E731
        if not (math.isnan(low) or math.isnan(high)):
            ax.plot([clip(low), clip(high)], [y, y], color="#dd8452", linewidth=2)
        marker = "o" if abs(dist) <= limit else (">" if dist > 0 else "<")  # past the edge: an arrow, in red
        ax.plot([clip(dist)], [y], marker, color="#dd8452" if marker == "o" else "#a00000", markersize=5)
        ax.text(limit * 1.15, y, f"{metrics[f'profile_{d}']:.2f} (real {metrics[f'profile_{d}_ref']:.2f})",
                fontsize=7, va="center")
    ax.set_yticks(range(len(PROFILE)))
    ax.set_yticklabels([SHORT[d] for d in PROFILE], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-limit * 1.1, limit * 1.1)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_xlabel("distance from real (reference sd); clipped at ±3", fontsize=7)
    ax.set_title(f"{name}: musical profile", fontsize=9, loc="left")
    fig.tight_layout()
    fig.subplots_adjust(right=0.68)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
