"""The CSC413 protocol (first instrument, 64-note segments, songs 60/20/20 seed 42) and
`reproduce csc413` end to end with a tiny budget on real piano-midi.de files."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from operating.reproduce import KEYS, THEIRS, reproduce_csc413
from helpers import PIANOMIDI, PIANOMIDI_FILES, copy_corpus, scale_notes, write_midi
from phrases import PhraseConfig, prepare
from phrases.decode import decode_phrase
from training import TrainConfig


@pytest.fixture(scope="module")
def piano_data(tmp_path_factory):
    corpus = copy_corpus(PIANOMIDI, PIANOMIDI_FILES, tmp_path_factory.mktemp("pianomidi"))
    return prepare(corpus, PhraseConfig.csc413(), tmp_path_factory.mktemp("cache"), workers=1)


def test_segments_hold_the_first_instrument_only_64_notes_each(tmp_path):
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    for i in range(5):  # first track: 130 scale notes; second track: a drone two octaves down
        drone = [(t, 480, 36) for t in range(0, 130 * 240, 480)]
        write_midi(corpus / f"song{i}.mid", scale_notes(17, per_bar=8, low=60 + i)[:130],
                   extra_tracks=[(drone, False)])
    data = prepare(corpus, PhraseConfig.csc413(), tmp_path / "cache", workers=1)
    assert data.report["songs"] == {"train": 3, "val": 1, "test": 1}
    assert len(data.train) == 3 * 2  # 130 notes: two segments, the remainder dropped
    for phrase in data.train:
        notes = phrase.continuation_notes
        assert len(phrase.context) == 0 and len(notes) == 64 and notes["pitch"].min() >= 60
        assert notes["onset_s"][0] == 0 and np.all(np.diff(notes["onset_s"]) >= 0)
        # the clock: one beat is half a second, so eighths at 120 qpm are 0.25 s apart
        assert np.allclose(np.diff(notes["onset_s"]), 0.25) and np.allclose(notes["onset_s"], notes["onset_beats"] / 2)
        decoded = decode_phrase(data.tokenizer, [], phrase.continuation.tolist()).continuation_notes
        assert np.array_equal(decoded["pitch"], notes["pitch"]) and np.allclose(decoded["onset_s"], notes["onset_s"])


def test_real_piano_files_split_by_song(piano_data):
    assert piano_data.report["songs_disjoint"] and sum(piano_data.report["songs"].values()) == 3
    for split in piano_data.splits.values():
        assert all(len(p.continuation_notes) == 64 for p in split)
    assert PhraseConfig.csc413().digest() != PhraseConfig().digest()


def test_reproduce_prints_theirs_ours_and_the_floor(piano_data, tmp_path, store):
    uri = store
    cfg = TrainConfig(epochs=1, max_steps=3, batch_size=8, warmup_steps=1, checkpoint_dir=tmp_path / "ckpt")
    result = reproduce_csc413(piano_data, "lstm", [0, 1], cfg, {"d_embed": "16", "hidden": "32", "layers": "1"},
                              "cpu", log=lambda *_: None)
    table = result.table()
    assert [row[1] for row in table[1:]] == [THEIRS[k] for k in KEYS] == ["0.135–0.139", "0.041", "0.035–0.037"]
    assert all(0 <= v <= 1 for v in result.floor.values()) and len(result.seeds) == 2
    summary = result.summary()
    for split in ("train", "val", "test"):
        for key in KEYS:
            assert 0 <= summary[f"{split}_{key}"] <= 1 and summary[f"{split}_{key}_std"] >= 0
    assert result.seeds[0].jsd != result.seeds[1].jsd  # the seeds are different runs
    run = mlflow.MlflowClient(uri).get_run(result.run_id)
    assert run.data.metrics["test_jsd_pitch"] == pytest.approx(summary["test_jsd_pitch"])
    assert "floor_jsd_pitch" in run.data.metrics and run.data.tags["reproduction"] == "csc413"
