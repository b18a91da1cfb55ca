"""The shared phrase data: round trip, splits, windows, skips, cache, augmentation."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import symusic

from helpers import PIANOMIDI, PIANOMIDI_FILES, WJAZZD, copy_corpus, scale_notes, write_midi
from phrases import PhraseConfig, load_tokenizer, prepare, split_songs
from phrases.config import REPO_ROOT
from phrases.decode import decode_phrase
from phrases.scan import load_song

QUANTUM_BEATS = 1 / 12  # the tokenizer's finest grid step


@pytest.mark.parametrize("corpus,name", [(WJAZZD, "CharlieParker_DonnaLee_FINAL.mid"), (PIANOMIDI, "chpn_op25_e1.mid")])
def test_token_round_trip_keeps_pitches_and_onsets(corpus, name):
    from phrases.tokenizer import make_tokenizer
    from phrases.windows import encode_song

    tokenizer = make_tokenizer("remi")
    original, _ = load_song(corpus / name)
    seq = encode_song(tokenizer, tokenizer.preprocess_score(original))
    decoded = tokenizer.decode([seq.ids])
    want = original.tracks[0].notes.numpy()
    got = decoded.tracks[0].notes.numpy()
    want_pitch_in_range = (want["pitch"] >= 21) & (want["pitch"] <= 108)
    beats_want = want["time"][want_pitch_in_range] / original.ticks_per_quarter
    beats_got = got["time"] / decoded.ticks_per_quarter
    # Notes landing on the same grid point with the same pitch merge; compare as multisets of
    # (pitch, onset) after quantization: every original note has a decoded note of the same
    # pitch within half a grid step.
    assert len(got["time"]) <= want_pitch_in_range.sum()
    assert len(got["time"]) >= 0.95 * want_pitch_in_range.sum()
    pitches_want = want["pitch"][want_pitch_in_range]
    for pitch in np.unique(pitches_want):
        a = np.sort(beats_want[pitches_want == pitch])
        b = np.sort(beats_got[got["pitch"] == pitch])
        nearest = np.abs(a[:, None] - b[None, :]).min(axis=1)
        assert nearest.max() <= QUANTUM_BEATS / 2 + 1e-6, (pitch, nearest.max())


def test_phrase_notes_match_decoded_tokens(jazz_data):
    """The notes view stored with a window is what its tokens decode to."""
    tokenizer = jazz_data.tokenizer
    for phrase in list(jazz_data.test)[:20]:
        decoded = decode_phrase(tokenizer, phrase.context, phrase.continuation, phrase.tempo_qpm)
        assert decoded.malformed == 0
        for got, want in [(decoded.context_notes, phrase.context_notes), (decoded.continuation_notes, phrase.continuation_notes)]:
            assert np.array_equal(got["pitch"], want["pitch"])
            np.testing.assert_allclose(got["onset_beats"], want["onset_beats"], atol=1e-5)
            np.testing.assert_allclose(got["onset_s"], want["onset_s"], rtol=1e-4, atol=1e-4)


def test_splits_are_disjoint_and_deterministic(jazz_dir, tmp_path):
    a = prepare(jazz_dir, PhraseConfig(seed=3), tmp_path / "a", workers=1)
    b = prepare(jazz_dir, PhraseConfig(seed=3), tmp_path / "b", workers=2)
    c = prepare(jazz_dir, PhraseConfig(seed=4), tmp_path / "c", workers=1)
    songs = {s: a.splits[s].song_names() for s in ("train", "val", "test")}
    assert songs["train"].isdisjoint(songs["val"]) and songs["train"].isdisjoint(songs["test"])
    assert songs["val"].isdisjoint(songs["test"])
    assert all(songs[s] for s in songs)
    for s in ("train", "val", "test"):
        assert b.splits[s].song_names() == songs[s]
        assert np.array_equal(a.splits[s].arrays["context"], b.splits[s].arrays["context"])
    assert any(c.splits[s].song_names() != songs[s] for s in songs)
    assert a.data_hash != c.data_hash


def test_split_fractions():
    songs = [f"song{i}" for i in range(100)]
    parts = split_songs(songs, (0.6, 0.2, 0.2), seed=42)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [60, 20, 20]
    assert sorted(sum(parts.values(), [])) == sorted(songs)
    assert parts == split_songs(list(reversed(songs)), (0.6, 0.2, 0.2), seed=42)


def test_windows_hold_the_right_bars(jazz_data):
    tokenizer = jazz_data.tokenizer
    bar = tokenizer.vocab["Bar_None"]
    pb = jazz_data.config.phrase_bars
    for split in jazz_data.splits.values():
        for phrase in split:
            assert (phrase.context == bar).sum() == pb
            assert phrase.context[0] == bar and phrase.continuation[0] == bar
            assert 1 <= (phrase.continuation == bar).sum() <= pb
            assert len(phrase.context_notes) >= 4 and len(phrase.continuation_notes) >= 4
            # 3/4 and 4/4 songs: a bar is at most 4 beats here
            assert phrase.context_notes["onset_beats"].min() >= 0
            assert phrase.context_notes["onset_beats"].max() < pb * 4
            assert phrase.continuation_notes["onset_beats"].max() < pb * 4
    starts = jazz_data.train.arrays["start_bar"]
    assert set(np.unique(starts % pb)) == {0}


def test_three_four_song_has_three_beat_bars(tmp_path):
    corpus = copy_corpus(WJAZZD, ["JohnColtrane_MyFavoriteThings-1_FINAL.mid"], tmp_path / "c")
    data = prepare(corpus, PhraseConfig(split_fractions=(1.0, 0.0, 0.0)), tmp_path / "cache", workers=1)
    onsets = np.concatenate([p.context_notes["onset_beats"] for p in data.train])
    assert onsets.max() < 4 * 3 and onsets.max() > 4 * 3 - 3


def test_bad_files_are_skipped_and_counted(tmp_path):
    corpus = copy_corpus(WJAZZD, ["MilesDavis_SoWhat_FINAL.mid"], tmp_path / "corpus")
    (corpus / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (corpus / "notmidi.MIDI").write_bytes(b"hello")
    write_midi(corpus / "empty.mid", [])
    write_midi(corpus / "drums.mid", scale_notes(16), drum=True)
    write_midi(corpus / "short.mid", scale_notes(2))
    data = prepare(corpus, PhraseConfig(split_fractions=(1.0, 0.0, 0.0)), tmp_path / "cache", workers=1)
    r = data.report
    assert r["files_found"] == 6
    assert {k: v for k, v in r["files_skipped"].items() if v} == {"corrupt": 2, "empty": 1, "drums_only": 1,
                                                                   "no_windows": 1}
    assert sorted(r["skipped_files"]["corrupt"]) == ["corrupt.mid", "notmidi.MIDI"]
    assert r["skipped_files"]["drums_only"] == ["drums.mid"]
    assert data.train.song_names() == {"MilesDavis_SoWhat_FINAL.mid"}


@pytest.mark.slow  # runs cli.py in a process of its own
def test_messy_multitrack_corpus_through_the_cli(tmp_path):
    """Band files with drums, piano multitrack, corrupt files, nested folders: no crash."""
    corpus = copy_corpus(PIANOMIDI, PIANOMIDI_FILES, tmp_path / "messy")
    (corpus / "sub" / "deeper").mkdir(parents=True)
    for i in range(3):
        write_midi(
            corpus / "sub" / f"band{i}.mid", scale_notes(24, low=55 + i),
            extra_tracks=[(scale_notes(24, per_bar=4, low=40), True), (scale_notes(24, per_bar=2, low=36), False)],
        )
    (corpus / "sub" / "deeper" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01")
    shutil.copy(corpus / "alb_esp1.mid", corpus / "sub" / "deeper" / "truncated.mid")
    raw = (corpus / "alb_esp1.mid").read_bytes()
    (corpus / "sub" / "deeper" / "truncated.mid").write_bytes(raw[: len(raw) // 3])
    out = subprocess.run(
        [sys.executable, "cli.py", "prepare-data", "--corpus", str(corpus), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "8 found" in out.stdout
    assert "corrupt" in out.stdout and "broken.mid" in out.stdout
    data = prepare(corpus, PhraseConfig(), tmp_path / "cache")
    assert data.report["cached"] is True
    skipped = sum(data.report["files_skipped"].values())
    assert data.report["files_found"] == len(data.songs) + skipped
    band = [p for s in data.splits.values() for p in s if p.song.startswith("sub/band")]
    assert band, "the band files give windows"
    # merged tracks: bass and melody in one stream, drum notes gone (drums were at pitch 40-52)
    assert all(set(np.unique(p.context_notes["pitch"])) & set(range(36, 49)) for p in band)


@pytest.mark.slow  # runs cli.py in a process of its own
def test_missing_or_empty_corpus_is_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    for corpus in [tmp_path / "nope", tmp_path / "empty"]:
        out = subprocess.run(
            [sys.executable, "cli.py", "prepare-data", "--corpus", str(corpus), "--cache-dir", str(tmp_path / "c")],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and str(corpus) in lines[0] and "--corpus" in lines[0]


def test_cache_hit_and_rebuild_on_change(jazz_dir, tmp_path):
    corpus = copy_corpus(jazz_dir, ["MilesDavis_SoWhat_FINAL.mid", "CharlieParker_DonnaLee_FINAL.mid"], tmp_path / "c")
    cache = tmp_path / "cache"
    first = prepare(corpus, PhraseConfig(), cache, workers=1)
    again = prepare(corpus, PhraseConfig(), cache, workers=1)
    assert not first.report["cached"] and again.report["cached"]
    assert again.data_hash == first.data_hash
    assert np.array_equal(again.train.arrays["context"], first.train.arrays["context"])
    other_config = prepare(corpus, PhraseConfig(phrase_bars=2), cache, workers=1)
    assert not other_config.report["cached"] and other_config.data_hash != first.data_hash
    # change one file's content: a new hash, a rebuild
    path = corpus / "MilesDavis_SoWhat_FINAL.mid"
    score = symusic.Score(str(path))
    score.tracks[0].notes[0].pitch += 1
    score.dump_midi(str(path))
    changed = prepare(corpus, PhraseConfig(), cache, workers=1)
    assert not changed.report["cached"] and changed.data_hash != first.data_hash
    # a file added: rebuild
    write_midi(corpus / "new.mid", scale_notes(16))
    assert prepare(corpus, PhraseConfig(), cache, workers=1).data_hash not in (first.data_hash, changed.data_hash)
    # a damaged cache is rebuilt, not trusted
    (cache / "phrases" / first.data_hash / "phrases.npz").write_bytes(b"junk")
    path.write_bytes((jazz_dir / "MilesDavis_SoWhat_FINAL.mid").read_bytes())
    rebuilt = prepare(corpus.parent / "c", PhraseConfig(), cache, workers=1)
    assert not rebuilt.report["cached"]


def test_tokenizer_config_is_saved_and_reloadable(jazz_data):
    reloaded = load_tokenizer(jazz_data.path)
    assert reloaded.vocab == jazz_data.tokenizer.vocab
    phrase = jazz_data.train[0]
    assert reloaded.decode([phrase.tokens.tolist()]).note_num() == len(phrase.context_notes) + len(phrase.continuation_notes)


def test_transposition_augments_only_training(jazz_dir, tmp_path):
    plain = prepare(jazz_dir, PhraseConfig(), tmp_path, workers=1)
    aug = prepare(jazz_dir, PhraseConfig(transpose=2), tmp_path, workers=1)
    assert len(plain.train) < len(aug.train) <= 5 * len(plain.train)
    assert set(np.unique(aug.train.arrays["transpose"])) == {-2, -1, 0, 1, 2}
    for split in ("val", "test"):
        assert len(aug.splits[split]) == len(plain.splits[split])
        assert set(np.unique(aug.splits[split].arrays["transpose"])) == {0}
    up = next(p for p in aug.train if p.transpose == 2)
    same = next(p for p in plain.train if p.song == up.song and p.start_bar == up.start_bar)
    assert np.array_equal(up.context_notes["pitch"], same.context_notes["pitch"] + 2)
    decoded = decode_phrase(aug.tokenizer, up.context, up.continuation)
    assert np.array_equal(decoded.context_notes["pitch"], up.context_notes["pitch"])


def test_melody_mode_is_monophonic_skyline(tmp_path):
    corpus = copy_corpus(PIANOMIDI, ["bach_846.mid"], tmp_path / "c")
    merged = prepare(corpus, PhraseConfig(split_fractions=(1.0, 0.0, 0.0)), tmp_path / "cache", workers=1)
    melody = prepare(corpus, PhraseConfig(tracks="melody", split_fractions=(1.0, 0.0, 0.0)), tmp_path / "cache", workers=1)
    merged_by_bar = {p.start_bar: len(p.context_notes) for p in merged.train}
    pairs = [(len(p.context_notes), merged_by_bar[p.start_bar]) for p in melody.train if p.start_bar in merged_by_bar]
    assert pairs and all(m <= a for m, a in pairs) and sum(m for m, _ in pairs) < sum(a for _, a in pairs)
    for p in melody.train:
        onsets = p.context_notes["onset_beats"]
        assert len(np.unique(onsets)) == len(onsets)  # one note per onset
        ends = onsets + p.context_notes["duration_beats"]
        # no overlaps, up to miditok's rounding of durations to its duration tokens
        assert (ends[:-1] <= onsets[1:] + 0.25).all()


def test_tsd_tokenizer(jazz_dir, tmp_path):
    data = prepare(jazz_dir, PhraseConfig(tokenizer="tsd"), tmp_path, workers=1)
    assert len(data.train) > 0
    for phrase in list(data.test)[:10]:
        decoded = decode_phrase(data.tokenizer, phrase.context, phrase.continuation)
        assert np.array_equal(decoded.context_notes["pitch"], phrase.context_notes["pitch"])
        assert np.array_equal(decoded.continuation_notes["pitch"], phrase.continuation_notes["pitch"])
        steps = np.diff(decoded.continuation_notes["onset_beats"])
        np.testing.assert_allclose(steps, np.diff(phrase.continuation_notes["onset_beats"]), atol=1e-5)


@pytest.mark.slow  # runs cli.py in a process of its own
def test_bad_options_name_the_option(tmp_path, jazz_dir):
    for args, option in [(["--tokenizer", "abc"], "--tokenizer"), (["--split", "0.5,0.1"], "--split"), (["--tracks", "all"], "--tracks")]:
        out = subprocess.run(
            [sys.executable, "cli.py", "prepare-data", "--corpus", str(jazz_dir), "--cache-dir", str(tmp_path), *args],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 2 and option in out.stderr and len(out.stderr.strip().splitlines()) == 1
