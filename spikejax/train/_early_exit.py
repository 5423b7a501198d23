"""Early decisions on a trained run: accuracy against the time steps each sample needed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax.readout import early_exit_curve
from spikejax.train._restore import RestoredRun

__all__ = ["early_exit"]


def _accumulate(fn: str, loss: str, options: dict[str, Any]) -> str:
    """How the run's loss reads per-step outputs: the readout early decisions accumulate."""
    if loss == "ce":
        raise ValueError(
            f"`{fn}`: early decisions need a model with per-step outputs [T, B, K]; this run "
            "trains with loss 'ce' on [B, K] logits (use per-step outputs, e.g. a time-major loss)."
        )
    if loss in ("ce_count", "mse_count"):
        return "sum"
    if loss == "ce_membrane":
        return {"max": "max", "last": "last"}.get(options.get("reduce", "mean"), "mean")
    return "mean"


def early_exit(
    run: RestoredRun,
    thresholds: Sequence[float],
    *,
    rule: str = "margin",
    split: str = "test",
    batch_size: int = 256,
) -> dict[str, Any]:
    """Run ``run``'s model over a split once, then apply `spikejax.readout.early_decision`
    for each threshold.

    Returns:
        ``{"split", "samples", "T", "rule", "accumulate", "curve"}`` where ``curve`` is
        `spikejax.readout.early_exit_curve`'s rows (per threshold: accuracy, mean and
        maximum steps; then accuracy at every fixed number of steps).
    """
    fn = "early_exit"
    train = run.config.train
    accumulate = _accumulate(fn, train.loss, dict(train.loss_options))
    inputs, labels = run.inputs(split)
    graphdef, state = nnx.split(run.model)
    forward = jax.jit(lambda s, x: nnx.merge(graphdef, s)(x))
    outputs = np.concatenate(
        [
            np.asarray(forward(state, jnp.asarray(inputs[:, i : i + batch_size])))
            for i in range(0, inputs.shape[1], batch_size)
        ],
        axis=1,
    )
    curve = early_exit_curve(
        jnp.asarray(outputs), labels, thresholds, rule=rule, accumulate=accumulate
    )
    return {
        "split": split,
        "samples": int(labels.size),
        "T": int(outputs.shape[0]),
        "rule": rule,
        "accumulate": accumulate,
        "curve": curve,
    }
