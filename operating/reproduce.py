"""`reproduce csc413`: the CSC413 report's Table 3 on piano-midi.de, with our generators.

Their protocol (ARCHITECTURE.md, "Reference numbers"): the data as `PhraseConfig.csc413()`
cuts it (first instrument, 64-note segments, songs 60/20/20 with seed 42); a generator trained
on the training segments; 50 sequences of 100 notes generated from scratch at temperature 0.8;
`csc413`-protocol JSD (`metrics.jsd`) of their pitch / step / duration histograms against the
notes of the train, validation and test segments. Repeated over seeds (initialisation, batch
order, sampling); the song split stays theirs. The real-data floor is what real music scores:
50 random runs of 100 consecutive notes from the test songs, against the training notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from metrics.jsd import jsd_metrics
from metrics.loss import nll_per_token
from phrases.errors import UserError

# Their 5.7M-parameter LSTM, test set, quoted from the report's Table 3 (as ARCHITECTURE.md, "Reference numbers", gives them).
THEIRS = {"jsd_pitch": "0.135–0.139", "jsd_step": "0.041", "jsd_duration": "0.035–0.037"}
THEIRS_BEST = {"jsd_pitch": 0.135, "jsd_step": 0.041, "jsd_duration": 0.035}
SAMPLES, NOTES, TEMPERATURE = 50, 100, 0.8
KEYS = ("jsd_pitch", "jsd_step", "jsd_duration")
SPLITS = ("test", "val", "train")
EXPERIMENT_REPRODUCTIONS = "phrasebench-reproductions"
REPRODUCTIONS_DESCRIPTION = ("**phrasebench reproductions** of published numbers: one parent run per `python cli.py "
                             "reproduce csc413`, a child run per seed. Metrics `jsd_*` (JSD, log2, of note histograms "
                             "under the CSC413 protocol: 0 is best) against the train, val and test notes; `floor_*` "
                             "is real music under the same measure.")


@dataclass
class SeedResult:
    seed: int
    jsd: dict[str, dict[str, float]]  # split -> csc413-protocol jsd_* against that split's notes
    beats_jsd: dict[str, float]  # default (beats) protocol, against the test notes
    test_nll: float  # nats/token, teacher-forced on the test segments
    notes_per_sample: float
    generator_run_id: str | None


@dataclass
class Reproduction:
    generator: str
    data_hash: str
    budget: str
    floor: dict[str, float]
    seeds: list[SeedResult] = field(default_factory=list)
    run_id: str | None = None

    def values(self, split: str, key: str) -> np.ndarray:
        return np.array([s.jsd[split][key] for s in self.seeds])

    def summary(self) -> dict[str, float]:
        """Mean and standard deviation over seeds of every number, as flat MLflow metrics."""
        out = {f"floor_{k}": v for k, v in self.floor.items()}
        per_seed = {f"{split}_{k}": self.values(split, k) for split in SPLITS for k in KEYS}
        per_seed.update({f"test_beats_{k}": np.array([s.beats_jsd[k] for s in self.seeds]) for k in KEYS})
        per_seed["test_nll"] = np.array([s.test_nll for s in self.seeds])
        per_seed["notes_per_sample"] = np.array([s.notes_per_sample for s in self.seeds])
        for name, v in per_seed.items():
            out[name] = float(v.mean())
            out[f"{name}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        return out

    def beats_theirs(self) -> dict[str, bool]:
        """Test-set JSD, mean over seeds, at or below their best value, per key."""
        return {k: bool(self.values("test", k).mean() <= THEIRS_BEST[k]) for k in KEYS}

    def table(self) -> list[list[str]]:
        """Rows of the printed table: header first."""
        n = len(self.seeds)
        rows = [["JSD (csc413 protocol)", "theirs (test)", *(f"ours vs {s} ({n} seeds)" for s in SPLITS),
                 "real floor (test vs train)"]]
        for k in KEYS:
            rows.append([k, THEIRS[k], *(_mean_sd(self.values(s, k)) for s in SPLITS), f"{self.floor[k]:.4f}"])
        return rows

    def report(self) -> list:
        """For people: the table, the default-protocol line, and whether it beats theirs."""
        rows = self.table()
        verdict = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in self.beats_theirs().items())
        return [(f"CSC413 Table 3, test set: theirs vs phrasebench {self.generator}", rows[0], rows[1:]),
                self.markdown().split("\n\n", 1)[1], f"at or below theirs on test: {verdict}; MLflow run {self.run_id}"]

    def markdown(self) -> str:
        rows = self.table()
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        s = self.summary()
        lines += ["", f"Default protocol ({self.generator}, mean over seeds): "
                  + ", ".join(f"{k} (beats) vs test {s[f'test_beats_{k}']:.4f}" for k in KEYS)
                  + f"; test NLL {s['test_nll']:.3f} nats/token; {s['notes_per_sample']:.1f} notes per sample.",
                  f"Training budget per seed: {self.budget}."]
        return "\n".join(lines)


def _mean_sd(v: np.ndarray) -> str:
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"


def split_notes(split) -> list[np.ndarray]:
    """The notes of every segment of a split."""
    return [p.continuation_notes for p in split]


def real_runs(data, corpus: Path, n: int, length: int, seed: int) -> list[np.ndarray]:
    """`n` random runs of `length` consecutive notes from the test songs (each song re-read
    under the protocol), onsets relative to each run's first note."""
    from phrases.notes import notes_from_ticks
    from phrases.pipeline import prepared_score

    songs = []
    for name in sorted(data.test.song_names()):
        score, _ = prepared_score(Path(corpus) / name, data.config, data.tokenizer)
        notes = score.tracks[0].notes.numpy() if score is not None else None
        if notes is not None and len(notes["time"]) >= length:
            order = np.lexsort((notes["pitch"], notes["time"]))
            songs.append((score, {k: notes[k][order] for k in ("time", "duration", "pitch")}))
    if not songs:
        raise UserError(f"no test song has {length} notes; use a corpus with longer pieces")
    starts = [(i, j) for i, (_, nt) in enumerate(songs) for j in range(len(nt["time"]) - length + 1)]
    picks = np.random.default_rng(seed).choice(len(starts), size=n, replace=len(starts) < n)
    runs = []
    for k in picks:
        i, j = starts[k]
        score, nt = songs[i]
        s = slice(j, j + length)
        runs.append(notes_from_ticks(nt["time"][s], nt["duration"][s], nt["pitch"][s], int(nt["time"][j]),
                                     score.ticks_per_quarter, score.tempos))
    return runs


