"""The batched Loihi emulator of one layer: time-folded Dense, then a scan of the LIF update.

A feed-forward chain needs no fused network scan: layer k at step t reads only the Dense buffer
that layer k-1's spikes produced at step t-1. So each layer computes its Dense outputs for many
steps at once (one time-folded matmul per chunk of steps), delays them by one step, and scans
only the neuron update. Both stages are those of `spikejax.chip.loihi.arithmetic`
(``synapse``, ``lif_update``), with integer numerics for `spikejax.chip.emulate` and
straight-through numerics for `spikejax.chip.ste.chip_forward`; per-neuron counts of spikes,
``u`` wraps and ``v`` clips are summed after the scan.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax.chip.connectivity import Synapse
from spikejax.chip.loihi.arithmetic import IntegerNumerics, lif_update
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile

__all__ = ["LoihiLayerConfig", "LoihiLayerState", "loihi_layer", "loihi_layer_steps"]

_CHUNK_BYTES = 4 << 20  # int32 Dense outputs per chunk: big matmuls that still stay in cache
_CHUNK_MAX = 32


class LoihiLayerConfig(NamedTuple):
    """Static settings of one Loihi layer: ``weight_exp``, ``bias_exp``, the largest input count,
    whether ``du + du_offset`` is the decay unity (current = this step's input), whether the
    layer is a non-spiking readout (its membrane is the output), the profile, the connectivity
    (``None``: dense) and the exponent of a recurrent Dense (``None``: no recurrence)."""

    weight_exp: int
    bias_exp: int
    max_count: int
    du_is_max: bool
    readout: bool
    profile: LoihiProfile = LOIHI
    conn: Synapse | None = None
    rec_exp: int | None = None


class LoihiLayerState(NamedTuple):
    """What one Loihi layer carries from one step to the next, each int32 ``[B, n]``.

    Attributes:
        u: synaptic current after the last step (``n = n_out``).
        v: membrane after spike and reset (``n = n_out``).
        s: the last step's spikes (read by a recurrent Dense in the next step; for a readout its
            would-be spikes).
        pending: the events that reached the layer's synapses in the last step (``n = n_in``):
            the Dense stage delivers them one step late, so they are the content of the synaptic
            delay register (Lava's ``a_buff`` is ``synapse(pending)``).
    """

    u: Int[Array, "batch n_out"]
    v: Int[Array, "batch n_out"]
    s: Int[Array, "batch n_out"]
    pending: Int[Array, "batch n_in"]


def _map(fn, x):
    """``fn`` on every array of a value (an int32 array or a straight-through ``Twin``)."""
    return jax.tree.map(fn, x)


def loihi_layer(
    cfg: LoihiLayerConfig, params: dict[str, Any], x: Any, numerics: Any = None
) -> tuple[Any, dict[str, Int[Array, ""]]]:
    """Dense (one step of delay) then CUBA LIF over all steps.

    ``params``: ``weights`` ``(n_in, n_out)`` (the float kernel's layout; a convolution's kernel
    or a pooling relay's shared weight with ``cfg.conn``), per-neuron ``du``, ``dv``, ``vth``,
    ``bias_mant`` ``(n_out,)`` and, with ``cfg.rec_exp``, ``rec_weights`` ``(n_out, n_out)``
    (pre, post): a recurrent Dense whose buffer of step t (from the spikes of step t) adds to the
    feed-forward buffer at step t + 1, as Lava sums the buffers of all Dense into one neuron.
    ``x``: input counts ``[T, B, n_in]`` (binary spikes, or up to ``cfg.max_count`` events
    standing for that many binary input lines).
    ``numerics``: `IntegerNumerics` of ``cfg.profile``
    (default: int32 arrays everywhere) or ``TwinNumerics`` (every value a ``Twin``).

    The Dense stage is linear, so delaying its input by one step (row 0 sees zeros) equals
    delaying its output. The steps are processed in chunks of up to 32 steps (about 4 MiB of
    int32 Dense outputs; one shorter chunk takes the rest): each chunk does one matmul for all
    its steps and then scans the neuron update over them. With ``du`` at its maximum the current
    is this step's input, so ``u`` and its wrap-around are computed for the whole chunk outside
    the sequential scan.

    Returns:
        the spikes ``[T, B, n_out]`` (int8 with integer numerics; the membrane ``v`` after reset
        for a readout) and the counts ``{"spikes", "u_wraps", "v_saturations"}`` (a readout's
        spikes are ``readout_spikes``).
    """
    num = IntegerNumerics(cfg.profile) if numerics is None else numerics
    out, stats, _ = _layer(cfg, params, x, num, None)
    return out, stats


def loihi_layer_steps(
    cfg: LoihiLayerConfig, params: dict[str, Any], x: Int[Array, "time batch n_in"], state
) -> tuple[Any, dict[str, Int[Array, ""]], LoihiLayerState]:
    """`loihi_layer` on int32 events from ``state`` (a `LoihiLayerState`): the outputs, the
    counts of these steps, and the state after the last step. Running a sequence in chunks,
    each from the state the previous one ended in, equals one run from the all-zero state (the
    one `loihi_layer` starts from), bit for bit."""
    return _layer(cfg, params, x, IntegerNumerics(cfg.profile), state)


def _layer(cfg: LoihiLayerConfig, params: dict[str, Any], x: Any, num: Any, state):
    """The layer from ``state`` (``None``: rest, in the numerics' own values)."""
    w = params["weights"]
    x_q = num.value(x)
    T, batch = x_q.shape[0], x_q.shape[1]
    n_out = num.value(w).shape[1] if cfg.conn is None else cfg.conn.n_out
    shape = (batch, n_out)
    c = num.constants(
        shape, params["du"], params["dv"], params["vth"], params["bias_mant"], cfg.bias_exp
    )
    if state is None:
        pending = _map(lambda a: jnp.zeros_like(a[0]), x)
    else:
        pending = state.pending
    delayed = jax.tree.map(
        lambda a, p: jnp.concatenate([p[None].astype(a.dtype), a[:-1]]), x, pending
    )

    def chunk(carry, x_chunk):
        n = num.value(x_chunk).shape[0]
        flat = _map(lambda a: a.reshape(n * batch, a.shape[2]), x_chunk)
        acc = num.synapse(flat, w, cfg.weight_exp, cfg.max_count, cfg.conn)
        a = _map(lambda a: a.reshape(n, *shape), acc)
        return _neuron_chunk(cfg, num, c, params.get("rec_weights"), carry, a)

    zero = jnp.zeros(shape, jnp.int32)
    if state is None:
        state0 = _map(lambda a: jnp.zeros(shape, a.dtype), c.bias)
        carry = (state0, state0, state0, zero, zero, zero)
    else:
        carry = (state.u, state.v, state.s, zero, zero, zero)
    steps = max(1, min(_CHUNK_MAX, _CHUNK_BYTES // (4 * batch * n_out)))
    n_full, rest = divmod(T, steps)
    outs = []
    if n_full:
        body = _map(lambda a: a[: n_full * steps].reshape(n_full, steps, *a.shape[1:]), delayed)
        carry, out = jax.lax.scan(chunk, carry, body)
        outs.append(_map(lambda a: a.reshape(n_full * steps, *shape), out))
    if rest:
        carry, out = chunk(carry, _map(lambda a: a[n_full * steps :], delayed))
        outs.append(out)
    out = outs[0] if len(outs) == 1 else jax.tree.map(lambda *a: jnp.concatenate(a), *outs)
    u, v, s, spikes, wraps, clips = carry
    stats = {"readout_spikes" if cfg.readout else "spikes": jnp.sum(spikes)}
    stats |= {"u_wraps": jnp.sum(wraps), "v_saturations": jnp.sum(clips)}
    last = _map(lambda a: a[-1], x)
    return out, stats, LoihiLayerState(u, v, num.value(s), num.value(last))


_SPIKE, _CLIP, _WRAP = 1, 2, 4  # bits of the packed per-step flags


def _neuron_chunk(cfg: LoihiLayerConfig, num, c, w_rec, carry, a):
    """The LIF update over the steps of one chunk, from the chunk's Dense outputs ``a`` (plus
    the recurrent Dense of the previous step's spikes with ``w_rec``)."""
    u0, v0, s0, spikes, wraps, clips = carry
    recurrent = cfg.rec_exp is not None
    if cfg.du_is_max and not recurrent:
        xs = num.wrap(num.input(a))  # the current does not depend on the previous current
    else:
        xs = (a, jnp.zeros(num.value(a).shape, jnp.bool_))

    def step(state, x_t):
        u, v, s_prev = state
        a_t, wrapped_t = x_t
        current = (a_t, wrapped_t) if cfg.du_is_max and not recurrent else None
        if recurrent:
            a_t = num.add(a_t, num.synapse(s_prev, w_rec, cfg.rec_exp, 1))
        u, v, s, wrapped, clipped = lif_update(num, c, u, v, a_t, current=current)
        flags = jnp.where(num.value(s) != 0, _SPIKE, 0) | jnp.where(clipped, _CLIP, 0)
        flags = (flags | jnp.where(wrapped, _WRAP, 0)).astype(jnp.int8)
        return (u, v, s), (flags if packed else (flags, v if cfg.readout else s))

    packed = isinstance(num, IntegerNumerics) and not cfg.readout  # spikes are the flags' bit 0
    (u, v, s_last), ys = jax.lax.scan(step, (u0, v0, s0), xs)
    flags, out = (ys, jnp.bitwise_and(ys, _SPIKE)) if packed else ys
    carry = (
        u,
        v,
        s_last,
        spikes + _count(flags, _SPIKE),
        wraps + _count(flags, _WRAP),
        clips + _count(flags, _CLIP),
    )
    return carry, out


def _count(flags: Int[Array, "steps b n"], bit: int) -> Int[Array, "b n"]:
    """How many steps of a chunk have ``bit`` set, per neuron."""
    return jnp.sum((jnp.bitwise_and(flags, bit) != 0).astype(jnp.int32), axis=0)
