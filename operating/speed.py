"""`cli.py speed`: throughput of each stage, each next to a reference measured in the same run.

Figures are printed, never asserted: timings on a shared 2-core machine vary.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import symusic

from phrases import PhraseConfig, prepare
from phrases.scan import find_midi_files


@dataclass
class SpeedRow:
    stage: str
    value: float
    unit: str
    reference: str
    ratio: str


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def prepare_data_speed(corpus: Path, workers: int | None = None) -> list[SpeedRow]:
    """prepare-data on the whole corpus, cold (empty cache) and warm, against symusic's raw parse."""
    files = find_midi_files(corpus).files
    raw_s, _ = _timed(lambda: [symusic.Score(str(f)) for f in files])
    with tempfile.TemporaryDirectory() as cache:
        cold_s, data = _timed(lambda: prepare(corpus, PhraseConfig(), Path(cache), workers=workers))
        warm_s, _ = _timed(lambda: prepare(corpus, PhraseConfig(), Path(cache), workers=workers))
    n = len(files)
    raw_ref = f"symusic parse only: {raw_s:.2f} s ({n / raw_s:,.0f} files/s, 1 core)"
    return [
        SpeedRow("prepare-data cold", cold_s, "s", raw_ref, f"{cold_s / raw_s:.1f}x raw parse"),
        SpeedRow("prepare-data warm", warm_s, "s", raw_ref, f"{warm_s / raw_s:.2f}x raw parse"),
        SpeedRow(
            "prepare-data cold throughput", n / cold_s, "files/s",
            f"{data.report['windows']['train'] + data.report['windows']['val'] + data.report['windows']['test']:,} windows",
            f"{sum(data.report['tokens'].values()) / cold_s:,.0f} tokens/s",
        ),
    ]


