"""The training engine every trainable model shares (generators and critics; it imports neither).

    TrainableModel          a model's network, loss and validation metrics -> fit / save / load
    TrainConfig, train      the loop: AdamW, warm-up + cosine, clipping, early stopping, best.pt by
                            the model's `best_metric_name`, last.pt for an exact --resume
    batches, pad_batch      length-bucketed batches of token sequences
    save_checkpoint, load_checkpoint, CheckpointError     atomic; torch.load(weights_only=True)
    resolve_device, set_threads, seeded                   one device per model; seeded weights
    config_from_options, parse_model_options, TRAIN_OPTIONS   --model-opt key=value; the train options
    (the MLflow store it logs to is the `store` package, one layer below: store.training_run, ...)

Names are imported on first use (PEP 562): the CLI reads TRAIN_OPTIONS without importing torch.
"""

from importlib import import_module

_EXPORTS = {
    "batches": "training.batching", "pad_batch": "training.batching", "CheckpointError": "training.checkpoint",
    "load_checkpoint": "training.checkpoint", "save_checkpoint": "training.checkpoint",
    "resolve_device": "training.device", "seeded": "training.device", "set_threads": "training.device",
    "TrainConfig": "training.options", "TrainState": "training.loop", "train": "training.loop",
    "FitResult": "training.model", "TrainableModel": "training.model", "new_checkpoint_dir": "training.model",
    "TRAIN_OPTIONS": "training.options", "config_from_options": "training.options",
    "parse_model_options": "training.options",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'training' has no attribute {name!r}")
