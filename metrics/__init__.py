"""Metrics: pure functions over notes or token arrays (no I/O, no MLflow, no model loading).

Notes are arrays of `phrases.NOTE_DTYPE`, one per phrase; a set of phrases is a list of them.

    jsd_metrics(gen_notes, ref_notes, protocol="beats"|"csc413") -> jsd_pitch, jsd_step, jsd_duration
    loss_metrics(token_nll, note_counts)                          -> nll, bits_per_note
    musical_metrics(gen_notes, ref_notes, n_bars=4)               -> h1, h4, gs, scale_consistency,
                                                                     pitch_range, note_density,
                                                                     polyphony_rate, and <each>_diff
    TrainingPatterns.from_split(data.train); copy_rate(gen_notes, patterns) -> copy_rate
    fcd(emb_gen, emb_ref); c2st_auroc(x_gen, x_ref, seed); critic_gap(scores_gen, scores_ref)
    critic_gap_interval(bootstrap(auroc, scores_gen, scores_ref)) -> critic_gap with its interval
    bootstrap(metric, *samples, seed=0) -> (value, ci_low, ci_high); with_ci(key, interval, bounds)
    degeneracy(context_notes, continuation_notes, patterns)         -> pitch/rhythm/length flatness, repetition,
                                                                     context_echo, sameness, copied_run
    density_coverage(emb_ref, emb_gen)                              -> density, coverage (Naeem et al. 2020)
    worst_gap(row_scores, ref_scores); tie_groups(rows, ref)        -> the primary gap, tied places (metrics.ranking)
    profile(profile_matrix(gen_notes), profile_matrix(ref_notes)) -> per PROFILE descriptor: value, its
                                                                     interval, ref, distance (in ref sd)
"""

from metrics.bootstrap import bootstrap, with_ci
from metrics.frechet import fcd, frechet_distance, frechet_distance_gaussians
from metrics.jsd import jsd, jsd_metrics, note_histograms
from metrics.loss import bits_per_note, loss_metrics, nll_per_token
from metrics.musical import (
    descriptor_matrix, grooving_similarity, musical_metrics, note_density, pitch_class_entropy,
    pitch_range, polyphony_rate, scale_consistency,
)
from metrics.musical import (
    best_scale, compression_ratio, empty_beat_rate, groove_consistency, key_consistency, mean_abs_interval,
)
from metrics.profile import PROFILE, profile, profile_descriptors, profile_matrix, standardized_difference
from metrics.plagiarism import TrainingPatterns, copy_rate, longest_copied_run
from metrics.two_sample import auroc, c2st_auroc, critic_gap, critic_gap_interval

__all__ = [
    "TrainingPatterns", "auroc", "bits_per_note", "bootstrap", "c2st_auroc", "copy_rate", "critic_gap", "critic_gap_interval",
    "descriptor_matrix", "fcd", "frechet_distance", "frechet_distance_gaussians", "grooving_similarity",
    "jsd", "jsd_metrics", "longest_copied_run", "loss_metrics", "musical_metrics", "nll_per_token",
    "note_density", "note_histograms", "pitch_class_entropy", "pitch_range", "polyphony_rate",
    "scale_consistency", "with_ci",
    "PROFILE", "best_scale", "compression_ratio", "empty_beat_rate", "groove_consistency", "key_consistency",
    "mean_abs_interval", "profile", "profile_descriptors", "profile_matrix", "standardized_difference",
]
