"""Shared phrase data: a MIDI corpus tokenized with miditok, split by song, cut into windows."""

from phrases.config import PhraseConfig, default_cache_dir, default_corpus
from phrases.dataset import Phrase, PhraseData, PhraseSplit
from phrases.notes import NOTE_DTYPE
from phrases.pipeline import prepare, split_songs
from phrases.tokenizer import load_tokenizer, make_tokenizer

__all__ = [
    "NOTE_DTYPE", "Phrase", "PhraseConfig", "PhraseData", "PhraseSplit", "default_cache_dir",
    "default_corpus", "load_tokenizer", "make_tokenizer", "prepare", "split_songs",
]
