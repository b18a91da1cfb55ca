"""Any model's outputs on the leaderboard: export-contexts writes the benchmark's own contexts,
benchmark --import reads continuations back, on real WJazzD phrases, with a tiny critic in a real
MLflow store: the round trip of the true continuations, every kind of bad input, and the
commands as a user runs them (with the README's pretty_midi script)."""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import mlflow
import numpy as np
import pretty_midi
import pytest
import symusic

from benchmark.contexts import MANIFEST, Manifest, export_contexts
from benchmark.imported import read_continuation
from benchmark.leaderboard import fetch
from benchmark.options import BenchmarkOptions
from benchmark.runner import select_contexts
from operating.benchmarking import run_benchmark
from presenting.table import table_notes
from helpers import WJAZZD, cli, copy_corpus, mlflow_store, store_copy
from phrases import PhraseConfig, prepare
from phrases.config import REPO_ROOT
from phrases.decode import context_end_tick, decode_phrase
from phrases.pipeline import prepared_score
from phrases.vocab import Vocab

CONTEXTS = 12
SAME = ("critic_gap", "realness", "anomaly", "jsd_pitch", "jsd_step", "jsd_duration", "copy_rate", "fcd", "c2st_auroc",
        "notes_per_continuation")
WALTZ_FILES = ["JohnColtrane_MyFavoriteThings-1_FINAL.mid", "ArtPepper_Anthropology_FINAL.mid",
               "BenWebster_ByeByeBlackbird_FINAL.mid", "MilesDavis_SoWhat_FINAL.mid"]
SONG_END_FILES = ["CharlieParker_Ornithology_FINAL.mid", "DickieWells_SixCatsAndAPrince_FINAL.mid",
                  "PatMetheny_MidnightVoyage_FINAL.mid", "MilesDavis_SoWhat_FINAL.mid"]


@pytest.fixture(scope="module")
def store(tiny_store, tmp_path_factory):
    """A real sqlite MLflow store holding a tiny critic (imported rows need no generator; a copy of the shared store)."""
    tmp = tmp_path_factory.mktemp("exchange")
    with store_copy(tiny_store.folder, tmp) as uri:
        yield tmp, uri


def options(tmp: Path, **kw) -> BenchmarkOptions:
    return BenchmarkOptions([], **{"contexts": CONTEXTS, "n_boot": 20, "device": "cpu", "examples": 1,
                                   "report_dir": tmp / "reports", **kw})


def write_true_continuations(out: Path, folder: Path, data, with_context=lambda k: k % 2 == 1,
                             meter: bool = True) -> Manifest:
    """The user's side of the round trip: each context's true continuation, written with pretty_midi
    from the manifest alone plus the notes, as a model's output would be (every other file with
    the context before it), with the meter of the true continuation; `meter=False`: no time
    signature set, as the README's first continue.py did (pretty_midi then writes a 4/4)."""
    manifest = Manifest.read(out / MANIFEST)
    folder.mkdir(parents=True, exist_ok=True)
    phrases = {(p.song, p.start_bar): p for p in data.test}
    tok = data.tokenizer
    for k, item in enumerate(manifest.items):
        p = phrases[(item.song, item.start_bar)]
        beat = 60.0 / item.tempo_qpm
        song = pretty_midi.PrettyMIDI(initial_tempo=item.tempo_qpm)
        line = pretty_midi.Instrument(program=0)
        offset = item.context_beats if with_context(k) else 0.0
        notes = [(n, offset) for n in p.continuation_notes]
        if with_context(k):
            notes = [(n, 0.0) for n in p.context_notes] + notes
        for n, off in notes:
            start = (float(n["onset_beats"]) + off) * beat
            line.notes.append(pretty_midi.Note(90, int(n["pitch"]), start, start + float(n["duration_beats"]) * beat))
        song.instruments.append(line)
        phrase = decode_phrase(tok, p.context, p.continuation, p.tempo_qpm, data.config.phrase_bars).score
        signatures = [(s.time / tok.time_division, s.numerator, s.denominator) for s in phrase.time_signatures]
        for b, num, den in signatures if meter else []:
            at = b if with_context(k) else b - item.context_beats
            in_effect = b == max(s[0] for s in signatures if s[0] <= item.context_beats)
            if at >= 0 or in_effect:
                song.time_signature_changes.append(pretty_midi.TimeSignature(num, den, max(at, 0.0) * beat))
        song.write(str(folder / f"{item.id}.mid"))
    return manifest


