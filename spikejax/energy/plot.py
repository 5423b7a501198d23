"""A bar chart of an energy report: energy per layer, coloured by what it is charged as."""

from __future__ import annotations

import os
from pathlib import Path

from spikejax.energy.report import EnergyReport, _joules

__all__ = ["plot_energy"]

_COLOURS = {"mac": "tab:orange", "ac": "tab:blue"}


def plot_energy(
    report: EnergyReport, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write a horizontal bar chart of the energy per layer and sample to ``path``.

    Layers run top to bottom in forward order; bars charged as MACs are orange, synaptic
    operations blue; a layer the profile cannot price (``report.unpriced``) has no bar and is
    marked in its label. The image format follows ``path``'s suffix; the file is written
    atomically.

    Returns:
        The written path.
    """
    from spikejax.viz._common import new_figure, save_figure

    fn = "plot_energy"
    if not isinstance(report, EnergyReport):
        raise TypeError(f"`{fn}`: `report` must be an EnergyReport; got {type(report).__name__}.")
    rows = report.rows
    height = max(2.5, 0.9 + 0.22 * len(rows))
    fig, axes = new_figure(figsize=(7.0, height))  # names the missing extra if needed
    from matplotlib.patches import Patch

    ax = axes[0, 0]
    positions = list(range(len(rows)))
    peak = max((r.energy for r in rows if r.energy is not None), default=0.0)
    factor, unit = next(
        ((f, u) for f, u in ((1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")) if peak >= f), (1.0, "pJ")
    )
    values = [0.0 if r.energy is None else r.energy / factor for r in rows]
    colours = [_COLOURS[r.op] for r in rows]
    ax.barh(positions, values, color=colours)
    labels = [
        r.name + (" (not priced: real-valued input)" if r.energy is None else "") for r in rows
    ]
    ax.set_yticks(positions, labels, fontsize=7 if len(rows) > 20 else 9)
    ax.invert_yaxis()
    ax.set_xlabel(f"energy per sample ({unit})")
    handles = [
        Patch(color=_COLOURS[op], label=label)
        for op, label in (("mac", "MAC"), ("ac", "AC (synaptic operations)"))
        if any(r.op == op and r.energy is not None for r in rows)
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    counts = report.counts
    default = (
        f"{report.profile.name}: E_SNN {_joules(report.e_snn)} ({counts.count}, T = {counts.T})"
    )
    if report.unpriced:  # e.g. Loihi has no MAC path for a first layer reading analog values
        default += f"\nexcluding {', '.join(report.unpriced)}: no MAC path on this profile"
    ax.set_title(title or default, fontsize=10)
    return save_figure(fn, fig, path)
