"""The batched Xylo emulator of one layer: ordered saturating accumulation, then the update.

Each layer adds its presynaptic events to ``isyn`` one source after the other, every add
saturating at the profile's state width (chip semantics §3.3). When no partial sum can reach a
rail, that
ordered accumulation equals the plain sum; a step checks this with the sums of the positive and
of the negative contributions (computed for all steps at once by time-folded matmuls, exact in
float32 below ``2**24``) and takes the ordered path
(`ordered_add`) only where a rail is reachable. The neuron
update is `evolve` for one synapse (synapse 2 carries no
weights in a mapped network), with integer numerics for `spikejax.chip.emulate` and
straight-through numerics for `spikejax.chip.ste.chip_forward`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax.chip.twin import straight_through
from spikejax.chip.xylo.arithmetic import (
    IntegerNumerics,
    NeuronConstants,
    evolve,
    exact_sum,
    ordered_add,
)
from spikejax.chip.xylo.profile import XYLO, XyloProfile

__all__ = ["XyloLayerConfig", "XyloLayerState", "xylo_layer", "xylo_layer_steps"]


class XyloLayerConfig(NamedTuple):
    """Static settings of one Xylo layer: weight shift, spike cap per step (hidden or readout
    cap), whether it is a non-spiking readout, ``exact`` to force the ordered path, and the
    profile."""

    shift: int
    cap: int
    readout: bool
    exact: bool = False
    profile: XyloProfile = XYLO


class XyloLayerState(NamedTuple):
    """What one Xylo layer carries from one step to the next, each int32 ``[B, n_out]``:
    the synaptic current ``isyn`` and the membrane ``vmem`` after the last step (the one-step
    delay between layers is carried by the network, `spikejax.chip.run`)."""

    isyn: Int[Array, "batch n_out"]
    vmem: Int[Array, "batch n_out"]


def xylo_layer_steps(
    cfg: XyloLayerConfig, params: dict[str, Any], counts: Int[Array, "time batch n_src"], state
) -> tuple[Any, dict[str, Int[Array, ""]], XyloLayerState]:
    """`xylo_layer` on int32 counts from ``state`` (a `XyloLayerState`): the outputs, the
    counts of these steps and the state after the last step. Chunks run one after another from
    the state the previous one ended in equal one run from the all-zero state (the one
    `xylo_layer` starts from), bit for bit."""
    return _layer(cfg, params, counts, IntegerNumerics(cfg.profile), state)


def xylo_layer(
    cfg: XyloLayerConfig, params: dict[str, Any], counts: Any, numerics: Any = None
) -> tuple[Any, dict[str, Int[Array, ""]]]:
    """Accumulate events into ``isyn`` and evolve the neurons over all steps.

    ``params``: ``weights`` ``(n_src, n_out)`` (float kernel layout), per-neuron ``dash_syn``,
    ``dash_mem``, ``threshold``, ``bias``. ``counts``: this layer's presynaptic events per step
    ``[T, B, n_src]`` (already capped and delayed). ``numerics``: ``IntegerNumerics`` of
    ``cfg.profile`` (default) or ``TwinNumerics`` (every value a ``Twin``).

    Returns:
        spike counts ``[T, B, n_out]`` (int8 with integer numerics; the membrane for a readout)
        and the counts ``{"spikes", "isyn_saturations", "dv_saturations", "vmem_saturations",
        "spike_cap_hits"}`` (a readout's spikes are ``readout_spikes``).
    """
    num = IntegerNumerics(cfg.profile) if numerics is None else numerics
    out, stats, _ = _layer(cfg, params, counts, num, None)
    return out, stats


def _layer(cfg: XyloLayerConfig, params: dict[str, Any], counts: Any, num: Any, carried):
    """The layer from ``carried`` (``None``: rest, in the numerics' own values)."""
    p = cfg.profile
    twin = not isinstance(num, IntegerNumerics)
    lo, hi = p.state_bounds
    w0 = num.value(params["weights"])
    w = jnp.left_shift(w0, cfg.shift)
    c_q = num.value(counts)
    batch, n_out = c_q.shape[1], w.shape[1]
    zero_w = jnp.zeros_like(w0)
    scale = jnp.float32(2.0**cfg.shift)
    limit = float(1 << 25)
    pos = exact_sum(c_q, jnp.maximum(w0, zero_w))
    neg = exact_sum(c_q, jnp.minimum(w0, zero_w))
    pos = jnp.clip(pos * scale, -limit, limit).astype(jnp.int32)
    neg = jnp.clip(neg * scale, -limit, limit).astype(jnp.int32)
    drive = None
    if twin:
        x, wf = counts.f, params["weights"].f
        drive = jnp.matmul(x, wf, precision=jax.lax.Precision.HIGHEST) * (2.0**cfg.shift)

    def full(v, shape=(batch, n_out)):
        return jax.tree.map(lambda a: jnp.broadcast_to(a, shape), v)

    c = NeuronConstants(
        full(jax.tree.map(lambda a: a[..., None], params["dash_syn"]), (batch, n_out, 1)),
        full(params["dash_mem"]),
        full(params["bias"]),
        full(params["threshold"]),
    )
    zero = jnp.zeros((), jnp.int32)

    def fast(isyn, c_t, pos_t, neg_t):
        return isyn + pos_t + neg_t, zero

    def slow(isyn, c_t, pos_t, neg_t):
        return ordered_add(isyn, c_t.astype(jnp.int32), w, p.state_bits)

    def step(carry, inp):
        isyn, vmem, sat_i, sat_dv, sat_v, caps, spikes = carry
        c_t, pos_t, neg_t, drive_t = inp
        isyn_q = num.value(isyn)[..., 0]
        if cfg.exact:
            isyn_q, n_sat = slow(isyn_q, c_t, pos_t, neg_t)
        else:
            reach = jnp.any(isyn_q + pos_t > hi) | jnp.any(isyn_q + neg_t < lo)
            isyn_q, n_sat = jax.lax.cond(reach, slow, fast, isyn_q, c_t, pos_t, neg_t)
        if twin:
            isyn = straight_through(isyn_q[..., None], isyn.f + drive_t[..., None], num.unit)
        else:
            isyn = isyn_q[..., None]
        isyn, vmem, n, (s1, s2, s3, capped) = evolve(num, c, isyn, vmem, cap=cfg.cap)
        sat_dv = sat_dv + s1.astype(jnp.int32) + s2.astype(jnp.int32)
        sat_v = sat_v + s3.astype(jnp.int32)
        caps = caps + capped.astype(jnp.int32)
        carry = (isyn, vmem, sat_i + n_sat, sat_dv, sat_v, caps, spikes + num.value(n))
        if cfg.readout:
            return carry, vmem
        return carry, (n if twin else n.astype(jnp.int8))

    state = jnp.zeros((batch, n_out), jnp.int32)
    isyn0, vmem0 = state[..., None], state
    if twin:
        isyn0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), c.dash_syn)
        vmem0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), c.dash_mem)
    if carried is not None:
        isyn0, vmem0 = carried.isyn[..., None], carried.vmem
    init = (isyn0, vmem0, zero, state, state, state, state)
    xs = (c_q, pos, neg, drive if twin else jnp.zeros((c_q.shape[0],), jnp.float32))
    (isyn, vmem, sat_i, sat_dv, sat_v, caps, spikes), out = jax.lax.scan(step, init, xs)
    stats = {"readout_spikes" if cfg.readout else "spikes": jnp.sum(spikes)}
    stats |= {"isyn_saturations": sat_i, "dv_saturations": jnp.sum(sat_dv)}
    stats |= {"vmem_saturations": jnp.sum(sat_v), "spike_cap_hits": jnp.sum(caps)}
    return out, stats, XyloLayerState(num.value(isyn)[..., 0], num.value(vmem))