def test_export_writes_the_benchmarks_own_contexts(jazz_data, tmp_path):
    manifest = export_contexts(jazz_data, tmp_path, CONTEXTS, seed=3)
    index = select_contexts(len(jazz_data.test), CONTEXTS, 3)
    assert Manifest.read(tmp_path / MANIFEST).ids == manifest.ids and len(manifest.ids) == len(index)
    assert (manifest.data_hash, manifest.seed, manifest.contexts) == (jazz_data.data_hash, 3, len(index))
    text = (tmp_path / MANIFEST).read_text()
    assert "continuation alone" in text and "--import" in text  # the words for the person who runs the model
    for item, i in zip(manifest.items, index):
        p = jazz_data.test[int(i)]
        assert (item.song, item.start_bar) == (p.song, p.start_bar)
        assert re.fullmatch(r"\d{3}-[A-Za-z0-9_-]+-bar\d+", item.id) and item.id.endswith(f"-bar{p.start_bar + 1}")
        # the context bars only, read back through the corpus reader: the same tokens, tempo and meter
        score, _ = prepared_score(tmp_path / item.context_file, jazz_data.config, jazz_data.tokenizer)
        from phrases.windows import encode_song

        assert encode_song(jazz_data.tokenizer, score).ids == list(map(int, p.context))
        raw = symusic.Score(str(tmp_path / item.context_file))
        assert abs(raw.tempos[0].qpm - item.tempo_qpm) < 0.01
        assert f"{raw.time_signatures[-1].numerator}/{raw.time_signatures[-1].denominator}" == item.time_signature
        onsets = raw.tracks[0].notes.numpy()["time"]
        assert onsets.max() < item.context_beats * raw.ticks_per_quarter  # no note of the continuation
        assert item.continuation_beats == item.bars_to_continue * 4 * int(item.time_signature.split("/")[0]) / int(
            item.time_signature.split("/")[1])


@pytest.fixture(scope="module")
def waltz_data(tmp_path_factory):
    """Real solos whose test split holds a waltz (My Favorite Things, 3/4 throughout) beside a 4/4
    song (So What); the benchmark measures them with the shipped default critic."""
    folder = copy_corpus(WJAZZD, WALTZ_FILES, tmp_path_factory.mktemp("waltz"))
    data = prepare(folder, PhraseConfig(split_fractions=(0.5, 0.0, 0.5), seed=1), tmp_path_factory.mktemp("cache"),
                   workers=1)
    assert {p.song for p in data.test} == {WALTZ_FILES[0], WALTZ_FILES[3]}
    return data


@pytest.fixture(scope="module")
def song_end_data(tmp_path_factory):
    """Real solos whose test split (Ornithology, Six Cats and a Prince) ends each song with a window
    whose last bar holds no note onset, only a held note: the corpus writes no bar line for a bar
    the song stops in."""
    folder = copy_corpus(WJAZZD, SONG_END_FILES, tmp_path_factory.mktemp("song-end"))
    data = prepare(folder, PhraseConfig(split_fractions=(0.5, 0.0, 0.5), seed=2), tmp_path_factory.mktemp("cache"),
                   workers=1)
    assert {p.song for p in data.test} == set(SONG_END_FILES[:2])
    return data


def _short_song_ends(data, index) -> list[int]:
    """The windows at `index` that end their song with fewer bar lines than bars."""
    is_bar = Vocab.of(data.tokenizer).is_bar
    return [int(i) for i in index if data.test[int(i)].song_end
            and is_bar[data.test[int(i)].continuation].sum() < data.config.phrase_bars]


def _meters(data, p) -> tuple[list[tuple[int, int, int]], int]:
    """The phrase's time signatures (tick, numerator, denominator) and the tick where its
    continuation starts."""
    phrase = decode_phrase(data.tokenizer, p.context, p.continuation, p.tempo_qpm).score
    return (sorted((s.time, s.numerator, s.denominator) for s in phrase.time_signatures),
            context_end_tick(data.tokenizer, p.context))


