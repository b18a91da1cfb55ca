"""The MIREX 2025 exchange format ("2025:Symbolic Music Generation", the piano continuation
task): `export-contexts --format mirex2025` writes each test context as that task's prompt JSON,
and `benchmark --import NAME=DIR` reads a system's answer in that JSON as it reads MIDI, so a
system prepared for the MIREX task goes on the leaderboard unchanged.

The task's format, as the wiki page gives it (revision of 9 July 2025): a JSON object whose `prompt` is a list of notes {"start", "pitch",
"duration"}, times counted in sixteenth notes, 4/4 assumed: a pickup measure (starts 0-15) and 4
measures (16-79); the system writes `generation`, 12 measures (starts 80-271).

How the benchmark's phrases map onto it:
- time: 1 quarter-note beat = 4 sixteenths, whatever the meter; onsets and durations are
  rounded to the sixteenth (a duration to at least 1). The context is placed so that it ends at
  sixteenth 80, where the generation starts: a 4-bar 4/4 context fills starts 16-79 and leaves
  the pickup measure empty; a 4-bar 3/4 context (48 sixteenths) starts at 32. Context notes that
  would start before 0 (a context longer than 80 sixteenths) are left out of the prompt (counted
  in the export's report).
- bars: the benchmark's continuations are `phrase_bars` bars (4 by default), not MIREX's 12.
  A generation is read from sixteenth 80 on as the continuation (time 0 = the bar line after the
  context); notes past the benchmark's `phrase_bars` bars are cut and counted (`import_cut`), as
  for a MIDI file, so a 12-bar MIREX generation is scored on its first 4 bars.
- meter: MIREX assumes 4/4 and carries none; the continuation is read in the context's own
  (last) meter, written as the time signature of the MIDI file the reader is handed.
- tempo: none in the format; the continuation is played at the context's tempo (the manifest's
  `tempo_qpm`).
Lost on the way: timing finer than a sixteenth (triplets, swing, the 1/12-beat grid of the
tokenizer), velocities, meter changes, and prompt notes a system writes back (notes before
sixteenth 80 are ignored: the benchmark's own context is used).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import symusic

from benchmark.contexts import MANIFEST, Manifest, benchmark_items
from phrases.decode import decode_phrase
from phrases.errors import UserError
from phrases.files import write_atomic

FORMAT = "mirex2025"
SIXTEENTHS_PER_BEAT = 4
GENERATION_START = 80  # the first sixteenth of the generation: pickup measure + 4 measures
SUFFIX = ".json"

INSTRUCTIONS = """\
MIREX 2025 "Symbolic Music Generation" format: prompts/<id>.json holds {{"prompt": [{{"start", "pitch",
"duration"}}, ...]}}, times in sixteenth notes, the context ending at sixteenth 80 (4/4 contexts fill
16-79; the pickup measure is empty). Run your MIREX system on each prompt and write its answer,
{{"generation": [...]}} with starts from 80 on (the prompt may be kept beside it), as <id>.json into a
folder of your own, for example {out}/mine/. phrasebench scores the first bars_to_continue bars of
each generation (sixteenths 80 to 80 + 4 x continuation_beats), at tempo_qpm, in the context's meter;
notes after that are cut (and counted).
Then, with the same data options as this export:
  python cli.py benchmark --import mine={out}/mine --contexts {contexts} --seed {seed}"""


def to_sixteenths(notes: np.ndarray, offset: int) -> list[dict[str, int]]:
    """Notes (`phrases.NOTE_DTYPE`, onsets in beats) as MIREX notes: start = offset + round(4 x
    onset), duration = max(1, round(4 x duration)), in onset order."""
    out = []
    for n in notes[np.lexsort((notes["pitch"], notes["onset_beats"]))]:
        out.append({"start": int(offset + round(float(n["onset_beats"]) * SIXTEENTHS_PER_BEAT)),
                    "pitch": int(n["pitch"]),
                    "duration": max(1, int(round(float(n["duration_beats"]) * SIXTEENTHS_PER_BEAT)))})
    return out


def prompt_offset(context_beats: float) -> int:
    """The sixteenth at which the context starts, so that it ends where the generation starts."""
    return GENERATION_START - int(round(context_beats * SIXTEENTHS_PER_BEAT))


def export_mirex(data, out: Path, contexts: int, seed: int) -> tuple[Manifest, int]:
    """Write OUT/prompts/<id>.json (the MIREX prompt of each context) and OUT/manifest.json;
    (manifest, context notes left out because they start before sixteenth 0)."""
    out = Path(out)
    index, items = benchmark_items(data, contexts, seed)
    tok, bars = data.tokenizer, data.config.phrase_bars
    dropped = 0
    try:
        (out / "prompts").mkdir(parents=True, exist_ok=True)
        for i, item in zip(index, items):
            p = data.test[i]
            notes = to_sixteenths(decode_phrase(tok, p.context, [], p.tempo_qpm, bars).context_notes,
                                  prompt_offset(item.context_beats))
            kept = [n for n in notes if n["start"] >= 0]
            dropped += len(notes) - len(kept)
            item.context_file = f"prompts/{item.id}{SUFFIX}"
            write_atomic(out / item.context_file, json.dumps({"prompt": kept}).encode())
        manifest = Manifest(data.data_hash, seed, len(items), bars, data.config.tokenizer, data.report["corpus"], items)
        manifest.instructions = INSTRUCTIONS.format(out=out, contexts=contexts, seed=seed)
        write_atomic(out / MANIFEST, manifest.to_json().encode())
    except OSError as e:
        raise UserError(f"{out}: cannot write the prompts there ({e.strerror or e}); give another folder") from None
    return manifest, dropped


def export_mirex_report(manifest: Manifest, dropped: int, out: Path) -> list[str]:
    """What `export-contexts --format mirex2025` prints."""
    lines = [f"{len(manifest.items)} prompts in the MIREX 2025 format in {Path(out) / 'prompts'} (contexts of "
             f"{manifest.phrase_bars} bars, ending at sixteenth {GENERATION_START}); manifest {Path(out) / MANIFEST} "
             f"(data_hash {manifest.data_hash}, seed {manifest.seed})"]
    if dropped:
        lines.append(f"{dropped} context notes start before sixteenth 0 (contexts longer than 80 sixteenths) and are "
                     "not in the prompts")
    lines += [f"write one <id>.json with a \"generation\" per prompt into a folder of your own; its first "
              f"{manifest.phrase_bars} bars are scored; then:",
              f"  python cli.py benchmark --import NAME=FOLDER --contexts {manifest.contexts} --seed {manifest.seed}"]
    return lines


def export_command(data, out: Path, contexts: int, seed: int, file_format: str) -> list[str]:
    """`cli.py export-contexts`: the contexts as MIDI (`contexts.export_contexts`) or as MIREX 2025
    prompts; `data` is called (the data loaded) only once the format is known good. The lines it prints."""
    from benchmark.contexts import export_contexts, export_report

    if file_format not in ("midi", FORMAT):
        raise UserError(f"--format {file_format}: choose midi or {FORMAT}")
    if file_format == FORMAT:
        return export_mirex_report(*export_mirex(data(quiet=True), out, contexts, seed), out)
    return export_report(export_contexts(data(quiet=True), out, contexts, seed), out)


def read_generation(path: Path) -> list[tuple[int, int, int]]:
    """(start, pitch, duration) in sixteenths of a MIREX answer's generation (key `generation`;
    `output`, the key of an earlier draft of the task, is read too), notes from sixteenth 80 on;
    a `ValueError` naming what is wrong otherwise."""
    d = json.loads(Path(path).read_text())
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    key = next((k for k in ("generation", "output") if k in d), None)
    if key is None:
        raise ValueError(f"no \"generation\" list (keys: {', '.join(map(str, d)) or 'none'})")
    notes = []
    for n in d[key]:
        if not isinstance(n, dict) or not all(isinstance(n.get(k), int) and not isinstance(n.get(k), bool)
                                              for k in ("start", "pitch", "duration")):
            raise ValueError(f"a note is not {{start, pitch, duration}} integers: {str(n)[:60]}")
        if not 0 <= n["pitch"] <= 127:
            raise ValueError(f"pitch {n['pitch']} outside 0-127")
        if n["start"] >= GENERATION_START and n["duration"] > 0:
            notes.append((n["start"], n["pitch"], n["duration"]))
    return notes


MAX_ANSWER_BYTES = 64 << 20  # about 1.5 million notes of JSON, far past --max-notes' default


def read_json_continuation(path: Path, context, tempo: float, tokenizer, config, song_end: bool = False):
    """`imported.read_continuation` for a MIREX answer: its generation as a MIDI file of the
    continuation alone (time 0 = sixteenth 80, the context's tempo and last meter), read as any
    imported MIDI file is."""
    from benchmark.imported import Continuation, read_continuation
    from phrases.scan import limits

    try:
        if Path(path).stat().st_size > MAX_ANSWER_BYTES:  # json.loads of it would take gigabytes
            return Continuation([], "too_long", detail=f"over {MAX_ANSWER_BYTES >> 20} MB")
        notes = read_generation(path)
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as e:  # JSONDecodeError is a ValueError
        return Continuation([], "unreadable", detail=f"not a MIREX 2025 answer: {e}"[:160])
    if not notes:
        return Continuation([], "empty", detail="no generation note from sixteenth 80 on")
    if len(notes) > limits()["max_notes"]:
        return Continuation([], "too_long", detail=f"{len(notes)} notes, the limit is {limits()['max_notes']} (--max-notes)")
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / f"{Path(path).stem}.mid"
        try:
            _generation_midi(notes, context, tempo, tokenizer, config).dump_midi(str(midi))
        except Exception as e:  # numbers past what a MIDI file holds (a start of 10^12 sixteenths)
            return Continuation([], "unreadable", detail=f"not a MIREX 2025 answer: {type(e).__name__}: {e}"[:160])
        return read_continuation(midi, context, tempo, tokenizer, config, song_end)


def _generation_midi(notes: list[tuple[int, int, int]], context, tempo: float, tokenizer, config) -> symusic.Score:
    """The generation as a score of the continuation alone: time 0 = sixteenth 80."""
    tpq = tokenizer.time_division
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, tempo))
    sigs = decode_phrase(tokenizer, context, [], tempo, config.phrase_bars).score.time_signatures
    num, den = (sigs[-1].numerator, sigs[-1].denominator) if len(sigs) else (4, 4)
    score.time_signatures.append(symusic.TimeSignature(0, num, den))
    track = symusic.Track(name="generation", program=0)
    tick = lambda sixteenths: int(round(sixteenths * tpq / SIXTEENTHS_PER_BEAT))  # noqa: E731
    for start, pitch, duration in notes:
        track.notes.append(symusic.Note(tick(start - GENERATION_START), max(tick(duration), 1), pitch, 80))
    score.tracks.append(track)
    return score


def is_continuation_file(path: Path) -> bool:
    """A MIREX answer in an import folder: a .json file other than the manifest."""
    return path.suffix.lower() == SUFFIX and path.name != MANIFEST


__all__ = ["FORMAT", "export_command", "export_mirex", "export_mirex_report", "is_continuation_file", "read_generation",
           "read_json_continuation", "to_sixteenths"]
