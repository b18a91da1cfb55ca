"""Which phrases a row shows in the report: different songs and contexts, the same for every row."""

from __future__ import annotations

import numpy as np


def example_indices(contexts: list[tuple[str, int]], k: int) -> list[int]:
    """`k` phrase indices, each from a different song while songs last (then another context of
    each song, and so on), the songs spread evenly over their order; never the same context
    twice while another is left. `contexts[i]` is phrase i's (song, start_bar); a context
    repeated by --samples counts once. Deterministic: every row of a benchmark shows the same
    contexts."""
    songs: dict[str, dict[int, int]] = {}  # song -> start_bar -> first phrase index
    for i, (song, start) in enumerate(contexts):
        songs.setdefault(song, {}).setdefault(int(start), i)
    order = list(songs)
    if not order or k <= 0:
        return []
    first = [order[j] for j in dict.fromkeys(np.linspace(0, len(order) - 1, min(k, len(order))).round().astype(int))]
    order = first + [s for s in order if s not in first]
    picks: list[int] = []
    for depth in range(max(len(v) for v in songs.values())):
        for song in order:
            starts = list(songs[song].values())
            if depth < len(starts) and len(picks) < k:
                picks.append(starts[depth])
    return sorted(picks)