def _phrase_file(path: Path, data, p, with_context: bool, meter: str) -> Path:
    """The phrase's true continuation as a MIDI file (after its context when `with_context`), with
    `meter`: "phrase" (the phrase's own time signatures), "none" (no time signature; with the
    context: the context's own, as a model would copy them) or "default" (a lone 4/4 at time 0,
    as pretty_midi writes when none is set)."""
    tok = data.tokenizer
    sigs, end = _meters(data, p)
    shift = 0 if with_context else end  # the continuation alone starts at time 0
    notes = decode_phrase(tok, p.context, p.continuation, p.tempo_qpm).score.tracks[0].notes.numpy()
    keep = notes["time"] >= shift
    shown = symusic.Score(tok.time_division)
    shown.tempos.append(symusic.Tempo(0, p.tempo_qpm))
    track = symusic.Track(program=0)
    track.notes = symusic.Note.from_numpy(**{k: v[keep] - (shift if k == "time" else 0) for k, v in notes.items()})
    shown.tracks.append(track)
    if meter == "phrase":
        for t, num, den in sigs:
            if t >= shift or (t == max(u for u, _, _ in sigs if u <= shift)):
                shown.time_signatures.append(symusic.TimeSignature(max(t - shift, 0), num, den))
    elif meter == "default":
        shown.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    elif with_context:
        for t, num, den in sigs:
            if t < end:
                shown.time_signatures.append(symusic.TimeSignature(t, num, den))
    shown.dump_midi(str(path))
    return path


@pytest.mark.parametrize("corpus", ["jazz_data", "waltz_data", "song_end_data"])
def test_reader_gives_back_the_true_tokens_with_or_without_the_context(corpus, request, tmp_path):
    """Every test and validation phrase, both forms of file, with the phrase's time signatures,
    none, or pretty_midi's lone 4/4: the continuation's own tokens, read in the context's meter
    but for changes of meter inside the continuation, and after the context of a window at its
    song's end as the song's end (no bar line for the bars it stops in). So the files that cannot
    come back are exactly those of phrases whose meter changes inside the continuation (from a
    file without them), or right at its first bar line (from a file of the continuation alone,
    whose time 0 has no meter before it to change from)."""
    data = request.getfixturevalue(corpus)
    tok = data.tokenizer
    total, same, overridden, expected_overrides = Counter(), Counter(), Counter(), Counter()
    phrases = [*data.test, *data.val]
    for i, p in enumerate(phrases):
        sigs, end = _meters(data, p)
        context_meter = [(n, d) for t, n, d in sigs if t < end][-1]
        start_meter = [(n, d) for t, n, d in sigs if t <= end][-1]
        changes_inside = len({(n, d) for t, n, d in sigs if t > end} | {start_meter}) > 1
        for with_context in (False, True):
            for meter in ("phrase", "none", "default"):
                path = _phrase_file(tmp_path / f"{i}-{int(with_context)}-{meter}.mid", data, p, with_context, meter)
                read = read_continuation(path, p.context, p.tempo_qpm, tok, data.config, p.song_end)
                assert read.with_context == with_context and not read.problem
                back = read.ids == list(map(int, p.continuation))
                total[meter] += 1
                same[meter] += back
                if meter == "phrase":
                    at_start = start_meter != context_meter and not with_context
                    assert back == (not at_start), (i, with_context, meter)
                else:
                    wrong = start_meter != context_meter or changes_inside
                    assert back == (not wrong), (i, with_context, meter)
                # a declared meter at the continuation's start that is not the context's is overridden and counted
                declared = {"phrase": start_meter, "none": context_meter if with_context else None,
                            "default": (4, 4)}[meter]
                shown_change = meter == "phrase" and with_context and start_meter != context_meter
                expected = declared is not None and declared != context_meter and not shown_change
                assert bool(read.meter_overridden) == expected, (i, with_context, meter, read.meter_overridden)
                overridden[meter] += bool(read.meter_overridden)
    print(f"\n{corpus}: the true tokens back, of {total['phrase']} files each: " + "; ".join(
        f"{meter} {same[meter]} ({overridden[meter]} meters overridden)" for meter in total))
    if corpus == "song_end_data":  # read as windows in the middle of a song, they come back with bar lines more
        short = _short_song_ends(data, range(len(data.test)))
        assert len(short) == 2
        for i in short:
            p = data.test[i]
            path = _phrase_file(tmp_path / f"mid-{i}.mid", data, p, False, "phrase")
            assert len(read_continuation(path, p.context, p.tempo_qpm, tok, data.config).ids) > len(p.continuation)
    if corpus == "waltz_data":  # the waltz: 3/4 contexts, and pretty_midi's 4/4 overridden in each of their files
        waltz = sum(_meters(data, p)[0][-1][1:] == (3, 4) for p in phrases)
        assert waltz > 10 and overridden["default"] == 2 * waltz and same["default"] == total["default"]


