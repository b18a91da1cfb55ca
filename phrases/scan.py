"""Find MIDI files in a folder, parse them with symusic, and reduce each to one pitched track.

A file that cannot be used is never fatal: it is skipped with a reason (`SKIP_REASONS`) that the
pipeline counts, whatever went wrong with it (bytes, header, tempo, permissions, a FIFO, a
broken or looping link, a name that is not UTF-8). A folder that cannot be listed is counted too.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import symusic

from phrases.errors import UserError

MIDI_SUFFIXES = (".mid", ".midi")
SKIP_REASONS = {
    "unreadable": "cannot be read (permissions, a broken or looping link)",
    "not_a_file": "not a regular file (a FIFO, a device, a folder)",
    "corrupt": "symusic could not parse it",
    "bad_timing": "0 ticks per quarter, or a zero or non-finite tempo",
    "empty": "no notes",
    "drums_only": "only drum tracks",
    "too_many_bars": "too many bars (a gap of empty bars costs a token per bar); --max-bars raises the limit",
    "too_many_notes": "too many notes; --max-notes raises the limit",
    "unusable": "the tokenizer could not process it (the error is in the report)",
    "no_windows": "shorter than one window, or too few notes in every window",
}


# A file longer than these is skipped before it is tokenized (REMI writes a token per bar, empty
# ones too: an 817-byte file with a million-bar gap would cost over a gigabyte). Far above any
# real piece (the longest of the two corpora: 1,777 bars, 17,225 notes); raised with --max-bars /
# --max-notes, which set PHRASEBENCH_MAX_BARS / _NOTES (so that worker processes and every reader
# see them).
DEFAULT_LIMITS = {"max_bars": 20_000, "max_notes": 200_000}
LIMIT_ENV = {"max_bars": "PHRASEBENCH_MAX_BARS", "max_notes": "PHRASEBENCH_MAX_NOTES"}


def limits() -> dict[str, int]:
    """The bar and note limits in force: the environment's, else `DEFAULT_LIMITS`."""
    out = dict(DEFAULT_LIMITS)
    for key, var in LIMIT_ENV.items():
        value = os.environ.get(var, "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise UserError(f"{var}={value!r}: give a positive whole number (the {key.replace('_', ' ')} of a file)")
            out[key] = int(value)
    return out


def set_limits(max_bars: int | None, max_notes: int | None) -> None:
    """Set the limits for this process and the ones it starts (None leaves one as it is)."""
    for key, value in (("max_bars", max_bars), ("max_notes", max_notes)):
        if value is not None:
            os.environ[LIMIT_ENV[key]] = str(int(value))


def song_bars(score: symusic.Score) -> float:
    """Bars from the start to the last note's end, counted with the shortest bar of the file's
    meters (4/4 when it has none): never fewer than it has."""
    sigs = [(int(t.numerator), int(t.denominator)) for t in score.time_signatures if t.numerator > 0 and t.denominator > 0]
    quarters_per_bar = min((4 * n / d for n, d in sigs), default=4.0)
    return score.end() / (score.ticks_per_quarter * max(quarters_per_bar, 1 / 8))


def describe_skip(reason: str) -> str:
    """A skip reason as people read it ("unusable: ZeroDivisionError: ..." keeps its error)."""
    kind, _, detail = reason.partition(": ")
    return SKIP_REASONS.get(kind, kind) + (f" ({detail})" if detail else "")


def display_name(relative: str) -> str:
    """A file name as people read it: bytes that are not UTF-8 written as \\xNN."""
    return os.fsencode(relative).decode("utf-8", "backslashreplace")


@dataclass
class Scan:
    """What a folder holds: MIDI file candidates (sorted by relative path) and the sub-folders that
    could not be listed."""

    root: Path
    files: list[Path] = field(default_factory=list)
    unreadable_folders: list[str] = field(default_factory=list)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def find_midi_files(corpus: Path, what: str = "corpus folder",
                    fix: str = "pass --corpus DIR (or set PHRASEBENCH_CORPUS)") -> Scan:
    """Every .mid / .midi name under `corpus` (any case, recursively; links to folders are not
    followed, so a link loop cannot trap the walk), whatever kind of file it turns out to be; a
    missing or empty folder is a `UserError` saying `what` it is and how to `fix` it."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise UserError(f"{what} {corpus} does not exist: {fix}")
    scan = Scan(corpus)
    errors: list[OSError] = []
    for folder, names in _walk(corpus, errors.append):
        scan.files += [Path(folder) / n for n in names if os.path.splitext(n)[1].lower() in MIDI_SUFFIXES]
    scan.unreadable_folders = sorted(display_name(os.path.relpath(e.filename, corpus)) for e in errors if e.filename)
    if not scan.files:
        extra = f" ({len(scan.unreadable_folders)} folders could not be read)" if scan.unreadable_folders else ""
        raise UserError(f"{what} {corpus} holds no .mid/.midi files{extra}: {fix}")
    scan.files.sort(key=scan.relative)
    return scan


def _walk(top: Path, onerror):
    """(folder, file and link names) of every folder under `top`, without recursion (Python 3.11's
    os.walk recurses: a corpus 1,500 folders deep would end in RecursionError); links to folders
    are not followed."""
    stack = [os.fspath(top)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as e:
            onerror(e)
            continue
        names = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(entry.path)
            else:
                names.append(entry.name)
        yield folder, names


def read_midi(path: Path) -> tuple[bytes | None, str | None]:
    """The bytes of a regular file, or (None, "not_a_file" / "unreadable"). A FIFO is never
    opened (reading it would block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None, "not_a_file"
        return Path(path).read_bytes(), None
    except OSError:  # permissions, a dangling or looping link, a file gone since the scan
        return None, "unreadable"


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
    data, reason = read_midi(path)
    if data is None:
        return None, reason
    try:
        score = symusic.Score.from_midi(data)
    except Exception:  # symusic raises plain RuntimeError / ValueError on bad bytes
        return None, "corrupt"
    mspq = score.tempos.numpy()["mspq"] if len(score.tempos) else np.ones(1)
    if score.ticks_per_quarter <= 0 or (mspq <= 0).any() or not all(math.isfinite(60e6 / m) for m in mspq):
        return None, "bad_timing"
    if score.note_num() == 0:
        return None, "empty"
    limit = limits()
    if score.note_num() > limit["max_notes"]:
        return None, f"too_many_notes: {score.note_num()} notes, the limit is {limit['max_notes']}"
    if song_bars(score) > limit["max_bars"]:
        return None, f"too_many_bars: {song_bars(score):.0f} bars, the limit is {limit['max_bars']}"
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