def generated_notes(generator, tokenizer, seed: int) -> list[np.ndarray]:
    """SAMPLES sequences of NOTES notes from scratch at TEMPERATURE, decoded to notes."""
    from generators.base import Length
    from phrases.decode import decode_phrase

    tokens = generator.generate([[]] * SAMPLES, Length(notes=NOTES), temperature=TEMPERATURE, seed=seed)
    return [decode_phrase(tokenizer, [], t).continuation_notes for t in tokens]


def reproduce_csc413(data, generator: str, seeds: list[int], config, model_opts: dict | None = None,
                     device: str = "auto", log=print) -> Reproduction:
    """Train `generator` once per seed on `data` (a `PhraseConfig.csc413()` preparation), sample,
    score; log everything to the MLflow experiment `phrasebench-reproductions`."""
    from benchmark.train import train_generator
    from training import distributed, resolve_device
    from store import active_run, experiment_id, log_metrics, log_params, log_text, process_tags

    distributed.refuse("reproduce")
    if data.config.protocol != "csc413":
        raise UserError("reproduce csc413 needs phrase data prepared with PhraseConfig.csc413()")
    references = {s: split_notes(data.splits[s]) for s in SPLITS}
    floor = jsd_metrics(real_runs(data, Path(data.report["corpus"]), SAMPLES, NOTES, seed=0),
                        references["train"], "csc413")
    log("real-data floor (test runs vs train): "
        + ", ".join(f"{k} {v:.4f}" for k, v in floor.items()))
    budget = (f"at most {config.epochs} epochs and {config.max_minutes} min"
              if config.max_minutes else f"{config.epochs} epochs")
    result = Reproduction(generator, data.data_hash, f"{budget}, on {resolve_device(device)}", floor)
    for seed in seeds:  # each training is its own run in phrasebench-generators
        cfg = replace(config, seed=seed, checkpoint_dir=config.checkpoint_dir and Path(config.checkpoint_dir) / f"seed{seed}")
        model, _ = train_generator(generator, data, cfg, model_opts, device, log)
        notes = generated_notes(model, data.tokenizer, seed)
        one = SeedResult(
            seed, {s: jsd_metrics(notes, references[s], "csc413") for s in SPLITS},
            jsd_metrics(notes, references["test"], "beats"), nll_per_token(model.nll(data.test)),
            float(np.mean([len(n) for n in notes])), model.run_id)
        result.seeds.append(one)
        log(f"seed {seed}: test " + ", ".join(f"{k} {v:.4f}" for k, v in one.jsd["test"].items())
            + f"; test NLL {one.test_nll:.3f} nats/token")
    with active_run(experiment_id(EXPERIMENT_REPRODUCTIONS, REPRODUCTIONS_DESCRIPTION),
                    run_name=f"csc413-{generator}",
                    tags={"reproduction": "csc413", "generator": generator, "data_hash": data.data_hash,
                                "corpus": data.report["corpus"], **process_tags()}) as parent:
        result.run_id = parent.info.run_id
        log_params({"seeds": ",".join(map(str, seeds)), "epochs": config.epochs,
                    "max_minutes": config.max_minutes, "samples": SAMPLES, "notes": NOTES,
                    "temperature": TEMPERATURE, **{f"model.{k}": v for k, v in (model_opts or {}).items()}})
        log_metrics(result.summary())
        log_text(result.markdown(), "table.md")
        for one in result.seeds:
            with active_run(parent.info.experiment_id, run_name=f"seed{one.seed}", nested=True,
                            tags={"generator": generator, "seed": str(one.seed),
                                  "generator_run_id": one.generator_run_id or "", **process_tags()}):
                log_metrics({**{f"{s}_{k}": v for s in SPLITS for k, v in one.jsd[s].items()},
                             **{f"test_beats_{k}": v for k, v in one.beats_jsd.items()},
                             "test_nll": one.test_nll, "notes_per_sample": one.notes_per_sample})
    return result