@pytest.mark.parametrize("corpus", ["jazz_data", "waltz_data", "song_end_data"])
def test_round_trip_imported_true_continuations_score_as_the_real_row(corpus, request, store, tmp_path):
    """The true continuations, written with pretty_midi with their meter and with none set (a 4/4,
    as pretty_midi writes it), come back as the `real` row: the same tokens, every metric equal.
    On the waltz's data, measured by the shipped default critic, most contexts are in 3/4; on the
    song-end data two contexts are of windows at their song's end whose last bars have no bar line."""
    data = request.getfixturevalue(corpus)
    out = tmp_path / "out"
    manifest = export_contexts(data, out, CONTEXTS, seed=0)
    n = len(manifest.items)  # all of the context half where the test split is small
    if corpus == "song_end_data":
        assert len(_short_song_ends(data, select_contexts(len(data.test), CONTEXTS, 0))) == 2
    write_true_continuations(out, out / "mine", data)
    write_true_continuations(out, out / "plain", data, meter=False)
    lines = []
    result = run_benchmark(data, options(tmp_path), log=lines.append,
                           imports=[("mine", out / "mine"), ("plain", out / "plain")])
    rows = {r.name: r for r in result.rows}
    real = rows["real"]
    waltz = sum(item.time_signature == "3/4" for item in manifest.items)
    if corpus == "waltz_data":
        assert waltz >= CONTEXTS // 2, [item.time_signature for item in manifest.items]
    for name, overridden in (("mine", 0), ("plain", waltz)):
        mine = rows[name]
        assert mine.status == "ok" and mine.source == "imported" and mine.nll is None and "nll" not in mine.metrics
        assert [list(c) for c in mine.continuations] == [list(map(int, c)) for c in real.continuations], name
        for key in SAME:
            assert mine.metrics[key] == pytest.approx(real.metrics[key], abs=1e-9), (name, key)
        assert mine.metrics["import_with_context"] == n // 2
        assert mine.metrics["import_meter"] == overridden, name  # pretty_midi's 4/4 in a 3/4 context
        assert all(mine.metrics[k] == 0 for k in ("import_missing", "import_extra", "import_unreadable", "import_empty",
                                                  "import_cut"))
        assert any(f"{name}: {n} of {n} continuations read" in line for line in lines)
    if waltz:
        assert any(f"plain: {waltz} files whose time signature at the continuation's start is not the context's" in line
                   and "(4/4, not 3/4)" in line for line in lines), lines
    # logged as a leaderboard row: source=imported, the manifest matched, no nll metric
    _, entries = fetch(result.benchmark_id)
    tags = {e[0]: e[3] for e in entries}
    metrics = {e[0]: e[2] for e in entries}
    assert tags["mine"]["source"] == "imported" and tags["mine"]["import_manifest"] == "match"
    assert "nll" not in metrics["mine"] and metrics["mine"]["import_with_context"] == n // 2
    assert metrics["plain"]["import_meter"] == waltz and tags["plain"]["critic_sha"] == tags["real"]["critic_sha"]
    if corpus == "waltz_data":
        assert tags["real"]["critic_source"] == "default"


