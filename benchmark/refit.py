"""Give a trained critic what `train-critic` now does after its steps, without training it again:
the bland side fitted on the validation split, the context side and the domain profile of the
training split (what `VAECritic.finish_training` fits), both sides of the validity suite and the ladder on the test split
(`critics.assessment`), the metric card. How the default critic v4 was made from v3's weights (README: The default critic):

    git show b59df17:critics/default/critic-v3.pt > /tmp/critic-v3.pt
    python -m benchmark.refit /tmp/critic-v3.pt critics/default/critic-v4.pt --version v4

and v5 (v4 and the context side, `critics.context_fit`) from v4 in the same way:

    git show 3db63b4:critics/default/critic-v4.pt > /tmp/critic-v4.pt
    python -m benchmark.refit /tmp/critic-v4.pt critics/default/critic-v5.pt --version v5
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.train import domain_words
from critics.assessment import Assessment, assess
from critics.blandness import fit_blandness
from critics.context_fit import fit_context_fit
from critics.domain import DomainProfile
from critics.registry import critic_class_of_kind
from metrics.plagiarism import TrainingPatterns
from phrases import PhraseConfig, default_corpus, prepare
from phrases.files import file_sha256
from training import set_threads
from training.checkpoint import load_checkpoint


def refit(source: Path, out: Path, version: str, corpus: Path, log=print):
    critic = critic_class_of_kind(load_checkpoint(source)["kind"]).load(source, "cpu")
    data = prepare(corpus, PhraseConfig.from_dict(critic.phrase_config))
    critic.blandness = fit_blandness(critic.tokenizer, data.val, TrainingPatterns.from_split(data.train),
                                     data.config.phrase_bars)
    critic.context_fit = fit_context_fit(critic.tokenizer, data.train, data.config.phrase_bars, data.config)
    critic.domain = DomainProfile.fit(data.train).to_dict()
    assess(critic, data.train, data.test, Assessment(0, None, "monophonic jazz solos: " + domain_words(data)), version, log)
    critic.save(out)
    log(f"{out}: sha256 {file_sha256(out)}, {out.stat().st_size:,} bytes")
    return critic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--version", required=True)
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    args = parser.parse_args()
    set_threads()
    refit(args.source, args.out, args.version, args.corpus)


if __name__ == "__main__":
    main()
