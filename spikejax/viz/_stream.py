"""The readout of a streamed event sample over event time, with the decision point marked."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from spikejax.viz._common import as_matrix, finish, new_figure

__all__ = ["plot_stream_decision"]

_FN = "plot_stream_decision"


def plot_stream_decision(
    result: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    label: int | None = None,
    class_names: Sequence[str] | None = None,
):
    """Plot each class's probability (softmax of the accumulated readout) after every bin of a
    streamed sample against event time, with the decision point marked.

    The decision's class is drawn thick; a vertical line marks the end of the decision bin (the
    latency in event time) and a star the decided class's probability there. A grey step line
    on a second axis gives the events per bin.

    Args:
        result: a `spikejax.readout.StreamResult`.
        path: if given, the figure is also written there (its suffix picks the format).
        label: the sample's true class, named in the title, or ``None``.
        class_names: names of the classes (default ``0 … K-1``).

    Returns:
        The Matplotlib ``Figure``.

    Example:
        >>> import numpy as np
        >>> from spikejax.readout import StreamResult
        >>> from spikejax.viz import plot_stream_decision
        >>> p = np.array([[0.5, 0.5], [0.8, 0.2], [0.9, 0.1]])
        >>> result = StreamResult(p, p, np.array([1000, 2000, 3000]), np.array([4, 9, 2]),
        ...                       np.zeros(3), 0, 2, 2000.0)
        >>> fig = plot_stream_decision(result, label=0)
        >>> fig.axes[0].get_title()
        'decided 0 after 2 ms (bin 2 of 3); true class 0'
    """
    for name in ("probabilities", "bin_end_us", "events_per_bin", "decision_bin", "prediction"):
        if not hasattr(result, name):
            raise TypeError(
                f"`{_FN}`: `result` must be a spikejax.readout.StreamResult; "
                f"{type(result).__name__} has no `{name}`."
            )
    probabilities = as_matrix(_FN, "result.probabilities", result.probabilities, axes="[bins, K]")
    n_bins, classes = probabilities.shape
    time_ms = np.asarray(result.bin_end_us, np.float64) / 1e3
    if time_ms.shape != (n_bins,):
        raise ValueError(
            f"`{_FN}`: `result.bin_end_us` must have one entry per bin ({n_bins}); got shape "
            f"{time_ms.shape}."
        )
    decision = int(result.decision_bin)
    if not 1 <= decision <= n_bins:
        raise ValueError(f"`{_FN}`: `result.decision_bin` must be in 1 … {n_bins}; got {decision}.")
    names = list(class_names) if class_names is not None else [str(k) for k in range(classes)]
    if len(names) != classes:
        raise ValueError(
            f"`{_FN}`: `class_names` must name the {classes} classes; got {len(names)} names."
        )
    fig, axes = new_figure(figsize=(7.0, 4.0))
    ax = axes[0, 0]
    for k in range(classes):
        chosen = k == result.prediction
        ax.plot(
            time_ms,
            probabilities[:, k],
            lw=2.5 if chosen else 0.8,
            alpha=1.0 if chosen else 0.6,
            label=names[k] if chosen else None,
        )
    t_decide = time_ms[decision - 1]
    ax.axvline(t_decide, color="k", ls=":", lw=1, label=f"decision at {t_decide:g} ms")
    ax.plot([t_decide], [probabilities[decision - 1, result.prediction]], "k*", ms=12)
    ax.set_xlabel("event time (ms)")
    ax.set_ylabel("probability (accumulated readout)")
    ax.set_ylim(0, 1)
    title = f"decided {names[result.prediction]} after {t_decide:g} ms (bin {decision} of {n_bins})"
    if label is not None:
        title += f"; true class {names[int(label)]}"
    ax.set_title(title)
    twin = ax.twinx()
    twin.step(time_ms, np.asarray(result.events_per_bin), where="pre", color="0.6", lw=0.8)
    twin.set_ylabel("events per bin", color="0.4")
    ax.set_zorder(twin.get_zorder() + 1)  # the probabilities above the event counts
    ax.patch.set_visible(False)
    ax.legend(loc="center right", fontsize="small")
    return finish(_FN, fig, path)
