"""Training entry points shared by the CLI and `benchmark --train-missing / --quick`.

Under torchrun (`torchrun --nproc-per-node N cli.py train-generator NAME ...`) every process runs
these in a `training.distributed.session`: the model is built on the rank's device, trained with
DDP, and only rank 0 says anything, logs to MLflow and writes checkpoints.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from phrases.errors import UserError
from phrases.files import writable_folder
from training import TrainConfig, config_from_options, distributed, set_threads
from training.model import CHECKPOINT_ROOT
from store import EXPERIMENT_GENERATORS, find_run, newest_training, run_artifact

def resume_folder(role: str, name: str, data_hash: str) -> Path:
    """The checkpoint folder of the newest training of `name` on this data (any status), for a
    `--resume` without `--checkpoint-dir`. When its last.pt is not on this machine, the one the
    run uploaded to the tracking server is fetched into that folder."""
    newest = newest_training(role, name, data_hash)
    runs = [newest] if newest is not None else []
    folder = Path(runs[0].data.params.get("checkpoint_dir", "")) if runs else None
    if folder is not None and not (folder / "last.pt").is_file():
        try:
            downloaded = run_artifact(runs[0].info.run_id, "checkpoint/last.pt")
        except Exception:  # mlflow's error for a run without that artifact (a local store, an old run)
            folder = None
        else:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(downloaded, folder / "last.pt")
    if folder is None:
        raise UserError(f"--resume: no earlier training of {name} on data {data_hash} left a last.pt here or on "
                        "the tracking server; train without --resume, or pass --checkpoint-dir DIR")
    return folder


def _settle(config: TrainConfig, data, kind_info: tuple[str, str]) -> TrainConfig:
    """The config with its data settled and its checkpoint folder checked before any training
    (under torchrun by rank 0, which writes the checkpoints and reads last.pt)."""
    if distributed.is_main():
        writable_folder(config.checkpoint_dir or CHECKPOINT_ROOT, "--checkpoint-dir")
    config = replace(config, data_hash=data.data_hash, corpus=data.report["corpus"])
    if config.resume and config.checkpoint_dir is None and distributed.is_main():
        config = replace(config, checkpoint_dir=resume_folder(*kind_info, data.data_hash))
    return config


def train_generator(name: str, data, config: TrainConfig, model_opts: dict[str, str] | None = None,
                    device: str = "auto", log=print, init_from: str | None = None, params_from: str | None = None,
                    after=None):
    """Build generator `name` (from the MLflow run `init_from` when given: then its maximum
    likelihood is done and only the phases after it train), train it on `data` (with DDP under
    torchrun). `params_from`: an Optuna study (`cli.py tune`) whose best trial's parameters
    replace the model options and training options they name (explicit --model-opt values win).
    `after(generator)`: phases to train after the model's own (fine-tuning against a critic).
    Returns (generator, FitResult)."""
    from generators.registry import get_generator_class
    from training.model import TrainableModel

    model_opts = dict(model_opts or {})
    if init_from:
        config = replace(config, epochs=0)
    cls = get_generator_class(name)
    if after or getattr(cls, "phases", TrainableModel.phases) is not TrainableModel.phases:
        # refused before torchrun's process group is joined
        distributed.refuse(f"{name} training (a phase after maximum likelihood samples and updates in one process)")
    set_threads()
    if params_from:
        from tuning.space import split
        from tuning.study import best_params

        tuned, train = split(best_params(params_from, name), cls)
        model_opts = {**tuned, **model_opts}
        config = replace(config, **train, tags={**config.tags, "params_from": params_from})
        _say(log)(f"{name}: the best configuration of study {params_from}: "
                  f"{', '.join(f'{k}={v}' for k, v in {**tuned, **train}.items())}")
    model_config = config_from_options(cls.config_class, model_opts)
    with distributed.session(device) as device:
        generator = init_from_run(cls, init_from, model_config, device) if init_from else \
            cls(data.tokenizer, model_config, device, config.seed)
        config = _settle(config, data, ("generator", name))
        phases = after(generator) if after else ()
        if init_from and not (phases or generator.phases(data.train, data.val, config)):
            raise UserError(f"--init-from {init_from}: {name} has nothing to train after maximum likelihood; "
                            "add --against-critic, or train without --init-from")
        _say(log)(f"{name}: {generator.num_parameters():,} parameters on {generator.device}{_processes()}; "
                  f"{len(data.train):,} training phrases; data_hash {data.data_hash}")
        return generator, generator.fit(data.train, data.val, config, after=phases)


def init_from_run(cls, run_id: str, model_config=None, device="auto"):
    """`--init-from RUN_ID`: the generator started from the `checkpoint/best.pt` of a training run."""
    run = find_run(run_id, "--init-from", EXPERIMENT_GENERATORS)

    def checkpoint() -> Path:
        try:
            return run_artifact(run_id, "checkpoint/best.pt")
        except Exception:  # mlflow's error for a run without that artifact
            raise UserError(f"--init-from {run_id}: the run has no checkpoint artifact; it may not have finished") from None

    return cls.from_checkpoint(run.data.tags.get("generator", ""), checkpoint, run_id, model_config, device)


def _say(log):
    """`log` on rank 0 (or in a single process); silence on the other torchrun ranks."""
    return log if distributed.is_main() else (lambda *_: None)


def _processes() -> str:
    world = distributed.from_env().world
    return f" x {world} processes (DDP)" if world > 1 else ""


QUICK_BUDGET = {"epochs": 1, "max_steps": 150}  # --quick: minutes, not quality, counted in steps


def quick_generator(name: str, data, device: str = "auto", seed: int = 0, log=print):
    """Generator `name` trained with the quick budget (make demo): its class's `quick_options`
    sizes, `QUICK_BUDGET` steps, so every machine trains the same models."""
    from generators.registry import get_generator_class

    opts = {k: str(v) for k, v in getattr(get_generator_class(name), "quick_options", {}).items()}
    return train_generator(name, data, TrainConfig(seed=seed, budget="quick", **QUICK_BUDGET), opts, device, log)


def train_critic(data, config: TrainConfig, model_opts: dict[str, str] | None = None, device: str = "auto",
                 log=print, suite_phrases: int | None = None, name: str = "vae"):
    """Build critic `name` (critics.registry; the VAE critic), train it on `data`: its fit
    calibrates it, then runs both sides of the validity suite and the mixing ladder on the test
    split and logs them (`critics.assessment`) before the run is complete; returns (critic,
    FitResult, suite rows, ladder)."""
    from critics.assessment import Assessment
    from critics.registry import get_critic_class

    cls = get_critic_class(name)
    set_threads()
    with distributed.session(device) as device:
        critic = cls(data.tokenizer, config_from_options(cls.config_class, model_opts), device, config.seed)
        critic.phrase_config = data.config.to_dict()
        critic.assessment = Assessment(config.seed, suite_phrases, domain_words(data), _say(log))
        config = _settle(config, data, ("critic", critic.name))
        _say(log)(f"critic: {critic.num_parameters():,} parameters on {critic.device}{_processes()}; "
                  f"{len(data.train):,} training phrases; data_hash {data.data_hash}")
        result = critic.fit(data.train, data.val, config, test_split=data.test if distributed.is_main() else None)
    a = critic.assessment
    return critic, result, (a.strange, a.bland), a.ladder


def domain_words(data) -> str:
    """What music a critic trained on `data` knows, in words, for its card."""
    c = data.config
    return (f"{len(data.train.song_names())} training songs of {data.report.get('corpus', '?')} (data_hash {data.data_hash}), "
            f"{c.tokenizer} tokens, phrases of {c.phrase_bars} + {c.phrase_bars} bars, tracks: {c.tracks}")


QUICK_CRITIC = ({"d_embed": "64", "enc_hidden": "64", "hidden": "128", "latent": "32", "kl_warmup_steps": "100"},
                {"epochs": 1, "max_steps": 150, "batch_size": 32})


def quick_critic(data, device: str = "auto", seed: int = 0, log=print):
    opts, budget = QUICK_CRITIC
    return train_critic(data, TrainConfig(seed=seed, budget="quick", **budget), opts, device, log, suite_phrases=128)[0]


def fit_summary(what: str, result, detail: str) -> list[str]:
    """How a training ended, for people: the lines `train-generator` / `train-critic` print
    (nothing on a torchrun rank other than 0)."""
    s = result.state
    return [f"{what}: stopped after epoch {s.epoch}, step {s.step} ({s.stop_reason}); best {s.metric} {s.best:.4f}"
            f"{detail}; {s.tokens_per_s:,.0f} tokens/s", f"checkpoint {result.checkpoint}; MLflow run {result.run_id}"]


def generator_report(name: str, result) -> list[str]:
    if result.run_id is None:  # a torchrun rank other than 0: rank 0 reports
        return []
    unigram = result.metrics.get("unigram_val_nll", float("nan"))
    return fit_summary(name, result, f" nats/token, unigram_val_nll {unigram:.4f} (ratio {result.best / unigram:.3f})")


def critic_report(critic, result, suites, ladder) -> list:
    from critics.validity import bland_table, validity_table

    if result.run_id is None:  # a torchrun rank other than 0: rank 0 reports
        return []
    rows, bland = suites
    m = result.metrics
    gaps = ", ".join(f"q={q:.2f}: {gap:.3f}" for q, gap in ladder)
    rising = all(b[1] > a[1] for a, b in zip(ladder, ladder[1:]))
    valid, caught = sum(r.valid for r in rows[1:]), sum(r.valid for r in bland[1:])
    return [validity_table(rows), f"critic beats the baselines' floor on {valid} of {len(rows) - 1} corruptions",
            bland_table(bland), f"the primary score beats the trivial statistics' floor on {caught} of {len(bland) - 1} "
            "rule-made families",
            f"mixing ladder (critic_gap of real test continuations with a share q of unigram noise): {gaps} "
            f"({'strictly rising' if rising else 'NOT strictly rising'})",
            *fit_summary("critic", result, f", val_kl {m['val_kl']:.2f} nats/phrase, active_units "
                                               f"{int(m['active_units'])}/{critic.config.latent}")]
