"""Clipping levels of an ANN's activations from calibration data (max or robust percentile)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from flax import nnx

from spikejax import graph as network

__all__ = ["clip_levels"]


def clip_levels(
    fn: str,
    ann: nnx.Module,
    x: Any,
    activations: Sequence[network.Node],
    method: str,
    percentile: float,
    batch_size: int,
) -> dict[str, float]:
    """``λ_l`` per activation node: the maximum of its outputs on ``x`` (``method="max"``) or the
    ``percentile``-th percentile of its positive outputs (``"percentile"``).

    The ANN runs in batches of ``batch_size`` in one compiled function; the outputs come to the
    host once per batch. A layer that is never positive has no level and raises ``ValueError``.
    """
    names = [n.name for n in activations]
    graphdef, state = nnx.split(ann)

    @jax.jit
    def outputs(state, batch):
        _, rec = network.record(nnx.merge(graphdef, state), batch, outputs=names)
        return rec.outputs

    collected: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, int(x.shape[0]), batch_size):
        got = jax.device_get(outputs(state, x[start : start + batch_size]))
        for name in names:
            values = np.asarray(got[name], np.float64).ravel()
            collected[name].append(values[values > 0] if method == "percentile" else values)
    clips = {}
    for name in names:
        values = np.concatenate(collected[name])
        if values.size == 0 or not np.any(values > 0):
            raise ValueError(
                f"`{fn}`: activation `{name}` is never positive on the calibration inputs, so it "
                "has no clipping level; calibrate on more (or other) samples."
            )
        if method == "max":
            clips[name] = float(values.max())
        else:
            clips[name] = float(np.percentile(values, percentile))
    return clips
