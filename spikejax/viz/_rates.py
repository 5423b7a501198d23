"""Per-layer firing rates as a bar chart."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from spikejax.viz._common import as_numeric, finish, new_figure

__all__ = ["plot_firing_rates"]


def plot_firing_rates(
    rates: Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "firing rate per layer",
):
    """Bar chart of the firing rate of each layer, in spikes per neuron per step.

    A value may be one number (the layer's mean rate) or an array of per-neuron rates of any
    shape; for an array the bar is its mean and the error bar spans its standard deviation.

    Args:
        rates: layer name → rate (a number or an array), in drawing order.
        path: if given, the figure is also written there (its suffix picks the format),
            atomically.
        title: figure title (e.g. which model and split the rates were measured on).

    Returns:
        The Matplotlib ``Figure``.

    Raises:
        ValueError: ``rates`` is empty, or a layer's rates are empty, negative or not finite.
        TypeError: ``rates`` is not a mapping from str, or a value is not numeric.
    """
    if not isinstance(rates, Mapping) or not rates:
        raise ValueError(
            f"`plot_firing_rates`: `rates` must be a non-empty mapping name -> rate; got {rates!r}."
        )
    names, means, spreads = [], [], []
    for name, value in rates.items():
        if not isinstance(name, str):
            raise TypeError(f"`plot_firing_rates`: layer names must be str; got {name!r}.")
        r = as_numeric("plot_firing_rates", f"rates[{name!r}]", value).astype(np.float64)
        if r.size == 0:
            raise ValueError(
                f"`plot_firing_rates`: `rates[{name!r}]` must be non-empty; got shape {r.shape}."
            )
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            bad = r[~(np.isfinite(r) & (r >= 0))].ravel()[:3]
            raise ValueError(
                f"`plot_firing_rates`: `rates[{name!r}]` must be finite and >= 0; "
                f"got {bad.tolist()}."
            )
        names.append(name)
        means.append(float(r.mean()))
        spreads.append(float(r.std()) if r.size > 1 else 0.0)
    fig, axes = new_figure(figsize=(max(4.0, 0.6 * len(names) + 2.0), 3.5))
    ax = axes[0, 0]
    x = np.arange(len(names))
    ax.bar(x, means, yerr=spreads, capsize=3, color="tab:blue")
    ax.set_xticks(
        x, names, rotation=45 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center"
    )
    ax.set_ylabel("spikes per neuron per step")
    ax.set_title(title, fontsize="medium")
    return finish("plot_firing_rates", fig, path)
