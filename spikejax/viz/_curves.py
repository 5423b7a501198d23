"""Training curves: loss and accuracy against the step, one line per split."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spikejax.viz._common import new_figure, save_figure

__all__ = ["plot_training_curves"]


def plot_training_curves(
    metrics: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    keys: Sequence[str] = ("loss", "accuracy"),
) -> Path:
    """Plot each metric in ``keys`` against the step, one line per split (train, eval, ...).

    ``metrics`` are records as written by ``MetricsLogger`` and returned by ``read_metrics``:
    mappings with ``"step"``, ``"split"`` and metric values. A key gets a panel if any record
    holds it; records without it are not part of that panel's lines. Non-finite values leave a
    gap in the line.

    Args:
        metrics: the records, in any order (each line is sorted by step).
        path: output file; its suffix picks the format.
        keys: metric names to plot, one panel each.

    Returns:
        ``path``, written atomically.

    Raises:
        ValueError: a record lacks ``"step"``/``"split"`` or has a non-numeric value for a key,
            or no record holds any of ``keys``.
    """
    if isinstance(keys, str) or not keys:
        raise ValueError(
            f"`plot_training_curves`: `keys` must be a non-empty sequence of str; got {keys!r}."
        )
    series: dict[str, dict[str, list[tuple[int, float]]]] = {k: {} for k in keys}
    for i, record in enumerate(metrics):
        if not isinstance(record, Mapping) or "step" not in record or "split" not in record:
            raise ValueError(
                f"`plot_training_curves`: `metrics[{i}]` must be a mapping with 'step' and "
                f"'split'; got {record!r}."
            )
        for key in keys:
            if key not in record:
                continue
            try:
                value = float(record[key])
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"`plot_training_curves`: `metrics[{i}][{key!r}]` must be a number; "
                    f"got {record[key]!r}."
                ) from e
            lines = series[key].setdefault(str(record["split"]), [])
            lines.append((int(record["step"]), value))
    present = [k for k in keys if series[k]]
    if not present:
        raise ValueError(
            f"`plot_training_curves`: `metrics` must hold at least one of {tuple(keys)}; "
            f"got {len(metrics)} records without them."
        )
    fig, axes = new_figure(1, len(present), figsize=(4.5 * len(present), 3.5))
    for ax, key in zip(axes[0], present, strict=True):
        for split, points in sorted(series[key].items()):
            points.sort(key=lambda p: p[0])
            steps = [p[0] for p in points]
            values = [p[1] if math.isfinite(p[1]) else math.nan for p in points]
            ax.plot(steps, values, marker="o" if len(points) < 30 else None, ms=3, label=split)
        ax.set_xlabel("step")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.legend(loc="best", fontsize="small")
    return save_figure("plot_training_curves", fig, path)
