"""The Loihi network step by step, as traced: Dense with a one-step delay, CUBA-LIF, the scan.

The reference for the trace replay; the arithmetic is `spikejax.chip.loihi.arithmetic`.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax._errors import is_concrete
from spikejax.chip._checks import as_int, check_input_events, check_like
from spikejax.chip.loihi.arithmetic import IntegerNumerics, lif_constants, lif_update, synapse
from spikejax.chip.loihi.params import LoihiDense, LoihiLIF, LoihiNetwork

__all__ = ["LoihiState", "dense", "init_state", "lif_step", "run", "step"]


class LoihiState(NamedTuple):
    """Carry of the Loihi network scan, each ``(*batch, n)`` int32.

    ``u1, v1`` / ``u2, v2``: current and voltage of the hidden / output layer. ``buf1``, ``buf2``,
    ``bufrec``: Dense outputs computed in the previous step (``dense1``, ``dense2``, ``dense_rec``;
    ``bufrec`` stays 0 without a recurrent Dense), delivered in this step.
    """

    u1: Int[Array, "*batch hid"]
    v1: Int[Array, "*batch hid"]
    u2: Int[Array, "*batch out"]
    v2: Int[Array, "*batch out"]
    buf1: Int[Array, "*batch hid"]
    buf2: Int[Array, "*batch out"]
    bufrec: Int[Array, "*batch hid"]


def dense(layer: LoihiDense, s: Int[Array, "*batch pre"]) -> Int[Array, "*batch post"]:
    """``shift(W @ s, weight_exp)`` for binary int32 spikes ``s`` (the shift follows the exact
    sum): `synapse` with the layer's profile."""
    batch = s.shape[:-1]
    flat = s.reshape((-1, s.shape[-1]))
    out = synapse(flat, layer.weights.T, layer.weight_exp, layer.profile)
    return out.reshape((*batch, out.shape[-1]))


def lif_step(
    lif: LoihiLIF,
    u: Int[Array, "*batch n"],
    v: Int[Array, "*batch n"],
    a_in: Int[Array, "*batch n"],
    ts: Int[Array, ""],
) -> tuple[Int[Array, "*batch n"], Int[Array, "*batch n"], Int[Array, "*batch n"]]:
    """One Lava bit-accurate CUBA-LIF update at Lava time step ``ts`` (``= row + 1``).

    With ``B = 2**23`` (``profile.state_bound``) and ``decay(x, d) = sign(x) * ((|x| * (4096 - d))
    >> 12)`` (`decay`), in order (step 0 here, steps 1-6 in
    `lif_update`; constants of the default profile):

    0. with ``reset``: if ``ts mod interval == offset mod interval``: ``u = 0``, ``v = 0``;
    1. ``u_pre = decay(u, du + 1) + (a_in << 6)``;
    2. ``u = u_pre - 2B`` if ``u_pre > B``; ``u_pre + 2B`` if ``u_pre <= -B``; else ``u_pre``;
    3. ``v_pre = decay(v, dv) + u + (bias_mant << bias_exp)`` (the new ``u``);
    4. ``v = clip(v_pre, -(B - 1), B - 1)``;
    5. ``s = v > (vth << 6)`` (strict);
    6. ``v = 0`` where ``s`` (``u`` is not reset).

    Everything is int32. With ``|a_in| < 2**18`` (``|a_in << 6| < 2**24``) ``u`` stays in
    ``(-B, B]`` and every intermediate is far inside int32, so the step is exact; larger inputs
    can leave ``u`` out of range (as in Lava) and stay exact while ``|u_pre| < 2**31``.

    Returns:
        ``(u, v, s)``, all int32, ``s`` in {0, 1}.
    """
    if lif.reset is not None:
        interval = lif.reset.interval
        hit = jnp.remainder(ts, interval) == jnp.remainder(lif.reset.offset, interval)
        u = jnp.where(hit, jnp.zeros_like(u), u)
        v = jnp.where(hit, jnp.zeros_like(v), v)
    p = lif.profile
    c = lif_constants(p, u.shape, lif.du, lif.dv, lif.vth, lif.bias_mant, lif.bias_exp)
    u, v, s, _, _ = lif_update(IntegerNumerics(p), c, u, v, a_in)
    return u, v, s


def init_state(net: LoihiNetwork, batch_shape: tuple[int, ...] = ()) -> LoihiState:
    """All-zero state for inputs ``[*batch_shape, n_in]``."""
    _, n_hid, n_out = net.sizes
    hid = jnp.zeros((*batch_shape, n_hid), jnp.int32)
    out = jnp.zeros((*batch_shape, n_out), jnp.int32)
    return LoihiState(hid, hid, out, out, hid, out, hid)


