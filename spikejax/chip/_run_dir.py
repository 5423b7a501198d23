"""Read a training run for deployment: its model (restored from a checkpoint) and its data.

A run directory is the one :func:`spikejax.train.fit` writes: ``config.json`` and
``checkpoints/`` (:class:`spikejax.train.Checkpointer`, the best checkpoint by test
``accuracy``). The test split (and a part of
the training split, for calibration and fine-tuning) is encoded into the model's time-major
inputs with the run's own ``prepare`` function.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

__all__ = ["load_run", "readout_of"]


def readout_of(loss: str, options: dict[str, Any]) -> str:
    """The time reduction of the model outputs that a run's loss uses for its class scores."""
    if loss in ("ce_count", "mse_count"):
        return "count"
    if loss == "ce_membrane":
        return str(options.get("reduce", "mean"))
    return "mean"


def _lookup(tree: Any, key: Any) -> Any:
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        if str(key) in tree:
            return tree[str(key)]
    raise KeyError(key)


def _restore_model(model: nnx.Module, tree: dict[str, Any], where: str) -> None:
    state = nnx.state(model)
    template = nnx.to_pure_dict(state)

    def fill(t, saved, path):
        if isinstance(t, dict):
            out = {}
            for k, v in t.items():
                try:
                    sub = _lookup(saved, k)
                except KeyError:
                    raise ValueError(
                        f"`deploy`: the checkpoint {where} must hold the model leaf "
                        f"`{'.'.join(map(str, (*path, k)))}`; it is missing."
                    ) from None
                out[k] = fill(v, sub, (*path, k))
            return out
        if jnp.issubdtype(jnp.result_type(t), jnp.floating):
            return jnp.asarray(np.asarray(saved), t.dtype)
        return t

    nnx.replace_by_pure_dict(state, fill(template, tree, ()))
    nnx.update(model, state)


def _encode(prepare, x: np.ndarray, batch: int, seed: int) -> np.ndarray:
    parts = []
    key = jr.key(seed)
    for start in range(0, len(x), batch):
        key, sub = jr.split(key)
        parts.append(np.asarray(prepare(jnp.asarray(x[start : start + batch]), sub)))
    return np.concatenate(parts, axis=1)


def load_run(run_dir: Path, which: str, train_samples: int) -> tuple[nnx.Module, dict, str, dict]:
    """``(model, data, readout, info)`` of a run directory.

    ``data``: ``x_test``, ``y_test``, ``x_train``, ``y_train`` with time-major inputs
    ``[T, N, ...]`` (at most ``train_samples`` training samples). ``info``: run facts for the
    report (step, checkpoint, config name).
    """
    from spikejax.config import from_dict
    from spikejax.train import Checkpointer, build_model
    from spikejax.train._data import load_splits, make_prepare

    saved = run_dir / "config.json"
    if not saved.is_file():
        raise FileNotFoundError(
            f"`deploy`: `run_dir_or_model` must be a run directory written by `spikejax train` "
            f"or a model; {saved} not found."
        )
    config = from_dict(json.loads(saved.read_text(encoding="utf-8")))
    model = build_model(config.model, rngs=nnx.Rngs(config.seed))
    checkpoints = Checkpointer(run_dir / "checkpoints", best_metric="accuracy", best_mode="max")
    step, tree, _ = checkpoints.restore(which)
    if not isinstance(tree, dict) or "model" not in tree:
        raise ValueError(
            f"`deploy`: the {which!r} checkpoint of {run_dir} must hold the model state under "
            f"'model'; got keys {sorted(tree) if isinstance(tree, dict) else type(tree)}."
        )
    _restore_model(model, tree["model"], f"{which!r} of {run_dir}")
    splits = load_splits(config)
    if not isinstance(splits.test, tuple):
        raise ValueError(
            f"`deploy`: the run's data {config.data.name!r} must be held in memory "
            "(data.in_memory=True) to deploy it."
        )
    prepare = jax.jit(make_prepare(config, splits))
    x_tr, y_tr = splits.train
    x_te, y_te = splits.test
    n = min(train_samples, len(y_tr))
    data = {
        "x_test": _encode(prepare, np.asarray(x_te), 256, config.seed + 1),
        "y_test": np.asarray(y_te),
        "x_train": _encode(prepare, np.asarray(x_tr[:n]), 256, config.seed + 2),
        "y_train": np.asarray(y_tr[:n]),
    }
    readout = readout_of(config.train.loss, dict(config.train.loss_options))
    info = {"run_dir": str(run_dir), "checkpoint": which, "step": int(step), "config": config.name}
    return model, data, readout, info
