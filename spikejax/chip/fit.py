"""Does a network fit a chip? Resource use against a profile's limits, resource by resource.

Two kinds of targets:

* a single-core chip with fixed input, hidden and output populations (Xylo): input channels,
  hidden neurons (all hidden layers together), readout neurons, input events per step and the
  fan-out of every hidden neuron (non-zero outgoing weights, counted from the integer weights of
  a chip model, or every synapse of a float model);
* a many-core chip (Loihi, TrueNorth, SpiNNaker, ...): each layer is split over cores so that a
  core holds at most ``neurons_per_core`` neurons and at most ``synapse_bits_per_core`` bits of
  weights; each core's axons (``fan_in_per_core``: the presynaptic lines that reach it, the
  receptive field of its neurons for a convolution), synapses, synaptic memory (shared kernels
  for convolutions) and fan-out (``fan_out_per_core``: one output axon per neuron and target
  core) are counted from the layer's connectivity by `spikejax.chip.cores`; the cores add
  up (``cores``).

Limits a profile does not know (``None``) are not checked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spikejax.chip._graph import describe
from spikejax.chip._model import ChipModel
from spikejax.chip.cores import core_plan, fan_out, synapse_bits
from spikejax.chip.profiles import ChipProfile, get_profile

__all__ = ["check_fit", "fit", "synapse_bits"]


def _row(resource: str, used: int, limit: int | None, where: str = "") -> dict[str, Any]:
    return {
        "resource": resource,
        "used": int(used),
        "limit": limit,
        "ok": limit is None or used <= limit,
        "where": where,
    }


def _layers(model: Any) -> tuple[tuple, int, list[np.ndarray | None]]:
    if isinstance(model, ChipModel):
        leaves = model.leaves()
        specs = tuple(layer.spec for layer in model.layers)
        weights = [None if s.kernel is None else np.asarray(leaves[s.kernel]) for s in specs]
        return specs, model.input_levels, weights
    specs = describe(model, fn="fit")
    return specs, 1, [None] * len(specs)


def _xylo(profile: ChipProfile, specs, levels, weights) -> list[dict[str, Any]]:
    sizes = [specs[0].n_in, *(s.n_out for s in specs)]
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


def _cores(profile: ChipProfile, specs, levels) -> list[dict[str, Any]]:
    r = profile.resources
    bits_w = 1 if profile.name == "truenorth" else max(profile.weight_bits)
    rows, cores, plans = [], 0, []
    for k, spec in enumerate(specs):
        lines = levels if k == 0 else 1
        n = spec.n_out
        per_core = n if r.neurons_per_core is None else min(n, r.neurons_per_core)
        while True:
            plan, targets = core_plan(spec, per_core, lines, bits_w, profile.name == "truenorth")
            memory = max(c.memory_bits for c in plan)
            axons = max(c.axons for c in plan)
            # fewer neurons per core: less weight memory, and for a convolution or pooling
            # window a smaller receptive field (a dense layer's fan-in does not shrink)
            over_memory = r.synapse_bits_per_core is not None and memory > r.synapse_bits_per_core
            over_fan_in = (
                r.fan_in_per_core is not None
                and axons > r.fan_in_per_core
                and spec.conn.op != "dense"
            )
            if per_core == 1 or not (over_memory or over_fan_in):
                break
            per_core = math.ceil(per_core / 2)
        plans.append((plan, targets))
        cores += len(plan)
        where = f"layer {k}"
        rows.append(_row("fan_in_per_core", axons, r.fan_in_per_core, where))
        rows.append(_row("neurons_per_core", per_core, r.neurons_per_core, where))
        rows.append(_row("synapse_bits_per_core", memory, r.synapse_bits_per_core, where))
        rows.append(_row("synapses", sum(c.synapses for c in plan), None, where))
    for k in range(len(plans) - 1):
        fan = fan_out(plans[k][0], plans[k + 1][1])
        rows.append(_row("fan_out_per_core", fan, r.fan_out_per_core, f"layer {k}"))
    rows.append(_row("cores", cores, r.cores))
    rows.append(_row("neurons", sum(s.n_out for s in specs), r.neurons))
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
    specs, levels, weights = _layers(model)
    if p.resources.input_channels is not None and p.resources.cores == 1:
        return _xylo(p, specs, levels, weights)
    return _cores(p, specs, levels)


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
