"""What one benchmark invocation is asked to do, and its command-line options."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class BenchmarkOptions:
    generators: list[str]
    contexts: int = 256
    samples: int = 1
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    n_boot: int = 200
    device: str = "auto"
    examples: int = 4  # MIDI files, audio and piano rolls per row
    report_dir: Path = Path("outputs") / "benchmarks"  # the HTML report goes to report_dir/<benchmark_id>/


# `benchmark`'s sampling and scoring options (cli.py turns them into --options):
# name -> (type, default, help, bounds); the defaults are BenchmarkOptions'.
_B = lambda name: BenchmarkOptions.__dataclass_fields__[name].default  # noqa: E731
BENCHMARK_OPTIONS = {
    "contexts": (int, _B("contexts"), "Test contexts, the same for every generator, from one half of the test split "
                 "(the other half is the reference; --quick: 64).", {"min": 2, "max": 100_000}),
    "samples": (int, _B("samples"), "Continuations per context.", {"min": 1, "max": 100}),
    "temperature": (float, _B("temperature"), "Sampling temperature; 0 is greedy.", {"min": 0.0, "max": 10.0}),
    "top_p": (float, _B("top_p"), "Nucleus sampling mass.", {"min": 0.01, "max": 1.0}),
    "seed": (int, _B("seed"), "Seed of the test contexts, the sampling, the random row and the bootstrap.", {}),
    "n_boot": (int, _B("n_boot"), "Bootstrap resamples for the 95% intervals.", {"min": 5, "max": 100_000}),
    "device": (str, _B("device"), "auto (CUDA when present), cpu or cuda.", {}),
    "report_dir": (Path, _B("report_dir"), "Folder for the HTML report (a subfolder per benchmark).", {}),
}
