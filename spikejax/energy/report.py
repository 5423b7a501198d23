"""Energy of a forward pass on a hardware profile: per-layer rows and totals.

The convention of the spiking-network literature (Spikformer, eqs. 21-24; SEW-ResNet, Spikingformer
and the Spike-driven Transformer use the same)::

    E_SNN = E_MAC · MACs(first layer) · (T if first_layer == "per_step" else 1)
          + E_AC  · Σ_{l ≥ 2} SOPs(l)
    E_ANN = E_MAC · Σ_l MACs(l)                   # the same architecture run once, densely

with ``SOPs(l) = fr_l · T · MACs(l)`` (or exact events, see `spikejax.energy.counting`).
Layers charged as MACs under ``nonbinary="as_macs"`` add ``E_MAC · T · MACs(l)`` instead of their
SOPs. Batch norm, neuron updates (unless asked for), pooling, residual additions and memory
traffic are not counted. Energies are in picojoules per sample.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from flax import nnx
from jaxtyping import Array

from spikejax._errors import check_choice
from spikejax.energy.counting import FIRST_LAYER, OpCounts, count_ops
from spikejax.energy.profiles import EnergyProfile, get_profile

__all__ = [
    "EnergyReport",
    "EnergyRow",
    "energy_from_sops",
    "energy_report",
    "estimate",
    "format_energy",
    "ratio_reason",
]


@dataclasses.dataclass(frozen=True)
class EnergyRow:
    """One layer of an `EnergyReport`: the fields of
    `LayerCount` plus ``energy`` (pJ per sample; ``None`` when
    the profile cannot price the layer's operations)."""

    name: str
    kind: str
    role: str
    macs: int
    fr: float
    sops: float
    binary: bool
    op: str
    ops: float
    runs: int
    energy: float | None


def _si(x: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= factor:
            return f"{x / factor:.2f} {prefix}"
    return f"{x:.4g}"


def format_energy(pj: float | None) -> str:
    """An energy in pJ with the largest unit it reaches (4 significant digits); ``"-"`` for
    ``None`` (an unpriced value).

    Example:
        >>> from spikejax.energy.report import format_energy
        >>> format_energy(304812.5), format_energy(12.0), format_energy(None)
        ('304.8 nJ', '12 pJ', '-')
    """
    if pj is None:
        return "-"
    for factor, unit in ((1e12, "J"), (1e9, "mJ"), (1e6, "µJ"), (1e3, "nJ")):
        if abs(pj) >= factor:
            return f"{pj / factor:.4g} {unit}"
    return f"{pj:.4g} pJ"


def ratio_reason(report: dict[str, Any]) -> str | None:
    """Why the SNN costs what it does next to the ANN, in one clause; ``None`` without a ratio.

    Args:
        report: an energy report as `EnergyReport.to_dict` (and ``energy.json``) gives it.

    Example:
        >>> from spikejax.energy.report import ratio_reason
        >>> layers = [{"name": "fc1", "op": "mac", "energy": 90.0, "runs": 8},
        ...           {"name": "fc2", "op": "ac", "energy": 10.0, "runs": 0}]
        >>> print(ratio_reason({"totals": {"ratio": 7.0, "e_snn_pj": 100.0}, "layers": layers}))
        90 % of the SNN's energy is multiply-accumulates of real-valued inputs, fc1 (×8), repeated
        at every time step where the ANN does them once; spikes only save energy in the layers
        that read them
    """
    totals = report["totals"]
    ratio = totals.get("ratio")
    if ratio is None:
        return None
    if ratio <= 1:
        return "spikes replace the ANN's multiply-accumulates (one AC per spike)"
    macs = [r for r in report["layers"] if r["op"] == "mac" and r["energy"] is not None]
    if not macs:
        return "the synaptic operations over all time steps outweigh one dense pass"
    share = sum(r["energy"] for r in macs) / totals["e_snn_pj"]
    layers = ", ".join(f"{r['name']} (×{r['runs']})" for r in macs)
    return (
        f"{100 * share:.0f} % of the SNN's energy is multiply-accumulates of real-valued inputs, "
        f"{layers}, repeated at every time step where the ANN does them once; spikes only save "
        "energy in the layers that read them"
    )


@dataclasses.dataclass(frozen=True)
class EnergyReport:
    """Energy per sample of one forward pass on one profile.

    Attributes:
        profile: the hardware profile.
        counts: the operation counts it prices.
        rows: one `EnergyRow` per counted layer, in forward order.
        e_mac: energy of the layers charged as MACs (pJ).
        e_ac: energy of the synaptic operations (pJ).
        e_neuron: energy of the neuron updates (pJ), ``None`` unless asked for.
        e_snn: total, ``e_mac + e_ac (+ e_neuron)`` (pJ); without the ``unpriced`` layers.
        e_ann: ``E_MAC × dense MACs of all counted layers`` (pJ); ``None`` without a MAC energy.
        ratio: ``e_snn / e_ann`` (below 1: the SNN needs less energy); ``None`` without
            ``e_ann``.
        unpriced: layers charged as MACs on a profile without a MAC path (the real-valued first
            layer on ``loihi``): reported, not included in ``e_snn``.
    """

    profile: EnergyProfile
    counts: OpCounts
    rows: tuple[EnergyRow, ...]
    e_mac: float
    e_ac: float
    e_neuron: float | None
    e_snn: float
    e_ann: float | None
    ratio: float | None
    unpriced: tuple[str, ...]

    def table(self) -> str:
        """The report as aligned text: settings, one line per layer, totals."""
        c = self.counts
        rule = "fr·T·MACs" if c.count == "rate" else "exact synaptic events"
        inputs = "as spikes (mean value)" if c.nonbinary == "as_spikes" else "as T·MACs"
        lines = [
            f"profile   {self.profile.describe()}",
            f"counting  {c.count} ({rule}); non-binary inputs {inputs}; first layer "
            f"{c.first_layer.replace('_', ' ')}; T = {c.T}; per sample (mean of {c.batch})",
        ]
        header = ("layer", "kind", "MACs/step", "fr", "SOPs", "binary", "charged", "energy")
        body = [
            (
                r.name,
                r.kind,
                _si(r.macs),
                f"{r.fr:.4f}",
                "-" if r.role == "first" else _si(r.sops),
                "yes" if r.binary else "no",
                f"MAC ×{r.runs}" if r.op == "mac" else "AC",
                format_energy(r.energy),
            )
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
        right = {2, 3, 4, 7}
        for row in (header, *body):
            cells = [
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
        parts = [f"AC {format_energy(self.e_ac)}"]
        if self.profile.e_mac is not None:
            parts.insert(0, f"MAC {format_energy(self.e_mac)}")
        if self.e_neuron is not None:
            parts.append(f"neuron updates {format_energy(self.e_neuron)}")
        lines.append(
            f"E_SNN     {format_energy(self.e_snn)} = {' + '.join(parts)} "
            f"({_si(c.charged_macs)} MACs, {_si(c.sops)} SOPs)"
        )
        if self.e_ann is not None:
            ratio = "" if self.ratio is None else f"; E_SNN / E_ANN = {self.ratio:.4g}"
            dense = f"{_si(c.dense_macs)} MACs, one dense pass"
            lines.append(f"E_ANN     {format_energy(self.e_ann)} ({dense}){ratio}")
            if self.ratio is not None and self.ratio > 1:
                lines.append(f"          {ratio_reason(self.to_dict())}")
        if self.unpriced:
            lines.append(
                f"unpriced  {', '.join(self.unpriced)}: real-valued input, no MAC path on "
                f"{self.profile.name} (not in E_SNN)"
            )
        nonbinary = c.nonbinary_layers
        lines.append(f"non-binary inputs: {', '.join(nonbinary) if nonbinary else 'none'}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-compatible nested dicts (energies in pJ per sample)."""
        p, c = self.profile, self.counts
        return {
            "profile": {
                "name": p.name,
                "e_mac": p.e_mac,
                "e_ac": p.e_ac,
                "e_neuron_active": p.e_neuron_active,
                "e_neuron_inactive": p.e_neuron_inactive,
                "source": p.source,
                "derivation": p.derivation,
                "uncertain": sorted(p.uncertain),
            },
            "counting": {
                "count": c.count,
                "nonbinary": c.nonbinary,
                "first_layer": c.first_layer,
                "T": c.T,
                "batch": c.batch,
            },
            "layers": [dataclasses.asdict(r) for r in self.rows],
            "totals": {
                "e_snn_pj": self.e_snn,
                "e_mac_pj": self.e_mac,
                "e_ac_pj": self.e_ac,
                "e_neuron_pj": self.e_neuron,
                "e_ann_pj": self.e_ann,
                "ratio": self.ratio,
                "sops": c.sops,
                "charged_macs": c.charged_macs,
                "dense_macs": c.dense_macs,
                "spikes": c.spikes,
                "neuron_steps": c.neuron_steps,
            },
            "nonbinary_layers": list(c.nonbinary_layers),
            "unpriced": list(self.unpriced),
        }


def energy_report(
    counts: OpCounts, profile: str | EnergyProfile = "cmos45nm_fp32", *, neuron_updates=False
) -> EnergyReport:
    """Price operation counts on a profile (see the module docstring for the formula).

    Args:
        counts: from `count_ops`.
        profile: a profile name (`available_profiles`) or an
            `EnergyProfile`.
        neuron_updates: add ``E_active × spikes + E_inactive × (neuron steps − spikes)``: a
            neuron counts as active in a step where it fires (an approximation; needs a profile
            with neuron-update energies, e.g. ``loihi``).

    Raises:
        ValueError: a layer other than the first must be charged as MACs (``as_macs``) on a
            profile without a MAC energy, or neuron updates on a profile that does not price
            them.
    """
    fn = "energy_report"
    p = get_profile(profile, fn=fn)
    if not isinstance(counts, OpCounts):
        raise TypeError(f"`{fn}`: `counts` must be an OpCounts; got {type(counts).__name__}.")
    if not isinstance(neuron_updates, bool):
        raise TypeError(f"`{fn}`: `neuron_updates` must be a bool; got {neuron_updates!r}.")
    if p.e_mac is None:
        bad = [r.name for r in counts.layers if r.op == "mac" and r.role != "first"]
        if bad:
            raise ValueError(
                f"`{fn}`: `nonbinary='as_macs'` needs a profile with a MAC energy; profile "
                f"{p.name!r} has none, and layers {bad} would be charged as MACs."
            )
    if neuron_updates and p.e_neuron_active is None:
        raise ValueError(
            f"`{fn}`: `neuron_updates=True` needs a profile with neuron-update energies; "
            f"profile {p.name!r} has none."
        )
    rows = []
    for r in counts.layers:
        price = p.e_mac if r.op == "mac" else p.e_ac
        energy = None if price is None else price * r.ops
        rows.append(EnergyRow(**dataclasses.asdict(r), energy=energy))
    e_mac = math.fsum(r.energy for r in rows if r.op == "mac" and r.energy is not None)
    e_ac = math.fsum(r.energy for r in rows if r.op == "ac")
    e_neuron = None
    if neuron_updates:
        inactive = counts.neuron_steps - counts.spikes
        e_neuron = p.e_neuron_active * counts.spikes + p.e_neuron_inactive * inactive
    e_snn = e_mac + e_ac + (e_neuron or 0.0)
    e_ann = None if p.e_mac is None else p.e_mac * counts.dense_macs
    ratio = e_snn / e_ann if e_ann else None
    unpriced = tuple(r.name for r in rows if r.energy is None)
    return EnergyReport(
        p, counts, tuple(rows), e_mac, e_ac, e_neuron, e_snn, e_ann, ratio, unpriced
    )


def estimate(
    model: nnx.Module,
    x: Array,
    *,
    profile: str | EnergyProfile = "cmos45nm_fp32",
    count: str = "rate",
    nonbinary: str = "as_spikes",
    first_layer: str | None = None,
    first_layer_macs: int | None = None,
    include_head: bool = True,
    neuron_updates: bool = False,
) -> EnergyReport:
    """Energy per sample of ``model`` on the batch ``x``, from its real activity.

    `count_ops` (same arguments, see there) followed by
    `energy_report` on ``profile``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import energy, models
        >>> net = models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,), T=2)
        >>> report = energy.estimate(net, jnp.ones((2, 3, 64)))
        >>> [(r.name, r.op) for r in report.rows]
        [('blocks.0.fc', 'mac'), ('head.fc', 'ac')]
        >>> round(report.rows[0].energy, 1)                 # 4.6 pJ × 64·8 MACs × 2 steps
        4710.4
    """
    get_profile(profile, fn="estimate")
    counts = count_ops(
        model,
        x,
        count=count,
        nonbinary=nonbinary,
        first_layer=first_layer,
        first_layer_macs=first_layer_macs,
        include_head=include_head,
    )
    return energy_report(counts, profile, neuron_updates=neuron_updates)


def energy_from_sops(
    sops: float,
    first_layer_macs: int,
    *,
    profile: str | EnergyProfile = "cmos45nm_fp32",
    T: int = 1,
    first_layer: str = "once",
) -> float:
    """``E_AC · sops + E_MAC · first_layer_macs · (T if first_layer == "per_step" else 1)``, in
    pJ: the papers' formula applied to their printed totals.

    Example:
        >>> from spikejax import energy
        >>> pj = energy.energy_from_sops(3.88e9, 118_013_952)    # SEW-ResNet-34, first conv once
        >>> round(pj / 1e9, 3)                                   # mJ
        4.035
    """
    fn = "energy_from_sops"
    p = get_profile(profile, fn=fn)
    check_choice(fn, "first_layer", first_layer, FIRST_LAYER)
    ok = isinstance(sops, int | float) and not isinstance(sops, bool)
    if not ok or not math.isfinite(sops) or sops < 0:
        raise ValueError(f"`{fn}`: `sops` must be a finite number >= 0; got {sops!r}.")
    ok = isinstance(first_layer_macs, int | float) and not isinstance(first_layer_macs, bool)
    if not ok or not math.isfinite(first_layer_macs) or first_layer_macs < 0:
        raise ValueError(
            f"`{fn}`: `first_layer_macs` must be a finite number >= 0; got {first_layer_macs!r}."
        )
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"`{fn}`: `T` must be a positive int; got {T!r}.")
    if p.e_mac is None and first_layer_macs > 0:
        raise ValueError(
            f"`{fn}`: `first_layer_macs` must be 0 on profile {p.name!r}, which has no MAC "
            f"energy; got {first_layer_macs!r}."
        )
    runs = T if first_layer == "per_step" else 1
    return p.e_ac * sops + (p.e_mac or 0.0) * first_layer_macs * runs
