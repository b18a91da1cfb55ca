"""`train-generator NAME --against-critic CRITIC`: find the critic and the trained run to start
from, fine-tune (`adversarial.finetune`), and say what it gained where (`adversarial.gameability`);
`gameability RUN_ID`: the same table again from the run's kept checkpoints (under a judge shipped
since, say)."""

from __future__ import annotations

from pathlib import Path

from phrases.errors import UserError


def attacked_critic(data, critic: str, device: str = "auto"):
    """The critic named by `--against-critic` / `--critic`: "default" (the one `benchmark` uses for
    this data) or a critic checkpoint file (`lookup.Found`)."""
    from benchmark.lookup import find_critic

    if critic != "default" and not Path(critic).is_file():
        raise UserError(f"--against-critic {critic}: no such file; give a critic checkpoint or 'default'")
    return find_critic(data, device, None if critic == "default" else Path(critic))


def train_against_critic(name: str, data, critic: str, attack, config, model_opts=None, device: str = "auto", log=print,
                         init_from: str | None = None):
    """Fine-tune generator `name` (from run `init_from`; default: its newest complete training on
    this data that was not itself fine-tuned against a critic) against `critic` ("default": the
    critic `benchmark` uses for this data; else a critic checkpoint file), with the fine-tuning's
    options `attack` (`finetune.AttackConfig`). Returns (generator, FitResult, gameability table)."""
    from adversarial.finetune import CriticPhase
    from adversarial.gameability import Gameability, gameability_table
    from adversarial.reward import CriticReward
    from benchmark.judging import load_judge
    from benchmark.train import train_generator
    from store import latest_run, log_run_text

    found = attacked_critic(data, critic, device)
    log(f"against the critic: {found.description}")
    judge = load_judge(data, found.sha256, device, log)
    if init_from is None:
        run = latest_run("generator", data.data_hash, generator=name)
        if run is None:
            raise UserError(f"--against-critic: no trained {name} on data {data.data_hash} to start from; run "
                            f"`python cli.py train-generator {name}` first, or pass --init-from RUN_ID")
        init_from = run.info.run_id
    log(f"{name}: starting from run {init_from}")
    phases: list = []

    def after(generator):
        phases.append(CriticPhase(generator, data, CriticReward(found.model, data, config.seed),
                                  Gameability(data, found.model, judge, attack.val_contexts,
                                              config.seed, attack.n_boot, device),
                                  attack, config.seed, found.sha256))
        return phases

    generator, result = train_generator(name, data, config, model_opts, device, log, init_from=init_from, after=after)
    table = gameability_table(phases[0].history, found.sha256[:8], judge.sha256[:8] if judge else None) \
        if phases and result.run_id else None
    if table:
        title, header, rows = table
        log_run_text(result.run_id, "\n".join([title, "\t".join(header), *("\t".join(r) for r in rows)]),
                     "gameability.tsv")
    return generator, result, table


def rescore_run(run_id: str, data, critic: str = "default", device: str = "auto", contexts: int = 64, seed: int = 0,
                n_boot: int = 50, log=print) -> tuple:
    """The gameability table of fine-tuning run `run_id` from its kept checkpoints (`--keep-steps`,
    step-<N>.pt): each scored again on validation contexts under the critic it was optimized
    against (checked by sha256) and the judge."""
    from adversarial.gameability import Gameability, gameability_table
    from benchmark.judging import load_judge
    from generators.registry import get_generator_class
    from store import EXPERIMENT_GENERATORS, find_run
    from training.checkpoint import kept_checkpoints

    run = find_run(run_id, "RUN_ID", EXPERIMENT_GENERATORS)
    sha = run.data.tags.get("optimized_against")
    if not sha:
        raise UserError(f"{run_id}: not a fine-tuning against a critic (no optimized_against tag); give the run of "
                        "`train-generator NAME --against-critic`")
    found = attacked_critic(data, critic, device)
    if found.sha256 != sha:
        raise UserError(f"--critic {critic}: sha256 {found.sha256[:12]}, but run {run_id} was optimized against "
                        f"{sha[:12]}; give that critic's file")
    kept = kept_checkpoints(Path(run.data.params.get("checkpoint_dir", "")))
    if not kept:
        raise UserError(f"{run_id}: no kept checkpoints (step-N.pt) in {run.data.params.get('checkpoint_dir')}; "
                        "fine-tune with --keep-steps 0,50,100")
    judge = load_judge(data, found.sha256, device, log)
    score = Gameability(data, found.model, judge, contexts, seed, n_boot, device)
    cls = get_generator_class(run.data.tags.get("generator", ""))
    history = []
    for step, path in kept.items():
        log(f"step {step}: scoring {path.name}")
        generator = cls.load(path, device)
        history.append({"step": step, "val_nll": generator.validation_metrics(data.val)["val_nll"],
                        **score(generator, f"step {step}")})
    return gameability_table(history, sha[:8], judge.sha256[:8] if judge else None)