def step(
    net: LoihiNetwork, state: LoihiState, x: tuple[Int[Array, ""], Int[Array, "*batch n_in"]]
) -> tuple[LoihiState, dict[str, Int[Array, "*batch n"]]]:
    """One network time step (``lax.scan`` body after binding ``net``).

    ``x = (ts, s_in)``: Lava time step and binary int32 input spikes. Every layer reads only the
    previous step's Dense buffers, so input row t reaches ``u1`` at row t + 1 and ``u2`` at t + 2::

        a1 = buf1 + bufrec;  a2 = buf2                       # produced in the previous step
        buf1 = dense(dense1, s_in);  (u1, v1, s1) = lif_step(lif1, u1, v1, a1, ts)
        bufrec = dense(dense_rec, s1);  buf2 = dense(dense2, s1)
        (u2, v2, s2) = lif_step(lif2, u2, v2, a2, ts)

    Returns:
        the new state and the record ``{u1, v1, s1, u2, v2, s2, dense1_a_buff, dense2_a_buff}``
        (plus ``denserec_a_buff`` with a recurrent Dense), states after spike and reset.
    """
    ts, s_in = x
    a1 = state.buf1 + state.bufrec
    buf1 = dense(net.dense1, s_in)
    u1, v1, s1 = lif_step(net.lif1, state.u1, state.v1, a1, ts)
    bufrec = state.bufrec if net.dense_rec is None else dense(net.dense_rec, s1)
    buf2 = dense(net.dense2, s1)
    u2, v2, s2 = lif_step(net.lif2, state.u2, state.v2, state.buf2, ts)
    record = {"u1": u1, "v1": v1, "s1": s1, "u2": u2, "v2": v2, "s2": s2}
    record |= {"dense1_a_buff": buf1, "dense2_a_buff": buf2}
    if net.dense_rec is not None:
        record["denserec_a_buff"] = bufrec
    return LoihiState(u1, v1, u2, v2, buf1, buf2, bufrec), record


def _as_spikes(fn: str, s_in: Any, n_in: int) -> Int[Array, "time *batch n_in"]:
    check_input_events(fn, s_in, n_in)
    if is_concrete(s_in):
        return as_int(fn, "s_in", s_in, low=0, high=1)
    if not (jnp.issubdtype(s_in.dtype, jnp.integer) or s_in.dtype == jnp.bool_):
        raise TypeError(f"`{fn}`: `s_in` must hold binary integer spikes; got dtype {s_in.dtype}.")
    return s_in.astype(jnp.int32)


def run(
    net: LoihiNetwork,
    s_in: Int[Array, "time *batch n_in"],
    state: LoihiState | None = None,
    *,
    first_step: int = 1,
) -> tuple[LoihiState, dict[str, Int[Array, "time *batch n"]]]:
    """Run the Loihi network over binary input spikes ``s_in`` ``[T, *batch, n_in]`` from
    ``state`` (default: rest, `init_state`).

    Pure and jit-compatible (``jax.jit(run)``); batch axes are processed in parallel and the
    function also composes with ``jax.vmap``. Row t is Lava time step ``t + first_step``: to
    continue a stream, pass the final state of the previous chunk and ``first_step`` one past
    its last step (the periodic resets of `LoihiReset` count Lava steps), and the chunks equal
    one run bit for bit.

    Returns:
        ``(final_state, record)`` with every record entry of shape ``[T, *batch, n]`` (int32); see
        `step` for the keys.

    Example:
        >>> import numpy as np
        >>> from spikejax.chip import loihi
        >>> net = loihi.LoihiNetwork(
        ...     dense1=loihi.LoihiDense(np.full((1, 1), 100)),
        ...     lif1=loihi.LoihiLIF(du=4095, dv=0, vth=90),
        ...     dense2=loihi.LoihiDense(np.zeros((1, 1), np.int32)),
        ...     lif2=loihi.LoihiLIF(du=0, dv=0, vth=1),
        ... )
        >>> _, rec = loihi.run(net, np.array([[1], [0], [0]]))
        >>> rec["u1"][:, 0].tolist(), rec["s1"][:, 0].tolist()
        ([0, 6400, 0], [0, 1, 0])
    """
    fn = "loihi.run"
    s = _as_spikes(fn, s_in, net.sizes[0])
    if isinstance(first_step, bool) or not isinstance(first_step, int) or first_step < 1:
        raise ValueError(f"`{fn}`: `first_step` must be an int >= 1; got {first_step!r}.")
    ts = jnp.arange(first_step, first_step + s.shape[0], dtype=jnp.int32)
    state0 = init_state(net, tuple(s.shape[1:-1]))
    if state is not None:
        hint = "build it with loihi.init_state(net, batch_shape) or take it from a previous run"
        check_like(fn, "state", state, state0, hint)
        state0 = state
    return jax.lax.scan(functools.partial(step, net), state0, (ts, s))
