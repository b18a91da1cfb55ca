"""copy_rate and the longest copied run on hand-made phrases."""

from __future__ import annotations

import math

from metrics.plagiarism import TrainingPatterns, copy_rate, longest_copied_run, note_symbols
from helpers.notes import make_notes

LICK = [(60, 0.5), (62, 0.5), (63, 1 / 3), (65, 1 / 3), (67, 1 / 3), (70, 1.0), (68, 0.25), (67, 0.25),
        (65, 0.5), (63, 2.0)]


def phrase(rows, transpose=0):
    onsets = [sum(d for _, d in rows[:k]) for k in range(len(rows))]
    return make_notes([(p + transpose, t, d) for (p, d), t in zip(rows, onsets)])


def test_a_copy_is_found_in_any_transposition():
    train = TrainingPatterns([phrase(LICK)])
    assert len(train) == 3  # 10 notes: 3 windows of 8
    assert copy_rate([phrase(LICK[1:], transpose=5)], train) == 1.0
    assert train.longest_run(phrase(LICK, transpose=-3)) == 10


def test_a_changed_pitch_or_duration_class_breaks_the_match():
    train = TrainingPatterns([phrase(LICK)])
    changed = list(LICK[:9])
    changed[8] = (66, 0.5)  # 9 notes: 2 patterns, the second ends on the changed note
    assert copy_rate([phrase(changed)], train) == 0.5
    assert longest_copied_run([phrase(changed)], train) == 8
    triplet = list(LICK[:8])
    triplet[0] = (60, 1 / 3)  # an eighth becomes a triplet eighth: another duration class
    assert copy_rate([phrase(triplet)], train) == 0.0
    assert train.longest_run(phrase(triplet)) == 0


def test_patterns_span_context_and_continuation():
    whole = phrase(LICK[:8])
    context, continuation = whole[:4].copy(), whole[4:].copy()
    continuation["onset_beats"] -= 3.0  # each half's onsets start at its own bar
    assert len(TrainingPatterns([context, continuation])) == 0  # 4 notes each: no pattern
    train = TrainingPatterns([(context, continuation)])
    assert copy_rate([whole], train) == 1.0


def test_short_phrases_have_no_patterns():
    train = TrainingPatterns([phrase(LICK)])
    assert math.isnan(copy_rate([phrase(LICK[:7])], train))
    assert note_symbols(make_notes([])).shape == (0, 2)
