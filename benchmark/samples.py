"""`generate`: continuations of a MIDI file's bars (or from scratch), written as MIDI files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generators.base import Length
from generators.sampling import max_new_tokens
from phrases.config import PhraseConfig
from phrases.decode import context_from_midi, decode_phrase
from phrases.files import write_atomic
from phrases.names import short_stem
from phrases.vocab import Vocab


def write_samples(generator, out: Path, length: Length, num: int, temperature: float, top_p: float, seed: int,
                  config: PhraseConfig, context: Path | None = None, context_bars: int = 4,
                  start_bar: int = 0) -> list[str]:
    """`num` continuations of bars start_bar.. start_bar + context_bars of `context` (read as
    `config` says), or from scratch; each written atomically as context + continuation on two
    tracks. Returns a line per file (and why a file has fewer notes than asked, or a context no
    note), for people."""
    tok = generator.tokenizer
    ctx, tempo = context_from_midi(tok, context, context_bars, config, start_bar) if context else ([], 120.0)
    lines = []
    if context and not Vocab.of(tok).is_pitch[np.asarray(ctx, dtype=np.int64)].any():
        lines.append(f"warning: bars {start_bar + 1}-{start_bar + context_bars} of {context} hold no note: the "
                     "continuations start from an empty context (see --start-bar)")
    continuations = generator.generate([ctx] * num, length, temperature, top_p, seed)
    stem = short_stem(context.stem) if context else "scratch"  # a song name of 245+ characters still fits
    malformed = 0
    for i, cont in enumerate(continuations):
        decoded = decode_phrase(tok, ctx, cont, tempo, config.phrase_bars)
        path = write_atomic(out / f"{generator.name}_{stem}_{i:03d}.mid", decoded.two_track_score().dumps_midi())
        notes, malformed = len(decoded.continuation_notes), malformed + decoded.malformed
        why = ""
        if length.notes and notes < length.notes:
            why = (f" (asked {length.notes}: " + ("the sample reached its token cap)" if len(cont) >= max_new_tokens(length)
                                                  else f"the decoder dropped {decoded.malformed} malformed tokens)"))
        lines.append(f"{path}  {notes} notes{why}")
    return lines + [f"{num} files in {out}; {malformed} malformed tokens dropped"]


def generate_command(name: str, prepared, out: Path, context: Path | None, context_bars: int, start_bar: int,
                     bars: int | None, notes: int | None, temperature: float, top_p: float, num: int, seed: int,
                     checkpoint: Path | None, device: str, log) -> list[str]:
    """`cli.py generate`: write the samples; the lines it prints."""
    from benchmark.lookup import find_generator
    from phrases.errors import UserError
    from phrases.files import writable_folder

    if bars is not None and notes is not None:
        raise UserError("give --bars N or --notes N, not both")
    writable_folder(out, "--out")
    found = find_generator(name, prepared.data_hash, device, checkpoint)
    log(f"using {found.description}")
    return write_samples(found.model, out, Length(notes=notes) if notes else Length(bars=bars or 4), num,
                         temperature, top_p, seed, prepared.config, context, context_bars, start_bar)
