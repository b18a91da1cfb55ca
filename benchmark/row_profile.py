"""A leaderboard row's musical profile (`metrics.profile`): each descriptor of the row's
continuations beside the same descriptor of the reference continuations, with its bootstrap
interval and its distance from real; as MLflow metrics, as the `--wide` table's second table,
and as one small chart per row in the report (those two: `presenting/musical_profile.py`).

Metric names (one MLflow metric each, on every row):

    profile_<descriptor>                          the row's mean
    profile_<descriptor>_ci_low, _ci_high         its 95% bootstrap interval
    profile_<descriptor>_ref                      the reference continuations' mean
    profile_<descriptor>_dist                     (row mean - ref mean) / ref sd: 0 is real
    profile_<descriptor>_dist_ci_low, _ci_high    the interval on that scale
"""

from __future__ import annotations

import numpy as np

from metrics.profile import profile, profile_matrix


def profile_metrics(notes: list[np.ndarray], contexts: list[np.ndarray], ref_matrix: np.ndarray, n_bars: int,
                    n_boot: int, seed: int) -> dict[str, float]:
    """The `profile_*` metrics of a row's continuation notes (after their context notes) against
    the reference's `profile_matrix` (computed once per benchmark)."""
    out = {}
    for name, p in profile(profile_matrix(notes, n_bars, contexts=contexts), ref_matrix, n_boot=n_boot,
                           seed=seed).items():
        key = f"profile_{name}"
        out.update({key: p["value"], f"{key}_ci_low": p["ci_low"], f"{key}_ci_high": p["ci_high"],
                    f"{key}_ref": p["ref"], f"{key}_dist": p["distance"], f"{key}_dist_ci_low": p["distance_ci_low"],
                    f"{key}_dist_ci_high": p["distance_ci_high"]})
    return out
