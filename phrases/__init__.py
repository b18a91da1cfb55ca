"""Shared phrase data: a MIDI corpus tokenized with miditok, split by song, cut into windows.

Names are imported on first use (PEP 562), so `import phrases.errors` stays cheap for the CLI.
"""

from importlib import import_module

_EXPORTS = {
    "NOTE_DTYPE": "phrases.notes", "Phrase": "phrases.dataset", "PhraseConfig": "phrases.config",
    "PhraseData": "phrases.dataset", "PhraseSplit": "phrases.dataset", "Unigram": "phrases.unigram",
    "UserError": "phrases.errors", "Vocab": "phrases.vocab", "default_cache_dir": "phrases.config",
    "default_corpus": "phrases.config", "file_windows": "phrases.pipeline", "load_tokenizer": "phrases.tokenizer",
    "make_tokenizer": "phrases.tokenizer", "model_sequences": "phrases.sequences", "prepare": "phrases.pipeline",
    "prepared_score": "phrases.pipeline", "split_sequences": "phrases.sequences", "split_songs": "phrases.pipeline",
    "tokenizer_from_json": "phrases.tokenizer", "tokenizer_to_json": "phrases.tokenizer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'phrases' has no attribute {name!r}")
