"""Training curves: loss and accuracy against the step, one line per split."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from spikejax.viz._common import finish, new_figure

__all__ = ["plot_training_curves"]

_FN = "plot_training_curves"


def _is_accuracy(key: str) -> bool:
    return "accuracy" in key


def plot_training_curves(
    metrics: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str] | None = None,
    *,
    keys: Sequence[str] = ("loss", "accuracy"),
    best_step: int | None = None,
    best_label: str | None = None,
):
    """Plot each metric in ``keys`` against the step, one line per split (train, val, test, ...).

    ``metrics`` are records as written by ``MetricsLogger`` and returned by ``read_metrics``:
    mappings with ``"step"``, ``"split"`` and metric values. A key gets a panel if any record
    holds it; records without it are not part of that panel's lines. Non-finite values leave a
    gap in the line. Accuracies (keys containing ``"accuracy"``, stored as fractions) are drawn
    in percent, ``100 × value``.

    Args:
        metrics: the records, in any order (each line is sorted by step).
        path: if given, the figure is also written there (its suffix picks the format),
            atomically.
        keys: metric names to plot, one panel each.
        best_step: the step of the best checkpoint, marked by a vertical dotted line in every
            panel (and each split's accuracy there by a star, its value in the legend), or
            ``None``.
        best_label: legend text of the mark (default ``"best checkpoint (step N)"``).

    Returns:
        The Matplotlib ``Figure``.

    Raises:
        ValueError: a record lacks ``"step"``/``"split"`` or has a non-numeric value for a key,
            no record holds any of ``keys``, or ``best_step`` is not an int.

    Example:
        >>> from spikejax.viz import plot_training_curves
        >>> records = [{"step": s, "split": "val", "accuracy": a} for s, a in [(1, 0.5), (2, 0.9)]]
        >>> fig = plot_training_curves(records, keys=("accuracy",), best_step=2)
        >>> ax = fig.axes[0]
        >>> ax.get_ylabel(), [float(y) for y in ax.get_lines()[0].get_ydata()]
        ('accuracy (%)', [50.0, 90.0])
    """
    if isinstance(keys, str) or not keys:
        raise ValueError(f"`{_FN}`: `keys` must be a non-empty sequence of str; got {keys!r}.")
    if best_step is not None and (isinstance(best_step, bool) or not isinstance(best_step, int)):
        raise ValueError(f"`{_FN}`: `best_step` must be an int or None; got {best_step!r}.")
    series: dict[str, dict[str, list[tuple[int, float]]]] = {k: {} for k in keys}
    for i, record in enumerate(metrics):
        if not isinstance(record, Mapping) or "step" not in record or "split" not in record:
            raise ValueError(
                f"`{_FN}`: `metrics[{i}]` must be a mapping with 'step' and 'split'; "
                f"got {record!r}."
            )
        for key in keys:
            if key not in record:
                continue
            try:
                value = float(record[key])
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"`{_FN}`: `metrics[{i}][{key!r}]` must be a number; got {record[key]!r}."
                ) from e
            lines = series[key].setdefault(str(record["split"]), [])
            lines.append((int(record["step"]), value))
    present = [k for k in keys if series[k]]
    if not present:
        raise ValueError(
            f"`{_FN}`: `metrics` must hold at least one of {tuple(keys)}; "
            f"got {len(metrics)} records without them."
        )
    fig, axes = new_figure(1, len(present), figsize=(4.5 * len(present), 3.5))
    from matplotlib.ticker import MaxNLocator  # matplotlib is there: new_figure imported it

    for ax, key in zip(axes[0], present, strict=True):
        scale = 100.0 if _is_accuracy(key) else 1.0
        for split, points in sorted(series[key].items()):
            points.sort(key=lambda p: p[0])
            steps = [p[0] for p in points]
            values = [scale * p[1] if math.isfinite(p[1]) else math.nan for p in points]
            (line,) = ax.plot(steps, values, marker="o" if len(points) < 30 else None, ms=3)
            line.set_label(split)
            at = [v for s, v in zip(steps, values, strict=True) if s == best_step]
            if at and scale != 1.0 and math.isfinite(at[-1]):
                ax.plot(
                    [best_step],
                    [at[-1]],
                    "*",
                    ms=11,
                    color=line.get_color(),
                    zorder=3,
                    label=f"{split} at best: {at[-1]:.1f} %",
                )
        if best_step is not None:
            ax.axvline(
                best_step,
                color="grey",
                ls=":",
                lw=1.2,
                label=best_label or f"best checkpoint (step {best_step})",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        ax.set_xlabel("step")
        ax.set_ylabel(f"{key} (%)" if scale != 1.0 else key)
        ax.set_title(key)
        ax.legend(loc="best", fontsize="small")
    return finish(_FN, fig, path)
