"""How much the corpus's own soloists borrow from its training split: the floor of the leaderboard's
`copies the training set` flag (README: Two-sided).

    python -m benchmark.borrowing [--corpus DIR]

For the validation and test continuations: `copy_rate` (8-note patterns found in the training
split), the share with any copied run of 8 or more notes, the longest run, the share with at least
half their notes in one run (`copy_share`), and the soloists (file names up to the first `_`)
who borrow most.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from metrics.degeneracy import copied_run
from metrics.plagiarism import TrainingPatterns
from phrases import PhraseConfig, default_corpus, prepare


def borrowing(data, top: int = 4) -> list[str]:
    """One line per held-out split, and one with its most borrowing soloists."""
    patterns = TrainingPatterns.from_split(data.train)
    lines = []
    for name in ("val", "test"):
        split = getattr(data, name)
        runs = np.array([patterns.longest_run(p.continuation_notes) for p in split])
        share = np.array([copied_run(p.continuation_notes, patterns) >= 0.5 for p in split])
        rate = patterns.copy_rate([p.continuation_notes for p in split])
        lines.append(f"{name}: {len(split)} continuations; copy_rate {rate:.4f}; a copied run of 8+ notes in "
                     f"{np.mean(runs > 0):.4f}; longest {runs.max(initial=0)} notes; copy_share {share.mean():.4f}")
        by = defaultdict(list)
        for p, r in zip(split, runs):
            by[p.song.split("_")[0]].append(r)
        most = sorted(((np.mean(np.array(v) > 0), k, len(v), max(v)) for k, v in by.items()), reverse=True)[:top]
        lines.append("  borrowing most: " + "; ".join(f"{k} {s:.3f} of {n} (longest {m} notes)" for s, k, n, m in most))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(default_corpus()))
    print("\n".join(borrowing(prepare(parser.parse_args().corpus, PhraseConfig()))))


if __name__ == "__main__":
    main()
