"""Xylo layers of a quantized MLP, one ``lax.scan`` per layer, with saturation counts.

Each layer adds its presynaptic events to ``isyn`` one source after the other, every add
saturating at 16 bits (spec 3.3). When no partial sum can reach a rail, that ordered
accumulation equals the plain sum; a step checks this with the sums of the positive and of the
negative contributions (computed for all steps at once by time-folded matmuls, exact in float32
below ``2**24``) and takes the ordered path only where a rail is reachable: a loop over the
presynaptic sources, vectorized over batch and neurons, that also counts the adds that saturated.

The neuron update is :func:`spikejax.chip.xylo.evolve` for one synapse (synapse 2 carries no
weights in a mapped MLP and stays 0), with counts of every saturation. The equivalence with
:func:`spikejax.chip.xylo.run` is tested.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from spikejax.chip._intmath import dash_delta, saturate
from spikejax.chip._profiles import XYLO

__all__ = ["XyloLayerConfig", "ordered_add", "xylo_layer"]


class XyloLayerConfig(NamedTuple):
    """Static settings of one Xylo layer: weight shift, spike cap per step (31 hidden, 1
    readout), whether it is a non-spiking readout, and ``exact`` to force the ordered path."""

    shift: int
    cap: int
    readout: bool
    exact: bool = False


def ordered_add(
    acc: Int[Array, "batch n"], counts: Int[Array, "batch src"], w: Int[Array, "src n"]
) -> tuple[Int[Array, "batch n"], Int[Array, ""]]:
    """``for i: acc = clip(acc + counts[:, i] * w[i])`` over the int16 range, sources in order.

    The events of one source have one sign, so they equal one saturating add of their sum (spec
    3.3). Returns the final accumulator and the number of source adds whose unclipped result
    left the range.
    """
    lo, hi = XYLO.state_bounds

    def body(i, carry):
        acc, clipped = carry
        total = acc + counts[:, i][:, None] * w[i][None, :]
        clipped = clipped + ((total > hi) | (total < lo)).astype(jnp.int32)
        return jnp.clip(total, lo, hi), clipped

    acc, clipped = jax.lax.fori_loop(0, counts.shape[1], body, (acc, jnp.zeros_like(acc)))
    return acc, jnp.sum(clipped)


def exact_sum(
    counts: Int[Array, "time batch src"], w: Int[Array, "src n"]
) -> Float[Array, "time batch n"]:
    """``counts @ w`` for counts and weights of at most 256 in magnitude (exact in bfloat16),
    accumulated in float32: exact while the true value stays below ``2**24`` in magnitude;
    beyond, a float32 value of nearly that size, far past any rail, which is all the check
    needs."""
    return jnp.matmul(
        counts.astype(jnp.bfloat16), w.astype(jnp.bfloat16), preferred_element_type=jnp.float32
    )


def xylo_layer(
    cfg: XyloLayerConfig,
    params: dict[str, Int[Array, "..."]],
    counts: Int[Array, "time batch n_src"],
) -> tuple[Int[Array, "time batch n_out"], dict[str, Int[Array, ""]]]:
    """Accumulate events into ``isyn`` and evolve the neurons over all steps.

    ``params``: ``weights`` ``(n_src, n_out)`` (float kernel layout), per-neuron ``dash_syn``,
    ``dash_mem``, ``threshold``, ``bias``. ``counts``: this layer's presynaptic events per step
    (already capped and delayed).

    Returns:
        spike counts ``[T, B, n_out]`` (int8; the int32 membrane for a readout) and the counts
        ``{"spikes", "isyn_saturations", "dv_saturations", "vmem_saturations",
        "spike_cap_hits"}`` (a readout's spikes are ``readout_spikes``).
    """
    p = XYLO
    lo, hi = p.state_bounds
    w0 = params["weights"]
    w = jnp.left_shift(w0, cfg.shift)
    batch, n_out = counts.shape[1], w.shape[1]
    zero_w = jnp.zeros_like(w0)
    unit = jnp.float32(2.0**cfg.shift)
    limit = float(1 << 25)
    pos = exact_sum(counts, jnp.maximum(w0, zero_w))
    neg = exact_sum(counts, jnp.minimum(w0, zero_w))
    pos = jnp.clip(pos * unit, -limit, limit).astype(jnp.int32)
    neg = jnp.clip(neg * unit, -limit, limit).astype(jnp.int32)

    def full(v):
        return jnp.broadcast_to(v, (batch, n_out))

    dash_syn, dash_mem = full(params["dash_syn"]), full(params["dash_mem"])
    bias, thr = full(params["bias"]), full(params["threshold"])
    zero = jnp.zeros((), jnp.int32)

    def fast(isyn, c_t, pos_t, neg_t):
        return isyn + pos_t + neg_t, zero

    def slow(isyn, c_t, pos_t, neg_t):
        return ordered_add(isyn, c_t.astype(jnp.int32), w)

    def step(carry, inp):
        isyn, vmem, sat_i, sat_dv, sat_v, caps, spikes = carry
        c_t, pos_t, neg_t = inp
        if cfg.exact:
            isyn, n_sat = slow(isyn, c_t, pos_t, neg_t)
        else:
            reach = jnp.any(isyn + pos_t > hi) | jnp.any(isyn + neg_t < lo)
            isyn, n_sat = jax.lax.cond(reach, slow, fast, isyn, c_t, pos_t, neg_t)
        isyn = isyn - dash_delta(isyn, dash_syn)
        dv_pre = -dash_delta(vmem, dash_mem) + isyn
        dv = saturate(dv_pre, p.state_bits)
        dv2_pre = dv + bias
        dv2 = saturate(dv2_pre, p.state_bits)
        v_pre = vmem + dv2
        vmem = saturate(v_pre, p.state_bits)
        sat_dv = sat_dv + (dv != dv_pre).astype(jnp.int32) + (dv2 != dv2_pre).astype(jnp.int32)
        sat_v = sat_v + (vmem != v_pre).astype(jnp.int32)
        above = vmem >= thr
        q = jnp.floor_divide(vmem, thr)
        n = jnp.where(above, jnp.minimum(q, cfg.cap), jnp.zeros_like(q))
        caps = caps + (above & (q > cfg.cap)).astype(jnp.int32)
        vmem = vmem - n * thr
        carry = (isyn, vmem, sat_i + n_sat, sat_dv, sat_v, caps, spikes + n)
        return carry, (vmem if cfg.readout else n.astype(jnp.int8))

    state = full(zero)
    init = (state, state, zero, state, state, state, state)
    (_, _, sat_i, sat_dv, sat_v, caps, spikes), out = jax.lax.scan(step, init, (counts, pos, neg))
    stats = {"readout_spikes" if cfg.readout else "spikes": jnp.sum(spikes)}
    stats |= {"isyn_saturations": sat_i, "dv_saturations": jnp.sum(sat_dv)}
    stats |= {"vmem_saturations": jnp.sum(sat_v), "spike_cap_hits": jnp.sum(caps)}
    return out, stats
