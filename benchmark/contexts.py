"""`export-contexts`: the benchmark's test contexts as MIDI files and a manifest, for a model that
lives outside phrasebench; `benchmark --import NAME=DIR` reads its continuations back
(`benchmark/imported.py`).

The contexts are exactly the ones `benchmark` uses with the same data options, `--contexts` and
`--seed` (`runner.select_contexts`), each written from its token ids: the bars a generator is
given, on the tokenizer's grid, tempo and time signature kept. An id names the context's position,
its song and its first bar counted from 1: `007-CharlieParker_DonnaLee_FINAL-bar17`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import symusic

from benchmark.runner import select_contexts
from phrases.decode import context_end_tick, decode_phrase
from phrases.errors import UserError
from phrases.files import remove_stale, temp_path, write_atomic
from phrases.names import short_stem

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 << 20  # a manifest of 100,000 contexts is about 40 MB
FORMAT = "phrasebench-contexts 1"

INSTRUCTIONS = """\
For every item below, continue the context in contexts/<id>.mid by bars_to_continue bars
(continuation_beats quarter notes at tempo_qpm, in time_signature) and write one MIDI file named
<id>.mid into a folder of your own, for example {out}/mine/ (a folder inside this one, so that
this manifest is found beside it; or copy manifest.json into your folder).
A file may hold either
  - the continuation alone: its time 0 is the bar line right after the context, or
  - the context followed by the continuation: the context's bars first, as in contexts/<id>.mid
    (the continuation then starts at context_beats).