def test_polyphonic_continuations_are_counted_outside_the_critics_domain(store, jazz_data, tmp_path):
    """A folder of four-note chords on every beat (the continuation alone) beside the true
    continuations: the chords row counts every continuation outside the critic's domain
    (critics.domain) and says so under the table, in the report and on its MLflow run; the true
    continuations are inside."""
    out = tmp_path / "out"
    manifest = export_contexts(jazz_data, out, CONTEXTS, seed=0)
    write_true_continuations(out, out / "mine", jazz_data)
    (out / "chords").mkdir()
    for item in manifest.items:
        beat = 60.0 / item.tempo_qpm
        song = pretty_midi.PrettyMIDI(initial_tempo=item.tempo_qpm)
        piano = pretty_midi.Instrument(program=0)
        for b in range(int(item.continuation_beats)):
            piano.notes += [pretty_midi.Note(80, p + 2 * (b % 2), b * beat, (b + 1) * beat) for p in (48, 55, 64, 67)]
        song.instruments.append(piano)
        song.write(str(out / "chords" / f"{item.id}.mid"))
    lines = []
    result = run_benchmark(jazz_data, options(tmp_path), log=lines.append,
                           imports=[("chords", out / "chords"), ("mine", out / "mine")])
    rows = {r.name: r for r in result.rows}
    assert rows["chords"].metrics["import_out_of_domain"] == CONTEXTS and rows["chords"].tags["import_domain"] == "outside"
    assert rows["mine"].metrics["import_out_of_domain"] == 0 and rows["mine"].tags["import_domain"] == "inside"
    said = f"{CONTEXTS} of {CONTEXTS} continuations are outside the critic's domain (typically polyphony 4.00"
    assert any(line.startswith(f"chords: {said}") for line in lines), lines
    _, entries = fetch(result.benchmark_id)
    tags, metrics = {e[0]: e[3] for e in entries}, {e[0]: e[2] for e in entries}
    assert metrics["chords"]["import_out_of_domain"] == CONTEXTS and metrics["mine"]["import_out_of_domain"] == 0
    assert tags["chords"]["import_domain_note"].startswith(said) and "import_domain_note" not in tags["mine"]
    note = next(n for n in table_notes(entries) if n.startswith("chords: "))
    assert note.endswith("its critic scores say little") and not any(n.startswith("mine: ") for n in table_notes(entries))
    assert f"{CONTEXTS} of {CONTEXTS} continuations are outside the critic" in Path(result.report).read_text()
    run = mlflow.search_runs(experiment_names=["phrasebench-leaderboard"], output_format="list",
                             filter_string=f"tags.generator = 'chords' and tags.benchmark_id = '{result.benchmark_id}'")[0]
    assert said in run.data.tags["mlflow.note.content"]


def test_bad_inputs_each_get_a_line_and_a_count(store, jazz_data, tmp_path):
    out = tmp_path / "out"
    export_contexts(jazz_data, out, CONTEXTS, seed=0)
    mine = out / "mine"
    manifest = write_true_continuations(out, mine, jazz_data, with_context=lambda k: False)
    ids = manifest.ids
    (mine / f"{ids[0]}.mid").unlink()  # missing
    shutil.copy(mine / f"{ids[1]}.mid", mine / "999-NotAContext-bar1.mid")  # extra
    (mine / f"{ids[2]}.mid").write_bytes(b"MThd\x00\x00\x00\x06 this is not a MIDI file")  # unreadable
    long = pretty_midi.PrettyMIDI(str(mine / f"{ids[3]}.mid"))  # 40 bars: the true 4, ten times over
    bar_s = 60.0 / manifest.items[3].tempo_qpm * manifest.items[3].continuation_beats
    notes = list(long.instruments[0].notes)
    for r in range(1, 10):
        long.instruments[0].notes += [pretty_midi.Note(n.velocity, n.pitch, n.start + r * bar_s, n.end + r * bar_s)
                                      for n in notes]
    long.write(str(mine / f"{ids[3]}.mid"))
    empty = pretty_midi.PrettyMIDI()  # only a drum track: no pitched note
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.append(pretty_midi.Note(90, 38, 0.0, 0.5))
    empty.instruments.append(drums)
    empty.write(str(mine / f"{ids[4]}.mid"))

    lines = []
    result = run_benchmark(jazz_data, options(tmp_path), log=lines.append, imports=[("mine", mine)])
    row = next(r for r in result.rows if r.name == "mine")
    real = next(r for r in result.rows if r.name == "real")
    assert row.status == "ok" and {r.name for r in result.rows} == {"mine", "real", "random"}
    counts = {k: row.metrics[k] for k in ("import_missing", "import_extra", "import_unreadable", "import_empty",
                                          "import_cut")}
    assert counts == {"import_missing": 1, "import_extra": 1, "import_unreadable": 1, "import_empty": 1,
                      "import_cut": 1}
    text = "\n".join(lines)
    for needle in (f"1 ids with no file, scored as empty continuations: {ids[0]}",
                   "1 files named by no id of this benchmark, ignored: 999-NotAContext-bar1",
                   f"1 unreadable files, scored as empty continuations: {ids[2]} (symusic could not parse it)",
                   f"1 files with no note after the context, scored as empty continuations: {ids[4]}",
                   f"1 continuations longer than 4 bars, cut ({9 * len(notes)} notes dropped): {ids[3]}"):
        assert needle in text, (needle, text)
    # the cut file is back to its true 4 bars; the missing, unreadable and empty ones score as empty
    assert row.continuations[3] == list(map(int, real.continuations[3]))
    assert [row.continuations[i] for i in (0, 2, 4)] == [[], [], []]
    assert np.isfinite(row.metrics["critic_gap"])


