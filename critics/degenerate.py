"""Continuations made by rules: the bland, repetitive, copied and context-blind side of the
validity suite (`critics.validity`). A two-sided instrument must find each of them as far from
real music as the corruptions of `critics.corruptions` (which only ever make a line stranger).

Each family is a rule over the notes of the context (and, where it says so, of the true
continuation or of the training split), seeded; its notes are then tokenized after the context
exactly as an imported MIDI file is (`phrases.encode`), so a family's row through
`benchmark --import` gets the same tokens. Lengths: the continuation's bars (`phrase_bars` bars of
the context's last meter); "8th" = an eighth note.

| name                  | the continuation                                                        |
|-----------------------|-------------------------------------------------------------------------|
| loop_bar              | the context's last bar, played again in every bar                       |
| loop_motif            | the context's last 4 notes, repeated back to back                      |
| one_pitch             | the context's last pitch as repeated quarter notes                      |
| two_pitch             | the context's last two distinct pitches alternating in 8ths             |
| straight_eighths      | the true pitches in order, every note a straight 8th                    |
| one_duration          | the true onsets and pitches, every note as long as the median gap       |
| arpeggio              | the context's distinct pitches, up and down, in 8ths                    |
| scale_run             | a run up and down the context's pitch classes around its register, 16ths |
| echo                  | the context played again                                                |
| echo_transposed       | the context played again, moved by 1..5 semitones up or down            |
| collapse              | one training continuation, the same for every context                  |
| copy_train            | a training continuation, copied note for note                          |
| copy_train_transposed | a training continuation moved to the context's register                 |
| other_context         | the true continuation of a context from another song                   |
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from phrases.encode import context_meter, context_score, encode_after_context
from phrases.errors import UserError

FAMILIES = ("loop_bar", "loop_motif", "one_pitch", "two_pitch", "straight_eighths", "one_duration", "arpeggio",
            "scale_run", "echo", "echo_transposed", "collapse", "copy_train", "copy_train_transposed", "other_context")


@dataclass(frozen=True)
class Situation:
    """What a rule may look at, in ticks of the tokenizer's resolution: the context's notes (time
    from the phrase's start), the continuation's length and bar, the true continuation (time from
    the continuation's start)."""

    context: dict[str, np.ndarray]
    end: int  # the tick where the continuation starts
    bar: int  # ticks per bar of the context's last meter
    length: int  # ticks of the continuation: phrase_bars bars
    meter: tuple[int, int]
    truth: dict[str, np.ndarray]
    tpq: int
    score: object  # the context as a symusic.Score (its meter changes too)


def _notes(time, duration, pitch) -> dict[str, np.ndarray]:
    time, duration, pitch = (np.asarray(x, np.int64) for x in (time, duration, pitch))
    return {"time": time, "duration": np.maximum(duration, 1), "pitch": np.clip(pitch, 21, 108)}


def _fill(pitches: Sequence[int], step: int, length: int) -> dict[str, np.ndarray]:
    """`pitches` in turn (cycling), one every `step` ticks, each `step` long, for `length` ticks."""
    n = max(1, length // max(step, 1))
    return _notes(np.arange(n) * step, np.full(n, step), [pitches[i % len(pitches)] for i in range(n)])


def _repeat(notes: dict[str, np.ndarray], period: int, length: int) -> dict[str, np.ndarray]:
    """`notes` (times from 0) played again every `period` ticks until `length`."""
    if len(notes["time"]) == 0 or period <= 0:
        return _notes([], [], [])
    copies = int(np.ceil(length / period))
    out = {k: np.concatenate([notes[k] + (i * period if k == "time" else 0) for i in range(copies)]) for k in notes}
    keep = out["time"] < length
    return _notes(out["time"][keep], np.minimum(out["duration"][keep], period), out["pitch"][keep])


def _last_pitches(s: Situation, k: int) -> list[int]:
    p = s.context["pitch"]
    return [int(x) for x in p[-k:]] if len(p) else [60]


def loop_bar(s: Situation, rng) -> dict:
    last = s.context["time"] >= s.end - s.bar
    return _repeat({k: v[last] - (s.end - s.bar if k == "time" else 0) for k, v in s.context.items()}, s.bar, s.length)


def loop_motif(s: Situation, rng) -> dict:
    t = s.context["time"]
    if len(t) < 2:
        return loop_bar(s, rng)
    k = min(4, len(t))
    motif = {key: v[-k:] for key, v in s.context.items()}
    start = int(motif["time"][0])
    gap = int(np.median(np.diff(t))) or s.tpq // 2
    period = max(int(motif["time"][-1]) - start + gap, s.tpq // 4)
    return _repeat({key: v - (start if key == "time" else 0) for key, v in motif.items()}, period, s.length)


def one_pitch(s: Situation, rng) -> dict:
    return _fill(_last_pitches(s, 1), s.tpq, s.length)


def two_pitch(s: Situation, rng) -> dict:
    distinct = list(dict.fromkeys(reversed(_last_pitches(s, 64))))[:2]
    return _fill(distinct if len(distinct) == 2 else distinct + [distinct[0] + 2], s.tpq // 2, s.length)


def straight_eighths(s: Situation, rng) -> dict:
    p = s.truth["pitch"]
    n = min(len(p), s.length // (s.tpq // 2))
    return _fill(p[:n] if n else _last_pitches(s, 1), s.tpq // 2, min(s.length, max(n, 1) * (s.tpq // 2)))


def one_duration(s: Situation, rng) -> dict:
    t = s.truth["time"]
    gap = int(np.median(np.diff(t))) if len(t) > 1 else s.tpq
    return _notes(t, np.full(len(t), max(gap, 1)), s.truth["pitch"])


def _span(s: Situation) -> tuple[int, int, float]:
    p = s.context["pitch"] if len(s.context["pitch"]) else np.array([60])
    return int(p.min()), int(p.max()), float(p.mean())


def arpeggio(s: Situation, rng) -> dict:
    up = sorted(set(int(x) for x in s.context["pitch"])) or [60, 64, 67]
    return _fill(up + up[-2:0:-1] if len(up) > 2 else up, s.tpq // 2, s.length)


def scale_run(s: Situation, rng) -> dict:
    classes = sorted(set(int(x) % 12 for x in s.context["pitch"])) or [0, 2, 4, 5, 7, 9, 11]
    low, _, mean = _span(s)
    bottom = int(round(mean)) - 9
    scale = [p for p in range(bottom, bottom + 19) if p % 12 in classes]
    return _fill(scale + scale[-2:0:-1] if len(scale) > 2 else scale or [low], s.tpq // 4, s.length)


def echo(s: Situation, rng, semitones: int = 0) -> dict:
    start = s.end - s.length
    keep = s.context["time"] >= start
    return _notes(s.context["time"][keep] - start, s.context["duration"][keep], s.context["pitch"][keep] + semitones)


def echo_transposed(s: Situation, rng) -> dict:
    return echo(s, rng, int(rng.integers(1, 6)) * (1 if rng.random() < 0.5 else -1))


def _moved_to(notes: dict, s: Situation) -> dict:
    """A training line moved by whole semitones so its mean pitch meets the context's."""
    if len(notes["pitch"]) == 0:
        return notes
    return {**notes, "pitch": notes["pitch"] + int(round(_span(s)[2] - notes["pitch"].mean()))}


RULES: dict[str, Callable] = {
    "loop_bar": loop_bar, "loop_motif": loop_motif, "one_pitch": one_pitch, "two_pitch": two_pitch,
    "straight_eighths": straight_eighths, "one_duration": one_duration, "arpeggio": arpeggio, "scale_run": scale_run,
    "echo": echo, "echo_transposed": echo_transposed,
}


def _ticks(notes: np.ndarray, tpq: int) -> dict[str, np.ndarray]:
    """A phrase's notes view (beats) in ticks."""
    return _notes(np.round(notes["onset_beats"] * tpq), np.round(notes["duration_beats"] * tpq), notes["pitch"])


def situations(split, tokenizer, config) -> list[tuple[Situation, float]]:
    """(Situation, tempo) of every phrase of a split."""
    tpq = tokenizer.time_division
    out = []
    for i in range(len(split)):
        p = split[i]
        score, end = context_score(tokenizer, p.context, float(p.tempo_qpm), config)
        notes = score.tracks[0].notes.numpy() if score.tracks else {}
        context = _notes(notes.get("time", []), notes.get("duration", []), notes.get("pitch", []))
        num, den = context_meter(score)
        bar = num * tpq * 4 // den
        out.append((Situation(context, end, bar, bar * config.phrase_bars, (num, den), _ticks(p.continuation_notes, tpq),
                              tpq, score), float(p.tempo_qpm)))
    return out


def _other_songs(songs: np.ndarray, rng) -> list[int]:
    """For each phrase, another phrase of another song, each used once where the songs allow it (a
    seeded permutation, then swaps that mend a phrase paired with its own song); drawn with
    replacement for what no swap can mend."""
    n = len(songs)
    picks = rng.permutation(n)
    for i in range(n):
        if songs[picks[i]] != songs[i]:
            continue
        for j in rng.permutation(n):
            if songs[picks[j]] != songs[i] and songs[picks[i]] != songs[j]:
                picks[i], picks[j] = picks[j], picks[i]
                break
        else:
            picks[i] = int(rng.choice(np.flatnonzero(songs != songs[i])))
    return [int(p) for p in picks]


def family_notes(name: str, split, train, tokenizer, config, seed: int = 0) -> list[tuple[dict, Situation, float]]:
    """The continuation notes of family `name` for every phrase of `split` (seeded), with the
    phrase's situation and tempo; `train` is the training split the copy families copy from."""
    if name not in FAMILIES:
        raise UserError(f"family {name!r}: choose one of {', '.join(FAMILIES)}")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    where = situations(split, tokenizer, config)
    tpq = tokenizer.time_division
    if name in RULES:
        return [(RULES[name](s, rng), s, t) for s, t in where]
    if name == "other_context":
        songs = np.asarray(split.arrays["song"])
        if len(np.unique(songs)) < 2:
            raise UserError("other_context needs phrases from at least two songs; use a larger split")
        picks = _other_songs(songs, rng)
        return [(where[j][0].truth, s, t) for (s, t), j in zip(where, picks)]
    if len(train) == 0:
        raise UserError(f"family {name} copies the training split, which is empty; prepare a larger corpus")
    if name == "collapse":
        one = _ticks(train[int(rng.integers(len(train)))].continuation_notes, tpq)
        return [(one, s, t) for s, t in where]
    picks = rng.integers(len(train), size=len(split))
    lines = [_ticks(train[int(j)].continuation_notes, tpq) for j in picks]
    if name == "copy_train_transposed":
        lines = [_moved_to(line, s) for line, (s, _) in zip(lines, where)]
    return [(line, s, t) for line, (s, t) in zip(lines, where)]


def degenerate(name: str, split, train, tokenizer, config, seed: int = 0) -> list[np.ndarray]:
    """The token ids of family `name`'s continuation of every phrase of `split` (seeded)."""
    out = []
    for notes, s, tempo in family_notes(name, split, train, tokenizer, config, seed):
        out.append(np.asarray(encode_after_context(tokenizer, s.score, s.end, tempo, notes,
                                                   [], config).ids, np.int64))
    return out


__all__ = ["FAMILIES", "Situation", "degenerate", "family_notes", "situations"]
