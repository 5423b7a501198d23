"""Spike raster: which neuron fired at which step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.viz._common import as_matrix, new_figure, save_figure

__all__ = ["plot_raster"]


def plot_raster(
    spikes: Any,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    max_neurons: int = 128,
) -> Path:
    """Draw a spike raster of ``spikes`` ``[time, neurons]`` and save it to ``path``.

    Every non-zero entry ``spikes[t, n]`` is one event, drawn as a tick at step ``t`` on neuron
    row ``n`` (graded spikes are drawn like binary ones). A layer with more than ``max_neurons``
    neurons is drawn through ``max_neurons`` evenly spaced rows (every ``⌈N/max_neurons⌉``-th
    neuron, said in the title), so that ticks stay distinct instead of merging into a block.

    Args:
        spikes: ``[T, N]`` array of spikes (bool, integer or float; finite, non-negative).
        path: output file; its suffix picks the format (``.png``, ``.pdf``, ``.svg``, ...).
        title: figure title.
        max_neurons: most rows drawn (``>= 1``).

    Returns:
        ``path``, written atomically.

    Raises:
        ValueError: ``spikes`` is not a non-empty rank-2 array of finite non-negative values.
    """
    s = as_matrix("plot_raster", "spikes", spikes)
    if np.any(s < 0):
        bad = s[s < 0].ravel()[:3]
        raise ValueError(f"`plot_raster`: `spikes` must be non-negative; got {bad.tolist()}.")
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, int) or max_neurons < 1:
        raise ValueError(f"`plot_raster`: `max_neurons` must be an int >= 1; got {max_neurons!r}.")
    steps, neurons = s.shape
    every = -(-neurons // max_neurons)  # ceil
    shown = s[:, ::every]
    t, n = np.nonzero(shown)
    fig, axes = new_figure(figsize=(6.4, 1.5 + shown.shape[1] * 0.02))
    ax = axes[0, 0]
    ax.scatter(t, n * every, marker="|", s=20, linewidths=0.8, color="black")
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(-0.5, neurons - 0.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron")
    summary = f"{int(np.count_nonzero(s))} spikes, {neurons} neurons"
    if every > 1:
        summary += f" (every {every}th drawn: {shown.shape[1]} rows)"
    ax.set_title(summary if title is None else f"{title}\n{summary}", fontsize="medium")
    return save_figure("plot_raster", fig, path)
