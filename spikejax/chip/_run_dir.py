"""Read a training run for deployment: its model (restored from a checkpoint) and its data.

A run directory is the one `spikejax.train.fit` writes; `spikejax.train.load_run`
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


def untrained_model(run_dir: Path) -> nnx.Module | None:
    """The run's model built from its ``config.json`` with fresh weights, without touching the
    data (for checks of the network's structure before any data is prepared); ``None`` when the
    configuration names a model factory (it is imported only by ``load_run``)."""
    import json

    from spikejax.config import from_dict
    from spikejax.train import build_model

    path = run_dir / "config.json"
    if not path.is_file():
        return None  # load_run raises the named error
    config = from_dict(json.loads(path.read_text()))
    if ":" in config.model.name:
        return None
    return build_model(config.model, rngs=nnx.Rngs(config.seed))


def from_run_dir(
    run_dir: Path, which: str, train_samples: int, *, progress: bool = False
) -> tuple[nnx.Module, dict, str, dict]:
    """``(model, data, readout, info)`` of a run directory.

    ``model``: the run's model in evaluation mode with the ``which`` checkpoint's weights.
    ``data``: ``x_test``, ``y_test``, ``x_train``, ``y_train`` with time-major inputs
    ``[T, N, ...]`` (the whole test split; at most ``train_samples`` samples of the training
    split, which excludes the run's validation samples). ``info``: run facts for the report
    (step, checkpoint, config name).
    """
    from spikejax.train import load_run

    run = load_run(run_dir, which=which, progress=progress)
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
