"""Loihi layers of a quantized MLP, one ``lax.scan`` per layer, with saturation counts.

A feed-forward chain needs no fused network scan: layer k at step t reads only the Dense buffer
that layer k-1's spikes produced at step t-1. So each layer computes its Dense outputs for many
steps at once (one time-folded matmul per chunk of steps), delays them by one step, and scans
only the CUBA-LIF update. Every operation is the one of :func:`spikejax.chip.loihi.lif_step` and
:func:`spikejax.chip.loihi.dense` (the equivalence with :func:`spikejax.chip.loihi.run` is
tested); per-neuron integer counts of spikes, ``u`` wraps and ``v`` clips are summed after the scan.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Int

from spikejax.chip._intmath import loihi_decay, shift
from spikejax.chip._profiles import LOIHI

__all__ = ["LoihiLayerConfig", "exact_matmul", "loihi_layer"]

_F32_EXACT = 1 << 24

_CHUNK_BYTES = 4 << 20  # int32 Dense outputs per chunk: big matmuls that still stay in cache
_CHUNK_MAX = 32


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

    The Dense stage is linear, so delaying its input by one step (row 0 sees zeros) equals
    delaying its output. The steps are processed in chunks of up to 32 steps (about 4 MiB of
    int32 Dense outputs; one shorter chunk takes the rest): each chunk does one matmul for all
    its steps and then scans the neuron update over them, so the chunk's Dense outputs stay in
    cache instead of a ``[T, B, n_out]`` int32 array going through memory several times. The
    per-step flags (spike, ``v`` clipped, ``u`` wrapped) leave the scan packed in one int8 and
    are counted per chunk. With ``du`` = 4095 the current is this step's input, so ``u`` and its
    wrap-around are computed for the whole chunk outside the sequential scan.

    Returns:
        the spikes ``[T, B, n_out]`` (int8; the int32 membrane ``v`` after reset for a readout)
        and the counts
        ``{"spikes", "u_wraps", "v_saturations"}`` (a readout's spikes are ``readout_spikes``).
    """
    p = LOIHI
    w = params["weights"]
    n_out = w.shape[1]
    w_max = max(-p.weight_min_mixed, p.weight_max)
    bound = w.shape[0] * cfg.max_count * w_max
    max_abs = max(cfg.max_count, w_max)
    batch = x.shape[1]

    def full(v):
        return jnp.broadcast_to(v, (batch, n_out))

    consts = _Consts(
        du1=full(params["du"] + p.du_offset),
        dv=full(params["dv"] + p.dv_offset),
        bias=full(shift(params["bias_mant"], cfg.bias_exp)),
        vth=full(jnp.left_shift(params["vth"], p.vth_shift)),
    )
    delayed = jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])

    def chunk(carry, x_chunk):
        n = x_chunk.shape[0]
        flat = x_chunk.reshape(n * batch, x_chunk.shape[2])
        acc = exact_matmul(flat, w, bound, max_abs).reshape(n, batch, n_out)
        return _neuron_chunk(cfg, consts, carry, shift(acc, cfg.weight_exp))

    zero = full(jnp.zeros((), jnp.int32))
    carry = _Carry(u=zero, v=zero, spikes=zero, wraps=zero, clips=zero)
    T = x.shape[0]
    steps = _chunk_steps(batch, n_out)
    n_full, rest = divmod(T, steps)
    outs = []
    if n_full:
        body = delayed[: n_full * steps].reshape(n_full, steps, *x.shape[1:])
        carry, out = jax.lax.scan(chunk, carry, body)
        outs.append(out.reshape(n_full * steps, batch, n_out))
    if rest:
        carry, out = chunk(carry, delayed[n_full * steps :])
        outs.append(out)
    out = outs[0] if len(outs) == 1 else jnp.concatenate(outs)
    stats = {"readout_spikes" if cfg.readout else "spikes": jnp.sum(carry.spikes)}
    stats |= {"u_wraps": jnp.sum(carry.wraps), "v_saturations": jnp.sum(carry.clips)}
    return out, stats


def _chunk_steps(batch: int, n_out: int) -> int:
    """Time steps per chunk: about ``_CHUNK_BYTES`` of int32 Dense outputs, 1 to ``_CHUNK_MAX``."""
    return max(1, min(_CHUNK_MAX, _CHUNK_BYTES // (4 * batch * n_out)))


class _Consts(NamedTuple):
    du1: Int[Array, "batch n"]
    dv: Int[Array, "batch n"]
    bias: Int[Array, "batch n"]
    vth: Int[Array, "batch n"]


class _Carry(NamedTuple):
    """Neuron state and per-neuron event counts carried from chunk to chunk."""

    u: Int[Array, "batch n"]
    v: Int[Array, "batch n"]
    spikes: Int[Array, "batch n"]
    wraps: Int[Array, "batch n"]
    clips: Int[Array, "batch n"]


_SPIKE, _CLIP, _WRAP = 1, 2, 4  # bits of the packed per-step flags


def _wrap(u_pre: Int[Array, "..."]) -> tuple[Int[Array, "..."], Bool[Array, "..."]]:
    """Lava's 24-bit wrap-around of the current: ``u_pre ∓ 2B`` outside ``(-B, B]``."""
    bound = LOIHI.state_bound
    high, low = u_pre > bound, u_pre <= -bound
    u = jnp.where(high, u_pre - 2 * bound, u_pre)
    return jnp.where(low, u_pre + 2 * bound, u), high | low


def _neuron_chunk(cfg: LoihiLayerConfig, c: _Consts, carry: _Carry, a: Int[Array, "steps b n"]):
    """CUBA LIF over the steps of one chunk, from the chunk's Dense outputs ``a``."""
    p = LOIHI
    bound = p.state_bound
    inp = jnp.left_shift(a, p.act_shift)
    if cfg.du_is_max:
        u_all, wrapped = _wrap(inp)  # the current does not depend on the previous current
        xs = (u_all, wrapped)
    else:
        xs = (inp, jnp.zeros(inp.shape, jnp.bool_))

    def step(state, x_t):
        u, v = state
        inp_t, wrapped_t = x_t
        if cfg.du_is_max:
            u = inp_t
        else:
            u, wrapped_t = _wrap(loihi_decay(u, c.du1, decay_bits=p.decay_bits) + inp_t)
        v_pre = loihi_decay(v, c.dv, decay_bits=p.decay_bits) + u + c.bias
        v = jnp.clip(v_pre, -(bound - 1), bound - 1)
        s = v > c.vth
        flags = jnp.where(s, _SPIKE, 0) | jnp.where(v != v_pre, _CLIP, 0)
        flags = (flags | jnp.where(wrapped_t, _WRAP, 0)).astype(jnp.int8)
        v = jnp.where(s, jnp.zeros_like(v), v)
        return (u, v), ((flags, v) if cfg.readout else flags)

    (u, v), ys = jax.lax.scan(step, (carry.u, carry.v), xs)
    flags, v_out = ys if cfg.readout else (ys, None)

    carry = _Carry(
        u=u,
        v=v,
        spikes=carry.spikes + _count(flags, _SPIKE),
        wraps=carry.wraps + _count(flags, _WRAP),
        clips=carry.clips + _count(flags, _CLIP),
    )
    return carry, (v_out if cfg.readout else jnp.bitwise_and(flags, _SPIKE))


def _count(flags: Int[Array, "steps b n"], bit: int) -> Int[Array, "b n"]:
    """How many steps of a chunk have ``bit`` set, per neuron."""
    return jnp.sum((jnp.bitwise_and(flags, bit) != 0).astype(jnp.int32), axis=0)
