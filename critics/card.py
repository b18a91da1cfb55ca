"""A critic's metric card: what it measures, both sides of its validity suite with their floors,
its mixing ladder, its audit on the built-in generators and its domain, carried inside the critic's
file (as a model card is, Mitchell et al. 2019) and printed in every report that it measured.
"""

from __future__ import annotations

import math

from critics.domain import DomainProfile

MEASURES = (
    "primary_gap = max(critic_gap, bland_gap, misfit_gap), each 2|AUROC - 1/2| of a row's phrases against real "
    "reference phrases, so a row is wrong when it is too strange, too bland or blind to its context, in either "
    "direction. critic_gap reads the anomaly: the weighted minimum p-value of a sequence VAE's wrong-note, timing and "
    "context-coherence signals (critics/vae.py). bland_gap reads the blandness: the minimum p-value of flat pitch, "
    "rhythm and duration histograms, repeated and echoed 4-note patterns, sameness across contexts and runs copied "
    "from the training split (critics/blandness.py). misfit_gap reads the misfit: a boosted-tree model of 28 "
    "context-vs-continuation comparisons (key, register, seam, density, feel) trained to tell real phrases from "
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


def _f(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def card_lines(card: dict) -> list[str]:
    """The card for people, one line each (the report and `cli.py critic-card` print these)."""
    if not card:
        return ["this critic carries no metric card (a critic from before cards): train it again with train-critic"]
    lines = [f"critic {card.get('version', '?')}: {card['measures']}", f"domain: {card['domain']}"]
    if card.get("profile", {}).get("ranges"):
        lines.append(f"measured range of that music: {DomainProfile.from_dict(card['profile']).summary()}")
    for side, title in (("strange", "strange side (corruptions; critic AUROC vs floor)"),
                        ("bland", "bland side (rule-made families; primary AUROC vs floor)")):
        rows = card.get(side, [])
        caught = sum(r["valid"] for r in rows)
        lines.append(f"{title}: {caught} of {len(rows)} at or above their floor")
        lines += [f"  {r['name']}: {_f(r['auroc'])} (primary {_f(r['primary'])}, floor {_f(r['floor'])})"
                  f"{'' if r['valid'] else '  BELOW FLOOR'}" for r in rows]
    if card.get("ladder"):
        lines.append("mixing ladder (critic_gap with a share q of noise): "
                     + ", ".join(f"q={q:.2f}: {g:.3f}" for q, g in card["ladder"]))
    for generator, steps in card.get("audit", {}).items():
        lines.append(f"audit {generator}: " + "; ".join(f"step {s}: primary_gap {_f(p)}, nll {_f(n)}, coverage {_f(c)}"
                                                       for s, p, n, c in steps))
    return lines


__all__ = ["MEASURES", "card_lines", "make_card"]
