"""The profile's descriptors against MusPy's own code (a test-only dependency, the `test` extra)
on real WJazzD phrases: every continuation of the chosen files (tests/helpers/__init__.py), put on
MusPy's grid (resolution 12 per beat, the tokenizer's grid here).

Tolerance: 1e-9 (the same numbers up to float rounding). Where the project differs from MusPy
on purpose, the comparison is made where the difference cannot show, and the docstring of the
project's function says why:
- groove_consistency counts the phrase's bars (trailing empty bars too); MusPy counts bars up to
  the last note's end (one more when it ends on a bar line): compared with the notes cut at the
  phrase's end (onsets, all groove depends on, unchanged) where the line sounds into its last bar.
- key_consistency is MusPy's pitch_in_scale_rate of the continuation at the (root, mode) that
  fits context + continuation best (`metrics.musical.best_scale`).
- empty_beat_rate counts the phrase's beats and leaves alone a beat a note ends exactly on;
  MusPy counts beats up to the last note's end and marks that beat: compared with every note
  one grid step shorter for MusPy, where the line sounds into its last beat.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

muspy = pytest.importorskip("muspy", reason="MusPy is a test-only dependency: pip install -e '.[test]'")

from metrics.musical import (  # noqa: E402
    GRID, best_scale, empty_beat_rate, groove_consistency, pitch_class_entropy, pitch_range, scale_consistency,
)
from metrics.profile import profile_descriptors  # noqa: E402

TOL = 1e-9
BAR = 4 * GRID  # 4/4 phrases only: MusPy's groove needs one constant measure length


def to_muspy(notes: np.ndarray, shorten: int = 0, end: int | None = None) -> muspy.Music:
    """MusPy's view of the notes; every note `shorten` grid steps shorter (at least 1 step), and
    ending by step `end` when given."""
    out = []
    for n in notes:
        start = int(round(float(n["onset_beats"]) * GRID))
        stop = start + max(int(round(float(n["duration_beats"]) * GRID)) - shorten, 1)
        out.append(muspy.Note(start, int(n["pitch"]), max((stop if end is None else min(stop, end)) - start, 1), 80))
    track = muspy.Track(program=0, notes=out)
    return muspy.Music(resolution=GRID, tracks=[track])


NOT_4_4 = ("MyFavoriteThings", "SongForBilbao")  # 3/4, and meter changes (tests/helpers/__init__.py)


def phrases(data) -> list[tuple[np.ndarray, np.ndarray]]:
    """(continuation notes, context notes) of every phrase (all splits) of the 4/4 songs, with
    at least 2 continuation notes (the grid the decoder gives them is MusPy's here)."""
    return [(p.continuation_notes, p.context_notes) for split in (data.train, data.val, data.test) for p in split
            if len(p.continuation_notes) >= 2 and not any(s in p.song for s in NOT_4_4)]


def test_profile_descriptors_agree_with_muspy_on_real_phrases(jazz_data):
    bars = jazz_data.config.phrase_bars
    fns = profile_descriptors(bars)
    checked = {"pitch_class_entropy": 0, "key_consistency": 0, "scale_consistency": 0, "pitch_range": 0, "groove_consistency": 0,
               "empty_beat_rate": 0}
    for notes, context in phrases(jazz_data):
        music = to_muspy(notes)
        assert fns["pitch_class_entropy"](notes, context) == pytest.approx(muspy.pitch_class_entropy(music), abs=TOL)
        assert pitch_class_entropy(notes, 99, n_bars=bars) == pytest.approx(muspy.pitch_class_entropy(music), abs=TOL)
        assert scale_consistency(notes) == pytest.approx(muspy.scale_consistency(music), abs=TOL)
        assert pitch_range(notes) == muspy.pitch_range(music)
        root, mode = best_scale(np.concatenate([context, notes]))
        assert fns["key_consistency"](notes, context) == pytest.approx(muspy.pitch_in_scale_rate(music, root, mode),
                                                                       abs=TOL)
        for k in ("pitch_class_entropy", "scale_consistency", "pitch_range", "key_consistency"):
            checked[k] += 1
        inside = to_muspy(notes, end=bars * BAR - 1)  # the same onsets; nothing sounds past the phrase
        if (bars - 1) * BAR <= inside.get_end_time() < bars * BAR:  # sounds into its last bar (a note on its last step cannot end inside it)
            assert groove_consistency(notes, n_bars=bars) == pytest.approx(
                muspy.groove_consistency(inside, BAR), abs=TOL), notes
            checked["groove_consistency"] += 1
        short = to_muspy(notes, shorten=1)
        if short.get_end_time() // GRID == 4 * bars - 1:  # sounds into the last beat
            assert empty_beat_rate(notes, n_bars=bars) == pytest.approx(muspy.empty_beat_rate(short), abs=TOL), notes
            checked["empty_beat_rate"] += 1
    print(f"\nphrases compared with MusPy: {checked}")
    assert checked["pitch_class_entropy"] >= 100
    assert checked["groove_consistency"] >= 0.7 * checked["pitch_class_entropy"]
    assert checked["empty_beat_rate"] >= 0.25 * checked["pitch_class_entropy"]


def test_where_the_project_differs_from_muspy_on_purpose():
    """A line that stops after two bars of a 4-bar phrase: its silence counts here, not in MusPy."""
    from helpers.notes import make_notes

    notes = make_notes([(60 + k, k, 0.5) for k in range(8)])  # eighth notes on the beats of bars 1-2 of 4
    music = to_muspy(notes)
    assert muspy.groove_consistency(music, BAR) == 1.0 and groove_consistency(notes, n_bars=4) < 1.0
    assert math.isclose(muspy.empty_beat_rate(music), 0.0) and empty_beat_rate(notes, n_bars=4) == 0.5
