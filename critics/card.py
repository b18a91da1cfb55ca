"""A critic's metric card: what it measures, both sides of its validity suite with their floors,
its mixing ladder, its audit on the built-in generators and its domain, carried inside the critic's
file (as a model card is, Mitchell et al. 2019) and printed in every report that it measured
(`presenting/critic_card.py`).
"""

from __future__ import annotations

MEASURES = (
    "primary_gap = max(critic_gap, bland_gap, misfit_gap), each 2|AUROC - 1/2| of a row's phrases against real "
    "reference phrases, so a row is wrong when it is too strange, too bland or blind to its context, in either "
    "direction. critic_gap reads the anomaly: the weighted minimum p-value of a sequence VAE's wrong-note, timing and "
    "context-coherence signals (critics/vae.py). bland_gap reads the blandness: the minimum p-value of flat pitch, "
    "rhythm and duration histograms, repeated and echoed 4-note patterns, sameness across contexts and runs copied "
    "from the training split (critics/blandness.py). misfit_gap reads the misfit: a boosted-tree model of 40 "
    "context-vs-continuation comparisons (key, register, the seam's pitch and timing, density, feel, figures and "
    "rhythms taken from the context) trained to tell real phrases from "
    "contexts continued by another song's line (critics/context_fit.py)."
)


def _rows(rows) -> list[dict]:
    return [{"name": r.name, "auroc": r.auroc, "primary": r.primary, "floor": r.floor, "valid": bool(r.valid),
             "baselines": {k: a for k, (a, _) in r.baselines.items()}} for r in rows if r.name != "real"]


def make_card(version: str, strange, bland, ladder, domain: str, profile: dict | None = None,
              audit: dict | None = None) -> dict:
    """The card of a critic: `strange` and `bland` are its validity suites' rows
    (`critics.validity`), `ladder` its (q, gap) mixing ladder, `domain` what music it was trained
    on in words, `profile` the measured ranges of that music, `audit` {generator: [(step,
    primary_gap, nll, coverage)]} where one was run."""
    return {"version": version, "measures": MEASURES, "domain": domain, "profile": profile or {},
            "strange": _rows(strange), "bland": _rows(bland), "ladder": [[float(q), float(g)] for q, g in ladder],
            "audit": audit or {}}


__all__ = ["MEASURES", "make_card"]
