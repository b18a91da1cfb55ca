"""`benchmark --import NAME=DIR`: continuations written by a model outside phrasebench, one
`<id>.mid` per context of `export-contexts`' manifest, scored as a leaderboard row tagged
`source=imported`.

A file holds either the continuation alone (time 0 = the bar line after the context) or the
context followed by the continuation. They are told apart by the file's first bars: when at least
`CONTEXT_MATCH` of the context's notes (pitch and onset, on the tokenizer's grid) are found before
the context's end, the file holds the context too. Either way the continuation is put after the
benchmark's own context and the phrase is tokenized as one song, then split at the context's end,
exactly as `phrases.windows.cut_windows` cuts a corpus song (the song going on after the
continuation's `phrase_bars` bars, so that empty bars at its end get their bar lines, but after
the context of a window at its song's very end, `Phrase.song_end`, where the song stops with the
continuation as the corpus's does: `phrases.encode`), so a true continuation comes back as its
own tokens. Notes starting after `phrase_bars` bars are cut (and
counted).

The meter is the benchmark's: the context's last one (the manifest's `time_signature`). A file's
own time signatures count only as changes of meter inside the continuation (`_meter_changes`);
a time signature at the file's time 0 is never one (pretty_midi writes a 4/4 there unless told
otherwise), so a file that declares another meter at the continuation's start is read in the
context's, and counted (`import_meter`).

Nothing a folder holds stops the benchmark: ids missing or extra, unreadable or empty files,
too long continuations, overridden meters and another export's manifest each become a log line
and a count on the row (`import_missing`, `import_extra`, `import_unreadable`, `import_empty`,
`import_cut`, `import_with_context`, `import_meter`); a missing, unreadable or empty file is
scored as an empty continuation.
A folder with no usable file at all gives a failed row.

The continuations are checked against the critic's domain (`critics.domain`: polyphony, pitch
range, density of the music it was trained on): `import_out_of_domain` counts those outside it,
and when a tenth of them or more are (`DOMAIN_NOTE_SHARE`), the tag `import_domain_note` says
so under the table, in the report and on the MLflow run (the tag `import_domain` is "inside",
"outside" or "unknown").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import symusic

from benchmark.contexts import MANIFEST, Manifest, benchmark_items
from benchmark.mirex import is_continuation_file
from critics.domain import DomainProfile, critic_profile, typical
from phrases.decode import decode_phrase
from phrases.encode import context_meter, context_score, encode_after_context
from phrases.errors import UserError
from phrases.names import check_name
from phrases.pipeline import prepared_score
from phrases.scan import MIDI_SUFFIXES, SKIP_REASONS

CONTEXT_MATCH = 0.8  # share of the context's notes a file must repeat to be read as context + continuation
DOMAIN_NOTE_SHARE = 0.1  # share of a row's continuations outside the critic's domain that puts a note under the table
COUNTS = ("import_missing", "import_extra", "import_unreadable", "import_empty", "import_too_long", "import_cut",
          "import_with_context", "import_meter")


@dataclass
class Continuation:
    """One file read back: its continuation token ids and what happened on the way."""

    ids: list[int]
    problem: str = ""  # "", "unreadable", "empty" or "too_long" (over --max-bars / --max-notes)
    with_context: bool = False
    cut_notes: int = 0
    cut_tokens: int = 0
    detail: str = ""
    meter_overridden: str = ""  # "4/4, not 3/4": the file's meter at the continuation's start, replaced


def parse_import(spec: str) -> tuple[str, Path]:
    """"mine=outputs/mine" -> ("mine", Path("outputs/mine"))."""
    name, sep, folder = spec.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise UserError(f"--import {spec!r}: give NAME=DIR, e.g. --import mine=outside/mine")
    return check_name(name.strip(), "--import NAME"), Path(folder.strip())


def _holds_context(notes: dict[str, np.ndarray], context: dict[str, np.ndarray], end: int) -> bool:
    """Whether the notes before `end` repeat at least CONTEXT_MATCH of the context's (onset, pitch)."""
    if len(context["time"]) == 0:
        return False
    head = notes["time"] < end
    found = Counter(zip(notes["time"][head].tolist(), notes["pitch"][head].tolist()))
    wanted = Counter(zip(context["time"].tolist(), context["pitch"].tolist()))
    return sum(min(n, found[k]) for k, n in wanted.items()) >= CONTEXT_MATCH * len(context["time"])


Meter = tuple[int, int]


def _meter_changes(score: symusic.Score, shift: int) -> list[tuple[int, int, int]]:
    """(tick from the continuation's start, numerator, denominator) of every change of meter the
    file makes inside the continuation: a time signature after `shift` whose meter differs from the
    file's own one before it, or one at `shift` itself when the file holds the context (a meter
    before it to differ from). A time signature at the file's time 0 is never a change: pretty_midi
    and others write a 4/4 there unless told otherwise, and miditok assumes one."""
    sigs = sorted((int(s.time), int(s.numerator), int(s.denominator)) for s in score.time_signatures)
    changes, before = [], None
    for t, n, d in sigs:
        if (t > shift or (t == shift > 0)) and (n, d) != before:
            changes.append((t - shift, n, d))
        before = (n, d)
    return changes


