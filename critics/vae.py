"""The VAE anomaly critic: a sequence VAE over doubled-length phrases (context + continuation).

Model (Bowman et al. 2016, "Generating Sentences from a Continuous Space"):

    x = BOS + context + continuation + EOS                    (REMI token ids)
    encoder   q(z | x) = N(mu(x), diag sigma^2(x)):  bidirectional GRU over x[1:], its two final
              states -> Linear -> (mu, log sigma^2), z in R^latent (default 64)
    decoder   p(x | z) = prod_t p(x_t | x_<t, z):   GRU whose initial state is tanh(W z) and whose
              input at every step is [embed(x_<t) ; z]; Linear head to the vocabulary
    prior     p(z) = N(0, I)

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p(z)),
    KL      = sum_d 1/2 (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2)

Training minimises, per target token, the reconstruction NLL (one z ~ q, reparameterised) plus
beta(step) * sum_d max(lambda, mean_batch KL_d). Against posterior collapse (the decoder alone
modelling x and q(z|x) = p(z)), all three guards of the literature are used:

- KL annealing: beta rises linearly from 0 to 1 over `kl_warmup_steps` (Bowman et al. 2016);
- free bits: no KL penalty on a latent dimension below `free_bits` nats, averaged over the batch
  (Kingma et al. 2016, "Improved Variational Inference with Inverse Autoregressive Flow");
- word dropout: each decoder input token (after BOS) is replaced by a dedicated "dropped" token
  with probability `word_dropout`, so the decoder must lean on z (Bowman et al. 2016).

`active_units` = #{d : Var_x(E_q[z_d | x]) > 0.01} (Burda et al. 2016), over the validation split.

Scores (deterministic: z = mu, the posterior mean, no sampling):

    anomaly(x)        = ( sum_{t in continuation + EOS} -log p(x_t | x_<t, mu) + KL * n_cont / n ) / n_cont
    phrase_anomaly(x) = ( sum_{t in x[1:]} -log p(x_t | x_<t, mu) + KL ) / n

with n the number of targets (context + continuation + EOS) and n_cont = len(continuation) + 1:
the negative ELBO per token, the continuation taking its per-token share of the KL. Higher is
stranger. `val_elbo` in MLflow is the same negative ELBO per token over the validation split
(nats/token, lower is better, like `val_nll`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from critics.base import Critic, Tokens
from phrases.errors import UserError
from phrases.sequences import model_sequences, split_sequences
from training import TrainableModel, batches, pad_batch
from training.tracking import EXPERIMENT_CRITICS
from training.options import require


@dataclass
class VAEConfig:
    d_embed: int = 128
    enc_hidden: int = 128  # per direction of the bidirectional encoder GRU
    hidden: int = 256  # decoder GRU
    latent: int = 64
    dropout: float = 0.1
    word_dropout: float = 0.1
    free_bits: float = 0.1  # nats per latent dimension
    kl_warmup_steps: int = 500  # ~3 epochs of the default corpus at batch 32

    def __post_init__(self) -> None:
        require(self, positive=("d_embed", "enc_hidden", "hidden", "latent"), non_negative=("free_bits", "kl_warmup_steps"),
                fractions=("dropout", "word_dropout"))


class SeqVAE(nn.Module):
    def __init__(self, vocab_size: int, pad: int, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg, self.pad, self.vocab_size = cfg, pad, vocab_size
        self.dropped = vocab_size  # the word-dropout token: one extra embedding row
        self.embed = nn.Embedding(vocab_size + 1, cfg.d_embed, padding_idx=pad)
        self.encoder = nn.GRU(cfg.d_embed, cfg.enc_hidden, batch_first=True, bidirectional=True)
        self.to_latent = nn.Linear(2 * cfg.enc_hidden, 2 * cfg.latent)
        self.z_to_h = nn.Linear(cfg.latent, cfg.hidden)
        self.decoder = nn.GRU(cfg.d_embed + cfg.latent, cfg.hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def encode(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x) for padded BOS + tokens + EOS rows; the encoder reads x[1:]."""
        x = batch[:, 1:]
        lengths = (x != self.pad).sum(1).clamp(min=1)
        packed = pack_padded_sequence(self.embed(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.encoder(packed)  # (2, B, enc_hidden): final forward and backward states
        mu, logvar = self.to_latent(torch.cat([h[0], h[1]], -1)).chunk(2, -1)
        return mu, logvar.clamp(-10.0, 10.0)

    def decode(self, inputs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Logits (B, L, V) of the next token after each input token, given z."""
        x = self.drop(self.embed(inputs))
        x = torch.cat([x, z[:, None, :].expand(-1, x.shape[1], -1)], -1)
        out, _ = self.decoder(x, torch.tanh(self.z_to_h(z))[None].contiguous())
        return self.head(self.drop(out))

    @staticmethod
    def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)

    def token_nll(self, batch: torch.Tensor, z: torch.Tensor, inputs: torch.Tensor | None = None):
        """Per-position NLL of batch[:, 1:] given batch[:, :-1] and z, and the mask of real targets."""
        targets = batch[:, 1:]
        logits = self.decode(batch[:, :-1] if inputs is None else inputs, z)
        nll = F.cross_entropy(logits.transpose(1, 2).float(), targets, reduction="none")
        mask = targets != self.pad
        return nll * mask, mask

    def loss(self, batch: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Training objective summed over the batch, and its number of target tokens."""
        cfg = self.cfg
        mu, logvar = self.encode(batch)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        inputs = batch[:, :-1]
        if self.training and cfg.word_dropout > 0:
            drop = torch.rand(inputs.shape, device=inputs.device) < cfg.word_dropout
            drop[:, 0] = False  # keep BOS
            inputs = inputs.masked_fill(drop & (inputs != self.pad), self.dropped)
        nll, mask = self.token_nll(batch, z, inputs)
        kl = self.kl_per_dim(mu, logvar).mean(0).clamp(min=cfg.free_bits).sum() * batch.shape[0]
        beta = min(1.0, step / cfg.kl_warmup_steps) if cfg.kl_warmup_steps > 0 else 1.0
        return nll.sum() + beta * kl, mask.sum()

    @torch.no_grad()
    def elbo_terms(self, batch: torch.Tensor):
        """Deterministic terms (z = mu): per-position NLL, target mask, KL per phrase, mu."""
        mu, logvar = self.encode(batch)
        nll, mask = self.token_nll(batch, mu)
        return nll, mask, self.kl_per_dim(mu, logvar).sum(1), mu


class VAECritic(TrainableModel, Critic):
    """The sequence-VAE anomaly critic (see the module docstring)."""

    name = "vae"
    kind = "critic-vae"  # checkpoint kind
    role = "critic"
    experiment = EXPERIMENT_CRITICS
    best_metric_name = "val_elbo"
    config_class = VAEConfig
    complete_after_fit = False  # complete once its validity suite is logged (benchmark.train.train_critic)

    def __init__(self, tokenizer, config: VAEConfig | None = None, device="auto", seed: int = 0) -> None:
        super().__init__(tokenizer, config, device, seed)
        self.calibration = np.zeros(0)
        self.phrase_config: dict = {}

    def build_model(self) -> nn.Module:
        return SeqVAE(self.vocab.size, self.vocab.pad, self.config)

    # -- evaluation -------------------------------------------------------------------------
    @torch.no_grad()
    def _terms(self, seqs: list[np.ndarray], batch_size: int = 128):
        """Per phrase: (target NLLs by position, KL, mu), in input order, from one forward pass."""
        was_training = self.model.training
        self.model.eval()
        nll_rows: list[np.ndarray] = [np.zeros(0)] * len(seqs)
        kl = np.zeros(len(seqs))
        mu = np.zeros((len(seqs), self.config.latent), dtype=np.float32)
        for idx in batches(seqs, batch_size, seed=0, shuffle=False):
            batch = pad_batch([seqs[i] for i in idx], self.vocab.pad).to(self.device)
            nll, _, kl_b, mu_b = self.model.elbo_terms(batch)
            nll, kl_b, mu_b = nll.cpu().numpy(), kl_b.cpu().numpy(), mu_b.cpu().numpy()
            for row, i in enumerate(idx):
                nll_rows[i] = nll[row, : len(seqs[i]) - 1].astype(np.float64)
                kl[i] = kl_b[row]
                mu[i] = mu_b[row]
        self.model.train(was_training)
        return nll_rows, kl, mu

    def _sequences(self, contexts: Tokens, continuations: Tokens) -> list[np.ndarray]:
        if len(contexts) != len(continuations):
            raise UserError(f"{len(contexts)} contexts but {len(continuations)} continuations; give one each")
        n = self.vocab.size
        for seq in (*contexts, *continuations):
            if len(seq) and (min(seq) < 0 or max(seq) >= n):
                raise UserError(f"token id outside the critic's vocabulary of {n}; score ids of the same tokenizer")
        return model_sequences(contexts, continuations, self.vocab.bos, self.vocab.eos)

    def analyze(self, contexts: Tokens, continuations: Tokens, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """(anomaly per phrase, latent means) from one forward pass over the phrases."""
        nll, kl, mu = self._terms(self._sequences(contexts, continuations), batch_size)
        out = np.zeros(len(nll))
        for i, (row, c) in enumerate(zip(nll, contexts)):
            n_cont = len(row) - len(c)  # continuation + EOS targets
            out[i] = (row[len(c):].sum() + kl[i] * n_cont / len(row)) / n_cont
        return out, mu

    def score(self, contexts: Tokens, continuations: Tokens, batch_size: int = 128) -> np.ndarray:
        """Anomaly (negative ELBO, nats per continuation token; higher = stranger), z = mu."""
        return self.analyze(contexts, continuations, batch_size)[0]

    def phrase_score(self, contexts: Tokens, continuations: Tokens, batch_size: int = 128) -> np.ndarray:
        """Whole-phrase anomaly: negative ELBO per token over context + continuation + EOS."""
        nll, kl, _ = self._terms(self._sequences(contexts, continuations), batch_size)
        return np.array([(row.sum() + k) / len(row) for row, k in zip(nll, kl)])

    def embed(self, contexts: Tokens, continuations: Tokens, batch_size: int = 128) -> np.ndarray:
        """Posterior means mu(x), (n, latent)."""
        return self.analyze(contexts, continuations, batch_size)[1]

    # -- the training engine's interface ----------------------------------------------------
    def training_loss(self, batch, step):
        return self.model.loss(batch, step)

    def validation_metrics(self, split) -> dict[str, float]:
        """val_elbo (negative ELBO per token, z = mu), val_rec, val_kl (nats per phrase), active_units."""
        nll, kl, mu = self._terms(split_sequences(split, self.vocab.bos, self.vocab.eos))
        n_tok = sum(len(r) for r in nll)
        rec = sum(r.sum() for r in nll)
        return {
            "val_elbo": float((rec + kl.sum()) / n_tok),
            "val_rec": float(rec / n_tok),
            "val_kl": float(kl.mean()),
            "active_units": float(active_units(mu)),
        }

    def finish_training(self, train_split, val_split) -> dict[str, float]:
        """Calibrate on the validation split (realness), with the best weights."""
        self.calibrate(val_split)
        final = self.validation_metrics(val_split)
        return {"active_units": final["active_units"], "val_kl": final["val_kl"],
                "calibration_median": float(np.median(self.calibration))}

    # -- checkpoints ------------------------------------------------------------------------
    def extra_state(self) -> dict:
        return {"calibration": torch.from_numpy(np.asarray(self.calibration, dtype=np.float64)),
                "phrase_config": json.dumps(self.phrase_config)}

    def restore_extra(self, state: dict) -> None:
        self.calibration = state.get("calibration", torch.zeros(0)).numpy().astype(np.float64)
        self.phrase_config = json.loads(state.get("phrase_config") or "{}")


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies across data: Var_x(mu_d(x)) > threshold
    (Burda et al. 2016, "Importance Weighted Autoencoders")."""
    mu = np.asarray(mu, dtype=np.float64)
    if len(mu) < 2:
        return 0
    return int((mu.var(axis=0) > threshold).sum())


__all__ = ["SeqVAE", "VAECritic", "VAEConfig", "active_units"]
