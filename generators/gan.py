"""The GAN generator: an autoregressive token model, pretrained by maximum likelihood, then
trained against a discriminator that reads (context, continuation) and says real or generated.

Method: SeqGAN-style policy gradient (Yu et al., 2017, "SeqGAN: Sequence Generative Adversarial
Nets with Policy Gradient", AAAI) with a baseline (REINFORCE, Williams 1992). The generator is a
policy over tokens; a sampled continuation of a real context gets the discriminator's
probability of "real" as its reward; the gradient is (reward - baseline) x grad log p(sample)
(`generators.policy_gradient`, shared with fine-tuning against a critic).
Why this and not a Gumbel-softmax relaxation (Jang et al., 2017; Kusner & Hernandez-Lobato,
2016): the policy gradient trains exactly the sampler `generate()` uses (hard tokens, the same
`sample_batch`), the discriminator only ever sees real token ids, and it needs no temperature
schedule whose bias depends on the annealing. Choices inside SeqGAN:

- Reward per whole continuation, no Monte Carlo rollouts. SeqGAN's rollouts give each prefix its
  own reward but cost (rollouts x length) extra samples per step: with ~80-token continuations
  that is hundreds of times the sampling of one step, too slow on a CPU. A sequence-level reward
  with a baseline is unbiased, only noisier.
- Baseline: the batch mean of the rewards (each batch is one sample per context, so this is the
  mean over contexts). Advantages are not divided by their standard deviation, so a
  discriminator that cannot tell real from generated (all rewards equal) moves nothing.
  The gradient covers the kept tokens of each sample; the decision to stop (an EOS, or the bar
  past the requested length, which `StopTracker` does not keep) gets none.
- Fakes are continuations of the batch's own real contexts, as long in bars as the median real
  continuation, sampled at temperature 1 without nucleus truncation: the policy itself.
- Pretraining: the shared loop (`training.loop.train`) on the same phrases, exactly like
  the `lstm` generator (`--epochs`), or a trained `lstm` / `transformer` checkpoint
  (`--init-from RUN_ID`); the adversarial phase's size is `--model-opt adv_steps=N`.
  The discriminator then gets `disc_warmup` updates alone before the generator moves (SeqGAN
  pretrains its discriminator too), and `disc_steps` updates per generator update afterwards.

Keeping the generator from collapsing (mode collapse and drift are the known failure of text
GANs: Caccia et al., 2020, "Language GANs Falling Short"), two terms are added to the policy
gradient loss at every generator update:

- `mle_weight` (default 0.5) x the teacher-forced NLL of the real phrases of the same batch
  (context + continuation + EOS), as in the MLE-mixed objectives of MaskGAN / LeakGAN;
- `kl_weight` (default 0.05) x the per-token KL(p_generator || p_pretrained) over the generated
  continuations, a leash to the frozen pretrained model (the KL penalty of Ziegler et al., 2019,
  computed exactly over the vocabulary at each position rather than from the sample).

`val_nll` (teacher-forced, on the validation split) is logged every `val_every` steps to watch
the drift; `nll()` stays teacher-forced, since the generator is an autoregressive model.

Discriminator: token embedding + a segment embedding (0 = context, 1 = continuation), a
bidirectional GRU over the whole sequence, the mean and max of its states over the continuation
positions, an MLP to one logit. Trained with binary cross-entropy, real = 1.

Training is the engine's (ARCHITECTURE.md, "The training engine"): maximum likelihood on the
shared loop, then `AdversarialPhase`, a phase of `training.phases` (`--resume`, checkpoints and
MLflow from there). MLflow (one run in `phrasebench-generators`, tags `generator=gan`,
`gan_base`, `init_from` when used): pretraining logs what the shared loop logs; every
adversarial step logs `disc_loss`, `disc_acc_real`, `disc_acc_fake`, `gen_reward` (mean
discriminator probability of the samples), and on generator updates `pg_loss`, `kl`,
`train_loss` (the MLE term); every `val_every` steps `val_nll`. Steps continue the pretraining's
step axis. At the end `best_val_nll` is the validation NLL of the checkpoint kept (the final
adversarial one, not the lowest seen: picking by NLL would undo the adversarial phase) and
`pretrain_best_val_nll` that of the starting point.

Checkpoints (`checkpoint_dir`): `pretrain/best.pt` is the MLE starting point (so the leaderboard
can show it beside the GAN); `best.pt` is the final generator + discriminator + both optimizers;
`last.pt` the same with the phase's reference and RNG, every `val_every` steps. All load with
`weights_only=True`. `TrainConfig.keep_steps` counts adversarial generator updates here
(`phase_budget_option`): `step-<N>.pt` is the generator after N updates, `step-0.pt` the
pretrained starting point (what `audit gan --steps` scores).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from generators.autoregressive import AutoregressiveGenerator
from generators.base import Length
from generators.policy_gradient import (continuation_length, finite, frozen_copy, pair_batch, policy_gradient_update,
                                        sample_cap, sample_policy)
from phrases.errors import UserError
from training import TrainConfig, pad_batch, seeded
from training.options import require
from training.phases import Phase

BASES = ("lstm", "transformer")


@dataclass
class GANConfig:
    # generator network: an LSTM of these sizes, or the network of `base` with `base_config`
    base: str = "lstm"
    base_config: str = ""  # JSON of the base generator's config ("" = the LSTM sizes below)
    d_embed: int = 512
    hidden: int = 512
    layers: int = 3
    dropout: float = 0.2
    # discriminator
    disc_embed: int = 128
    disc_hidden: int = 128
    disc_dropout: float = 0.1
    # adversarial phase
    adv_steps: int = 500  # generator updates
    disc_warmup: int = 50  # discriminator-only updates before the first generator update
    disc_steps: int = 1  # discriminator updates per generator update
    adv_batch: int = 16
    gen_lr: float = 1e-4
    disc_lr: float = 1e-3
    mle_weight: float = 0.5
    kl_weight: float = 0.05
    grad_clip: float = 1.0
    val_every: int = 25
    adv_max_minutes: float = 0.0  # wall-clock cap of the adversarial phase (0: none); adv_steps is the budget

    def __post_init__(self) -> None:
        require(self, positive=("d_embed", "hidden", "layers", "disc_embed", "disc_hidden", "adv_steps", "disc_steps",
                                "adv_batch", "gen_lr", "disc_lr", "grad_clip", "val_every"),
                non_negative=("disc_warmup", "mle_weight", "kl_weight", "adv_max_minutes"),
                fractions=("dropout", "disc_dropout"))

    def base_model_config(self):
        from generators.registry import get_generator_class

        if self.base not in BASES:
            raise UserError(f"--model-opt base={self.base}: choose one of {', '.join(BASES)}")
        cls = get_generator_class(self.base)
        if self.base_config:
            return cls, cls.config_class(**json.loads(self.base_config))
        if self.base != "lstm":
            raise UserError("a gan on a transformer needs its base_config; start it with --init-from RUN_ID")
        return cls, cls.config_class(d_embed=self.d_embed, hidden=self.hidden, layers=self.layers, dropout=self.dropout)


class Discriminator(nn.Module):
    """(context, continuation) token ids -> logit of "real"."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, dropout: float, pad: int) -> None:
        super().__init__()
        self.pad = pad
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=pad)
        self.segment = nn.Embedding(2, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(4 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, ids: torch.Tensor, segments: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids, segments (B, L), right-padded; lengths (B,) -> logits (B,)."""
        x = self.drop(self.embed(ids) + self.segment(segments))
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        cont = (segments == 1) & (torch.arange(ids.shape[1], device=ids.device)[None] < lengths[:, None])
        m = cont[..., None].float()
        mean = (out * m).sum(1) / m.sum(1).clamp(min=1.0)
        big = torch.finfo(out.dtype).max
        mx = out.masked_fill(~cont[..., None], -big).amax(1)
        mx = torch.where(cont.any(1, keepdim=True), mx, torch.zeros_like(mx))  # empty continuation
        return self.head(self.drop(torch.cat([mean, mx], -1))).squeeze(-1)


def discriminator_batch(contexts, continuations, pad: int, device) -> tuple[torch.Tensor, ...]:
    """Right-padded ids, segment ids and lengths of context + continuation pairs."""
    seqs = [np.concatenate([np.asarray(c, np.int64), np.asarray(d, np.int64)]) for c, d in zip(contexts, continuations)]
    lengths = torch.tensor([len(s) for s in seqs])
    ids = pad_batch([s if len(s) else np.array([pad]) for s in seqs], pad)
    seg = torch.zeros_like(ids)
    for i, c in enumerate(contexts):
        seg[i, len(c) :] = 1
    return ids.to(device), seg.to(device), lengths.to(device)


@torch.no_grad()
def discriminator_scores(disc: Discriminator, contexts, continuations, device, batch_size: int = 64) -> np.ndarray:
    """P(real) of each (context, continuation) pair."""
    was_training = disc.training
    disc.eval()
    out = []
    for s in range(0, len(contexts), batch_size):
        ids, seg, lengths = discriminator_batch(contexts[s : s + batch_size], continuations[s : s + batch_size],
                                                disc.pad, device)
        out.append(torch.sigmoid(disc(ids, seg, lengths)).float().cpu().numpy())
    disc.train(was_training)
    return np.concatenate(out) if out else np.zeros(0)


def discriminator_step(disc: Discriminator, opt, contexts, real, fake, device, grad_clip: float = 1.0) -> dict:
    """One BCE update on real (label 1) and fake (label 0) continuations of the same contexts;
    losses and accuracies from this step's forward pass (before the update)."""
    disc.train()
    ids, seg, lengths = discriminator_batch(list(contexts) * 2, list(real) + list(fake), disc.pad, device)
    labels = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).to(device)
    logits = disc(ids, seg, lengths)
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(disc.parameters(), grad_clip)
    opt.step()
    pred = (logits.detach() > 0).float()
    n = len(real)
    return {"disc_loss": loss.item(), "disc_acc_real": pred[:n].mean().item(),
            "disc_acc_fake": 1.0 - pred[n:].mean().item()}


class GANGenerator(AutoregressiveGenerator):
    name = "gan"
    config_class = GANConfig
    phase_budget_option = "adv_steps"  # what budgets its phase after maximum likelihood (`audit --steps`)
    quick_options = {"d_embed": 64, "hidden": 128, "layers": 1, "adv_steps": 20, "disc_warmup": 10, "val_every": 10}

    def __init__(self, tokenizer, config: GANConfig | None = None, device="auto", seed: int = 0) -> None:
        self.seed = seed  # build_model passes it on to the base network
        super().__init__(tokenizer, config, device, seed)
        c = self.config
        with seeded(seed + 1):
            self.discriminator = Discriminator(self.vocab.size, c.disc_embed, c.disc_hidden, c.disc_dropout,
                                               self.vocab.pad).to(self.device)
        self.gen_opt: torch.optim.Optimizer | None = None
        self.disc_opt: torch.optim.Optimizer | None = None
        self.reference: nn.Module | None = None  # the frozen pretrained model of the KL leash
        self.adv_step = 0

    def build_model(self) -> nn.Module:
        base_cls, base_cfg = self.config.base_model_config()
        self.base = base_cls(self.tokenizer, base_cfg, self.device, seed=self.seed)
        return self.base.model

    def sample_batch(self, prompts, length: Length, temperature, top_p, generator, max_tokens=None,
                     prefix=()) -> list[list[int]]:
        return self.base.sample_batch(prompts, length, temperature, top_p, generator, max_tokens=max_tokens,
                                      prefix=prefix)

    # -- starting from a trained lstm / transformer ---------------------------------------
    @classmethod
    def from_base(cls, base: AutoregressiveGenerator, config: GANConfig | None = None, device="auto") -> GANGenerator:
        """A GAN whose generator network starts as `base`'s trained model (weights copied)."""
        if base.name not in BASES:
            raise UserError(f"--init-from: a {base.name!r} model cannot start a gan; train an lstm or a transformer")
        config = dataclasses.replace(config or GANConfig(), base=base.name,
                                     base_config=json.dumps(dataclasses.asdict(base.config)))
        gan = cls(base.tokenizer, config, device)
        gan.model.load_state_dict(base.model.state_dict())
        gan.data_hash = base.data_hash
        return gan

    @classmethod
    def from_checkpoint(cls, kind: str, checkpoint: Callable[[], Path], run_id: str, config: GANConfig | None = None,
                        device="auto") -> GANGenerator:
        """Start from the trained `kind` (lstm / transformer) checkpoint of training run `run_id`
        (`--init-from RUN_ID`: the caller finds the run in the store; `checkpoint()` fetches its
        best.pt once the kind is known to fit)."""
        from generators.registry import get_generator_class

        if kind not in BASES:
            raise UserError(f"--init-from {run_id}: a {kind or 'untagged'!r} run; give the run of an lstm or transformer")
        gan = cls.from_base(get_generator_class(kind).load(checkpoint(), device), config, device)
        gan.init_from = run_id
        return gan

    # -- training: maximum likelihood on the shared loop, then the adversarial phase -----------
    def phases(self, train_split, val_split, config: TrainConfig) -> list[Phase]:
        return [AdversarialPhase(self, train_split, val_split, config.seed)]

    def run_tags(self, config: TrainConfig) -> dict[str, str]:
        return {**super().run_tags(config), "gan_base": self.config.base}

    def run_params(self, config: TrainConfig) -> dict:
        return {**super().run_params(config),
                "discriminator_parameters": sum(p.numel() for p in self.discriminator.parameters())}

    def _optimizers(self) -> None:
        c = self.config
        if self.gen_opt is None:
            self.gen_opt = torch.optim.AdamW(self.model.parameters(), lr=c.gen_lr, weight_decay=0.0, betas=(0.9, 0.95))
        if self.disc_opt is None:
            self.disc_opt = torch.optim.AdamW(self.discriminator.parameters(), lr=c.disc_lr, weight_decay=0.01,
                                              betas=(0.9, 0.95))

    def start_adversarial(self) -> None:
        """Freeze a copy of the current generator network as the KL leash's reference; make the
        optimizers (the adversarial phase does it; call it before `adversarial_step` otherwise)."""
        self.reference = frozen_copy(self.model)
        self._optimizers()

    def sample_fakes(self, contexts, length: Length, max_tokens: int, seed: int) -> list[list[int]]:
        """One continuation per context from the policy itself (`policy_gradient.sample_policy`)."""
        return sample_policy(self, contexts, length, max_tokens, seed)

    def adversarial_step(self, contexts, real, length: Length, max_tokens: int, seed: int,
                         update_discriminator: bool = True, update_generator: bool = True) -> dict:
        """One step on a batch of real (context, continuation) pairs: sample a continuation of each
        context, `disc_steps` discriminator updates, then one generator update
        (`policy_gradient.policy_gradient_update`: reward = the discriminator's P(real), + mle_weight
        x MLE on the real pairs + kl_weight x KL to the reference). Returns the step's metrics."""
        c = self.config
        if self.reference is None:
            self.start_adversarial()
        fakes = self.sample_fakes(contexts, length, max_tokens, seed)
        metrics: dict = {}
        if update_discriminator:
            for _ in range(max(1, c.disc_steps) if update_generator else 1):
                metrics = discriminator_step(self.discriminator, self.disc_opt, contexts, real, fakes, self.device,
                                             c.grad_clip)
        rewards = discriminator_scores(self.discriminator, list(contexts), fakes, self.device)
        metrics["gen_reward"] = float(rewards.mean())
        metrics["gen_tokens"] = float(np.mean([len(f) for f in fakes]))
        if update_generator:
            metrics.update(policy_gradient_update(self, self.reference, self.gen_opt, contexts, fakes, rewards,
                                                  c.kl_weight, c.grad_clip, c.mle_weight, real))
            self.adv_step += 1
        return {key: finite(key, v) for key, v in metrics.items()}

    # -- checkpoints ----------------------------------------------------------------------
    def extra_state(self) -> dict:
        state = {"discriminator": self.discriminator.state_dict(), "adv_step": self.adv_step}
        if self.gen_opt is not None:
            state["gen_optimizer"] = self.gen_opt.state_dict()
        if self.disc_opt is not None:
            state["disc_optimizer"] = self.disc_opt.state_dict()
        return state

    def restore_extra(self, state: dict) -> None:
        if "discriminator" in state:
            self.discriminator.load_state_dict(state["discriminator"])
        self.adv_step = int(state.get("adv_step", 0))
        if "gen_optimizer" in state or "disc_optimizer" in state:
            self._optimizers()
            if "gen_optimizer" in state:
                self.gen_opt.load_state_dict(state["gen_optimizer"])
            if "disc_optimizer" in state:
                self.disc_opt.load_state_dict(state["disc_optimizer"])


def _pair_lengths(contexts, real) -> list[np.ndarray]:
    """Placeholders of the pair lengths, for `batches` (which buckets by length)."""
    return [np.zeros(len(c) + len(r), np.int8) for c, r in zip(contexts, real)]


class AdversarialPhase(Phase):
    """The gan's phase after maximum likelihood: `disc_warmup` discriminator-only steps, then
    `adv_steps` generator updates (`GANGenerator.adversarial_step`); val_nll every `val_every`
    generator updates. Its best.pt is the last generator (picking by NLL would undo the phase);
    `keep_steps` count generator updates (step-0.pt: the pretrained starting point)."""

    name = "adversarial"
    keep_last = True

    def __init__(self, gan: GANGenerator, train_split, val_split, seed: int) -> None:
        c = gan.config
        self.gan, self.val_split, self.seed = gan, val_split, seed
        self.steps, self.val_every, self.max_minutes = c.disc_warmup + c.adv_steps, c.val_every, c.adv_max_minutes
        self.contexts = train_split.token_lists("context")
        self.real = train_split.token_lists("continuation")
        self.pair_lengths = [len(a) + len(b) for a, b in zip(self.contexts, self.real)]
        self.length = continuation_length(train_split, gan.vocab)
        self.max_tokens = sample_cap(self.real)

    def start(self, seed: int) -> None:
        self.gan.start_adversarial()
        self.gan.adv_step = 0

    def step(self, i: int) -> dict[str, float]:
        g, c = self.gan, self.gan.config
        idx = pair_batch(i, len(self.contexts), c.adv_batch, self.seed, self.pair_lengths)
        warm = i < c.disc_warmup
        m = g.adversarial_step([self.contexts[j] for j in idx], [self.real[j] for j in idx], self.length,
                               self.max_tokens, seed=self.seed * 100_003 + i, update_generator=not warm)
        m["tokens"] = m.pop("real_tokens", 0.0) + m["gen_tokens"] * len(idx) * (not warm)
        return m

    def generator_updates(self, i: int) -> int:
        return max(0, i + 1 - self.gan.config.disc_warmup)

    def validate(self) -> dict[str, float]:
        return {"val_nll": finite("val_nll", self.gan.validation_metrics(self.val_split)["val_nll"])}

    def state(self) -> dict:
        return {"reference": self.gan.reference.state_dict()}

    def restore(self, state: dict) -> None:
        self.gan.start_adversarial()
        self.gan.reference.load_state_dict(state["reference"])
