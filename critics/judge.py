"""The judge: a second shipped critic that shares neither weights, nor seed, nor sizes with the
default critic (`critics.default`), so that a generator optimized against the default critic (a
row tagged `optimized_against=<the default's sha256>`) is still measured by an instrument it never
saw. Its recipe (README, "The judge"):

    python -m benchmark.judge_recipe          # JUDGE_STEPS steps, seed JUDGE_SEED, JUDGE_MODEL

It is the same VAE family (the default's is the only one validated here) with other sizes
(`JUDGE_MODEL`) and another seed, trained on the same training split: judge v1 learnt from a seeded
half of the songs, was as easily fooled by an attack on the default critic as the default itself,
and missed two floors of its validity suite, so the half bought no independence that was measured
and cost strength. Its bland and context sides are fitted as `train-critic` fits them. Its primary
gap on a leaderboard row is `judge_gap`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phrases.files import file_sha256

VERSION = "v2"
FILE = Path(__file__).resolve().parent / "default" / f"judge-{VERSION}.pt"
SHA256 = "e40b3a535e3525330664685c8907bfa4c9d3f94d3ce36abf9fd8ca87cef1698d"  # the file's SHA-256, checked on every load
JUDGE_SEED = 25  # the default critic's is 0
JUDGE_STEPS = 5000  # the default critic's recipe: 4,000
JUDGE_BATCH = 32
# the default critic's VAEConfig: d_embed 128, enc_hidden 128, hidden 256, latent 32
JUDGE_MODEL = {"d_embed": "160", "enc_hidden": "192", "hidden": "320", "latent": "24"}


def available() -> bool:
    return bool(SHA256) and FILE.is_file()


def load(device: str = "auto", path: Path | None = None, sha256: str | None = None):
    """The judge, after checking that its file is the versioned one (or `path` with `sha256`)."""
    from critics.registry import critic_class_of_kind
    from phrases.errors import UserError
    from training.checkpoint import load_checkpoint

    path, want = (path or FILE), (sha256 or SHA256)
    sha = file_sha256(path)
    if sha != want:
        raise UserError(f"{path}: its SHA-256 {sha[:12]} is not the judge {VERSION}'s ({want[:12]}); "
                        "restore it with `git checkout -- critics/default`")
    critic = critic_class_of_kind(load_checkpoint(path)["kind"]).load(path, device)
    critic.sha256 = sha
    return critic


class JudgeScale:
    """The judge's primary gap on leaderboard rows: its three sides (its anomaly, its blandness
    and its misfit, as the primary score reads them from the primary critic) of a row's phrases
    against the same reference phrases, and the worst of their two-sided gaps with the same
    bootstrap intervals (`gap`). The degeneracy statistics of a phrase need no model, so the
    caller's (`critics.sides.other_sides`) are read again here."""

    def __init__(self, critic, ref_contexts, ref_continuations, ref_decoded, ref_stats: dict[str, np.ndarray]) -> None:
        self.critic = critic
        self.sha256 = getattr(critic, "sha256", "")
        self.ref_sides = self.sides(ref_contexts, ref_continuations, ref_decoded, ref_stats)

    def sides(self, contexts, continuations, decoded, stats: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """(anomaly, blandness[, misfit]) of each phrase under the judge."""
        c = self.critic
        out = [c.analyze(contexts, continuations).anomaly]
        if getattr(c, "blandness", None) is not None:
            out.append(c.blandness.score(stats))
        if getattr(c, "context_fit", None) is not None:
            out.append(c.context_fit.score(decoded))
        return tuple(out)

    def gap(self, sides: tuple[np.ndarray, ...], n_boot: int, seed: int) -> tuple[float, float, float]:
        """judge_gap = max over the judge's sides k of 2 |AUROC(row_k, reference_k) - 1/2|, and its
        95% interval: the maxima of the sides' interval ends (max is monotone), each side's the
        image of its signed AUROC's bootstrap interval (`metrics.two_sample.critic_gap_interval`)."""
        from metrics import auroc, bootstrap, critic_gap_interval

        gaps = [critic_gap_interval(bootstrap(auroc, mine, ref, n_boot=n_boot, seed=seed))
                for mine, ref in zip(sides, self.ref_sides)]
        return tuple(max(g[i] for g in gaps) for i in range(3))


def disagree(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    """Two gaps (value, low, high) disagree beyond their intervals when the intervals do not overlap."""
    return bool(a[1] > b[2] or b[1] > a[2])
