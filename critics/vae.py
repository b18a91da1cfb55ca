"""The VAE anomaly critic: a sequence VAE over doubled-length phrases that also knows each
continuation without its context, and an anomaly built from three of its signals.

Model (a sequence VAE, Bowman et al. 2016, "Generating Sentences from a Continuous Space"):

    rows      full:  BOS  + context + continuation + EOS
              free:  FREE + continuation + EOS        (the continuation without its context)
    encoder   q(z | full row) = N(mu, diag sigma^2): a GRU over the row; [last state ; mean state]
              -> Linear -> (mu, log sigma^2). mu is the phrase's embedding (fcd, c2st).
    decoder   p(x_t | x_<t, z): a GRU over [embed(x_<t) + embed(interval from the previous
              pitch) ; z], initial state tanh(W z); a head over the vocabulary plus a relative
              pitch head: every pitch logit also gets a score of its interval from the last pitch,
              so that "a step up" is learnt once, not for each of the 88 pitches
    prior     N(0, I); KL = sum_d 1/2 (mu_d^2 + sigma_d^2 - 1 - log sigma_d^2)
    free rows are decoded with z = 0 and carry no KL: the same network is also a plain
    autoregressive model of a continuation on its own.

Training: NLL + beta(step) * free-bits KL (Kingma et al. 2016), KL annealing and word dropout
(Bowman et al. 2016); free rows for a share `p_free` of the training phrases; every row moved by a
random transposition in -transpose..transpose-1 semitones at every step (as Music Transformer
does, Huang et al. 2019), so that the key has to be read from the context, not from corpus priors.

Training also decodes a share `p_prior` of the full rows with z = 0 (no KL), the way they are
scored: the decoder is then a plain autoregressive model of a whole row as well.

Signals, from one forward computation per phrase (`SeqVAE.signals`: the encoder over the full row
for mu, the decoder over the full row and over the free row, both with z = 0), with
l_t = -log p(x_t) over the continuation's targets. z = 0, not mu: mu was read from the continuation
itself and tells the decoder what is coming, faults included (measured on validation phrases with
the v1 weights: coherence's AUROC on tritone 0.830 with mu, 0.884 with z = 0):

    wrong_notes  mean over the continuation's pitches of max(0, l_t - (H_t + log R) / 2 + 1/2):
                 how much less likely each note is than a typical one there, against the average
                 of two backgrounds: the model's own expected surprise at t, H_t the entropy of its
                 pitch distribution (the typicality test of Nalisnick et al. 2019), and a note drawn
                 uniformly from the phrase's pitch range R (context + continuation, max - min + 1;
                 a likelihood ratio, Ren et al. 2019); hinged so that only wrong-looking notes count
    timing       -sum over the continuation's onsets (Position targets) of
                 log p(onset) - log mean(p(onset - 1 tick), p(onset + 1 tick)), over sqrt(n):
                 DetectGPT's perturbation discrepancy (Mitchell et al. 2023), exact for one-tick
                 moves of an onset: a real onset sits on a peak of the model's timing
    coherence    (sum of l_t over the free row's pitches - the same over the full row's) / sqrt(n):
                 the pointwise mutual information of context and continuation; low when the
                 context does not help (a wrong key, another song's continuation)
    nll, kl      the mean l_t of the continuation and the rate (reported, not combined)
    pitches      the number n of the continuation's pitches

The anomaly (`critics.combiner`): the weighted minimum p-value (Tippett) of wrong_notes (weight
4), timing (1) and coherence (2, lower = stranger), each standardised on real validation phrases;
wrong_notes, a mean over n notes, enters as (wrong_notes - c) sqrt(n), c its mean per note on real
validation phrases (the sum of the nine validation AUROCs: 8.321 by the mean, 8.342 so). The
signals, their forms and weights were chosen on corrupted validation phrases, never on test.
The bland side (`critics.blandness`, fitted in `finish_training` on the same real validation
phrases): how much more flat, repetitive, echoed, samey or copied a continuation is than real ones.
The context side (`critics.context_fit`, trained in `finish_training` on the training split): how
badly a continuation fits its own context. The leaderboard ranks by the worst of the three sides'
two-sided gaps.
Calibration: realness of a score is the share of real validation phrases scoring at least as
high, each validation phrase scored by a combiner fitted on the other songs (5-fold by song), so
realness is not computed on the combiner's own fit data.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from critics.base import Analysis, Critic, Tokens
from critics.blandness import Blandness, fit_blandness
from critics.context_fit import ContextFit, fit_context_fit
from critics.combiner import Combiner
from critics.assessment import Assessment, assess
from critics.domain import DomainProfile
from metrics.plagiarism import TrainingPatterns
from phrases.config import PhraseConfig
from phrases.errors import UserError
from phrases.sequences import model_sequences
from training import TrainableModel, batches, pad_batch
from training.options import require

SIGNALS = ("wrong_notes", "timing", "coherence")  # what the anomaly combines
SIGNAL_WEIGHTS = (4.0, 1.0, 2.0)
SIGNAL_SIGNS = (1.0, 1.0, -1.0)
PER_UNIT = {"wrong_notes": "pitches"}  # a mean over the notes -> their number (critics.combiner)
FOLDS = 5


@dataclass
class VAEConfig:
    d_embed: int = 128
    enc_hidden: int = 128
    hidden: int = 256  # decoder GRU
    latent: int = 32
    dropout: float = 0.1
    word_dropout: float = 0.1
    free_bits: float = 0.1  # nats per latent dimension
    kl_warmup_steps: int = 1000
    p_free: float = 0.3  # share of training phrases also seen without their context
    p_prior: float = 0.3  # share of full rows decoded with z = 0 at each step (no KL), as they are scored
    transpose: int = 6  # random shifts -transpose..transpose-1 semitones at every step; 0 = none
    relative_head: bool = True

    def __post_init__(self) -> None:
        require(self, positive=("d_embed", "enc_hidden", "hidden", "latent"),
                non_negative=("free_bits", "kl_warmup_steps", "transpose"), fractions=("dropout", "word_dropout", "p_free", "p_prior"))


class SeqVAE(nn.Module):
    """The network; token facts (pitch and kind of every id) come from `phrases.Vocab`."""

    INTERVALS = 27  # 0: no pitch or the first one; 1..25: -12..12 semitones; 26: farther
    RELATIVE = 24  # the relative head's reach in semitones

    def __init__(self, vocab, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg, self.pad, self.bos, self.eos = cfg, vocab.pad, vocab.bos, vocab.eos
        V = self.V = vocab.size
        self.drop_id, self.free_id = V, V + 1  # two extra input embeddings: word dropout, FREE start
        self.register_buffer("pitch_of", torch.as_tensor(vocab.pitch, dtype=torch.long), persistent=False)
        self.register_buffer("is_position", torch.as_tensor(vocab.position >= 0), persistent=False)
        pitch_id = torch.full((128,), -1, dtype=torch.long)
        for p, i in vocab.pitch_id.items():
            pitch_id[p] = i
        self.register_buffer("pitch_id", pitch_id, persistent=False)
        ids = [vocab.position_id.get(int(p) - 1, i) if p >= 0 else i for i, p in enumerate(vocab.position)]
        self.register_buffer("pos_prev", torch.tensor(ids, dtype=torch.long), persistent=False)
        ids = [vocab.position_id.get(int(p) + 1, i) if p >= 0 else i for i, p in enumerate(vocab.position)]
        self.register_buffer("pos_next", torch.tensor(ids, dtype=torch.long), persistent=False)
        pitch_ids = sorted(vocab.pitch_id.values())
        self.register_buffer("pitch_ids", torch.tensor(pitch_ids, dtype=torch.long), persistent=False)
        self.register_buffer("pitch_values", torch.tensor([int(vocab.pitch[i]) for i in pitch_ids]), persistent=False)

        self.embed = nn.Embedding(V + 2, cfg.d_embed, padding_idx=vocab.pad)
        self.interval = nn.Embedding(self.INTERVALS, cfg.d_embed)
        self.encoder = nn.GRU(cfg.d_embed, cfg.enc_hidden, batch_first=True)
        self.to_latent = nn.Linear(2 * cfg.enc_hidden, 2 * cfg.latent)
        self.z_to_h = nn.Linear(cfg.latent, cfg.hidden)
        self.decoder = nn.GRU(cfg.d_embed + cfg.latent, cfg.hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, V)
        if cfg.relative_head:
            self.rel_head = nn.Linear(cfg.hidden, 2 * self.RELATIVE + 3)

    # -- pieces ------------------------------------------------------------------------------
    def _pitches(self, ids: torch.Tensor):
        """MIDI pitch of every id (-1 for others and the two extra ids) and, per position, the
        index of the last pitch at or before it (-1 before the first)."""
        p = self.pitch_of[ids.clamp(max=self.V - 1)]
        p = torch.where(ids >= self.V, torch.full_like(p, -1), p)
        idx = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        last = torch.where(p >= 0, idx, torch.full_like(idx, -1)).cummax(1).values
        return p, last

    def features(self, ids: torch.Tensor) -> torch.Tensor:
        """Token embedding + embedding of the interval from the previous pitch of the row."""
        p, last = self._pitches(ids)
        prev = torch.cat([torch.full_like(last[:, :1], -1), last[:, :-1]], 1)  # strictly before t
        prev_p = torch.gather(p, 1, prev.clamp(min=0))
        step = p - prev_p
        has = (p >= 0) & (prev >= 0)
        code = torch.where(has, (step.clamp(-12, 12) + 13), torch.zeros_like(step))
        code = torch.where(has & (step.abs() > 12), torch.full_like(code, self.INTERVALS - 1), code)
        return self.embed(ids) + self.interval(code)

    def encode(self, rows: torch.Tensor, lengths: torch.Tensor):
        """(mu, logvar) of q(z | row): the GRU's state at the row's last token and the mean of its
        states, over the row after its start token (padded, not packed: faster on a CPU)."""
        out, _ = self.encoder(self.features(rows[:, 1:]))
        n = (lengths - 1).clamp(min=1)
        mask = (torch.arange(out.shape[1], device=out.device)[None] < n[:, None]).unsqueeze(-1)
        last = out[torch.arange(len(n), device=out.device), n - 1]
        mu, logvar = self.to_latent(torch.cat([last, (out * mask).sum(1) / n[:, None]], -1)).chunk(2, -1)
        return mu, logvar.clamp(-10.0, 10.0)

    def hidden(self, inputs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Decoder states after each input token, given z (outputs past a row's end are unused)."""
        x = torch.cat([self.drop(self.features(inputs)), z[:, None, :].expand(-1, inputs.shape[1], -1)], -1)
        out, _ = self.decoder(x, torch.tanh(self.z_to_h(z))[None].contiguous())
        return self.drop(out)

    def logits_at(self, out: torch.Tensor, inputs: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
        """Next-token logits (N, V) at the positions `where` only; with the relative head every
        pitch logit also gets r_t[interval from the last pitch so far] (2R + 3 buckets: the
        intervals, farther, no pitch yet)."""
        h = out[where]
        logits = self.head(h)
        if self.cfg.relative_head:
            R = self.RELATIVE
            p, last = self._pitches(inputs)
            lastp = torch.gather(p, 1, last.clamp(min=0))
            lastp = torch.where(last >= 0, lastp, torch.full_like(lastp, -1000))[where]
            d = self.pitch_values[None, :] - lastp[:, None]
            bucket = torch.where(d.abs() <= R, d + R, torch.full_like(d, 2 * R + 1))
            bucket = torch.where(lastp[:, None] < -100, torch.full_like(d, 2 * R + 2), bucket)
            logits = logits.index_add(-1, self.pitch_ids, self.rel_head(h).gather(-1, bucket))
        return logits

    @staticmethod
    def kl_per_dim(mu, logvar):
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)

    def transpose(self, rows: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """Every pitch of row i moved by shifts[i] semitones (0 where the row would leave the range)."""
        p = self._pitches(rows)[0]
        is_p = p >= 0
        lo = torch.where(is_p, p, torch.full_like(p, 1000)).min(1).values
        hi = torch.where(is_p, p, torch.full_like(p, -1)).max(1).values
        valid = (self.pitch_id >= 0).nonzero()
        ok = (lo + shifts >= valid.min()) & (hi + shifts <= valid.max())
        s = torch.where(ok, shifts, torch.zeros_like(shifts))[:, None]
        return torch.where(is_p, self.pitch_id[(p + s).clamp(0, 127)], rows)

    # -- training ----------------------------------------------------------------------------
    def loss(self, rows: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(target NLL + beta * free-bits KL, number of targets) for padded full and free rows:
        full rows with z ~ q(z | row) (reparameterised), free rows with z = 0 and no KL."""
        cfg = self.cfg
        if cfg.transpose > 0:
            rows = self.transpose(rows, torch.randint(-cfg.transpose, cfg.transpose, (len(rows),), device=rows.device))
        lengths = (rows != self.pad).sum(1)
        full = (rows[:, 0] != self.free_id).nonzero().squeeze(1)
        z = torch.zeros(len(rows), cfg.latent, device=rows.device)
        kl = torch.zeros((), device=rows.device)
        if cfg.p_prior > 0:  # these full rows are decoded with z = 0, as scoring decodes them
            full = full[torch.rand(len(full), device=rows.device) >= cfg.p_prior]
        if len(full):
            mu, logvar = self.encode(rows[full], lengths[full])
            z = z.index_copy(0, full, mu + torch.randn_like(mu) * (0.5 * logvar).exp())
            kl = self.kl_per_dim(mu, logvar).mean(0).clamp(min=cfg.free_bits).sum() * len(full)
        inputs, targets = rows[:, :-1], rows[:, 1:]
        if self.training and cfg.word_dropout > 0:
            drop = (torch.rand(inputs.shape, device=rows.device) < cfg.word_dropout) & (inputs != self.pad)
            drop[:, 0] = False
            inputs = inputs.masked_fill(drop, self.drop_id)
        mask = targets != self.pad
        nll = F.cross_entropy(self.logits_at(self.hidden(inputs, z), inputs, mask), targets[mask], reduction="sum")
        beta = min(1.0, step / cfg.kl_warmup_steps) if cfg.kl_warmup_steps > 0 else 1.0
        return nll + beta * kl, mask.sum()

    # -- scoring -----------------------------------------------------------------------------
    def padded(self, seqs, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, lengths) of token sequences, right-padded, on `device`."""
        return pad_batch(seqs, self.pad).to(device), torch.tensor([len(s) for s in seqs], device=device)

    def _token_nll(self, rows, lengths, z, start, pitch_entropy: bool = False):
        """Per target at index >= start of each row: its NLL, the mask of those targets, the onset
        perturbation discrepancy log p(x_t) - log mean p(x_t -+ 1 tick) (0 for non-onsets) and,
        when asked, the entropy of the next pitch, -sum_p q(p) log q(p), q = p(pitch | a pitch
        comes) (else None)."""
        inputs, targets = rows[:, :-1], rows[:, 1:]
        t = torch.arange(targets.shape[1], device=rows.device)[None]
        where = (t < (lengths - 1)[:, None]) & (t >= start[:, None])
        logp = self.logits_at(self.hidden(inputs, z), inputs, where).float().log_softmax(-1)
        tg = targets[where].clamp(max=self.V - 1)
        lp = logp.gather(-1, tg[:, None]).squeeze(-1)
        around = torch.logaddexp(logp.gather(-1, self.pos_prev[tg][:, None]).squeeze(-1),
                                 logp.gather(-1, self.pos_next[tg][:, None]).squeeze(-1)) - math.log(2.0)
        zeros = torch.zeros(targets.shape, dtype=logp.dtype, device=rows.device)
        entropy = None
        if pitch_entropy:
            q = logp[:, self.pitch_ids]
            q = q - q.logsumexp(-1, keepdim=True)
            entropy = zeros.masked_scatter(where, -(q.exp() * q).sum(-1))
        return zeros.masked_scatter(where, -lp), where, zeros.masked_scatter(where, lp - around), entropy

    @torch.no_grad()
    def signals(self, contexts: Tokens, continuations: Tokens) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """({signal: (B,)}, mu (B, latent)) of a batch: one forward computation (see the module)."""
        dev = self.head.weight.device
        B = len(contexts)
        rows, lengths = self.padded(model_sequences(contexts, continuations, self.bos, self.eos), dev)
        frows, flengths = self.padded([[self.free_id, *d, self.eos] for d in continuations], dev)
        start = torch.tensor([len(c) for c in contexts], device=dev)  # target index of the continuation's first token
        mu, logvar = self.encode(rows, lengths)
        z = torch.zeros_like(mu)  # not mu: the encoder has read the continuation and would tell the decoder its faults
        nll, cont, curv, entropy = self._token_nll(rows, lengths, z, start, pitch_entropy=True)
        fnll, fcont, _, _ = self._token_nll(frows, flengths, z, torch.zeros(B, dtype=torch.long, device=dev))
        kind = lambda r: self.pitch_of[r[:, 1:].clamp(max=self.V - 1)] >= 0  # noqa: E731
        mp, fmp = cont & kind(rows) & (rows[:, 1:] < self.V), fcont & kind(frows) & (frows[:, 1:] < self.V)
        mpos = cont & self.is_position[rows[:, 1:].clamp(max=self.V - 1)]
        p = self._pitches(rows)[0]
        lo = torch.where(p >= 0, p, torch.full_like(p, 1000)).min(1).values
        log_range = torch.log((p.max(1).values - lo + 1).clamp(min=2).to(nll.dtype))[:, None]
        pitches = mp.sum(1)
        n_p = pitches.clamp(min=1)
        return {
            "wrong_notes": ((nll - (entropy + log_range) / 2 + 0.5).clamp(min=0) * mp).sum(1) / n_p,
            "timing": -(curv * mpos).sum(1) / mpos.sum(1).clamp(min=1).sqrt(),
            "coherence": ((fnll * fmp).sum(1) - (nll * mp).sum(1)) / n_p.sqrt(),
            "nll": (nll * cont).sum(1) / cont.sum(1).clamp(min=1),
            "kl": self.kl_per_dim(mu, logvar).sum(1),
            "pitches": pitches.to(nll.dtype),
        }, mu


def active_units(mu: np.ndarray, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies across data: Var_x(mu_d(x)) > threshold
    (Burda et al. 2016, "Importance Weighted Autoencoders")."""
    mu = np.asarray(mu, dtype=np.float64)
    if len(mu) < 2:
        return 0
    return int((mu.var(axis=0) > threshold).sum())


def song_folds(songs: np.ndarray, k: int = FOLDS, seed: int = 0) -> np.ndarray:
    """A fold number per phrase, whole songs to one fold (seeded)."""
    order = np.random.default_rng([seed, 13]).permutation(np.unique(songs))
    fold_of = {int(s): i % k for i, s in enumerate(order)}
    return np.array([fold_of[int(s)] for s in songs])


class VAECritic(TrainableModel, Critic):
    """The sequence-VAE anomaly critic (see the module docstring)."""

    name = "vae"
    kind = "critic-vae2"  # checkpoint kind: v2 = free rows, signals and a combiner
    role = "critic"
    best_metric_name = "val_elbo"
    config_class = VAEConfig

    def __init__(self, tokenizer, config: VAEConfig | None = None, device="auto", seed: int = 0) -> None:
        super().__init__(tokenizer, config, device, seed)
        self.seed = seed  # also the context side's draws (`critics.context_fit`)
        self.calibration = np.zeros(0)
        self.combiner: Combiner | None = None
        self.blandness: Blandness | None = None  # the bland side (critics.blandness), fitted with the combiner
        self.context_fit: ContextFit | None = None  # the context side (critics.context_fit); None: not fitted
        self.phrase_config: dict = {}
        self.validity: dict[str, float] = {}  # its validity suite's figures (critics.validity.validity_metrics)
        self.domain: dict = {}  # the music it was trained on (critics.domain.DomainProfile.to_dict); {} when unknown
        self.card: dict = {}  # its metric card (critics.card)
        self.assessment = Assessment()  # how its fit assesses it on a test split, and what it found

    def build_model(self) -> nn.Module:
        return SeqVAE(self.vocab, self.config)

    # -- the training engine's interface ----------------------------------------------------
    def training_sequences(self, split) -> list[np.ndarray]:
        """Every full row, and the free row (FREE + continuation + EOS) of a share p_free of the
        phrases (a fixed, seeded choice)."""
        full = super().training_sequences(split)
        conts = split.token_lists("continuation")
        chosen = np.flatnonzero(np.random.default_rng(0).random(len(conts)) < self.config.p_free)
        free = self.model.free_id
        return full + [np.concatenate([[free], conts[i], [self.vocab.eos]]).astype(np.int64) for i in chosen]

    def training_loss(self, batch, step):
        return self.model.loss(batch, step)

    @torch.no_grad()
    def validation_metrics(self, split) -> dict[str, float]:
        """val_elbo: negative ELBO per target token of the full rows (z = mu); val_rec, val_kl
        (nats per phrase), active_units."""
        was = self.model.training
        self.model.eval()
        seqs = super().training_sequences(split)
        rec, kl_sum, n_tok, mus = 0.0, 0.0, 0, []
        for idx in batches(seqs, 128, seed=0, shuffle=False):
            rows, lengths = self.model.padded([seqs[i] for i in idx], self.device)
            mu, logvar = self.model.encode(rows, lengths)
            nll, where, _, _ = self.model._token_nll(rows, lengths, mu, torch.zeros(len(idx), dtype=torch.long, device=self.device))
            rec += float(nll.sum())
            n_tok += int(where.sum())
            kl_sum += float(self.model.kl_per_dim(mu, logvar).sum())
            mus.append(mu.cpu().numpy())
        self.model.train(was)
        return {"val_elbo": (rec + kl_sum) / max(n_tok, 1), "val_rec": rec / max(n_tok, 1),
                "val_kl": kl_sum / max(len(seqs), 1), "active_units": float(active_units(np.concatenate(mus)))}

    def finish_training(self, train_split, val_split, test_split=None) -> dict[str, float]:
        """Fit the combiner and calibrate on the validation split, with the best weights; read the
        bland side's statistics of the same real phrases (`critics.blandness`); train the context
        side on the training split (`critics.context_fit`); measure the domain (the range of the
        training music's properties, `critics.domain`); with a test split, run the validity suite
        and make the card (`critics.assessment`)."""
        self.calibrate(val_split)
        bars = int(self.phrase_config.get("phrase_bars", 4))
        self.blandness = fit_blandness(self.tokenizer, val_split, TrainingPatterns.from_split(train_split), bars)
        self.context_fit = fit_context_fit(self.tokenizer, train_split, bars, PhraseConfig.from_dict(self.phrase_config),
                                           self.seed)
        self.domain = DomainProfile.fit(train_split).to_dict()
        final = self.validation_metrics(val_split)
        figures = {"active_units": final["active_units"], "val_kl": final["val_kl"],
                   "calibration_median": float(np.median(self.calibration))}
        if test_split is not None:
            figures.update(assess(self, train_split, test_split, self.assessment, f"run {self.run_id}",
                                  self.assessment.log).figures)
        return figures

    # -- scoring ----------------------------------------------------------------------------
    def signals(self, contexts: Tokens, continuations: Tokens, batch_size: int = 128) -> tuple[dict, np.ndarray]:
        """Every signal of every phrase and the latent means, batched by length (input order kept)."""
        if len(contexts) != len(continuations):
            raise UserError(f"{len(contexts)} contexts but {len(continuations)} continuations; give one each")
        n = self.vocab.size
        for seq in (*contexts, *continuations):
            if len(seq) and (min(seq) < 0 or max(seq) >= n):
                raise UserError(f"token id outside the critic's vocabulary of {n}; score ids of the same tokenizer")
        self.model.eval()
        seqs = [np.concatenate([c, d]) for c, d in zip(contexts, continuations)]
        parts, mus, order = [], [], []
        for idx in batches(seqs, batch_size, seed=0, shuffle=False):
            sig, mu = self.model.signals([list(map(int, contexts[i])) for i in idx],
                                         [list(map(int, continuations[i])) for i in idx])
            parts.append({k: v.cpu().numpy().astype(np.float64) for k, v in sig.items()})
            mus.append(mu.cpu().numpy())
            order += list(idx)
        inverse = np.argsort(np.asarray(order, dtype=np.int64))
        signals = {k: np.concatenate([p[k] for p in parts])[inverse] for k in parts[0]} if parts else {}
        return signals, (np.concatenate(mus)[inverse] if mus else np.zeros((0, self.config.latent), np.float32))

    @torch.no_grad()
    def forward_pass(self, contexts: Tokens, continuations: Tokens, batch_size: int = 128) -> None:
        """One plain forward pass of the network (encoder, decoder, output head at every target)
        over the full rows of the phrases, in the batches `signals` uses: the reference cost that
        `cli.py speed` compares scoring with."""
        self.model.eval()
        seqs = model_sequences(contexts, continuations, self.vocab.bos, self.vocab.eos)
        for idx in batches(seqs, batch_size, seed=0, shuffle=False):
            rows, lengths = self.model.padded([seqs[i] for i in idx], self.device)
            mu, _ = self.model.encode(rows, lengths)
            self.model.logits_at(self.model.hidden(rows[:, :-1], mu), rows[:, :-1], rows[:, 1:] != self.vocab.pad)

    def analyze(self, contexts: Tokens, continuations: Tokens) -> Analysis:
        """Anomaly, latent means and the signals (components), from one forward pass per phrase."""
        if self.combiner is None:
            raise UserError("the critic is not calibrated (an interrupted training?); train it again with train-critic")
        signals, mu = self.signals(contexts, continuations)
        return Analysis(self.combiner.score(signals), mu, signals)

    def score(self, contexts: Tokens, continuations: Tokens) -> np.ndarray:
        """Anomaly per phrase (-log of the weighted minimum p-value; higher = stranger)."""
        return self.analyze(contexts, continuations).anomaly

    def embed(self, contexts: Tokens, continuations: Tokens) -> np.ndarray:
        """Posterior means mu, (n, latent)."""
        return self.signals(contexts, continuations)[1]

    def calibrate(self, real_val) -> np.ndarray:
        """Fit the combiner on the real validation phrases (that is what scores), and keep as
        calibration their scores cross-fitted by song (each scored by a combiner fitted on the
        other songs)."""
        if len(real_val) < 2:
            raise UserError("calibration needs real validation phrases; use a larger corpus or another --split")
        signals, _ = self.signals(real_val.token_lists("context"), real_val.token_lists("continuation"))
        folds = song_folds(real_val.arrays["song"], min(FOLDS, len(np.unique(real_val.arrays["song"]))))
        combiner = lambda part: Combiner(SIGNALS, SIGNAL_WEIGHTS, SIGNAL_SIGNS, dict(PER_UNIT)).fit(part)  # noqa: E731
        cross = np.zeros(len(real_val))
        for f in np.unique(folds):
            fit = combiner({k: v[folds != f] for k, v in signals.items()}) if (folds != f).sum() > 1 else combiner(signals)
            cross[folds == f] = fit.score({k: v[folds == f] for k, v in signals.items()})
        self.combiner = combiner(signals)
        self.calibration = np.sort(cross)
        return self.calibration

    # -- checkpoints ------------------------------------------------------------------------
    def extra_state(self) -> dict:
        return {"calibration": torch.from_numpy(np.asarray(self.calibration, dtype=np.float64)),
                "combiner": json.dumps(self.combiner.state() if self.combiner else {}),
                "blandness": json.dumps(self.blandness.state() if self.blandness else {}),
                "context_fit": self.context_fit.state() if self.context_fit else {},
                "phrase_config": json.dumps(self.phrase_config), "validity": json.dumps(self.validity),
                "card": json.dumps(self.card), "domain": json.dumps(self.domain)}

    def restore_extra(self, state: dict) -> None:
        self.calibration = state.get("calibration", torch.zeros(0)).numpy().astype(np.float64)
        combiner = json.loads(state.get("combiner") or "{}")
        self.combiner = Combiner.from_state(combiner) if combiner else None
        blandness = json.loads(state.get("blandness") or "{}")
        self.blandness = Blandness.from_state(blandness) if blandness else None
        self.context_fit = ContextFit.from_state(state["context_fit"]) if state.get("context_fit") else None
        self.phrase_config = json.loads(state.get("phrase_config") or "{}")
        self.validity = json.loads(state.get("validity") or "{}")
        self.domain = json.loads(state.get("domain") or "{}")
        self.card = json.loads(state.get("card") or "{}")


__all__ = ["SIGNALS", "SeqVAE", "VAECritic", "VAEConfig", "active_units"]
