"""Per-id facts about a miditok vocabulary: the one place that reads them.

Which ids are of which type comes from the tokenizer itself (`token_ids_of_type`,
`special_tokens_ids`); the value an id carries (a pitch, a position, a duration) is the part of its
token after the type, in miditok's "Type_Value" form, read by `_values` below and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import miditok
import numpy as np


def _values(tokenizer: miditok.MusicTokenizer, token_type: str) -> dict[int, str]:
    """id -> the value part of every token of `token_type` ("Pitch_60" -> "60")."""
    return {i: tokenizer[i].split("_", 1)[1] for i in tokenizer.token_ids_of_type(token_type)}


def _beats(value: str) -> float:
    """A Duration / TimeShift / Rest value "beats.positions.resolution" in beats."""
    beats, positions, resolution = (int(x) for x in value.split("."))
    return beats + positions / resolution


@dataclass(frozen=True, eq=False)
class Vocab:
    """What generation, decoding, corruptions and augmentation need to know about token ids.

    Arrays are indexed by token id; -1 (or 0, or False) where an id is not of that type.
    """

    size: int
    pad: int
    bos: int
    eos: int
    special: np.ndarray  # PAD / BOS / EOS
    is_bar: np.ndarray
    pitch: np.ndarray  # MIDI pitch of a Pitch token
    position: np.ndarray  # position in the bar of a Position token
    duration_beats: np.ndarray  # beats of a Duration token
    shift_beats: np.ndarray  # beats a TimeShift / Rest token advances
    bar_positions: np.ndarray  # positions in a bar of a TimeSig token's meter
    time_signature: dict[int, tuple[int, int]]  # TimeSig id -> (numerator, denominator)
    positions_per_beat: int
    pitch_id: dict[int, int] = field(repr=False)  # MIDI pitch -> id
    position_id: dict[int, int] = field(repr=False)  # position -> id

    @classmethod
    def of(cls, tokenizer: miditok.MusicTokenizer) -> Vocab:
        """The vocabulary facts of `tokenizer`, read once and kept with it (for as long as the
        tokenizer lives): what every caller uses, so decoding a phrase reads nothing again."""
        vocab = getattr(tokenizer, _KEPT, None)
        if vocab is None or vocab.size != len(tokenizer):
            vocab = cls.from_tokenizer(tokenizer)
            setattr(tokenizer, _KEPT, vocab)  # miditok's equality reads the vocabulary and config, not this
        return vocab

    @classmethod
    def from_tokenizer(cls, tokenizer: miditok.MusicTokenizer) -> Vocab:
        """The facts read afresh from `tokenizer` (`Vocab.of` keeps them)."""
        n = len(tokenizer)
        res = max(tokenizer.config.beat_res.values())
        pitch, position = np.full(n, -1), np.full(n, -1)
        duration, shift, bar_positions = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
        for i, v in _values(tokenizer, "Pitch").items():
            pitch[i] = int(v)
        for i, v in _values(tokenizer, "Position").items():
            position[i] = int(v)
        for i, v in _values(tokenizer, "Duration").items():
            duration[i] = _beats(v)
        for kind in ("TimeShift", "Rest"):
            for i, v in _values(tokenizer, kind).items():
                shift[i] = _beats(v)
        signatures = {i: tuple(int(x) for x in v.split("/")) for i, v in _values(tokenizer, "TimeSig").items()}
        for i, (num, den) in signatures.items():
            bar_positions[i] = num * res * 4 // den
        special = np.zeros(n, dtype=bool)
        special[list(tokenizer.special_tokens_ids)] = True
        is_bar = np.zeros(n, dtype=bool)
        is_bar[tokenizer.token_ids_of_type("Bar")] = True
        return cls(
            size=n, pad=tokenizer.pad_token_id, bos=tokenizer.token_ids_of_type("BOS")[0],
            eos=tokenizer.token_ids_of_type("EOS")[0], special=special, is_bar=is_bar, pitch=pitch,
            position=position, duration_beats=duration, shift_beats=shift, bar_positions=bar_positions,
            time_signature=signatures, positions_per_beat=int(res),
            pitch_id={int(p): i for i, p in enumerate(pitch) if p >= 0},
            position_id={int(p): i for i, p in enumerate(position) if p >= 0},
        )

    @property
    def is_pitch(self) -> np.ndarray:
        return self.pitch >= 0

    @property
    def is_duration(self) -> np.ndarray:
        return self.duration_beats > 0

    def pitches(self, ids) -> np.ndarray:
        """The MIDI pitches of the Pitch tokens among `ids`, in order."""
        p = self.pitch[np.asarray(ids, dtype=np.int64)]
        return p[p >= 0]

    def pitch_shift_table(self, semitones: int) -> np.ndarray:
        """id -> id of the same token with its pitch moved by `semitones` (-1 where that leaves the
        vocabulary's range); every other id maps to itself."""
        table = np.arange(self.size, dtype=np.int64)
        for p, i in self.pitch_id.items():
            table[i] = self.pitch_id.get(p + semitones, -1)
        return table


_KEPT = "_phrasebench_vocab"  # the attribute of a tokenizer that keeps its Vocab (`Vocab.of`)
