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
