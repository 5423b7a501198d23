"""Spike raster: which neuron fired at which step."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.viz._common import as_matrix, new_figure, save_figure

__all__ = ["plot_raster"]


def plot_raster(spikes: Any, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Draw a spike raster of ``spikes`` ``[time, neurons]`` and save it to ``path``.

    Every non-zero entry ``spikes[t, n]`` is one event, drawn as a tick at step ``t`` on neuron
    row ``n`` (graded spikes are drawn like binary ones).

    Args:
        spikes: ``[T, N]`` array of spikes (bool, integer or float; finite, non-negative).
        path: output file; its suffix picks the format (``.png``, ``.pdf``, ``.svg``, ...).
        title: figure title.

    Returns:
        ``path``, written atomically.

    Raises:
        ValueError: ``spikes`` is not a non-empty rank-2 array of finite non-negative values.
    """
    s = as_matrix("plot_raster", "spikes", spikes)
    if np.any(s < 0):
        bad = s[s < 0].ravel()[:3]
        raise ValueError(f"`plot_raster`: `spikes` must be non-negative; got {bad.tolist()}.")
    steps, neurons = s.shape
    t, n = np.nonzero(s)
    fig, axes = new_figure(figsize=(6.4, 1.5 + min(neurons, 200) * 0.02))
    ax = axes[0, 0]
    ax.scatter(t, n, marker="|", s=20, linewidths=0.8, color="black")
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(-0.5, neurons - 0.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("neuron")
    ax.set_title(title if title is not None else f"{t.size} spikes, {neurons} neurons")
    return save_figure("plot_raster", fig, path)
