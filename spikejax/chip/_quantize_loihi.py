"""Quantization of a float MLP for Loihi (CUBA LIF, Lava bit-accurate arithmetic).

Mapping of layer ``k`` (membrane scale ``S``: chip units per float unit; ``g`` the per-neuron input
gain, ``1 - beta`` with ``decay_input`` and ``1 / input_levels`` on the first layer):

* Dense weights ``W_int = 2 round(S g W / 2**(e + 7))`` on the even grid ``[-254, 254]`` (mixed-
  sign Loihi matrices keep even values), ``weight_exp = e``; the synaptic input of one spike is
  ``W_int << (e + 6)`` membrane units, i.e. ``S g W``.
* ``dv = round(4096 (1 - beta))``; CubaLIF: ``du = round(4096 (1 - alpha)) - 1`` (the current
  decays with ``du + 1``); LIF, IF and LI use ``du = 4095``: the current is this step's input only.
  IF uses ``dv = 0``.
* ``vth = round(S theta / 64)`` (the chip threshold is ``vth << 6``); the LI readout uses the
  largest ``vth`` (131071) and is read through its membrane.
* bias: ``bias_mant = round(S b' / 2**bias_exp)`` with one ``bias_exp`` per layer (the smallest
  that fits 13 bits), ``b' = g_in b`` (and ``b / (1 - alpha)`` for CubaLIF, whose bias the chip
  adds to ``v`` instead of the current: the steady state is kept).

The bound on ``S`` keeps, for the weights' worst case, the current ``u`` inside its 24-bit range
(``u`` wraps around on overflow), the largest threshold below ``2**(23 - headroom)``, the observed
peak membrane (``peaks``) below the same bound, and the biases representable. The exponent
``e >= 0`` (a negative one would floor every Dense sum, a systematic bias) is the largest whose
weight-filling scale (the reference weight at 254) stays within the bound, and ``S`` is that
scale; if no exponent does, ``S`` is the bound and the weights use part of their range.
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
    layer_floats,
    linear_plan,
    loihi_decay_plan,
    reference,
)
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile

__all__ = ["loihi_notes", "plan_loihi"]


def _bias_exp(x: np.ndarray, high: int, max_exp: int) -> int:
    for e in range(max_exp + 1):
        if np.all(np.abs(np.rint(x / 2.0**e)) <= high):
            return e
    return max_exp


def plan_loihi(
    specs: tuple[LayerSpec, ...],
    flat: dict[str, Any],
    *,
    method: str,
    percentile: float,
    headroom: int,
    levels: int,
    peaks: tuple[float, ...] | None,
    p: LoihiProfile = LOIHI,
) -> list[LayerPlan]:
    """One `LayerPlan` per layer (integers not yet range-checked), for profile ``p``."""
    top = (1 << p.weight_bits) - 2  # largest magnitude on the even (mixed-sign) grid
    bound = float(p.state_bound)
    lo_b, hi_b = p.bias_mant_bounds
    plans = []
    for k, spec in enumerate(specs):
        w, f, g, g_in = layer_floats(spec, flat, k, levels)
        wg = w * g
        c_max = levels if k == 0 else 1
        target = math.inf
        u_worst = float(np.max(np.sum(np.abs(wg), axis=0))) * c_max
        if u_worst > 0:
            target = min(target, (bound - 1) / u_worst)
        if "threshold" in f:
            theta = float(np.max(f["threshold"]))
            target = min(target, bound / 2**headroom / theta, p.vth_max * 2.0**p.vth_shift / theta)
        if peaks is not None and peaks[k] > 0:
            target = min(target, bound / 2**headroom / peaks[k])
        b_gain = g_in.copy()
        if spec.kind == "cuba":
            b_gain = b_gain / (1.0 - np.broadcast_to(f["alpha"], b_gain.shape))
        if spec.bias is not None:
            b_eff = np.asarray(flat[spec.bias], np.float64) * b_gain
            if np.max(np.abs(b_eff)) > 0:
                target = min(target, hi_b * 2.0**p.bias_exp_max / float(np.max(np.abs(b_eff))))
        e, s = choose_exponent(
            reference(wg, method, percentile),
            top,
            p.act_shift,
            max(p.weight_exp_min, 0),
            p.weight_exp_max,
            target,
        )
        leaves = [
            linear_plan(
                spec.kernel, "weights", k, w, 2.0 ** (e + p.act_shift) / (s * g), -top, top, step=2
            )
        ]
        constants: list[tuple[str, int]] = []
        bias_exp = 0
        if spec.bias is not None:
            bias_exp = _bias_exp(s * b_eff, hi_b, p.bias_exp_max)
            leaves.append(
                linear_plan(
                    spec.bias,
                    "bias_mant",
                    k,
                    flat[spec.bias],
                    2.0**bias_exp / (s * b_gain),
                    lo_b,
                    hi_b,
                )
            )
        else:
            constants.append(("bias_mant", 0))
        if spec.kind in ("lif", "if", "li"):
            constants.append(("du", p.decay_max))
        if spec.kind == "cuba":
            leaves.append(
                loihi_decay_plan(
                    spec.leaf("alpha"), "du", k, f["alpha"], offset=p.du_offset, bits=p.decay_bits
                )
            )
        if spec.kind == "if":
            constants.append(("dv", 0))
        else:
            leaves.append(
                loihi_decay_plan(
                    spec.leaf("beta"), "dv", k, f["beta"], offset=p.dv_offset, bits=p.decay_bits
                )
            )
        if spec.kind == "li":
            constants.append(("vth", p.vth_max))
        else:
            leaves.append(
                linear_plan(
                    spec.leaf("threshold"),
                    "vth",
                    k,
                    f["threshold"],
                    2.0**p.vth_shift / s,
                    1,
                    p.vth_max,
                )
            )
        layer = ChipLayer(spec, s, e, bias_exp, tuple(constants), input_delay=1)
        plans.append(LayerPlan(layer, leaves))
    return plans


def loihi_notes(specs: tuple[LayerSpec, ...], levels: int) -> list[str]:
    """Every semantic difference between the float layers and their Loihi mapping."""
    n = len(specs)
    notes = [
        f"Every Dense adds one step of delay: input at step t reaches layer k (1-based) at step "
        f"t + k; the chip's outputs lag the float network by {n} step(s).",
        "Thresholds: the chip spikes when v > vth << 6 (strict); the float neuron at h >= theta.",
        "Decays truncate toward zero after every multiply (12 fractional bits).",
    ]
    if levels > 1:
        notes.append(
            f"Analog inputs in [0, 1] are sent as {levels} levels: round(x * {levels}) events per "
            f"channel and step, i.e. a unary code on {levels} binary input lines per channel."
        )
    for k, spec in enumerate(specs):
        name = f"Layer {k} ({spec.kind}, `{spec.kernel}`)"
        if spec.kind in ("lif", "if", "li"):
            notes.append(f"{name}: du = 4095, the synaptic current is this step's input only.")
        if spec.kind == "li":
            notes.append(
                f"{name}: the non-spiking readout uses the largest threshold (vth = 131071); "
                "its membrane is the output. A membrane above 2**23 - 64 would spike and reset "
                "(counted as readout spikes)."
            )
        elif spec.reset in ("subtract", None):
            which = "resets by subtraction" if spec.reset else "may reset by subtraction"
            notes.append(f"{name}: Loihi resets v to 0 after a spike; the float neuron {which}.")
        elif spec.reset == "none":
            notes.append(
                f"{name}: Loihi always resets v to 0 after a spike; the float one does not."
            )
        if spec.kind == "cuba" and spec.bias is not None:
            notes.append(
                f"{name}: Loihi adds the bias to v, the float CubaLIF to the current; the bias is "
                "mapped to its steady-state value b / (1 - alpha)."
            )
    return notes
