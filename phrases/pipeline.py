"""Corpus folder -> `PhraseData`: scan, parse, tokenize, split by song, window, augment, cache.

`prepare()` is the one entry point. Files are parsed and tokenized in worker processes (one
per core), and the result is cached under `cache_dir/<data_hash>`, where `data_hash` is a
SHA-256 of the file list, the files' bytes and the config: the same inputs load the cache, any
change rebuilds it.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import symusic

from phrases.config import SPLITS, PhraseConfig, default_cache_dir
from phrases.dataset import RAGGED, PhraseData, PhraseSplit
from phrases.scan import SKIP_REASONS, find_midi_files, load_song
from phrases.tokenizer import make_tokenizer
from phrases.segments import cut_segments, first_instrument
from phrases.vocab import Vocab
from phrases.windows import SongWindows, cut_windows

Progress = Callable[[int, int], None]  # (done, total)

_tokenizers: dict[str, object] = {}  # per process, by tokenizer kind


def data_hash(corpus: Path, files: list[Path], config: PhraseConfig) -> str:
    """SHA-256 over (relative path, content hash) of every file, then the config."""
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(corpus).as_posix().encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(config.digest().encode())
    return h.hexdigest()[:16]


def prepared_score(path: Path, config: PhraseConfig, tokenizer) -> tuple[symusic.Score | None, str | None]:
    """One file as the tokenizer sees it: parsed, reduced to one track (`config.tracks`, or the
    first instrument under the csc413 protocol), preprocessed by `tokenizer` (grid, pitch range).
    (score, None), or (None, the skip reason). Every command that reads a MIDI file reads it here."""
    segments = config.protocol == "csc413"
    score, reason = first_instrument(Path(path)) if segments else load_song(Path(path), config.tracks)
    if score is None:
        return None, reason
    score = tokenizer.preprocess_score(score)
    if not score.tracks:
        return None, "empty"  # every note was outside the tokenizer's pitch range
    return score, None


def file_windows(path: Path, config: PhraseConfig, tokenizer) -> tuple[str | None, SongWindows | None]:
    """One file to its windows (or segments), or to a skip reason."""
    score, reason = prepared_score(path, config, tokenizer)
    if score is None:
        return reason, None
    if config.protocol == "csc413":
        windows = cut_segments(tokenizer, score, config.segment_notes, config.max_tokens)
    else:
        windows = cut_windows(tokenizer, score, config.phrase_bars, config.stride, config.min_notes,
                              config.max_tokens)
    if not windows.start_bar:
        return "no_windows", windows
    return None, windows


def _process_file(args: tuple[str, PhraseConfig]) -> tuple[str | None, SongWindows | None]:
    """Worker: `file_windows` with this process's tokenizer."""
    path, config = args
    if config.tokenizer not in _tokenizers:
        _tokenizers[config.tokenizer] = make_tokenizer(config.tokenizer)
    return file_windows(Path(path), config, _tokenizers[config.tokenizer])


def split_songs(songs: list[str], fractions: tuple[float, float, float], seed: int) -> dict[str, list[str]]:
    """Assign whole songs to train / val / test: a seeded permutation cut by `fractions`.

    Every split with a positive fraction gets at least one song when there are enough songs.
    """
    order = np.random.default_rng(seed).permutation(len(songs))
    shuffled = [sorted(songs)[i] for i in order]
    n = len(songs)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    if n >= 3:
        n_val = max(n_val, 1 if fractions[1] > 0 else 0)
        n_test = max(n_test, 1 if fractions[2] > 0 else 0)
    n_train = max(n - n_val - n_test, 0)
    return {
        "train": shuffled[:n_train],
        "val": shuffled[n_train : n_train + n_val],
        "test": shuffled[n_train + n_val :],
    }


def _transposed(windows: dict[str, list], vocab: Vocab, semitones: int) -> dict[str, list]:
    """Copies of the windows shifted by `semitones`; windows that leave the range are dropped."""
    table = vocab.pitch_shift_table(semitones)
    out = {k: [] for k in windows}
    for i in range(len(windows["song"])):
        ctx = table[windows["context"][i]]
        cont = table[windows["continuation"][i]]
        if (ctx < 0).any() or (cont < 0).any():
            continue
        for key in windows:
            out[key].append(windows[key][i])
        out["context"][-1] = ctx.astype(np.int32)
        out["continuation"][-1] = cont.astype(np.int32)
        for key in ("context_notes", "continuation_notes"):
            notes = windows[key][i].copy()
            notes["pitch"] += semitones
            out[key][-1] = notes
        out["transpose"][-1] = semitones
    return out


