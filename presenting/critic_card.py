"""A critic's metric card (`critics/card.py`) for people: the lines every report prints."""

from __future__ import annotations

import math

from critics.domain import DomainProfile


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
