"""Does a network fit a chip? Resource use against a profile's limits, resource by resource.

Two kinds of targets:

* a single-core chip with fixed input, hidden and output populations (Xylo): input channels,
  hidden neurons (all hidden layers together), readout neurons, input events per step and the
  fan-out of every hidden neuron (non-zero outgoing weights, counted from the integer weights of
  a chip model, or every synapse of a float model);
* a many-core chip (Loihi, TrueNorth, SpiNNaker, ...): each layer is split over cores so that a
  core holds at most ``neurons_per_core`` neurons and at most ``synapse_bits_per_core`` bits of
  weights; every core receives the layer's presynaptic lines (``fan_in_per_core``) and every
  neuron sends one output axon per core of the next layer (``fan_out_per_core``); the cores add
  up (``cores``). Weight memory uses NengoLoihi's dense synapse format (blocks of up to 64
  weights plus 10 header bits, rounded up to 64-bit words) at the profile's widest weight; for
  TrueNorth, one crossbar bit per synapse.

Limits a profile does not know (``None``) are not checked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikejax.chip._graph import describe
from spikejax.chip._model import ChipModel
from spikejax.chip.profiles import ChipProfile, get_profile

__all__ = ["check_fit", "fit", "synapse_bits"]


def synapse_bits(n_axons: int, n_targets: int, weight_bits: int) -> int:
    """Weight memory of ``n_axons`` axons that each reach ``n_targets`` neurons of one core, in
    NengoLoihi's dense format: blocks of up to 64 weights, ``weight_bits`` each plus 10 header
    bits, rounded up to 64-bit words.

    Example:
        >>> from spikejax.chip.fit import synapse_bits
        >>> synapse_bits(1, 128, 8)                 # 2 blocks of 64 weights: 2 * 576 bits
        1152
    """
    bits = 0
    for start in range(0, n_targets, 64):
        n = min(64, n_targets - start)
        bits += -64 * (-(n * weight_bits + 10) // 64)
    return n_axons * bits


def _row(resource: str, used: int, limit: int | None, where: str = "") -> dict[str, Any]:
    return {
        "resource": resource,
        "used": int(used),
        "limit": limit,
        "ok": limit is None or used <= limit,
        "where": where,
    }


def _sizes(model: Any) -> tuple[list[int], int, list[np.ndarray | None]]:
    if isinstance(model, ChipModel):
        leaves = model.leaves()
        weights = [np.asarray(leaves[layer.spec.kernel]) for layer in model.layers]
        return list(model.sizes), model.input_levels, weights
    specs = describe(model, fn="fit")
    return [specs[0].n_in, *(s.n_out for s in specs)], 1, [None] * len(specs)


def _xylo(profile: ChipProfile, sizes, levels, weights) -> list[dict[str, Any]]:
    r = profile.resources
    n_in, hidden, n_out = sizes[0], sizes[1:-1], sizes[-1]
    rows = [
        _row("input_channels", n_in, r.input_channels),
        _row("neurons", sum(hidden), r.neurons, "hidden neurons"),
        _row("output_neurons", n_out, r.output_neurons),
        _row("max_input_events", levels, r.max_input_events, "input events per channel and step"),
    ]
    fan_out = 0
    for k in range(1, len(weights)):
        w = weights[k]
        fan = sizes[k + 1] if w is None else int(np.max(np.count_nonzero(w, axis=1), initial=0))
        fan_out = max(fan_out, fan)
    rows.append(_row("max_fan_out", fan_out, r.max_fan_out, "synapses leaving one hidden neuron"))
    return rows


def _cores(profile: ChipProfile, sizes, levels) -> list[dict[str, Any]]:
    r = profile.resources
    if profile.name == "truenorth":

        def bits(n_pre: int, n: int) -> int:  # a binary crossbar: one bit per synapse
            return n_pre * n
    else:

        def bits(n_pre: int, n: int) -> int:
            return synapse_bits(n_pre, n, max(profile.weight_bits))

    rows, cores, per_layer = [], 0, []
    for k in range(1, len(sizes)):
        n_pre = sizes[k - 1] * (levels if k == 1 else 1)
        n = sizes[k]
        per_core = n if r.neurons_per_core is None else min(n, r.neurons_per_core)
        if r.synapse_bits_per_core is not None:
            while per_core > 1 and bits(n_pre, per_core) > r.synapse_bits_per_core:
                per_core = math.ceil(per_core / 2)
        c = math.ceil(n / per_core)
        per_layer.append((c, per_core))
        cores += c
        where = f"layer {k - 1}"
        rows.append(_row("fan_in_per_core", n_pre, r.fan_in_per_core, where))
        rows.append(_row("neurons_per_core", per_core, r.neurons_per_core, where))
        rows.append(
            _row("synapse_bits_per_core", bits(n_pre, per_core), r.synapse_bits_per_core, where)
        )
    for k, (_, per_core) in enumerate(per_layer[:-1]):
        next_cores = per_layer[k + 1][0]
        rows.append(
            _row("fan_out_per_core", per_core * next_cores, r.fan_out_per_core, f"layer {k}")
        )
    rows.append(_row("cores", cores, r.cores))
    rows.append(_row("neurons", sum(sizes[1:]), r.neurons))
    return rows


def fit(model: Any, profile: str | ChipProfile | None = None) -> list[dict[str, Any]]:
    """Resource use of ``model`` on ``profile``, one row per checked resource.

    Args:
        model: a `ChipModel` (its profile is the default; integer weights
            give exact fan-outs) or a float model / state (any profile; synapses counted dense).
        profile: profile name or object; default: the chip model's.

    Returns:
        ``[{"resource", "used", "limit", "ok", "where"}, ...]``; ``limit`` is ``None`` where the
        profile has no figure.

    Example:
        >>> from flax import nnx
        >>> from spikejax.chip import fit
        >>> from spikejax.models import LIFMLP
        >>> rows = fit.fit(LIFMLP(64, (128,), 10, rngs=nnx.Rngs(0)), "xylo")
        >>> [(r["resource"], r["used"], r["limit"]) for r in rows if not r["ok"]]
        [('input_channels', 64, 16), ('output_neurons', 10, 8)]
    """
    if profile is None:
        if not isinstance(model, ChipModel):
            raise ValueError("`fit`: `profile` must be given for a float model; got None.")
        profile = model.chip
    p = get_profile(profile)
    sizes, levels, weights = _sizes(model)
    if p.resources.input_channels is not None and p.resources.cores == 1:
        return _xylo(p, sizes, levels, weights)
    return _cores(p, sizes, levels)


def check_fit(model: Any, profile: str | ChipProfile | None = None) -> list[dict[str, Any]]:
    """`fit`, raising ``ValueError`` that names the first resource over its limit."""
    rows = fit(model, profile)
    bad = [r for r in rows if not r["ok"]]
    if bad:
        r = bad[0]
        name = get_profile(profile if profile is not None else model.chip).name
        where = f" ({r['where']})" if r["where"] else ""
        others = [b["resource"] for b in bad[1:]]
        more = f"; also over: {others}" if others else ""
        raise ValueError(
            f"`check_fit`: the network must fit {name!r}: `{r['resource']}`{where} needs "
            f"{r['used']}, the chip offers {r['limit']}{more}."
        )
    return rows
