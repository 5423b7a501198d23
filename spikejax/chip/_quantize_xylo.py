"""Quantization of a float MLP for Xylo (core v2, XyloSim arithmetic).

The hidden layers share Xylo's hidden population: the first receives ``weights_in``, the others
the blocks of ``weights_rec`` (layer k-1 → layer k; Rockpool's mapper does the same), and the last
layer is the readout (``weights_out``). Synapse 2 is unused (zero weights). With membrane scale
``S`` (chip units per float unit), input gain ``g`` (``1 - beta`` with ``decay_input``,
``1 / input_levels`` on the first layer) and weight shift ``sh`` of the layer's matrix:

* Xylo has no pure LIF: every neuron integrates a synaptic current ``isyn ← a (isyn + events)``
  with ``a = 1 - 2**-dash_syn``. CubaLIF(alpha) uses the nearest ``dash_syn`` and weights
  ``round(S g W / (a 2**sh))``, which makes ``isyn = S i`` exactly when ``a = alpha``. LIF, IF and
  LI use ``dash_syn = 1`` (``a = 1/2``) and ``round(S g W / 2**sh)``: the steady-state drive
  ``a / (1 - a) = 1`` times the float drive, the response to one spike spread over later steps.
* ``dash_mem``: the nearest ``1 - 2**-dash_mem`` to ``beta``; IF uses 15 (a leak of one unit per
  step for small states).
* ``threshold = round(S theta)``; the LI readout uses 32767 and is read through its membrane.
* ``bias = round(S g_in b)`` (``/ (1 - alpha)`` for CubaLIF: the chip adds it to ``v``).

The bound on ``S`` keeps the largest threshold below ``2**(15 - headroom)``, the observed peak
membrane and input (``peaks``, or without them the worst one-step input of the weights) below
the same bound and the biases in 16 bits. The shift is the largest whose weight-filling scale (the
reference weight at 127) stays within the bound, and ``S`` is that scale (one shift for all
recurrent blocks: the smallest of their choices); if no shift does, ``S`` is the bound and the
weights use part of their range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikejax.chip._graph import LayerSpec
from spikejax.chip._model import ChipLayer
from spikejax.chip._qcommon import (
    LayerPlan,
    choose_exponent,
    dash_plan,
    dash_value,
    layer_floats,
    linear_plan,
    reference,
)
from spikejax.chip.xylo.profile import XYLO, XyloProfile

__all__ = ["plan_xylo", "xylo_names", "xylo_notes"]


def xylo_names(k: int, n_layers: int) -> dict[str, str]:
    """Chip parameter names of layer ``k``'s leaves (kernel, beta, alpha, threshold, bias)."""
    out = "_out" if k == n_layers - 1 else ""
    weights = "weights_out" if out else ("weights_in" if k == 0 else "weights_rec")
    return {
        "kernel": weights,
        "beta": f"dash_mem{out}",
        "alpha": f"dash_syn{out}",
        "threshold": f"threshold{out}",
        "bias": f"bias{out}",
    }


def _target(p, spec, f, wg, b_eff, k, levels, headroom, peaks) -> float:
    hi = float(p.state_bounds[1])
    target = math.inf
    if "threshold" in f:
        theta = float(np.max(f["threshold"]))
        target = min(target, hi / 2**headroom / theta, p.threshold_max / theta)
    if peaks is not None and peaks[k] > 0:
        target = min(target, hi / 2**headroom / peaks[k])
    elif peaks is None:
        worst = float(np.max(np.sum(np.abs(wg), axis=0))) * (levels if k == 0 else 1)
        if worst > 0:
            target = min(target, hi / worst)
    if b_eff is not None and np.max(np.abs(b_eff)) > 0:
        target = min(target, hi / float(np.max(np.abs(b_eff))))
    return target


