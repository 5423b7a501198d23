"""Membrane-potential traces of a few neurons over time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.viz._common import as_matrix, as_numeric, new_figure, save_figure

__all__ = ["plot_membrane"]

_DEFAULT_NEURONS = 10  # a readout of up to 10 classes is drawn whole


def plot_membrane(
    v: Any,
    path: str | os.PathLike[str],
    *,
    threshold: Any = None,
    neurons: Sequence[int] | None = None,
    title: str | None = None,
) -> Path:
    """Plot membrane potentials ``v`` ``[time, neurons]`` against the step and save to ``path``.

    Args:
        v: ``[T, N]`` membrane potentials (finite).
        path: output file; its suffix picks the format.
        threshold: firing threshold, drawn dashed: a scalar or one value per neuron ``[N]``.
        neurons: indices of the neurons to draw; default the first ``min(N, 10)``.
        title: figure title (e.g. which layer, sample and label the traces belong to).

    Returns:
        ``path``, written atomically.

    Raises:
        ValueError: ``v`` is not a non-empty rank-2 finite array, ``threshold`` is neither a
            scalar nor of shape ``[N]``, or ``neurons`` holds indices outside ``[0, N)``.
    """
    v = as_matrix("plot_membrane", "v", v)
    steps, count = v.shape
    if neurons is None:
        chosen = np.arange(min(count, _DEFAULT_NEURONS))
    else:
        chosen = as_numeric("plot_membrane", "neurons", neurons)
        if chosen.ndim != 1 or chosen.size == 0 or chosen.dtype.kind not in "iu":
            raise ValueError(
                f"`plot_membrane`: `neurons` must be a non-empty 1-D sequence of ints; "
                f"got {neurons!r}."
            )
        if np.any((chosen < 0) | (chosen >= count)):
            raise ValueError(
                f"`plot_membrane`: `neurons` must lie in [0, {count}); got {chosen.tolist()}."
            )
    thresholds = None
    if threshold is not None:
        th = as_numeric("plot_membrane", "threshold", threshold).astype(np.float64)
        if th.shape not in ((), (count,)):
            raise ValueError(
                f"`plot_membrane`: `threshold` must be a scalar or have shape ({count},); "
                f"got shape {th.shape}."
            )
        if not np.all(np.isfinite(th)):
            raise ValueError(f"`plot_membrane`: `threshold` must be finite; got {th.tolist()}.")
        thresholds = np.broadcast_to(th, (count,))
    fig, axes = new_figure()
    ax = axes[0, 0]
    time = np.arange(steps)
    for index in chosen.tolist():
        (line,) = ax.plot(time, v[:, index].astype(np.float64), lw=1.0, label=f"neuron {index}")
        if thresholds is not None:
            ax.axhline(thresholds[index], color=line.get_color(), ls="--", lw=0.8)
    ax.set_xlabel("time step")
    ax.set_ylabel("membrane potential")
    parts = [title] if title else []
    if thresholds is not None:
        parts.append("dashed: threshold")
    if parts:
        ax.set_title("; ".join(parts), fontsize="medium")
    ax.legend(loc="best", fontsize="small", ncols=2)
    return save_figure("plot_membrane", fig, path)
