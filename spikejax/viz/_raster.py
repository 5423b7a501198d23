"""Spike raster: which neuron fired at which step, as ticks or, for large layers, as a density."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spikejax._errors import check_choice
from spikejax.viz._common import as_matrix, as_numeric, finish, new_figure

__all__ = ["plot_raster"]

_MODES = ("auto", "ticks", "density")
_SORTS = ("index", "rate")
_FN = "plot_raster"


def _layers(spikes: Any) -> list[tuple[str | None, np.ndarray]]:
    """``[(name, [T, N])]``: one unnamed layer, or each layer of a mapping with its trailing
    axes flattened; every layer must have the same number of steps."""
    if not isinstance(spikes, Mapping):
        return [(None, as_matrix(_FN, "spikes", spikes))]
    if not spikes:
        raise ValueError(
            f"`{_FN}`: `spikes` must be a non-empty mapping layer -> [T, ...]; got {{}}."
        )
    out = []
    for name, value in spikes.items():
        if not isinstance(name, str):
            raise TypeError(f"`{_FN}`: layer names of `spikes` must be str; got {name!r}.")
        a = as_numeric(_FN, f"spikes[{name!r}]", value)
        if a.ndim < 2:
            raise ValueError(
                f"`{_FN}`: `spikes[{name!r}]` must have rank >= 2 [time, *neurons]; got shape "
                f"{a.shape}."
            )
        out.append((name, as_matrix(_FN, f"spikes[{name!r}]", a.reshape(a.shape[0], -1))))
    steps = {a.shape[0] for _, a in out}
    if len(steps) > 1:
        shapes = {name: a.shape[0] for name, a in out}
        raise ValueError(
            f"`{_FN}`: every layer of `spikes` must have the same steps; got {shapes}."
        )
    return out


def _select(s: np.ndarray, neurons: Any) -> np.ndarray:
    """The indices of the neurons drawn from ``s`` ``[T, N]`` (all of them by default)."""
    count = s.shape[1]
    if neurons is None:
        return np.arange(count)
    chosen = as_numeric(_FN, "neurons", neurons)
    if chosen.ndim != 1 or chosen.size == 0 or chosen.dtype.kind not in "iu":
        raise ValueError(
            f"`{_FN}`: `neurons` must be a non-empty 1-D sequence of ints; got {neurons!r}."
        )
    if np.any((chosen < 0) | (chosen >= count)):
        raise ValueError(f"`{_FN}`: `neurons` must lie in [0, {count}); got {chosen.tolist()}.")
    return chosen.astype(np.int64)


def plot_raster(
    spikes: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    mode: str = "auto",
    max_neurons: int = 128,
    neurons: Sequence[int] | None = None,
    sort: str = "index",
):
    """Draw the spikes of one layer ``[time, neurons]``, or of several layers stacked.

    ``spikes`` is one ``[T, N]`` array, or a mapping layer name → ``[T, ...]`` (trailing axes
    flattened, e.g. the ``[T, H, W, C]`` of a convolution for one sample); the layers are stacked
    top to bottom in the mapping's order, separated by lines and labelled on the right (one
    layer is named in the axis label).

    Two ways of drawing, chosen by ``mode``:

    * ``"ticks"``: every non-zero ``spikes[t, n]`` is one tick at step ``t`` on row ``n``
      (graded spikes are drawn like binary ones);
    * ``"density"``: the ``N`` drawn neurons are grouped into rows of ``g = ⌈N / max_neurons⌉``
      consecutive neurons of one layer, and the colour of row ``r`` at step ``t`` is the fraction
      of the row's neurons that fired, ``(1/|r|) Σ_{n∈r} [spikes[t, n] ≠ 0]`` (a layer's last row
      may hold fewer neurons and is averaged over those; a small layer keeps its own rows);
      thousands of neurons stay readable instead of merging into a black block;
    * ``"auto"`` (default): ticks when at most ``max_neurons`` neurons are drawn, density
      otherwise.

    Args:
        spikes: ``[T, N]`` spikes, or a mapping layer → ``[T, ...]`` (bool, integer or float;
            finite, non-negative).
        path: if given, the figure is also written there; its suffix picks the format
            (``.png``, ``.pdf``, ``.svg``, ...), atomically.
        title: figure title (above the summary line of spike and neuron counts).
        mode: ``"auto"``, ``"ticks"`` or ``"density"``.
        max_neurons: most rows drawn as ticks in ``"auto"`` mode, and most rows of a density
            (``>= 1``).
        neurons: indices of the neurons to draw (a subset of an ``[T, N]`` array only), in the
            order given unless ``sort`` reorders them.
        sort: ``"index"`` (neuron order) or ``"rate"`` (most spikes first, within each layer).

    Returns:
        The Matplotlib ``Figure``.

    Raises:
        ValueError: ``spikes`` is not a non-empty rank-2 array (or mapping of such layers with
            equal steps) of finite non-negative values; ``neurons`` out of range or given with a
            mapping; an unknown ``mode`` or ``sort``; ``max_neurons < 1``.

    Example:
        >>> import numpy as np
        >>> from spikejax.viz import plot_raster
        >>> s = np.random.default_rng(0).random((50, 3000)) < 0.05
        >>> fig = plot_raster({"hidden": s[:, :2000], "out": s[:, 2000:]}, sort="rate")
        >>> fig.axes[0].get_title().splitlines()[-1]
        '7467 spikes, 3000 neurons in 2 layers; density: 126 rows of ≤ 24 neurons'
    """
    check_choice(_FN, "mode", mode, _MODES)
    check_choice(_FN, "sort", sort, _SORTS)
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, int) or max_neurons < 1:
        raise ValueError(f"`{_FN}`: `max_neurons` must be an int >= 1; got {max_neurons!r}.")
    layers = _layers(spikes)
    if neurons is not None and isinstance(spikes, Mapping):
        raise ValueError(f"`{_FN}`: `neurons` selects from one [T, N] array; got a mapping.")
    for name, a in layers:
        if np.any(a < 0):
            what = "spikes" if name is None else f"spikes[{name!r}]"
            raise ValueError(
                f"`{_FN}`: `{what}` must be non-negative; got {a[a < 0][:3].tolist()}."
            )
    drawn = []  # (name, [T, n] bool of the drawn neurons, their original indices)
    for name, a in layers:
        index = _select(a, neurons)
        fired = a[:, index] != 0
        if sort == "rate":
            order = np.argsort(-fired.sum(axis=0), kind="stable")
            fired, index = fired[:, order], index[order]
        drawn.append((name, fired, index))
    steps = layers[0][1].shape[0]
    total = sum(f.shape[1] for _, f, _ in drawn)
    density = mode == "density" or (mode == "auto" and total > max_neurons)
    group = -(-total // max_neurons) if density else 1  # ceil
    blocks = []  # per layer [T, rows]: the fraction of each row's neurons that fired
    for _, fired, _ in drawn:
        rows = -(-fired.shape[1] // group)
        pad = rows * group - fired.shape[1]
        counts = np.pad(fired, ((0, 0), (0, pad))).reshape(steps, rows, group).sum(axis=2)
        sizes = np.full(rows, group)
        sizes[-1] = group - pad
        blocks.append(counts / sizes)
    values = np.concatenate(blocks, axis=1)
    rows = values.shape[1]
    fig, axes = new_figure(figsize=(6.4, 1.6 + min(rows, 128) * 0.025))
    ax = axes[0, 0]
    if density:
        image = ax.imshow(
            values.T,
            aspect="auto",
            origin="upper",
            cmap="Greys",
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
            extent=(-0.5, steps - 0.5, rows - 0.5, -0.5),
        )
        fig.colorbar(image, ax=ax, label="fraction of the row's neurons firing", pad=0.01)
    else:
        t, n = np.nonzero(values)
        ax.scatter(t, n, marker="|", s=20, linewidths=0.8, color="black")
        ax.set_xlim(-0.5, steps - 0.5)
        ax.set_ylim(rows - 0.5, -0.5)
    start = 0
    for i, ((name, _, _), block) in enumerate(zip(drawn, blocks, strict=True)):
        if i > 0:
            ax.axhline(start - 0.5, color="tab:red", lw=0.8)
        if name is not None and len(drawn) > 1:
            ax.annotate(
                name,
                xy=(1.0, start + block.shape[1] / 2 - 0.5),
                xycoords=("axes fraction", "data"),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
                color="tab:red",
            )
        start += block.shape[1]
    if len(drawn) == 1 and not density and (neurons is not None or sort == "rate") and rows <= 20:
        ax.set_yticks(range(rows), [str(i) for i in drawn[0][2].tolist()], fontsize="small")
    ax.set_xlabel("time step")
    ylabel = f"row of {group} neurons" if density else "neuron"
    if len(drawn) == 1 and drawn[0][0] is not None:
        ylabel = f"{drawn[0][0]}: {ylabel}"
    ax.set_ylabel(ylabel + (" (most active first)" if sort == "rate" else ""))
    spikes_drawn = sum(int(np.count_nonzero(f)) for _, f, _ in drawn)
    summary = f"{spikes_drawn} spikes, {total} neurons"
    if len(drawn) > 1:
        summary += f" in {len(drawn)} layers"
    elif neurons is not None:
        summary += f" of {layers[0][1].shape[1]}"
    if density:
        summary += f"; density: {rows} rows of ≤ {group} neurons"
    ax.set_title(summary if title is None else f"{title}\n{summary}", fontsize="medium")
    return finish(_FN, fig, path)
