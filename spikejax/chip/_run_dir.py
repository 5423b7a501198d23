"""Read a training run for deployment: its model (restored from a checkpoint) and its data.

A run directory is the one :func:`spikejax.train.fit` writes; :func:`spikejax.train.load_run`
restores its model (the best checkpoint by validation accuracy, or the latest) and its splits.
The test split (and a part of the training split, for calibration and fine-tuning) is encoded
into the model's time-major inputs as the run's evaluation encodes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flax import nnx

__all__ = ["from_run_dir", "readout_of"]


def readout_of(loss: str, options: dict[str, Any]) -> str:
    """The time reduction of the model outputs that a run's loss uses for its class scores."""
    if loss in ("ce_count", "mse_count"):
        return "count"
    if loss == "ce_membrane":
        return str(options.get("reduce", "mean"))
    return "mean"


def from_run_dir(
    run_dir: Path, which: str, train_samples: int
) -> tuple[nnx.Module, dict, str, dict]:
    """``(model, data, readout, info)`` of a run directory.

    ``model``: the run's model in evaluation mode with the ``which`` checkpoint's weights.
    ``data``: ``x_test``, ``y_test``, ``x_train``, ``y_train`` with time-major inputs
    ``[T, N, ...]`` (the whole test split; at most ``train_samples`` samples of the training
    split, which excludes the run's validation samples). ``info``: run facts for the report
    (step, checkpoint, config name).
    """
    from spikejax.train import load_run

    run = load_run(run_dir, which=which)
    x_te, y_te = run.inputs("test")
    x_tr, y_tr = run.inputs("train", limit=train_samples)
    data = {"x_test": x_te, "y_test": y_te, "x_train": x_tr, "y_train": y_tr}
    config = run.config
    readout = readout_of(config.train.loss, dict(config.train.loss_options))
    info = {
        "run_dir": str(run_dir),
        "checkpoint": which,
        "step": int(run.step),
        "config": config.name,
    }
    return run.model, data, readout, info
