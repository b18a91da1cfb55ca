"""Give a trained critic what `train-critic` now does after its steps, without training it again:
the bland side fitted on the validation split, the context side and the domain profile of the
training split (what `VAECritic.finish_training` fits), both sides of the validity suite and the ladder on the test split
(`critics.assessment`), the metric card. How the default critic v4 was made from v3's weights (README: The default critic):

    git show b59df17:critics/default/critic-v3.pt > /tmp/critic-v3.pt
    python -m benchmark.refit /tmp/critic-v3.pt critics/default/critic-v4.pt --version v4

and v5 (v4 and the context side, `critics.context_fit`) from v4 in the same way:

    git show 3db63b4:critics/default/critic-v4.pt > /tmp/critic-v4.pt
    python -m benchmark.refit /tmp/critic-v4.pt critics/default/critic-v5.pt --version v5

and v6 (v5 with the context side's 40 comparisons, `metrics.coherence`) from v5:

    git show 141d2e8:critics/default/critic-v5.pt > /tmp/critic-v5.pt
    python -m benchmark.refit /tmp/critic-v5.pt critics/default/critic-v6.pt --version v6
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.train import domain_words
from critics.assessment import Assessment, assess
from critics.blandness import fit_blandness
from critics.context_fit import fit_context_fit
from critics.domain import DomainProfile
from critics.validity import bland_table, markdown, validity_table
from critics.registry import critic_class_of_kind
from metrics.plagiarism import TrainingPatterns
from phrases import PhraseConfig, default_corpus, prepare
from phrases.files import file_sha256
from phrases.errors import UserError
from store import run_artifact
from training import set_threads
from training.checkpoint import load_checkpoint


def attacked_continuations(run_id: str, data, contexts: int, seed: int = 0, log=print):
    """(a seeded subset of `contexts` training phrases, the continuations of their contexts by the
    generator of fine-tuning run `run_id`, at the benchmark's sampling settings)."""
    import numpy as np

    from benchmark.lookup import find_generator
    from benchmark.options import BenchmarkOptions
    from generators.base import Length
    from store import EXPERIMENT_GENERATORS, find_run

    run = find_run(run_id, "--attacked-from", EXPERIMENT_GENERATORS)
    if not run.data.tags.get("optimized_against"):
        raise UserError(f"--attacked-from {run_id}: not a fine-tuning against a critic (no optimized_against tag)")
    found = find_generator(run.data.tags["generator"], data.data_hash, "cpu",
                           run_artifact(run_id, "checkpoint/best.pt"))
    index = np.sort(np.random.default_rng(seed).choice(len(data.train), min(contexts, len(data.train)), replace=False))
    subset = data.train.subset(index)
    log(f"attacked negatives: {len(subset):,} continuations of training contexts by run {run_id}")
    o = BenchmarkOptions([])
    return subset, found.model.generate(subset.token_lists("context"), Length(bars=data.config.phrase_bars),
                                        o.temperature, o.top_p, seed)


def refit(source: Path, out: Path, version: str, corpus: Path, log=print, attacked_from: str | None = None,
          attacked_contexts: int = 2000, seed: int = 0):
    critic = critic_class_of_kind(load_checkpoint(source)["kind"]).load(source, "cpu")
    data = prepare(corpus, PhraseConfig.from_dict(critic.phrase_config))
    critic.blandness = fit_blandness(critic.tokenizer, data.val, TrainingPatterns.from_split(data.train),
                                     data.config.phrase_bars)
    attacked = attacked_continuations(attacked_from, data, attacked_contexts, log=log) if attacked_from else None
    critic.context_fit = fit_context_fit(critic.tokenizer, data.train, data.config.phrase_bars, data.config, seed,
                                         attacked=attacked)
    critic.domain = DomainProfile.fit(data.train).to_dict()
    a = assess(critic, data.train, data.test, Assessment(seed, None, "monophonic jazz solos: " + domain_words(data)),
           version, log)
    for table in (validity_table(a.strange), bland_table(a.bland)):
        log(markdown(table))
    log("mixing ladder: " + ", ".join(f"q={q:.2f}: {gap:.3f}" for q, gap in a.ladder))
    critic.save(out)
    log(f"{out}: sha256 {file_sha256(out)}, {out.stat().st_size:,} bytes")
    return critic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--version", required=True)
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--attacked-from", help="a `train-generator --against-critic` run: its continuations of "
                        "training contexts join the context side's negatives")
    parser.add_argument("--attacked-contexts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0, help="the critic's training seed: the context side's and the "
                        "validity suite's draws are made with it, as train-critic makes them (the judge's: 25)")
    args = parser.parse_args()
    set_threads()
    refit(args.source, args.out, args.version, args.corpus, attacked_from=args.attacked_from,
          attacked_contexts=args.attacked_contexts, seed=args.seed)


if __name__ == "__main__":
    main()
