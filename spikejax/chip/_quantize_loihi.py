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
    folded_plans,
    layer_floats,
    linear_plan,
    loihi_decay_plan,
    reference,
    worst_input,
)
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile

__all__ = ["loihi_notes", "plan_loihi"]


def _bias_exp(x: np.ndarray, high: int, max_exp: int) -> int:
    for e in range(max_exp + 1):
        if np.all(np.abs(np.rint(x / 2.0**e)) <= high):
            return e
    return max_exp


def _relay(spec: LayerSpec, k: int, p: LoihiProfile) -> LayerPlan:
    """A max-pooling relay: OR neurons. One shared weight 1 (exponent 0) gives ``u = 2**act_shift``
    per spike of the window; ``du`` and ``dv`` at their maxima keep no state (a ``v`` below the
    decay unity decays to 0, and a neuron that spiked is at 0), ``vth = 0``: the neuron spikes
    exactly when ``v = u > 0``, i.e. when any spike of its window arrived."""
    constants = (
        ("weights", 1),
        ("du", p.decay_max),
        ("dv", p.decay_max),
        ("vth", 0),
        ("bias_mant", 0),
    )
    layer = ChipLayer(spec, float(1 << p.act_shift), 0, 0, constants, input_delay=1)
    return LayerPlan(layer, [])


def plan_loihi(
    specs: tuple[LayerSpec, ...],
    flat: dict[str, Any],
    *,
    method: str,
    percentile: float,
    headroom: int,
    levels: int,
    peaks: tuple[float, ...] | None,
    unit: float | None = None,
    p: LoihiProfile = LOIHI,
) -> list[LayerPlan]:
    """One `LayerPlan` per layer (integers not yet range-checked), for profile ``p``."""
    top = (1 << p.weight_bits) - 2  # largest magnitude on the even (mixed-sign) grid
    bound = float(p.state_bound)
    lo_b, hi_b = p.bias_mant_bounds
    unit = 1.0 / levels if unit is None else unit
    plans = []
    for k, spec in enumerate(specs):
        c_max = levels if k == 0 else 1
        if spec.kind == "or":
            plans.append(_relay(spec, k, p))
            continue
        folded, f, g, g_in = layer_floats(spec, flat, k, unit)
        w = folded.w
        wg = w * g
        target = math.inf
        u_worst = worst_input(wg, spec, c_max)
        if spec.rec_kernel is not None:
            w_rec = np.asarray(flat[spec.rec_kernel], np.float64) * g_in
            u_worst += float(np.max(np.sum(np.abs(w_rec), axis=0), initial=0.0))
        if u_worst > 0:
            target = min(target, (bound - 1) / u_worst)
        if "threshold" in f:
            theta = float(np.max(f["threshold"]))
            target = min(target, bound / 2**headroom / theta, p.vth_max * 2.0**p.vth_shift / theta)
        if peaks is not None and peaks[k] > 0:
            target = min(target, bound / 2**headroom / peaks[k])
        b_gain = g_in.copy()
        if spec.kind == "cuba":
            alpha = np.broadcast_to(f["alpha"], b_gain.shape)
            b_gain = b_gain / (1.0 - alpha)
        b_eff = None
        if folded.bias is not None:
            b_eff = folded.bias * b_gain
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
                spec.kernel,
                "weights",
                k,
                flat[spec.kernel],
                2.0 ** (e + p.act_shift) / (s * g * folded.factor),
                -top,
                top,
                step=2,
            )
        ]
        leaves += folded_plans(k, folded)
        rec_exp = None
        if spec.rec_kernel is not None:
            w_rec = np.asarray(flat[spec.rec_kernel], np.float64) * g_in
            # the smallest exponent at which the largest recurrent weight fits the range (the
            # recurrent Dense shares the layer's scale S; e >= 0 as for the feed-forward one)
            need = s * reference(w_rec, method, percentile) / top / 2.0**p.act_shift
            rec_exp = max(p.weight_exp_min, 0, math.ceil(math.log2(need)) if need > 0 else 0)
            rec_exp = min(rec_exp, p.weight_exp_max)
            leaves.append(
                linear_plan(
                    spec.rec_kernel,
                    "rec_weights",
                    k,
                    flat[spec.rec_kernel],
                    2.0 ** (rec_exp + p.act_shift) / (s * g_in),
                    -top,
                    top,
                    step=2,
                )
            )
        constants: list[tuple[str, int]] = []
        bias_exp = 0
        if b_eff is not None:
            bias_exp = _bias_exp(s * b_eff, hi_b, p.bias_exp_max)
            leaves.append(
                linear_plan(
                    folded.bias_path,
                    "bias_mant",
                    k,
                    flat[folded.bias_path],
                    2.0**bias_exp / (s * b_gain),
                    lo_b,
                    hi_b,
                    origin=folded.bias_origin,
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
        layer = ChipLayer(spec, s, e, bias_exp, tuple(constants), input_delay=1, rec_exp=rec_exp)
        plans.append(LayerPlan(layer, leaves))
    return plans


def loihi_notes(specs: tuple[LayerSpec, ...], levels: int, unit: float | None = None) -> list[str]:
    """Every semantic difference between the float layers and their Loihi mapping."""
    n = len(specs)
    notes = [
        f"Every Dense adds one step of delay: input at step t reaches layer k (1-based) at step "
        f"t + k; the chip's outputs lag the float network by {n} step(s).",
        "Thresholds: the chip spikes when v > vth << 6 (strict); the float neuron at h >= theta.",
        "Decays truncate toward zero after every multiply (12 fractional bits).",
    ]
    if levels > 1 and unit is not None:
        notes.append(
            f"Inputs are event counts of up to {levels} per channel and step (one event per "
            f"{unit:g} of input), i.e. a unary code on {levels} binary input lines per channel."
        )
    elif levels > 1:
        notes.append(
            f"Analog inputs in [0, 1] are sent as {levels} levels: round(x * {levels}) events per "
            f"channel and step, i.e. a unary code on {levels} binary input lines per channel."
        )
    for k, spec in enumerate(specs):
        name = f"Layer {k} ({spec.kind}, `{spec.name}`)"
        if spec.kind == "or":
            notes.append(
                f"{name}: max pooling of binary spikes runs as a relay of OR neurons (one shared "
                "weight per window, threshold 0): exact, but it adds one step of delay and "
                f"{spec.n_out} neurons."
            )
            continue
        if spec.norm is not None:
            notes.append(
                f"{name}: the batch norm is folded into the weights and the bias with its running "
                "statistics (the evaluation-mode network)."
            )
        if spec.synapse is not None and spec.synapse.pool is not None:
            notes.append(
                f"{name}: the preceding {'average' if spec.synapse.pool_scale != 1 else 'sum'} "
                "pool is folded into the synapses (every neuron of a window has the same weight)."
            )
        if spec.rec_kernel is not None:
            notes.append(
                f"{name}: the recurrent Dense adds one step of delay, like the feed-forward one, "
                "so the recurrent input keeps its float timing relative to the layer's spikes."
            )
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
