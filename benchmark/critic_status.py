"""What a leaderboard says about its critic: the sha256 of its weights (two leaderboards are
comparable when their critic_sha tags match), its budget and source, the AUROCs of its validity
suite, and whether they clear the floor (`critics.validity`) below which its critic_gap is a weak
measurement."""

from __future__ import annotations

from dataclasses import dataclass, field

@dataclass
class CriticFacts:
    run_id: str
    sha256: str = ""
    budget: str = "full"
    source: str = "trained"
    auroc: dict[str, float] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)  # critics.validity: best baseline + 0.05, at most 0.98
    card: dict = field(default_factory=dict)  # critics.card

    @property
    def below_floor(self) -> list[str]:
        """"tritone 0.764 < 0.777" for every corruption under its floor (or the suite missing)."""
        if not self.auroc:
            return ["no validity suite recorded"]
        return [f"{k} {self.auroc.get(k, float('nan')):.3f} < {floor:.3f}" for k, floor in self.floor.items()
                if not self.auroc.get(k, 0.0) >= floor]

    @property
    def validity(self) -> str:
        """"ok", or "below its validity floor (tritone 0.764 < 0.777, ...)": the tag every row carries."""
        below = self.below_floor
        return "ok" if not below else f"below its validity floor ({', '.join(below)})"


def critic_facts(found) -> CriticFacts:
    """The facts of the critic a benchmark measures with (`lookup.Found`): its checkpoint's
    sha256, budget, source and the validity suite figures it carries (`VAECritic.validity`)."""
    v = getattr(found.model, "validity", {}) or {}
    return CriticFacts(found.run_id, found.sha256, found.budget, found.source,
                       {k[6:]: x for k, x in v.items() if k.startswith("auroc_")},
                       {k[6:]: x for k, x in v.items() if k.startswith("floor_")}, getattr(found.model, "card", {}) or {})
