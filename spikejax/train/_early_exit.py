"""Early decisions on a trained run: accuracy against the time steps each sample needed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax.config import Config
from spikejax.readout import early_exit_curve
from spikejax.train._data import load_splits
from spikejax.train._restore import RestoredRun
from spikejax.train._splits import innermost

__all__ = ["early_exit", "frame_ends"]


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


def frame_ends(config: Config, split: str) -> np.ndarray | None:
    """For a run on event frames, when each frame of each sample of ``split`` ends, in µs of
    event time after the sample's slicing starts (`spikejax.data.ToFrames.frame_ends_us` of
    the sample's events, with the run's frame settings), ``[N, T]`` in the order of the split;
    ``None`` for inputs that are not event frames (no event time)."""
    from spikejax.data import ToFrames

    fn = "frame_ends"
    splits = load_splits(config, convert=False, validation=True)
    if splits.kind != "frames":
        return None
    data = getattr(splits, split)
    base = innermost(data)
    frames = base.transform
    if not isinstance(frames, ToFrames):
        raise TypeError(
            f"`{fn}`: the {split} split's frames must come from spikejax.data.ToFrames to know "
            f"their event time; got {type(frames).__name__}."
        )
    base.transform = frames.frame_ends_us  # a fresh dataset: the samples become frame ends
    try:
        return np.stack([np.asarray(data[i][0], np.float64) for i in range(len(data))])
    finally:
        base.transform = frames


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
        ``{"split", "samples", "T", "rule", "accumulate", "event_time", "curve"}`` where
        ``curve`` is `spikejax.readout.early_exit_curve`'s rows (per threshold: accuracy, mean
        and maximum steps; then accuracy at every fixed number of steps) and ``event_time`` says
        whether the inputs are event frames: then every row also holds the latency to decision
        in µs of event time (`frame_ends`); otherwise latency is in steps only.
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
    ends = frame_ends(run.config, split)
    if ends is not None and ends.shape != (outputs.shape[1], outputs.shape[0]):
        raise ValueError(
            f"`{fn}`: the event frames of the {split} split must match the model's outputs "
            f"[T, N] = {list(outputs.shape[:2])}; their ends have shape {list(ends.shape)}."
        )
    curve = early_exit_curve(
        jnp.asarray(outputs),
        labels,
        thresholds,
        rule=rule,
        accumulate=accumulate,
        step_ends_us=ends,
    )
    return {
        "split": split,
        "samples": int(labels.size),
        "T": int(outputs.shape[0]),
        "rule": rule,
        "accumulate": accumulate,
        "event_time": ends is not None,
        "curve": curve,
    }