def matmul_peak_gflops(n: int = 1024, repeats: int = 20) -> float:
    """fp32 matmul throughput of this machine with torch's current thread count: 2n^3 / t."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def model_flops_per_token(generator) -> float:
    """Training FLOPs per token (forward + backward = 3 x forward, 2 FLOPs per multiply-add).

    LSTM: 6 x (recurrent and input weights + output head). Transformer: 6 x non-embedding
    weights + 12 x layers x width x context (attention scores and values; PaLM's appendix B
    formula), with the mean training sequence length as context."""
    cfg = generator.config
    params = sum(p.numel() for n, p in generator.model.named_parameters() if "emb" not in n)
    flops = 6 * params
    if hasattr(cfg, "depth"):
        flops += 12 * cfg.depth * cfg.dim * 160  # ~160 tokens: the mean wjazzd phrase
    return float(flops)


def training_speed(generator, train_split, batch_size: int = 16, steps: int = 12) -> float:
    """Training tokens/s of `generator`'s model: the engine's own loop (`training.loop.train`:
    forward, backward, clipping, AdamW and its schedule) for `steps` steps on real phrases, as
    `train-generator` reports it (`tokens_per_s`, the steps' time alone)."""
    from training import TrainConfig, train

    with tempfile.TemporaryDirectory() as folder:
        state = train(generator, generator.training_sequences(train_split), train_split.subset(range(2)),
                      TrainConfig(batch_size=batch_size, max_steps=steps, epochs=1, checkpoint_dir=Path(folder)))
    return state.tokens_per_s


def generation_speed(generator, contexts, new_tokens: int = 128) -> tuple[float, float]:
    """Tokens/s generating `new_tokens` after each context: KV-cached and batched, against
    uncached one context at a time (transformer only: the LSTM's state is its own cache)."""
    import torch

    from generators.base import Length

    generator.model.eval()
    prompts = [[generator.vocab.bos, *map(int, c)] for c in contexts]
    length = Length(notes=10_000)  # a length no sample reaches: every sequence runs to max_tokens
    with torch.no_grad():
        start = time.perf_counter()
        out = generator.sample_batch(prompts, length, 1.0, 1.0, torch.Generator().manual_seed(0), max_tokens=new_tokens)
        cached = sum(len(o) for o in out) / (time.perf_counter() - start)
        start, n = time.perf_counter(), 0
        for p in prompts[:4]:
            o = generator.sample_batch([p], length, 1.0, 1.0, torch.Generator().manual_seed(0),
                                       max_tokens=new_tokens, use_cache=False)
            n += len(o[0])
        uncached = n / (time.perf_counter() - start)
    return cached, uncached


def generator_speed(data) -> list[SpeedRow]:
    """Training tokens/s and model-FLOP share of the matmul peak for the LSTM and the
    transformer at their default sizes; cached vs uncached generation for the transformer."""
    from generators.lstm import LSTMGenerator
    from generators.transformer import TransformerGenerator

    peak = matmul_peak_gflops()
    rows = [SpeedRow("fp32 matmul peak (1024^3)", peak, "GFLOP/s", "torch, all threads", "")]
    for cls in (LSTMGenerator, TransformerGenerator):
        gen = cls(data.tokenizer, device="cpu")
        tps = training_speed(gen, data.train)
        gflops = tps * model_flops_per_token(gen) / 1e9
        rows.append(SpeedRow(f"{gen.name} training ({gen.num_parameters() / 1e6:.1f} M params)", tps, "tokens/s",
                             f"matmul peak {peak:.0f} GFLOP/s", f"{gflops:.0f} GFLOP/s = {gflops / peak:.0%} of peak"))
    contexts = [data.test[i].context for i in range(min(16, len(data.test)))]
    cached, uncached = generation_speed(gen, contexts)
    rows.append(SpeedRow(f"transformer generation, {len(contexts)} contexts x 128 tokens, cached + batched", cached,
                         "tokens/s", f"uncached, one context at a time: {uncached:,.0f} tokens/s",
                         f"{cached / uncached:.1f}x"))
    return rows


def distributed_speed(corpus: Path) -> list[SpeedRow]:
    """Training tokens/s of the transformer in 2 torchrun processes (DDP over gloo) against 1, the
    same loop and global batch (`operating.distributed_speed`)."""
    from operating.distributed_speed import GLOBAL_BATCH, tokens_per_second

    one, two = tokens_per_second(corpus, 1), tokens_per_second(corpus, 2)
    return [SpeedRow(f"transformer training, 2 processes (torchrun, DDP over gloo), global batch {GLOBAL_BATCH}", two,
                     "tokens/s", f"1 process, same loop and batch: {one:,.0f} tokens/s", f"{two / one:.2f}x")]


def critic_speed(critic, phrases, max_phrases: int = 512, target: float = 200.0) -> list[SpeedRow]:
    """Critic scoring (`analyze`: anomaly, components and embedding) in doubled phrases
    (context + continuation) per second on up to `max_phrases` real phrases, after a warm-up, the
    best of 3 runs;
    next to the target, and next to one plain forward pass of the critic's network over the same
    phrases (the goal: scoring costs at most 1.5 of those)."""
    split = phrases.subset(range(min(len(phrases), max_phrases)))
    ctx, cont = split.token_lists("context"), split.token_lists("continuation")
    critic.analyze(ctx[:16], cont[:16])  # warm-up: first-call allocations
    # the best of 3 runs each, taken in turns (as timeit takes the best): one run of a second or two
    # moves by 10-20% on a small shared machine, and a slow spell would otherwise hit one side only
    runs = [(_timed(lambda: critic.analyze(ctx, cont))[0], _timed(lambda: critic.forward_pass(ctx, cont))[0])
            for _ in range(3)]
    seconds, forward = (min(r[i] for r in runs) for i in (0, 1))
    n_tokens = sum(len(c) + len(d) for c, d in zip(ctx, cont))
    rate = len(ctx) / seconds
    name = f"critic scoring ({critic.name}, {critic.num_parameters() / 1e6:.2f}M params)"
    return [SpeedRow(name, rate, "phrases/s", f"target {target:.0f} phrases/s; {n_tokens / seconds:,.0f} tokens/s over "
                     f"{len(ctx)} phrases", f"{rate / target:.2f}x target"),
            SpeedRow("critic scoring / one forward pass", seconds / forward, "x",
                     f"forward pass {len(ctx) / forward:,.0f} phrases/s (encoder + decoder over the full rows); scoring "
                     "adds the decoder over the continuations alone", "goal at most 1.5")]


def adversarial_steps_per_second(gan, split, steps: int = 4, warmup: int = 1) -> tuple[float, float]:
    """Adversarial steps/s of a `GANGenerator` on real phrases: the gan's own phase step
    (`gan.AdversarialPhase.step`: sample a continuation of each context, discriminator updates, a
    generator update), timed after its discriminator warm-up and `warmup` more steps; and the
    share of a step that sampling the same batch takes."""
    import torch

    from generators.gan import AdversarialPhase
    from generators.policy_gradient import pair_batch

    phase = AdversarialPhase(gan, split, split, seed=0)
    phase.start(0)
    first = gan.config.disc_warmup + warmup
    elapsed, sampling = 0.0, 0.0
    for i in range(gan.config.disc_warmup, first + steps):
        t0 = time.perf_counter()
        phase.step(i)
        if gan.device.type == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        if i >= first:
            elapsed += t1 - t0
            idx = pair_batch(i, len(phase.contexts), gan.config.adv_batch, 0, phase.pair_lengths)
            gan.sample_fakes([phase.contexts[j] for j in idx], phase.length, phase.max_tokens, seed=i)
            sampling += time.perf_counter() - t1
    return steps / elapsed, sampling / elapsed


def adversarial_speed(data) -> list[SpeedRow]:
    """Adversarial steps/s of the gan at its default size (3 x 512 LSTM generator, batch 16),
    next to one MLE training step of the same network on the same batch size."""
    from generators.gan import GANGenerator

    gan = GANGenerator(data.tokenizer, device="cpu")
    per_s, sample_share = adversarial_steps_per_second(gan, data.train)
    tps = training_speed(gan, data.train, batch_size=gan.config.adv_batch, steps=4)
    mean_len = sum(len(s) for s in data.train.token_lists("both")) / len(data.train) + 2
    mle_steps = tps / (gan.config.adv_batch * mean_len)
    return [SpeedRow(f"gan adversarial steps (batch {gan.config.adv_batch}, {gan.num_parameters() / 1e6:.1f} M params)",
                     per_s, "steps/s", f"MLE steps of the same network: {mle_steps:.2f} steps/s",
                     f"{per_s / mle_steps:.2f}x; sampling {sample_share:.0%} of a step")]


def quick_benchmark_speed(data) -> list[SpeedRow]:
    """Wall time per stage of `benchmark --all --quick` from nothing (every built-in generator
    and the critic trained with the quick budgets), in a scratch folder with its own MLflow
    store, so the user's store and checkpoints are untouched."""
    import os

    from operating.benchmarking import run_benchmark
    from benchmark.options import BenchmarkOptions
    from generators.registry import available

    saved_cwd, saved_uri = os.getcwd(), os.environ.get("MLFLOW_TRACKING_URI")
    with tempfile.TemporaryDirectory(prefix="phrasebench-speed-") as scratch:
        os.chdir(scratch)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(scratch) / 'mlflow.db'}"
        try:
            seconds, result = _timed(lambda: run_benchmark(
                data, BenchmarkOptions(available(), contexts=64, device="cpu"), quick=True, log=lambda *_: None))
        finally:
            os.chdir(saved_cwd)
            if saved_uri is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = saved_uri
    rows = [SpeedRow(f"benchmark --all --quick: {stage}", s, "s", "", f"{s / seconds:.0%} of the run")
            for stage, s in result.stage_seconds.items()]
    rows.append(SpeedRow("benchmark --all --quick: total", seconds, "s", "make demo budget 600 s",
                         f"{seconds / 600:.0%} of budget"))
    return rows


def measure(corpus: Path, workers: int | None = None, with_benchmark: bool = True) -> list:
    """Every figure `cli.py speed` prints, as one (title, header, rows) table."""
    from benchmark.lookup import MissingModel, find_critic
    from critics.registry import get_critic_class
    from training import set_threads

    rows = prepare_data_speed(corpus, workers)
    set_threads()
    data = prepare(corpus, PhraseConfig(), workers=workers)
    rows += generator_speed(data)
    rows += distributed_speed(corpus)
    rows += adversarial_speed(data)
    try:  # the trained critic when there is one; the speed of an untrained one is the same
        critic = find_critic(data, "cpu").model
    except MissingModel:
        critic = get_critic_class("vae")(data.tokenizer, device="cpu")
        critic.calibrate(data.val)
    rows += critic_speed(critic, data.test)
    if with_benchmark:
        rows += quick_benchmark_speed(data)
    return [("phrasebench speed", ["stage", "figure", "reference (same run)", "ratio"],
             [[r.stage, f"{r.value:,.2f} {r.unit}", r.reference, r.ratio] for r in rows])]
