"""Training entry points shared by the CLI and `benchmark --train-missing / --quick`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from generators.training import TrainConfig, set_threads

# Tiny budgets for `--quick` (make demo): minutes, not quality. Sizes are --model-opt values.
QUICK = {
    "lstm": ({"d_embed": "128", "hidden": "256", "layers": "2"}, {"epochs": 1, "max_minutes": 0.75}),
    "transformer": ({"dim": "128", "depth": "2", "heads": "4"}, {"epochs": 1, "max_minutes": 0.75}),
}
QUICK_DEFAULT = ({}, {"epochs": 1, "max_minutes": 0.75})


def default_checkpoint_dir(name: str, data_hash: str) -> Path:
    return Path("checkpoints") / name / data_hash


def train_generator(name: str, data, config: TrainConfig, model_opts: dict[str, str] | None = None,
                    device: str = "auto", log=print):
    """Build generator `name`, train it on `data`, return (generator, TrainState)."""
    from generators.autoregressive import config_from_options
    from generators.registry import get_generator_class

    set_threads()
    cls = get_generator_class(name)
    generator = cls(data.tokenizer, config_from_options(cls.config_class, model_opts), device)
    config = replace(config, data_hash=data.data_hash, corpus=data.report["corpus"], device=device,
                     checkpoint_dir=config.checkpoint_dir or default_checkpoint_dir(name, data.data_hash))
    log(f"{name}: {generator.num_parameters():,} parameters on {generator.device}; "
        f"{len(data.train):,} training phrases; checkpoints in {config.checkpoint_dir}")
    state = generator.fit(data.train, data.val, config)
    return generator, state


def quick_generator(name: str, data, device: str = "auto", seed: int = 0, log=print):
    opts, budget = QUICK.get(name, QUICK_DEFAULT)
    cfg = TrainConfig(seed=seed, checkpoint_dir=default_checkpoint_dir(name, data.data_hash) / "quick", **budget)
    return train_generator(name, data, cfg, opts, device, log)
