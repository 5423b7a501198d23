"""Loihi layers of a quantized MLP, one ``lax.scan`` per layer, with saturation counts.

A feed-forward chain needs no fused network scan: layer k at step t reads only the Dense buffer
that layer k-1's spikes produced at step t-1. So each layer computes its Dense outputs for all
steps at once (one time-folded matmul), delays them by one step, and scans only the CUBA-LIF
update. Every operation is the one of :func:`spikejax.chip.loihi.lif_step` and
:func:`spikejax.chip.loihi.dense` (the equivalence with :func:`spikejax.chip.loihi.run` is
tested); the scan also carries per-neuron integer counts of ``u`` wraps and ``v`` clips
(summed after the scan).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax.chip._intmath import loihi_decay, shift
from spikejax.chip._profiles import LOIHI

__all__ = ["LoihiLayerConfig", "exact_matmul", "loihi_layer"]

_F32_EXACT = 1 << 24


class LoihiLayerConfig(NamedTuple):
    """Static settings of one Loihi layer: ``weight_exp``, ``bias_exp``, the largest input count,
    whether ``du`` is the constant 4095 (current = this step's input) and whether the layer is
    a non-spiking readout (its membrane is the output)."""

    weight_exp: int
    bias_exp: int
    max_count: int
    du_is_max: bool
    readout: bool


def exact_matmul(
    x: Int[Array, "time batch n_in"], w: Int[Array, "n_in n_out"], bound: int, max_abs: int
) -> Int[Array, "time batch n_out"]:
    """``x @ w`` exactly, for integer ``x`` and ``w`` with ``|x|, |w| <= max_abs``.

    Every partial sum is an integer of magnitude at most ``bound``; below ``2**24`` a float
    matmul with float32 accumulation is exact whatever the summation order. Operands of at most
    256 in magnitude have at most 8 significant bits and are exact in bfloat16 (the faster
    operand type); larger ones go as float32. Beyond ``2**24`` the product is an int32 matmul.
    """
    if bound < _F32_EXACT:
        dtype = jnp.bfloat16 if max_abs <= 256 else jnp.float32
        acc = jnp.matmul(
            x.astype(dtype),
            w.astype(dtype),
            preferred_element_type=jnp.float32,
            precision=jax.lax.Precision.HIGHEST,
        )
        return acc.astype(jnp.int32)
    return jnp.matmul(x.astype(jnp.int32), w, preferred_element_type=jnp.int32)


def loihi_layer(
    cfg: LoihiLayerConfig,
    params: dict[str, Int[Array, "..."]],
    x: Int[Array, "time batch n_in"],
) -> tuple[Int[Array, "time batch n_out"], dict[str, Int[Array, ""]]]:
    """Dense (one step of delay) then CUBA LIF over all steps.

    ``params``: ``weights`` ``(n_in, n_out)`` (the float kernel's layout) and per-neuron ``du``,
    ``dv``, ``vth``, ``bias_mant`` ``(n_out,)``. ``x``: input counts (binary spikes, or up to
    ``cfg.max_count`` events standing for that many binary input lines).

    Returns:
        the spikes ``[T, B, n_out]`` (int8; the int32 membrane ``v`` after reset for a readout)
        and the counts
        ``{"spikes", "u_wraps", "v_saturations"}`` (a readout's spikes are ``readout_spikes``).
    """
    p = LOIHI
    bound_state = p.state_bound
    w = params["weights"]
    n_out = w.shape[1]
    w_max = max(-p.weight_min_mixed, p.weight_max)
    bound = w.shape[0] * cfg.max_count * w_max
    buf = shift(exact_matmul(x, w, bound, max(cfg.max_count, w_max)), cfg.weight_exp)
    a = jnp.concatenate([jnp.zeros_like(buf[:1]), buf[:-1]])
    batch = x.shape[1]

    def full(v):
        return jnp.broadcast_to(v, (batch, n_out))

    du1 = full(params["du"] + p.du_offset)
    dv = full(params["dv"] + p.dv_offset)
    bias = full(shift(params["bias_mant"], cfg.bias_exp))
    vth = full(jnp.left_shift(params["vth"], p.vth_shift))
    zero = full(jnp.zeros((), jnp.int32))

    def step(carry, a_t):
        u, v, wraps, clips, spikes = carry
        inp = jnp.left_shift(a_t, p.act_shift)
        u_pre = inp if cfg.du_is_max else loihi_decay(u, du1, decay_bits=p.decay_bits) + inp
        high, low = u_pre > bound_state, u_pre <= -bound_state
        u = jnp.where(high, u_pre - 2 * bound_state, u_pre)
        u = jnp.where(low, u_pre + 2 * bound_state, u)
        v_pre = loihi_decay(v, dv, decay_bits=p.decay_bits) + u + bias
        v = jnp.clip(v_pre, -(bound_state - 1), bound_state - 1)
        clips = clips + (v != v_pre).astype(jnp.int32)
        s = v > vth
        v = jnp.where(s, jnp.zeros_like(v), v)
        wraps = wraps + (high | low).astype(jnp.int32)
        carry = (u, v, wraps, clips, spikes + s.astype(jnp.int32))
        return carry, (v if cfg.readout else s.astype(jnp.int8))

    init = (zero, zero, zero, zero, zero)
    (_, _, wraps, clips, spikes), out = jax.lax.scan(step, init, a)
    stats = {"readout_spikes" if cfg.readout else "spikes": jnp.sum(spikes)}
    stats |= {"u_wraps": jnp.sum(wraps), "v_saturations": jnp.sum(clips)}
    return out, stats
