"""The judge on the leaderboard (`critics.judge`; README, "The judge"): every row's `judge_gap`
beside its primary score, the rows where the two disagree beyond their intervals, and the rank
rule for a generator optimized against the primary critic:

    a row whose training run carries the tag optimized_against=<sha256> equal to the primary
    critic's sha256 is ranked by the worse (larger) of its primary_gap and its judge_gap
    (metric `rank_gap`, tag rank_by=worse_of_primary_and_judge)

so that the leaderboard cannot be won by fitting the instrument it is measured with.
"""

from __future__ import annotations

from critics.judge import disagree

RANK_BY_WORSE = "worse_of_primary_and_judge"
TRAINING_TAGS = ("optimized_against", "init_from")  # a generator's training tags its leaderboard row carries

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
