"""What a leaderboard says about its critic: the sha256 of its weights (two leaderboards are
comparable when their critic_sha tags match), its training budget, the AUROCs of its validity
suite, and whether they clear the floor below which its critic_gap is a weak measurement."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# AUROC a critic must reach on each corruption of its validity suite (critics/corruptions.py):
# what a listener hears at once (unigram noise, all pitches random), and the levels the README
# and issue 14 name as what one would like (tritone, swap, shuffled pitches, onset jitter).
VALIDITY_FLOORS = {"random": 0.95, "random_pitch_100": 0.95, "shuffle_pitch": 0.75, "tritone": 0.75, "swap": 0.75,
                   "jitter": 0.80}


@dataclass
class CriticFacts:
    run_id: str
    sha256: str = ""
    budget: str = "full"
    auroc: dict[str, float] = field(default_factory=dict)

    @property
    def below_floor(self) -> list[str]:
        """"tritone 0.610 < 0.75" for every corruption under its floor (or the suite missing)."""
        if not self.auroc:
            return ["no validity suite logged"]
        return [f"{k} {self.auroc[k]:.3f} < {floor:.2f}" if k in self.auroc else f"{k} not measured"
                for k, floor in VALIDITY_FLOORS.items() if k not in self.auroc or self.auroc[k] < floor]

    @property
    def validity(self) -> str:
        """"ok", or "below its validity floor (tritone 0.610 < 0.75, ...)": the tag every row carries."""
        below = self.below_floor
        return "ok" if not below else f"below its validity floor ({', '.join(below)})"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def critic_facts(run_id: str) -> CriticFacts:
    """The facts of the critic an MLflow run trained: its checkpoint's sha256, budget, suite AUROCs."""
    import mlflow

    from training.tracking import run_artifact, with_retries

    run = with_retries(lambda: mlflow.get_run(run_id))
    auroc = {k[len("auroc_"):]: float(v) for k, v in run.data.metrics.items() if k.startswith("auroc_")}
    sha = sha256_file(run_artifact(run_id, "checkpoint/best.pt"))
    return CriticFacts(run_id, sha, run.data.tags.get("budget", "full"), auroc)
