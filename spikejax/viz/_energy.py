"""An energy report as a picture: energy per layer, and the SNN's total against the ANN's."""

from __future__ import annotations

import os
import textwrap
from typing import Any

from spikejax.viz._common import finish, new_figure

__all__ = ["plot_energy"]

_COLOURS = {"mac": "tab:orange", "ac": "tab:blue", "neuron": "tab:green", "ann": "tab:grey"}
_UNITS = ((1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ"))


def _unit(peak: float) -> tuple[float, str]:
    return next(((f, u) for f, u in _UNITS if peak >= f), (1.0, "pJ"))


def _verdict(report: Any) -> str:
    """One line on how the SNN compares with the ANN, and why."""
    from spikejax.energy.report import ratio_reason

    if report.ratio is None:
        return f"no ANN comparison: {report.profile.name} has no MAC energy"
    line = f"E_SNN = {report.ratio:.3g}× E_ANN: {ratio_reason(report.to_dict())}"
    return textwrap.fill(line, 100)


def plot_energy(
    report: Any, path: str | os.PathLike[str] | None = None, *, title: str | None = None
):
    """The energy per layer of an `EnergyReport`, and its total against
    the ANN's.

    Left: one horizontal bar per layer, top to bottom in forward order, orange for layers
    charged as MACs and blue for synaptic operations (ACs). A layer the profile cannot price
    (``report.unpriced``: a real-valued first layer on a chip without a MAC path) has no bar, is
    labelled as such, and the title says the total excludes it. Right: ``E_SNN`` stacked by
    MAC, AC (and neuron-update) energy next to ``E_ANN`` (one dense pass of the same network),
    with the ratio and one line saying why the SNN costs more when it does.

    Args:
        report: the report.
        path: if given, the figure is also written there (its suffix picks the format),
            atomically.
        title: figure title (default: the profile, ``E_SNN``, the counting and ``T``).

    Returns:
        The Matplotlib ``Figure``.

    Raises:
        TypeError: ``report`` is not an ``EnergyReport``.
        ValueError: ``path`` has a suffix that is not an image format.
    """
    from matplotlib.patches import Patch

    from spikejax.energy import EnergyReport

    fn = "plot_energy"
    if not isinstance(report, EnergyReport):
        raise TypeError(f"`{fn}`: `report` must be an EnergyReport; got {type(report).__name__}.")
    rows = report.rows
    height = max(3.0, 1.2 + 0.22 * len(rows))
    fig, axes = new_figure(1, 2, figsize=(10.0, height))
    fig.get_layout_engine().set(wspace=0.05)
    ax, totals = axes[0]
    positions = list(range(len(rows)))
    factor, unit = _unit(max((r.energy for r in rows if r.energy is not None), default=0.0))
    values = [0.0 if r.energy is None else r.energy / factor for r in rows]
    ax.barh(positions, values, color=[_COLOURS[r.op] for r in rows])
    labels = [r.name + (" (unpriced)" if r.energy is None else "") for r in rows]
    ax.set_yticks(positions, labels, fontsize=7 if len(rows) > 20 else 9)
    for tick, position, row in zip(ax.get_yticklabels(), positions, rows, strict=True):
        if row.energy is None:
            tick.set_color("tab:red")
            ax.text(
                0.0,
                position,
                f" real-valued input, no MAC path on {report.profile.name}: not in E_SNN",
                va="center",
                fontsize=8,
                color="tab:red",
            )
    ax.invert_yaxis()
    ax.set_xlabel(f"energy per sample ({unit})")
    handles = [
        Patch(color=_COLOURS[op], label=label)
        for op, label in (("mac", "MAC"), ("ac", "AC (synaptic operations)"))
        if any(r.op == op and r.energy is not None for r in rows)
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title("per layer", fontsize=10)

    parts = [("MAC", report.e_mac, "mac"), ("AC", report.e_ac, "ac")]
    if report.e_neuron is not None:
        parts.append(("neuron updates", report.e_neuron, "neuron"))
    peak = max(report.e_snn, report.e_ann or 0.0)
    factor, unit = _unit(peak)
    left = 0.0
    for label, energy, key in parts:
        if energy:
            totals.barh([1], [energy / factor], left=left, color=_COLOURS[key], label=label)
            left += energy / factor
    totals.text(left, 1, f" {report.e_snn / factor:.3g}", va="center", fontsize=8)
    ticks, names = [1], ["E_SNN"]
    if report.e_ann is not None:
        totals.barh([0], [report.e_ann / factor], color=_COLOURS["ann"], label="ANN (dense)")
        totals.text(
            report.e_ann / factor, 0, f" {report.e_ann / factor:.3g}", va="center", fontsize=8
        )
        ticks, names = [1, 0], ["E_SNN", "E_ANN"]
    else:
        totals.text(
            0.0,
            0,
            f" no ANN comparison: {report.profile.name} has no MAC energy",
            va="center",
            fontsize=8,
        )
    totals.set_yticks(ticks, names)
    totals.set_ylim(-0.6, 1.6)
    totals.set_xlim(0, 1.25 * peak / factor if peak > 0 else 1.0)
    totals.set_xlabel(f"energy per sample ({unit})")
    totals.legend(loc="lower right", fontsize=8)
    ratio = "" if report.ratio is None else f": E_SNN / E_ANN = {report.ratio:.3g}"
    totals.set_title(f"total{ratio}", fontsize=10)
    counts = report.counts
    heading = (
        f"{report.profile.name}: E_SNN {report.e_snn / factor:.4g} {unit} per sample "
        f"({counts.count} counting, T = {counts.T})"
    )
    if report.unpriced:
        heading += f"; excludes {', '.join(report.unpriced)} (no MAC path on {report.profile.name})"
    fig.suptitle(f"{title or heading}\n{_verdict(report)}", fontsize=10)
    return finish(fn, fig, path)