def plan_xylo(
    specs: tuple[LayerSpec, ...],
    flat: dict[str, Any],
    *,
    method: str,
    percentile: float,
    headroom: int,
    levels: int,
    peaks: tuple[float, ...] | None,
    unit: float | None = None,
    p: XyloProfile = XYLO,
) -> list[LayerPlan]:
    """One `LayerPlan` per layer (integers not yet range-checked), for profile ``p``."""
    top = p.weight_bounds[1]
    w_lo, w_hi = p.weight_bounds
    s_lo, s_hi = p.state_bounds
    n = len(specs)
    prepared = []
    for k, spec in enumerate(specs):
        folded, f, g, g_in = layer_floats(spec, flat, k, 1.0 / levels if unit is None else unit)
        w = folded.w
        syn = 0.5 if spec.kind != "cuba" else None
        if spec.kind == "cuba":
            syn = dash_value(np.broadcast_to(f["alpha"], (spec.n_out,)), p.dash_max)
        w_gain = g / syn if spec.kind == "cuba" else g
        b_gain = (
            g_in / (1.0 - np.broadcast_to(f["alpha"], g.shape)) if spec.kind == "cuba" else g_in
        )
        b_eff = np.asarray(flat[spec.bias], np.float64) * b_gain if spec.bias else None
        wg = w * w_gain
        target = _target(p, spec, f, w * g, b_eff, k, levels, headroom, peaks)
        e, s = choose_exponent(
            reference(wg, method, percentile), top, 0, 0, p.weight_shift_max, target
        )
        prepared.append([spec, w, f, w_gain, b_gain, wg, target, e, s])
    rec = [i for i in range(1, n - 1)]
    if rec:
        shared = min(prepared[i][7] for i in rec)
        for i in rec:
            spec, w, f, w_gain, b_gain, wg, target, _, _ = prepared[i]
            w_ref = reference(wg, method, percentile)
            prepared[i][7] = shared
            prepared[i][8] = min(target, top * 2.0**shared / w_ref)
    plans = []
    for k, (spec, w, f, w_gain, b_gain, _, _, e, s) in enumerate(prepared):
        names = xylo_names(k, n)
        leaves = [
            linear_plan(spec.kernel, names["kernel"], k, w, 2.0**e / (s * w_gain), w_lo, w_hi)
        ]
        constants: list[tuple[str, int]] = []
        if spec.bias is not None:
            leaves.append(
                linear_plan(
                    spec.bias, names["bias"], k, flat[spec.bias], 1.0 / (s * b_gain), s_lo, s_hi
                )
            )
        else:
            constants.append((names["bias"], 0))
        if spec.kind == "cuba":
            leaves.append(
                dash_plan(spec.leaf("alpha"), names["alpha"], k, f["alpha"], high=p.dash_max)
            )
        else:
            constants.append((names["alpha"], 1))
        if spec.kind == "if":
            constants.append((names["beta"], p.dash_max))
        else:
            leaves.append(
                dash_plan(spec.leaf("beta"), names["beta"], k, f["beta"], high=p.dash_max)
            )
        if spec.kind == "li":
            constants.append((names["threshold"], p.threshold_max))
        else:
            leaves.append(
                linear_plan(
                    spec.leaf("threshold"),
                    names["threshold"],
                    k,
                    f["threshold"],
                    1.0 / s,
                    1,
                    p.threshold_max,
                )
            )
        layer = ChipLayer(spec, s, e, 0, tuple(constants), input_delay=0 if k == 0 else 1)
        plans.append(LayerPlan(layer, leaves))
    return plans


def xylo_notes(specs: tuple[LayerSpec, ...], levels: int) -> list[str]:
    """Every semantic difference between the float layers and their Xylo mapping."""
    n = len(specs)
    notes = [
        "Delays: inputs reach the first hidden layer in the same step; every later layer "
        f"(recurrent blocks, readout) receives spikes one step late: the outputs lag the float "
        f"network by {n - 1} step(s).",
        "Decays are bit shifts (1 - 2**-dash) with a minimum step of one unit: small states leak "
        "linearly; states and currents saturate at 16 bits.",
        "Hidden neurons emit up to 31 spikes per step (floor(v / theta), subtractive reset by "
        "n * theta); the float neurons emit at most one.",
        "Input events per channel and step are capped at 15.",
    ]
    if levels > 1:
        notes.append(
            f"Analog inputs in [0, 1] are sent as round(x * {levels}) input events per channel "
            "and step."
        )
    for k, spec in enumerate(specs):
        name = f"Layer {k} ({spec.kind}, `{spec.kernel}`)"
        if spec.kind != "cuba":
            notes.append(
                f"{name}: Xylo has no neuron without synaptic current; dash_syn = 1 (the current "
                "halves every step) with weights matched in the steady state, so the response "
                "to a spike is spread over the following steps."
            )
        if spec.kind == "if":
            notes.append(f"{name}: no leak-free membrane: dash_mem = 15 (one unit per step).")
        if spec.kind == "li":
            notes.append(
                f"{name}: the non-spiking readout uses threshold 32767 and is read through its "
                "membrane; a membrane reaching 32767 spikes and drops by 32767 (counted)."
            )
        elif k == n - 1:
            notes.append(f"{name}: readout neurons emit at most one spike per step.")
        if spec.kind != "li" and spec.reset in ("zero", "none"):
            notes.append(f"{name}: Xylo resets by subtraction; the float neuron by {spec.reset!r}.")
        if spec.kind == "cuba" and spec.bias is not None:
            notes.append(
                f"{name}: Xylo adds the bias to v, the float CubaLIF to the current; the bias is "
                "mapped to its steady-state value b / (1 - alpha)."
            )
    return notes