phrasebench tells them apart by the file's first bars: when at least 80% of the context's notes
(pitch and onset on the 1/12-beat grid) are there, the file holds the context too.
Keep the tempo (tempo_qpm) so that beats line up, and write time_signature into the file (else
pretty_midi and others write 4/4): the continuation is read in time_signature, and a file's own
time signatures count only as changes of meter inside the continuation; all pitched tracks are
merged into one line and drum tracks dropped. Notes that start after bars_to_continue bars are cut (and counted); a
missing, unreadable or empty file is scored as an empty continuation (and counted).
Then, with the same data options as this export:
  python cli.py benchmark --import mine={out}/mine --contexts {contexts} --seed {seed}"""


@dataclass
class ContextItem:
    id: str
    song: str
    start_bar: int  # counted from 0, as in phrases.csv; the id counts from 1
    bars_to_continue: int
    tempo_qpm: float
    time_signature: str
    context_beats: float
    continuation_beats: float
    context_file: str


@dataclass
class Manifest:
    data_hash: str
    seed: int
    contexts: int
    phrase_bars: int
    tokenizer: str
    corpus: str
    items: list[ContextItem] = field(default_factory=list)
    instructions: str = ""
    format: str = FORMAT

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    def to_json(self) -> str:
        d = asdict(self)
        first = {"format": d.pop("format"), "instructions": d.pop("instructions").splitlines()}
        return json.dumps({**first, **d}, indent=2)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """A manifest written by `export_contexts`; anything else is a `UserError`."""
        try:
            if Path(path).stat().st_size > MAX_MANIFEST_BYTES:
                raise ValueError(f"over {MAX_MANIFEST_BYTES >> 20} MB")
            d = json.loads(Path(path).read_text())
            if not isinstance(d, dict) or not isinstance(d.get("items"), list):
                raise ValueError("not a JSON object with a list of items")
            if d.get("format") != FORMAT:
                raise ValueError(f"format {d.get('format')!r}, not {FORMAT!r}")
            d["items"] = [ContextItem(**item) for item in d["items"]]
            d["instructions"] = "\n".join(d.get("instructions", []))
            return cls(**d)
        except (OSError, ValueError, TypeError, KeyError, RecursionError, AttributeError) as e:
            raise UserError(f"{path}: not a manifest of `python cli.py export-contexts` ({e}); "
                            "export the contexts again") from None


def context_id(position: int, song: str, start_bar: int, width: int = 3) -> str:
    """"007-CharlieParker_DonnaLee_FINAL-bar17": position from 1, song file stem, first bar from 1."""
    stem = short_stem(re.sub(r"[^A-Za-z0-9_-]+", "_", Path(song).stem).strip("_") or "song")
    return f"{position + 1:0{width}d}-{stem}-bar{start_bar + 1}"


def benchmark_items(data, contexts: int, seed: int) -> tuple[list[int], list[ContextItem]]:
    """The test-window indices `benchmark` uses for these options, and their manifest items
    (without files)."""
    index = select_contexts(len(data.test), contexts, seed)
    if len(index) == 0:
        raise UserError(f"the test split of data {data.data_hash} holds no phrase; use a larger corpus or another --split")
    tok, bars = data.tokenizer, data.config.phrase_bars
    width = max(3, len(str(len(index))))
    items = []
    for k, i in enumerate(index):
        p = data.test[int(i)]
        tpq = tok.time_division
        end = context_end_tick(tok, p.context, bars)
        num, den = _last_signature(decode_phrase(tok, p.context, [], p.tempo_qpm, bars).score)
        item_id = context_id(k, p.song, p.start_bar, width)
        items.append(ContextItem(item_id, p.song, p.start_bar, bars, round(float(p.tempo_qpm), 3), f"{num}/{den}",
                                 end / tpq, bars * num * 4 / den, f"contexts/{item_id}.mid"))
    return [int(i) for i in index], items


def _last_signature(score: symusic.Score) -> tuple[int, int]:
    sigs = score.time_signatures
    return (sigs[-1].numerator, sigs[-1].denominator) if len(sigs) else (4, 4)


def export_contexts(data, out: Path, contexts: int, seed: int) -> Manifest:
    """Write OUT/contexts/<id>.mid (the context bars only) and OUT/manifest.json, atomically: the
    files are built in a temporary folder beside, the old manifest removed, the old contexts/
    swapped out for the new, the new manifest written last and the old files deleted. A kill
    leaves either the old export whole, or new contexts and no manifest (never a manifest beside
    files it does not describe); the next export removes what a killed one left."""
    out = Path(out)
    index, items = benchmark_items(data, contexts, seed)
    building = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale(out)
        building = temp_path(out / "contexts")
        building.mkdir()
        tok, bars = data.tokenizer, data.config.phrase_bars
        for i, item in zip(index, items):
            p = data.test[i]
            score = decode_phrase(tok, p.context, [], p.tempo_qpm, bars).score
            score.tracks[0].name = "context"
            score.markers.append(symusic.TextMeta(round(item.context_beats * tok.time_division), "continue here"))
            score.dump_midi(str(building / Path(item.context_file).name))
        manifest = Manifest(data.data_hash, seed, len(items), bars, data.config.tokenizer, data.report["corpus"], items)
        manifest.instructions = INSTRUCTIONS.format(out=out, contexts=contexts, seed=seed)
        text = manifest.to_json().encode()
        (out / MANIFEST).unlink(missing_ok=True)
        old = temp_path(out / "contexts")
        if (out / "contexts").exists():
            os.replace(out / "contexts", old)
        os.replace(building, out / "contexts")
        write_atomic(out / MANIFEST, text)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as e:
        raise UserError(f"{out}: cannot write the contexts there ({e.strerror or e}); give another folder") from None
    finally:
        if building is not None and building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return manifest


def export_report(manifest: Manifest, out: Path) -> list[str]:
    """What `export-contexts` prints."""
    beats = {item.continuation_beats for item in manifest.items}
    return [f"{len(manifest.items)} contexts of {manifest.phrase_bars} bars in {Path(out) / 'contexts'}; "
            f"manifest {Path(out) / MANIFEST} (data_hash {manifest.data_hash}, seed {manifest.seed})",
            f"continue each by {manifest.phrase_bars} bars ({', '.join(f'{b:g}' for b in sorted(beats))} beats), "
            f"one <id>.mid per context in a folder of your own, then:",
            f"  python cli.py benchmark --import NAME=FOLDER --contexts {manifest.contexts} --seed {manifest.seed}"]