def prepare(
    corpus: Path,
    config: PhraseConfig | None = None,
    cache_dir: Path | None = None,
    workers: int | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> PhraseData:
    """Build (or load from the cache) the phrase data of `corpus` under `config`."""
    config = config or PhraseConfig()
    corpus = Path(corpus)
    started = time.perf_counter()
    files = find_midi_files(corpus)
    key = data_hash(corpus, files, config)
    path = Path(cache_dir or default_cache_dir()) / "phrases" / key
    if not rebuild and (path / "phrases.npz").is_file():
        try:
            data = PhraseData.load(path)
            data.report["cached"] = True
            data.report["seconds"] = round(time.perf_counter() - started, 3)
            return data
        except (OSError, ValueError, KeyError):
            pass  # an unreadable cache is rebuilt

    tokenizer = make_tokenizer(config.tokenizer)
    results = _run_files(files, config, workers, progress)

    skipped: dict[str, list[str]] = {reason: [] for reason in SKIP_REASONS}
    per_song: dict[str, SongWindows] = {}
    dropped = Counter()
    total_tokens = 0
    for path_i, (reason, windows) in zip(files, results):
        name = path_i.relative_to(corpus).as_posix()
        if windows is not None:
            dropped["too_long"] += windows.dropped_too_long
            dropped["few_notes"] += windows.dropped_few_notes
            total_tokens += windows.num_tokens
        if reason is not None:
            skipped[reason].append(name)
        else:
            per_song[name] = windows

    songs = np.array(sorted(per_song), dtype=str)
    song_index = {s: i for i, s in enumerate(songs)}
    assignment = split_songs(list(songs), config.split_fractions, config.seed)
    splits = {}
    for split in SPLITS:
        collected = {k: [] for k in (*RAGGED, "song", "start_bar", "transpose", "tempo_qpm")}
        for song in sorted(assignment[split]):
            w = per_song[song]
            collected["context"] += w.context_ids
            collected["continuation"] += w.continuation_ids
            collected["context_notes"] += w.context_notes
            collected["continuation_notes"] += w.continuation_notes
            collected["start_bar"] += w.start_bar
            collected["tempo_qpm"] += w.tempo_qpm
            collected["song"] += [song_index[song]] * len(w.start_bar)
            collected["transpose"] += [0] * len(w.start_bar)
        if split == "train" and config.transpose:
            originals = {k: list(v) for k, v in collected.items()}
            for k in range(-config.transpose, config.transpose + 1):
                if k:
                    for key, values in _transposed(originals, Vocab.from_tokenizer(tokenizer), k).items():
                        collected[key] += values
        splits[split] = PhraseSplit.from_windows(collected, songs)

    report = {
        "corpus": str(corpus.resolve()),
        "data_hash": key,
        "cache_path": str(path),
        "files_found": len(files),
        "files_parsed": len(files) - len(skipped["corrupt"]),
        "files_skipped": {r: len(v) for r, v in skipped.items()},
        "skipped_files": {r: v for r, v in skipped.items() if v},
        "tokens_in_corpus": total_tokens,
        "windows_dropped": dict(dropped),
        "songs": {s: len(assignment[s]) for s in SPLITS},
        "songs_disjoint": all(
            set(assignment[a]).isdisjoint(assignment[b]) for a, b in [("train", "val"), ("train", "test"), ("val", "test")]
        ),
        "windows": {s: len(splits[s]) for s in SPLITS},
        "tokens": {s: splits[s].num_tokens for s in SPLITS},
        "vocab_size": len(tokenizer),
        "tokenizer": config.tokenizer,
        "config": config.to_dict(),
    }
    data = PhraseData(path, key, config, songs, splits, report)
    data.save(tokenizer)
    data.report["cached"] = False
    data.report["seconds"] = round(time.perf_counter() - started, 3)
    return data


def _run_files(
    files: list[Path], config: PhraseConfig, workers: int | None, progress: Progress | None
) -> list[tuple[str | None, SongWindows | None]]:
    """Process every file, on `workers` processes (default: one per core; 1 = in this process)."""
    workers = workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(files) // 8 or 1))
    jobs = [(str(f), config) for f in files]
    results = []
    if workers == 1:
        mapped = map(_process_file, jobs)
        executor = None
    else:
        # fork: the workers inherit the imported modules, so they start in milliseconds
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        executor = ProcessPoolExecutor(workers, mp_context=ctx)
        mapped = executor.map(_process_file, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
    try:
        for i, result in enumerate(mapped, 1):
            results.append(result)
            if progress:
                progress(i, len(jobs))
    finally:
        if executor:
            executor.shutdown()
    return results
