"""The judge on the leaderboard (`critics.judge`; README, "The judge"): every row's `judge_gap`
beside its primary score, the rows where the two disagree beyond their intervals, and the rank
rule for a generator optimized against the primary critic:

    a row whose training run carries the tag optimized_against=<sha256> equal to the primary
    critic's sha256 is ranked by the worse (larger) of its primary_gap and its judge_gap
    (metric `rank_gap`, tag rank_by=worse_of_primary_and_judge)

so that the leaderboard cannot be won by fitting the instrument it is measured with.
"""

from __future__ import annotations

import math

from critics.judge import disagree

RANK_BY_WORSE = "worse_of_primary_and_judge"
TRAINING_TAGS = ("optimized_against", "init_from")  # a generator's training tags its leaderboard row carries
JUDGE_SCORE = ("judge_gap: the same primary score read by the judge, a second shipped critic with other weights, "
               "seed, sizes and training songs (README: The judge); '!=' marks a row whose primary_gap and "
               "judge_gap intervals do not overlap")


def load_judge(data, primary_sha: str, device: str = "auto", log=print):
    """The shipped judge when it fits `data` and is not itself the primary critic, else None (said)."""
    from critics import default, judge

    if not judge.available():
        log("judge: none shipped with this version; no judge_gap")
        return None
    critic = judge.load(device)
    if not default.matches(critic, data):
        log("judge: it knows another tokenizer or phrase length than this data's; no judge_gap")
        return None
    if critic.sha256 == primary_sha:
        log("judge: it is the primary critic here; no judge_gap")
        return None
    log(f"judge: {judge.FILE.name} (sha256 {critic.sha256[:12]})")
    return critic


def training_tags(run_id: str) -> dict[str, str]:
    """The tags of a generator's training run that its leaderboard row carries (`TRAINING_TAGS`)."""
    from store import get_run

    if not run_id:
        return {}
    tags = get_run(run_id).data.tags
    return {k: tags[k] for k in TRAINING_TAGS if tags.get(k)}


def judge_metrics(primary: tuple[float, float, float], judge: tuple[float, float, float]) -> dict[str, float]:
    """judge_gap with its interval, and judge_disagrees (1: the intervals do not overlap)."""
    from metrics import with_ci

    return {**with_ci("judge_gap", judge, (0.0, 1.0)), "judge_disagrees": float(disagree(primary, judge))}


def apply_rank_rule(rows, primary_sha: str) -> None:
    """Rows optimized against the primary critic (tag optimized_against = its sha256) get
    `rank_gap` = max(primary_gap, judge_gap), which the rank sorts by (`leaderboard.rank_key`), and
    the tag rank_by; without a judge_gap they keep primary_gap and the tag says so."""
    for row in rows:
        if row.status != "ok" or not primary_sha or row.tags.get("optimized_against") != primary_sha:
            continue
        m = row.metrics
        if "judge_gap" in m and "primary_gap" in m:
            m["rank_gap"] = max(m["primary_gap"], m["judge_gap"])
            row.tags["rank_by"] = RANK_BY_WORSE
        else:
            row.tags["rank_by"] = "primary_gap (no judge to rank it by)"


def judge_cell(metrics: dict, text: str) -> str:
    """The judge_gap cell of a table, marked '!=' when it disagrees with primary_gap."""
    return f"{text} !=" if metrics.get("judge_disagrees", 0.0) > 0 else text


def judge_notes(entries: list[tuple]) -> list[str]:
    """The lines under a leaderboard about the judge: what judge_gap is, which rows it disagrees
    on, which rows are ranked by the worse of the two gaps."""
    ok = [(n, m, t) for n, s, m, t in entries if s == "ok"]
    notes = []
    if any("judge_gap" in m for _, m, _ in ok):
        sha = next((t.get("judge_sha", "") for _, _, t in ok if t.get("judge_sha")), "")
        notes.append(JUDGE_SCORE + (f" (judge sha256 {sha[:12]})" if sha else ""))
    for name, m, _ in ok:
        if m.get("judge_disagrees", 0.0) > 0:
            notes.append(f"{name}: the critic and the judge disagree beyond their intervals: primary_gap "
                         f"{_interval(m, 'primary_gap')} vs judge_gap {_interval(m, 'judge_gap')}")
    for name, m, t in ok:
        if t.get("rank_by") == RANK_BY_WORSE:
            notes.append(f"{name} was optimized against the primary critic (sha256 {t['optimized_against'][:12]}): "
                         f"ranked by the worse of primary_gap and judge_gap, {m['rank_gap']:.3f}")
        elif t.get("rank_by"):
            notes.append(f"{name} was optimized against the primary critic and no judge measured it: "
                         "its primary_gap flatters it")
        elif t.get("optimized_against"):
            notes.append(f"{name} was optimized against another critic (sha256 {t['optimized_against'][:12]}), "
                         "not this one: ranked by primary_gap")
    return notes


def _interval(m: dict, key: str) -> str:
    low, high = m.get(f"{key}_ci_low", math.nan), m.get(f"{key}_ci_high", math.nan)
    return f"{m[key]:.3f} [{low:.3f}, {high:.3f}]"
