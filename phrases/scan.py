"""Find MIDI files in a folder, parse them with symusic, and reduce each to one pitched track.

A file that cannot be used is never fatal: `load_song` returns the reason instead, and the
pipeline counts reasons (`SKIP_REASONS`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import symusic

from phrases.errors import UserError

MIDI_SUFFIXES = (".mid", ".midi")
SKIP_REASONS = {
    "corrupt": "symusic could not parse it",
    "empty": "no notes",
    "drums_only": "only drum tracks",
    "no_windows": "shorter than one window, or too few notes in every window",
}


def find_midi_files(corpus: Path, what: str = "corpus folder",
                    fix: str = "pass --corpus DIR (or set PHRASEBENCH_CORPUS)") -> list[Path]:
    """Every .mid / .midi file under `corpus` (any case, recursively), sorted by relative path;
    a missing or empty folder is a `UserError` saying `what` it is and how to `fix` it."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise UserError(f"{what} {corpus} does not exist: {fix}")
    files = [p for p in corpus.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()]
    if not files:
        raise UserError(f"{what} {corpus} holds no .mid/.midi files: {fix}")
    return sorted(files, key=lambda p: p.relative_to(corpus).as_posix())


def skyline(time: np.ndarray, duration: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Indices of the melody by the skyline rule (Uitdenbogerd & Zobel, 1999): at every onset
    keep the highest note; a kept note is cut where the next kept note starts.

    Returns the kept indices; `duration` is shortened in place for the cut notes.
    """
    order = np.lexsort((-pitch, time))  # by onset, highest pitch first
    t = time[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = t[1:] != t[:-1]
    kept = order[first]
    if len(kept) > 1:
        gap = time[kept[1:]] - time[kept[:-1]]
        duration[kept[:-1]] = np.minimum(duration[kept[:-1]], gap)
    return kept


def parse_pitched(path: Path) -> tuple[symusic.Score | None, str | None]:
    """Parse `path` and keep its pitched tracks that have notes: (score, None) or (None, reason)."""
    try:
        score = symusic.Score(str(path))
    except Exception:  # symusic raises plain RuntimeError / ValueError on bad bytes
        return None, "corrupt"
    if score.note_num() == 0:
        return None, "empty"
    pitched = [t for t in score.tracks if not t.is_drum and len(t.notes) > 0]
    if not pitched:
        return None, "drums_only"
    score.tracks = pitched
    return score, None


def load_song(path: Path, tracks: str = "merge") -> tuple[symusic.Score | None, str | None]:
    """Parse `path` and return (score with one pitched track, None) or (None, skip reason).

    `tracks="merge"`: every pitched track in one stream; `"melody"`: the skyline of them.
    Drum tracks are always dropped.
    """
    score, reason = parse_pitched(path)
    if score is None:
        return None, reason
    pitched = score.tracks
    arrays = [t.notes.numpy() for t in pitched]
    time = np.concatenate([a["time"] for a in arrays])
    duration = np.concatenate([a["duration"] for a in arrays])
    pitch = np.concatenate([a["pitch"] for a in arrays])
    velocity = np.concatenate([a["velocity"] for a in arrays])
    if tracks == "melody":
        keep = skyline(time, duration, pitch)
    else:
        keep = np.lexsort((pitch, time))
    track = symusic.Track(name=tracks, program=pitched[0].program, is_drum=False)
    track.notes = symusic.Note.from_numpy(
        time=time[keep], duration=np.maximum(duration[keep], 1), pitch=pitch[keep],
        velocity=velocity[keep],
    )
    score.tracks = [track]
    return score, None
