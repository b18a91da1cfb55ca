"""The miditok tokenizer every generator and critic shares.

Choices, for jazz:

- Beat resolution 12 positions per beat for the first 4 beats: the least common multiple of
  sixteenths (4 per beat) and eighth-note triplets (3 per beat), so swung eighths, triplets and
  sixteenths each land on their own grid point. Longer durations (4-12 beats) use 4 per beat.
- No velocity tokens. WJazzD velocities are loudness estimates from the audio; the suite judges
  pitch and rhythm (its metrics are pitch / step / duration), and dropping them makes every
  phrase a quarter shorter. The decoder writes a fixed velocity.
- Time signatures on: REMI then puts bars where the score's meter says (WJazzD holds 3/4, 5/4
  and 6/4 solos besides 4/4), and windows are cut on those bars.
- Pitch range 21-108, the piano's; everything the corpora hold.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import miditok

from phrases.errors import UserError

TOKENIZER_FILE = "tokenizer.json"


def make_tokenizer(kind: str = "remi") -> miditok.MusicTokenizer:
    config = miditok.TokenizerConfig(
        pitch_range=(21, 109),
        beat_res={(0, 4): 12, (4, 12): 4},
        use_velocities=False,
        use_time_signatures=True,
        use_tempos=False,
        use_programs=False,
        special_tokens=["PAD", "BOS", "EOS"],
    )
    classes = {"remi": miditok.REMI, "tsd": miditok.TSD}
    if kind not in classes:
        raise UserError(f"--tokenizer {kind!r}: choose one of {', '.join(classes)}")
    return classes[kind](config)


def save_tokenizer(tokenizer: miditok.MusicTokenizer, directory: Path) -> Path:
    path = Path(directory) / TOKENIZER_FILE
    tokenizer.save(path)
    return path


def load_tokenizer(path: Path) -> miditok.MusicTokenizer:
    """Reload a tokenizer saved by `save_tokenizer` (a folder holding tokenizer.json, or the file)."""
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise UserError(f"{path}: no tokenizer config here; run `python cli.py prepare-data` again")
    try:
        saved = json.loads(path.read_text())
        name = saved.get("tokenization", "REMI")
    except (ValueError, AttributeError, RecursionError, UnicodeDecodeError):
        raise UserError(f"{path}: not a tokenizer config (JSON object); run `python cli.py prepare-data` again") from None
    classes = {"REMI": miditok.REMI, "TSD": miditok.TSD}  # the ones make_tokenizer makes, by name, nothing else
    if not isinstance(name, str) or name not in classes:
        raise UserError(f"{path}: unknown tokenization {str(name)[:40]!r}; phrasebench reads {', '.join(classes)}")
    return classes[name](params=path)


def tokenizer_to_json(tokenizer: miditok.MusicTokenizer) -> str:
    """The tokenizer as the JSON text `save_tokenizer` writes (for checkpoints and MLflow)."""
    return json.dumps(tokenizer.to_dict(), indent=2)


def tokenizer_from_json(text: str) -> miditok.MusicTokenizer:
    """Rebuild a tokenizer from `tokenizer_to_json`'s text, with miditok's own loader."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / TOKENIZER_FILE).write_text(text)
        return load_tokenizer(Path(d) / TOKENIZER_FILE)