def test_files_from_another_export_are_named_as_such(store, jazz_data, tmp_path):
    other = tmp_path / "seed1"
    export_contexts(jazz_data, other, CONTEXTS, seed=1)
    write_true_continuations(other, other / "mine", jazz_data)
    lines = []
    result = run_benchmark(jazz_data, options(tmp_path, seed=0), log=lines.append, imports=[("mine", other / "mine")])
    row = next(r for r in result.rows if r.name == "mine")
    assert any("is from another export (seed 1, not 0)" in line and "--seed 0" in line for line in lines), lines
    assert row.tags["import_manifest"].startswith("other: seed 1, not 0")
    assert row.metrics["import_missing"] > 0 and row.metrics["import_extra"] > 0
    assert next(r for r in result.rows if r.name == "real").status == "ok"  # the benchmark completed


def test_a_folder_with_nothing_usable_is_a_failed_row(store, jazz_data, tmp_path):
    result = run_benchmark(jazz_data, options(tmp_path), log=lambda *_: None,
                           imports=[("ghost", tmp_path / "no-such-folder")])
    row = next(r for r in result.rows if r.name == "ghost")
    assert row.status == "failed" and "no such folder" in row.error and result.rows[-1].name == "ghost"
    assert row.metrics["import_missing"] == CONTEXTS


def _readme_script() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"```python\n(# continue\.py.*?)```", text, re.S)
    assert match, "README: the pretty_midi example script (a ```python block starting with '# continue.py')"
    return match.group(1)


@pytest.mark.slow  # runs cli.py in a process of its own
def test_user_workflow_with_the_readme_script(store, jazz_dir, jazz_data, tmp_path):
    """export-contexts, the README's pretty_midi script, benchmark --import, leaderboard."""
    data = ["--corpus", jazz_dir, "--cache-dir", jazz_data.path.parent.parent]
    out = tmp_path / "outside"
    done = cli("export-contexts", out, "--contexts", CONTEXTS, *data)
    assert done.returncode == 0, done.stderr
    assert f"{CONTEXTS} contexts of 4 bars" in done.stdout and (out / MANIFEST).is_file()
    script = tmp_path / "continue.py"
    script.write_text(_readme_script())
    import subprocess

    ran = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert len(list((out / "mine").glob("*.mid"))) == CONTEXTS
    done = cli("benchmark", "--import", f"mine={out / 'mine'}", "--contexts", CONTEXTS, "--n-boot", 10,
               "--device", "cpu", "--report-dir", tmp_path / "reports", *data)
    assert done.returncode == 0, done.stderr
    assert f"mine: {CONTEXTS} of {CONTEXTS} continuations read" in done.stderr
    board = cli("leaderboard")
    assert board.returncode == 0, board.stderr
    assert re.search(r"│ \d+=? +│ mine ", board.stdout) and "imported" in board.stdout and "n/a" in board.stdout
    runs = mlflow.search_runs(experiment_names=["phrasebench-leaderboard"],
                              filter_string="tags.generator = 'mine' and tags.source = 'imported'", output_format="list")
    assert runs and "report.html" in {a.path for a in mlflow.MlflowClient().list_artifacts(runs[0].info.run_id)}
