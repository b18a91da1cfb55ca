"""Corpus folder -> `PhraseData`: scan, parse, tokenize, split by song, window, augment, cache.

`prepare()` is the one entry point. Files are parsed and tokenized in worker processes (one
per core), and the result is cached under `cache_dir/<data_hash>`, where `data_hash` is a
SHA-256 of the file list, the files' bytes and the config: the same inputs load the cache, any
change rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
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
from phrases.dataset import FLAT, RAGGED, PhraseData, PhraseSplit
from phrases.errors import UserError
from phrases.files import remove_stale, writable_folder
from phrases.scan import DEFAULT_LIMITS, SKIP_REASONS, Scan, display_name, find_midi_files, limits, load_song, read_midi
from phrases.tokenizer import make_tokenizer
from phrases.segments import cut_segments, first_instrument
from phrases.vocab import Vocab
from phrases.windows import SongWindows, cut_windows

Progress = Callable[[int, int], None]  # (done, total)

_tokenizers: dict[str, object] = {}  # per process, by tokenizer kind


def data_hash(scan: Scan, config: PhraseConfig) -> tuple[str, dict[Path, str]]:
    """SHA-256 over (relative path, content hash) of every file, then the config; and the files
    that could not be read at all (path -> skip reason), which enter the hash by their reason."""
    h = hashlib.sha256()
    refused = {}
    for path in scan.files:
        h.update(os.fsencode(scan.relative(path)))
        data, reason = read_midi(path)
        if data is None:
            refused[path] = reason
            h.update(reason.encode())
        else:
            h.update(hashlib.sha256(data).digest())
    h.update(config.digest().encode())
    if limits() != DEFAULT_LIMITS:  # other limits, other files kept (the default ones keep old hashes)
        h.update(json.dumps(limits(), sort_keys=True).encode())
    return h.hexdigest()[:16], refused


def prepared_score(path: Path, config: PhraseConfig, tokenizer) -> tuple[symusic.Score | None, str | None]:
    """One file as the tokenizer sees it: parsed, reduced to one track (`config.tracks`, or the
    first instrument under the csc413 protocol), preprocessed by `tokenizer` (grid, pitch range).
    (score, None), or (None, the skip reason). Every command that reads a MIDI file reads it here."""
    segments = config.protocol == "csc413"
    score, reason = first_instrument(Path(path)) if segments else load_song(Path(path), config.tracks)
    if score is None:
        return None, reason
    try:
        score = tokenizer.preprocess_score(score)
    except Exception as e:  # miditok on a file it cannot take (a meter it divides by, ...): skip it
        return None, f"unusable: {type(e).__name__}: {e}"[:300]
    if not score.tracks:
        return None, "empty"  # every note was outside the tokenizer's pitch range
    return score, None


def file_windows(path: Path, config: PhraseConfig, tokenizer) -> tuple[str | None, SongWindows | None]:
    """One file to its windows (or segments), or to a skip reason (a `SKIP_REASONS` key, with the
    error after a colon for "unusable")."""
    score, reason = prepared_score(path, config, tokenizer)
    if score is None:
        return reason, None
    try:
        if config.protocol == "csc413":
            windows = cut_segments(tokenizer, score, config.segment_notes, config.max_tokens)
        else:
            windows = cut_windows(tokenizer, score, config.phrase_bars, config.stride, config.min_notes,
                                  config.max_tokens)
    except Exception as e:  # one file that miditok cannot encode never stops a corpus
        return f"unusable: {type(e).__name__}: {e}"[:300], None
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
    log: Callable[[str], None] = lambda _: None,
) -> PhraseData:
    """Build (or load from the cache) the phrase data of `corpus` under `config`. A cache that does
    not load or verify is rebuilt, and `log` gets one line saying why."""
    config = config or PhraseConfig()
    started = time.perf_counter()
    scan = find_midi_files(Path(corpus))
    key, refused = data_hash(scan, config)
    root = writable_folder(Path(cache_dir or default_cache_dir()) / "phrases", "--cache-dir")
    remove_stale(root)
    path = root / key
    if not rebuild and path.exists():
        try:
            data = PhraseData.load(path)
            data.report.update(cached=True, seconds=round(time.perf_counter() - started, 3))
            return data
        except Exception as e:  # a cache is derived data: whatever is wrong with it, build it again
            log(f"cache {path} cannot be used ({type(e).__name__}: {str(e)[:120]}); building it again")
    tokenizer = make_tokenizer(config.tokenizer)
    readable = [f for f in scan.files if f not in refused]
    results = dict(zip(readable, _run_files(readable, config, workers, progress)))
    results.update({f: (reason, None) for f, reason in refused.items()})

    skipped: dict[str, list[str]] = {reason: [] for reason in SKIP_REASONS}
    errors: dict[str, str] = {}
    per_song: dict[str, SongWindows] = {}
    dropped = Counter()
    total_tokens = 0
    for file in scan.files:
        reason, windows = results[file]
        name = display_name(scan.relative(file))
        if windows is not None:
            dropped["too_long"] += windows.dropped_too_long
            dropped["few_notes"] += windows.dropped_few_notes
            total_tokens += windows.num_tokens
        if reason is None:
            per_song[name] = windows
            continue
        kind, _, detail = reason.partition(": ")
        skipped[kind].append(name)
        if detail:
            errors[name] = detail
    if not per_song:
        raise UserError(f"{scan.root}: no file gave a window ({_skip_summary(skipped)}); lower --phrase-bars or "
                        "--min-notes, raise --max-tokens, or check the files")

    songs = np.array(sorted(per_song), dtype=str)
    song_index = {s: i for i, s in enumerate(songs)}
    assignment = split_songs(list(songs), config.split_fractions, config.seed)
    vocab = Vocab.of(tokenizer)
    splits = {}
    for split in SPLITS:
        collected = {k: [] for k in (*RAGGED, *FLAT)}
        for song in sorted(assignment[split]):
            w = per_song[song]
            collected["context"] += w.context_ids
            collected["continuation"] += w.continuation_ids
            collected["context_notes"] += w.context_notes
            collected["continuation_notes"] += w.continuation_notes
            collected["start_bar"] += w.start_bar
            collected["tempo_qpm"] += w.tempo_qpm
            collected["song_end"] += w.song_end
            collected["song"] += [song_index[song]] * len(w.start_bar)
            collected["transpose"] += [0] * len(w.start_bar)
        if split == "train" and config.transpose:
            originals = {k: list(v) for k, v in collected.items()}
            for k in range(-config.transpose, config.transpose + 1):
                if k:
                    for field, values in _transposed(originals, vocab, k).items():
                        collected[field] += values
        splits[split] = PhraseSplit.from_windows(collected, songs)

    report = {
        "corpus": str(scan.root.resolve()),
        "data_hash": key,
        "cache_path": str(path),
        "files_found": len(scan.files),
        "files_parsed": len(scan.files) - sum(len(skipped[r]) for r in ("unreadable", "not_a_file", "corrupt", "bad_timing")),
        "files_skipped": {r: len(v) for r, v in skipped.items()},
        "skipped_files": {r: v for r, v in skipped.items() if v},
        "file_errors": errors,
        "unreadable_folders": scan.unreadable_folders,
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
    data.report.update(cached=False, seconds=round(time.perf_counter() - started, 3))
    return data


def _skip_summary(skipped: dict[str, list[str]]) -> str:
    counts = ", ".join(f"{len(v)} {r}" for r, v in skipped.items() if v)
    return f"skipped: {counts}" if counts else "no file skipped"


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the parent dies, however it dies (SIGKILL, SIGTERM), so a killed
    prepare-data leaves no workers behind (Linux `prctl(PR_SET_PDEATHSIG, SIGKILL)`)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the executor's own shutdown is all there is
        return
    if os.getppid() != parent:  # the parent died before the call above
        os._exit(1)


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
        executor = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_die_with_parent, initargs=(os.getpid(),))
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
