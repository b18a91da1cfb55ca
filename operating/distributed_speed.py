"""`cli.py speed`'s distributed figure: training tokens/s of the transformer in 1 and 2 processes.

Each figure is a real `torchrun --standalone --nproc-per-node N` run of this module (N = 1 takes
the one-process path of the loop, N = 2 trains with DDP over gloo), the shared loop
(`training.train`) on the default-size transformer, the same global batch of 16 phrases per step
(16 in one process, 8 per rank in two), the loop's own tokens/s (all ranks' tokens over the time
spent in steps). Each process gets its share of the cores (`set_threads`), or
`PHRASEBENCH_THREADS` each. Printed, never asserted.

    python -m torch.distributed.run --standalone --nproc-per-node 2 -m operating.distributed_speed CORPUS OUT.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

GLOBAL_BATCH = 16
STEPS = 12


def tokens_per_second(corpus: Path, processes: int, steps: int = STEPS) -> float:
    """Training tokens/s of `processes` torchrun processes on this machine."""
    from phrases.config import REPO_ROOT

    with tempfile.TemporaryDirectory(prefix="phrasebench-ddp-speed-") as tmp:
        out = Path(tmp) / "speed.json"
        done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                               f"--nproc-per-node={processes}", "-m", "operating.distributed_speed", str(corpus), str(out),
                               str(steps)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200,
                              env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{Path(tmp) / 'mlflow.db'}"})
        if done.returncode != 0:
            raise RuntimeError(f"torchrun with {processes} processes failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())["tokens_per_s"]


def main(corpus: str, out: str, steps: str) -> None:
    """One torchrun process: train the transformer for `steps` steps; rank 0 writes tokens/s."""
    from generators.transformer import TransformerGenerator
    from phrases import PhraseConfig, prepare
    from training import TrainConfig, distributed, set_threads, train

    set_threads()
    data = prepare(Path(corpus), PhraseConfig())
    world = distributed.from_env().world
    with distributed.session("cpu"), tempfile.TemporaryDirectory() as ckpt:
        generator = TransformerGenerator(data.tokenizer, device="cpu")
        config = TrainConfig(epochs=1, max_steps=int(steps), batch_size=GLOBAL_BATCH // world, checkpoint_dir=Path(ckpt),
                             data_hash=data.data_hash)
        state = train(generator, generator.training_sequences(data.train), data.val.subset(range(8)), config)
    if distributed.is_main():
        Path(out).write_text(json.dumps({"tokens_per_s": state.tokens_per_s, "processes": world}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
