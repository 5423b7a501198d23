"""Membrane-potential traces of a few neurons over time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from spikejax.viz._common import as_matrix, as_numeric, finish, new_figure

__all__ = ["plot_membrane"]

_DEFAULT_NEURONS = 10  # a readout of up to 10 classes is drawn whole


def plot_membrane(
    v: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    threshold: Any = None,
    neurons: Sequence[int] | None = None,
    title: str | None = None,
    highlight: int | None = None,
    names: Sequence[str] | None = None,
):
    """Plot membrane potentials ``v`` ``[time, neurons]`` against the step.

    Args:
        v: ``[T, N]`` membrane potentials (finite).
        path: if given, the figure is also written there (its suffix picks the format),
            atomically.
        threshold: firing threshold, drawn dashed: a scalar or one value per neuron ``[N]``.
        neurons: indices of the neurons to draw; default the first ``min(N, 10)``.
        title: figure title (e.g. which layer, sample and label the traces belong to).
        highlight: one neuron drawn thick and named in the legend as such (e.g. the readout
            neuron of the sample's label); it must be among the drawn neurons.
        names: a legend name for each of the ``N`` neurons (e.g. class names); default
            ``"neuron i"``.

    Returns:
        The Matplotlib ``Figure``.

    Raises:
        ValueError: ``v`` is not a non-empty rank-2 finite array, ``threshold`` is neither a
            scalar nor of shape ``[N]``, ``neurons`` holds indices outside ``[0, N)``,
            ``highlight`` is not drawn, or ``names`` does not hold ``N`` names.

    Example:
        >>> import numpy as np
        >>> from spikejax.viz import plot_membrane
        >>> v = np.cumsum(np.full((8, 3), 0.2), axis=0)
        >>> fig = plot_membrane(v, threshold=1.0, highlight=2, title="readout, sample 0 (label 2)")
        >>> [line.get_label() for line in fig.axes[0].get_lines()][::2]
        ['neuron 0', 'neuron 1', 'neuron 2 (highlighted)']
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
    if highlight is not None and highlight not in chosen.tolist():
        raise ValueError(
            f"`plot_membrane`: `highlight` must be one of the drawn neurons {chosen.tolist()}; "
            f"got {highlight!r}."
        )
    if names is not None and (isinstance(names, str) or len(names) != count):
        raise ValueError(
            f"`plot_membrane`: `names` must hold one name per neuron ({count}); got {names!r}."
        )
    fig, axes = new_figure()
    ax = axes[0, 0]
    time = np.arange(steps)
    for index in chosen.tolist():
        label = f"neuron {index}" if names is None else str(names[index])
        if index == highlight:
            label += " (highlighted)"
        (line,) = ax.plot(
            time, v[:, index].astype(np.float64), lw=2.5 if index == highlight else 1.0, label=label
        )
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
    return finish("plot_membrane", fig, path)