def _declared_meter(path: Path, shift: int, tpq: int) -> Meter | None:
    """The meter a file declares at the continuation's start (`shift`, in ticks at `tpq`), read
    from the file's own time signatures before miditok adds its default; None where it has none."""
    raw = symusic.Score.from_midi(Path(path).read_bytes())
    sigs = sorted((int(s.time), int(s.numerator), int(s.denominator)) for s in raw.time_signatures
                  if int(s.time) * tpq <= shift * raw.ticks_per_quarter)
    return (sigs[-1][1], sigs[-1][2]) if sigs else None


def read_continuation(path: Path, context, tempo: float, tokenizer, config, song_end: bool = False) -> Continuation:
    """The continuation a MIDI file holds, as token ids after `context` (see the module docstring;
    `song_end`: the context's window ends its song); a MIREX 2025 JSON answer is read by
    `benchmark/mirex.py`."""
    if Path(path).suffix.lower() == ".json":
        from benchmark.mirex import read_json_continuation

        return read_json_continuation(path, context, tempo, tokenizer, config, song_end)
    try:
        return _read(path, context, tempo, tokenizer, config, song_end)
    except Exception as e:  # a hostile file can break the parser or the tokenizer past their own checks
        return Continuation([], "unreadable", detail=f"{type(e).__name__}: {e}"[:160])


def _read(path: Path, context, tempo: float, tokenizer, config, song_end: bool) -> Continuation:
    score, reason = prepared_score(path, config, tokenizer)
    if score is not None:
        score = score.resample(tokenizer.time_division, min_dur=1)  # the decoder's resolution
    if score is None:
        kind = reason.partition(": ")[0]
        problem = {"corrupt": "unreadable", "too_many_bars": "too_long", "too_many_notes": "too_long"}.get(kind, "empty")
        return Continuation([], problem, detail=SKIP_REASONS.get(reason, reason))
    ctx_score, end = context_score(tokenizer, context, tempo, config)
    ctx_notes, notes = ctx_score.tracks[0].notes.numpy(), score.tracks[0].notes.numpy()
    # notes that start together, shorter first: a corpus song keeps the order its notes had before
    # they were put on the grid, where the short grace note came first; a file on the grid cannot say
    order = np.lexsort((notes["pitch"], notes["duration"], notes["time"]))
    notes = {k: v[order] for k, v in notes.items()}
    with_context = _holds_context(notes, ctx_notes, end)
    shift = end if with_context else 0
    keep = notes["time"] >= shift
    if not keep.any():
        return Continuation([], "empty", with_context, detail="no note after the context")
    meter = context_meter(ctx_score)  # the manifest's
    changes = _meter_changes(score, shift)
    declared = _declared_meter(path, shift, tokenizer.time_division)
    overridden = ""
    if declared is not None and declared != meter and not (changes and changes[0][0] == 0):
        overridden = f"{declared[0]}/{declared[1]}, not {meter[0]}/{meter[1]}"
    # the phrase as one song: the context's notes and meter, then the file's continuation, in the
    # context's meter but for the changes the file makes inside the continuation
    cont = {k: notes[k][keep] - (shift if k == "time" else 0) for k in ("time", "duration", "pitch", "velocity")}
    out = encode_after_context(tokenizer, ctx_score, end, tempo, cont, changes, config, song_end)
    return Continuation(out.ids, "", with_context, out.cut_notes, out.cut_tokens, meter_overridden=overridden)


def _few(ids: list[str], n: int = 3) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _manifest_check(folder: Path, data_hash: str, seed: int, ids: list[str]) -> tuple[str, str]:
    """(tag value, log line or "") for the manifest found beside the files (or one level up)."""
    for path in (folder / MANIFEST, folder.parent / MANIFEST):
        if path.is_file():
            try:
                m = Manifest.read(path)
            except UserError as e:
                return "unreadable", f"{e}"
            diffs = [f"{what} {theirs}, not {ours}" for what, theirs, ours in
                     (("data_hash", m.data_hash, data_hash), ("seed", m.seed, seed), ("contexts", m.contexts, len(ids)))
                     if theirs != ours]
            if not diffs and m.ids != ids:
                diffs = ["other ids"]
            if diffs:
                return ("other: " + "; ".join(diffs))[:250], (
                    f"{path} is from another export ({'; '.join(diffs)}): its files do not continue this benchmark's "
                    f"contexts; export again with the same data options, --contexts {len(ids)} --seed {seed}")
            return "match", ""
    return "none", f"no {MANIFEST} in {folder} or beside it: files matched by name only"


