"""Training entry points shared by the CLI and `benchmark --train-missing / --quick`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from generators.training import TrainConfig, set_threads

# Tiny budgets for `--quick` (make demo): minutes, not quality. Sizes are --model-opt values.
QUICK = {
    "lstm": ({"d_embed": "128", "hidden": "256", "layers": "2"}, {"epochs": 1, "max_minutes": 0.75}),
    "transformer": ({"dim": "128", "depth": "2", "heads": "4"}, {"epochs": 1, "max_minutes": 0.75}),
    "gan": ({"d_embed": "64", "hidden": "128", "layers": "1", "adv_steps": "20", "disc_warmup": "10",
             "val_every": "10"}, {"epochs": 1, "max_minutes": 0.75}),
}
QUICK_DEFAULT = ({}, {"epochs": 1, "max_minutes": 0.75})


def default_checkpoint_dir(name: str, data_hash: str) -> Path:
    return Path("checkpoints") / name / data_hash


def train_generator(name: str, data, config: TrainConfig, model_opts: dict[str, str] | None = None,
                    device: str = "auto", log=print, init_from: str | None = None):
    """Build generator `name` (the gan: from the MLflow run `init_from` when given), train it on
    `data`, return (generator, TrainState)."""
    from generators.autoregressive import config_from_options
    from generators.registry import get_generator_class

    set_threads()
    cls = get_generator_class(name)
    model_config = config_from_options(cls.config_class, model_opts)
    if init_from:
        generator = cls.from_run(init_from, model_config, device)
    else:
        generator = cls(data.tokenizer, model_config, device, config.seed)
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


QUICK_CRITIC = ({"d_embed": "64", "enc_hidden": "64", "hidden": "128", "latent": "32", "kl_warmup_steps": "100"},
                {"epochs": 1, "max_minutes": 1.0, "batch_size": 32})


def train_critic(data, config: TrainConfig, model_opts: dict[str, str] | None = None, device: str = "auto",
                 log=print, suite_phrases: int | None = None):
    """Build the VAE critic, train and calibrate it on `data`, then run the validity suite on the
    test split and log its `auroc_<corruption>` metrics; returns (critic, state, suite rows)."""
    import mlflow

    from critics.corruptions import TokenVocab, unigram, validity_suite
    from critics.vae import VAECritic
    from generators.autoregressive import config_from_options

    set_threads()
    critic = VAECritic(data.tokenizer, config_from_options(VAECritic.config_class, model_opts), device, config.seed)
    critic.phrase_config = data.config.to_dict()
    config = replace(config, data_hash=data.data_hash, corpus=data.report["corpus"], device=device,
                     checkpoint_dir=config.checkpoint_dir or default_checkpoint_dir("critic-vae", data.data_hash))
    log(f"critic-vae: {critic.num_parameters():,} parameters on {critic.device}; "
        f"{len(data.train):,} training phrases; checkpoints in {config.checkpoint_dir}")
    state = critic.fit(data.train, data.val, config)
    log(f"critic-vae: validity suite on {min(len(data.test), suite_phrases or len(data.test)):,} test phrases")
    probs = unigram(data.train.token_lists("both"), TokenVocab.from_tokenizer(data.tokenizer))
    rows = validity_suite(critic, data.test, probs, seed=config.seed, max_phrases=suite_phrases)
    with mlflow.start_run(run_id=critic.run_id):
        mlflow.log_metrics({f"auroc_{r.name}": r.auroc for r in rows if r.name != "real"}, step=state.step)
    return critic, state, rows


def quick_critic(data, device: str = "auto", seed: int = 0, log=print):
    opts, budget = QUICK_CRITIC
    cfg = TrainConfig(seed=seed, checkpoint_dir=default_checkpoint_dir("critic-vae", data.data_hash) / "quick", **budget)
    return train_critic(data, cfg, opts, device, log, suite_phrases=128)[0]
