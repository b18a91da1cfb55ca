"""The judge's recipe (`critics.judge`; README, "The judge"): train the VAE critic with the
judge's sizes and seed on the training split, for a fixed number of steps, then
calibrate it and run both sides of the validity suite and the ladder on the whole test split, as
`train-critic` does, and print them:

    python -m benchmark.judge_recipe
    cp <the checkpoint it prints> critics/default/judge-v2.pt   # and set SHA256 in critics/judge.py

(judge v2's weights were trained before the context side had its 40 comparisons; its file is
`python -m benchmark.refit <that checkpoint> critics/default/judge-v2.pt --version judge-v2 --seed 25`,
what this recipe now does after its steps.)

Its training run is logged under the data hash with `-judge<seed>` appended, so that it is never
taken for "the newest critic trained on this data" (`benchmark.lookup.find_critic`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from benchmark.train import critic_report, train_critic
from critics.judge import JUDGE_BATCH, JUDGE_MODEL, JUDGE_SEED, JUDGE_STEPS
from critics.validity import markdown
from phrases import PhraseConfig, default_corpus, prepare
from phrases.files import file_sha256
from training import TrainConfig, parse_model_options


def judge_data(data, seed: int = JUDGE_SEED):
    """`data` under the judge's own data hash (the same phrases), so that its training run is never
    taken for a critic trained on `data`."""
    return replace(data, data_hash=f"{data.data_hash}-judge{seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--steps", type=int, default=JUDGE_STEPS)
    parser.add_argument("--suite-phrases", type=int, default=None)
    parser.add_argument("--model-opt", action="append", default=[], help="k=v over the judge's sizes (to try others)")
    args = parser.parse_args()
    full = prepare(args.corpus, PhraseConfig())
    data = judge_data(full)
    print(f"judge: {len(data.train.song_names())} training songs, {len(data.train):,} phrases", flush=True)
    config = TrainConfig(epochs=1000, max_steps=args.steps, batch_size=JUDGE_BATCH, patience=1000, seed=JUDGE_SEED,
                         tags={"judge": "recipe"})
    model = {**JUDGE_MODEL, **parse_model_options(args.model_opt)}
    print(f"judge: model {model}, {args.steps} steps, seed {JUDGE_SEED}", flush=True)
    critic, result, suites, ladder = train_critic(data, config, model, "cpu",
                                                  log=lambda s: print(s, flush=True), suite_phrases=args.suite_phrases)
    for item in critic_report(critic, result, suites, ladder):
        print(item if isinstance(item, str) else markdown(item), flush=True)
    print(f"{result.checkpoint}: sha256 {file_sha256(result.checkpoint)}", flush=True)


if __name__ == "__main__":
    import sys

    from phrases.errors import UserError

    try:
        main()
    except UserError as e:  # bad input: one line, exit 2
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