def import_row(name: str, folder: Path, bench, log) -> tuple[list[int], dict[str, float], dict[str, str], str]:
    """Read `folder` for every context of `bench`: (continuations, counts, tags, error) where
    error is "" unless no file could be used at all."""
    index, items = benchmark_items(bench.data, bench.options.contexts, bench.options.seed)
    ids = [item.id for item in items]
    if not np.array_equal(index, bench.context_index):
        raise AssertionError("export-contexts and benchmark picked different contexts")
    tags = {"import_dir": str(Path(folder).resolve())}
    if not Path(folder).is_dir():
        counts = {k: 0.0 for k in COUNTS} | {"import_missing": float(len(ids))}
        return [[] for _ in ids], counts, tags | {"import_manifest": "none"}, f"{folder}: no such folder"
    tags["import_manifest"], line = _manifest_check(Path(folder), bench.data.data_hash, bench.options.seed, ids)
    if line:
        log(f"{name}: {line}")
    files = {p.stem: p for p in sorted(Path(folder).iterdir())
             if (p.suffix.lower() in MIDI_SUFFIXES or is_continuation_file(p)) and p.is_file()}
    problems: dict[str, list[str]] = {k: [] for k in COUNTS}
    problems["import_extra"] = sorted(set(files) - set(ids))
    continuations, cut_notes, alone = [], 0, 0
    for cid, context, tempo, song_end in zip(ids, bench.contexts, bench.tempos, bench.phrases.arrays["song_end"]):
        if cid not in files:
            problems["import_missing"].append(cid)
            continuations.append([])
            continue
        c = read_continuation(files[cid], context, float(tempo), bench.tokenizer, bench.data.config, bool(song_end))
        continuations.append(c.ids)
        if c.problem:
            problems[f"import_{c.problem}"].append(f"{cid} ({c.detail})" if c.detail else cid)
        if c.with_context:
            problems["import_with_context"].append(cid)
        alone += not (c.with_context or c.problem)
        if c.cut_notes or c.cut_tokens:
            problems["import_cut"].append(cid)
            cut_notes += c.cut_notes
        if c.meter_overridden:
            problems["import_meter"].append(f"{cid} ({c.meter_overridden})")
    say = {
        "import_missing": "ids with no file, scored as empty continuations",
        "import_extra": "files named by no id of this benchmark, ignored",
        "import_unreadable": "unreadable files, scored as empty continuations",
        "import_empty": "files with no note after the context, scored as empty continuations",
        "import_too_long": "files over --max-bars or --max-notes, not read, scored as empty continuations",
        "import_cut": f"continuations longer than {bench.data.config.phrase_bars} bars, cut ({cut_notes} notes dropped)",
        "import_meter": "files whose time signature at the continuation's start is not the context's, read in the "
                        "context's meter (the manifest's time_signature)",
    }
    for key, what in say.items():
        if problems[key]:
            log(f"{name}: {len(problems[key])} {what}: {_few(problems[key])}")
    used = len(ids) - sum(len(problems[k]) for k in ("import_missing", "import_unreadable", "import_empty", "import_too_long"))
    log(f"{name}: {used} of {len(ids)} continuations read from {folder} ({used - alone} files hold the context "
        f"too, {alone} the continuation alone)")
    counts = {k: float(len(v)) for k, v in problems.items()}
    error = "" if used else f"no usable continuation in {folder} (see the import_* counts)"
    if used:
        domain_counts, domain_tags = domain_check(name, continuations, bench, log)
        counts.update(domain_counts)
        tags.update(domain_tags)
    return continuations, counts, tags, error


def domain_check(name: str, continuations: list[list[int]], bench, log) -> tuple[dict[str, float], dict[str, str]]:
    """The continuations (as the critic reads them: decoded from their tokens) against the
    critic's domain: the `import_out_of_domain` count and the `import_domain` tags."""
    profile, source = critic_profile(bench.critic, bench.data)
    if profile is None:
        log(f"{name}: {source}")
        return {}, {"import_domain": "unknown", "import_domain_note": source}
    values = [DomainProfile.values(decode_phrase(bench.tokenizer, context, ids, float(tempo),
                                                 bench.data.config.phrase_bars).continuation_notes)
              for context, ids, tempo in zip(bench.contexts, continuations, bench.tempos) if ids]
    outside = sum(bool(profile.outside(v)) for v in values)
    tags = {"import_domain": "outside" if outside else "inside"}
    if outside:
        what = profile.check_values(typical(values))
        line = (f"{outside} of {len(values)} continuations are outside the critic's domain"
                + (f" (typically {'; '.join(what)})" if what else "")
                + f"; real training phrases: {100 * profile.false_alarms:.1f}%")
        log(f"{name}: {line}")
        if outside >= DOMAIN_NOTE_SHARE * len(values):
            tags["import_domain_note"] = f"{line}: its critic scores say little"
    return {"import_out_of_domain": float(outside)}, tags
