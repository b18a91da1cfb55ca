"""`generate`: continuations of a MIDI file's bars (or from scratch), written as MIDI files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generators.base import Length
from phrases.config import PhraseConfig
from phrases.decode import context_from_midi, decode_phrase


@dataclass
class Sample:
    path: Path
    notes: int  # notes in the continuation
    malformed: int  # tokens dropped by the decoder


def write_samples(generator, out: Path, length: Length, num: int, temperature: float, top_p: float, seed: int,
                  config: PhraseConfig, context: Path | None = None, context_bars: int = 4,
                  start_bar: int = 0) -> list[Sample]:
    """`num` continuations of bars start_bar.. start_bar + context_bars of `context` (read as
    `config` says), or from scratch; each written as context + continuation on two tracks."""
    tok = generator.tokenizer
    ctx, tempo = context_from_midi(tok, context, context_bars, config, start_bar) if context else ([], 120.0)
    continuations = generator.generate([ctx] * num, length, temperature, top_p, seed)
    out.mkdir(parents=True, exist_ok=True)
    stem = context.stem if context else "scratch"
    samples = []
    for i, cont in enumerate(continuations):
        decoded = decode_phrase(tok, ctx, cont, tempo, config.phrase_bars)
        path = out / f"{generator.name}_{stem}_{i:03d}.mid"
        decoded.two_track_score().dump_midi(str(path))
        samples.append(Sample(path, len(decoded.continuation_notes), decoded.malformed))
    return samples


def generate_command(name: str, prepared, out: Path, context: Path | None, context_bars: int, start_bar: int,
                     bars: int | None, notes: int | None, temperature: float, top_p: float, num: int, seed: int,
                     checkpoint: Path | None, device: str, log) -> list[str]:
    """`cli.py generate`: write the samples; the lines it prints."""
    from benchmark.lookup import find_generator
    from phrases.errors import UserError

    if bars is not None and notes is not None:
        raise UserError("give --bars N or --notes N, not both")
    found = find_generator(name, prepared.data_hash, device, checkpoint)
    log(f"using {found.description}")
    samples = write_samples(found.model, out, Length(notes=notes) if notes else Length(bars=bars or 4), num,
                            temperature, top_p, seed, prepared.config, context, context_bars, start_bar)
    return ([f"{s.path}  {s.notes} notes" for s in samples]
            + [f"{len(samples)} files in {out}; {sum(s.malformed for s in samples)} malformed tokens dropped"])
