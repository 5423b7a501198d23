"""The Xylo network step by step, as traced: input and recurrent events, hidden layer, readout.

The reference for the trace replay; the arithmetic is `spikejax.chip.xylo.arithmetic`.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax._errors import is_concrete
from spikejax.chip._checks import as_int, check_input_events, check_like
from spikejax.chip.xylo.arithmetic import (
    IntegerNumerics,
    NeuronConstants,
    accumulate,
    evolve,
)
from spikejax.chip.xylo.params import XyloNetwork

__all__ = ["XyloState", "init_state", "run", "step"]


class XyloState(NamedTuple):
    """Carry of the Xylo scan (int32, batch axes first).

    ``isyn``: hidden synaptic currents ``(*batch, n_hid, 2)`` (synapse 1, synapse 2); ``vmem``:
    hidden membranes ``(*batch, n_hid)``; ``isyn_out``, ``vmem_out``: readout states
    ``(*batch, n_out)``; ``spikes``: hidden spike counts of the previous step ``(*batch, n_hid)``.
    """

    isyn: Int[Array, "*batch hid 2"]
    vmem: Int[Array, "*batch hid"]
    isyn_out: Int[Array, "*batch out"]
    vmem_out: Int[Array, "*batch out"]
    spikes: Int[Array, "*batch hid"]


def _full(c: NeuronConstants, syn_shape: tuple[int, ...]) -> NeuronConstants:
    """The constants broadcast to the state: ``dash_syn`` to ``syn_shape``, the rest without the
    synapse axis."""
    shape = syn_shape[:-1]
    return NeuronConstants(
        jnp.broadcast_to(c.dash_syn, syn_shape),
        *(jnp.broadcast_to(x, shape) for x in (c.dash_mem, c.bias, c.threshold)),
    )


def init_state(net: XyloNetwork, batch_shape: tuple[int, ...] = ()) -> XyloState:
    """All-zero state for inputs ``[*batch_shape, n_in]``."""
    _, n_hid, n_out = net.sizes
    k = net.profile.hidden_synapses
    hid = jnp.zeros((*batch_shape, n_hid), jnp.int32)
    out = jnp.zeros((*batch_shape, n_out), jnp.int32)
    return XyloState(jnp.zeros((*batch_shape, n_hid, k), jnp.int32), hid, out, out, hid)


def step(
    net: XyloNetwork, state: XyloState, s_in: Int[Array, "*batch n_in"]
) -> tuple[XyloState, dict[str, Int[Array, "*batch n"]]]:
    """One Xylo step (``lax.scan`` body after binding ``net``); ``s_in``: input event counts.

    1. hidden ``isyn += `` input events ``min(s_in, 15)`` (channels ascending, weights
       ``weights_in << weight_shift_in``), then recurrent events of the previous hidden counts
       (neurons ascending, ``weights_rec << weight_shift_rec``), one saturating add per source
       (`accumulate`);
    2. readout ``isyn_out += `` previous hidden counts times ``weights_out << weight_shift_out``;
    3. `evolve` the hidden layer (synapses 1 and 2, cap 31),
       then the readout (cap 1).

    Input reaches the hidden layer in the same step; hidden spikes reach the hidden and readout
    layers one step later.

    Returns:
        the new state and the record ``{isyn, isyn2, vmem, spikes, isyn_out, vmem_out,
        spikes_out}`` (after decay, integration and subtractive reset).
    """
    p = net.profile
    bits = p.state_bits
    w_hid = jnp.concatenate(
        [
            jnp.left_shift(net.weights_in, net.weight_shift_in),
            jnp.left_shift(net.weights_rec, net.weight_shift_rec),
        ]
    )
    counts = jnp.concatenate([jnp.minimum(s_in, p.input_cap), state.spikes], axis=-1)
    isyn = accumulate(state.isyn, counts, w_hid, bits=bits)
    w_out = jnp.left_shift(net.weights_out, net.weight_shift_out)[..., None]
    isyn_out = accumulate(state.isyn_out[..., None], state.spikes, w_out, bits=bits)
    num = IntegerNumerics(p)
    dash_syn = jnp.stack([net.dash_syn, net.dash_syn_2], axis=-1)[..., : p.hidden_synapses]
    hidden = NeuronConstants(dash_syn, net.dash_mem, net.bias, net.threshold)
    isyn, vmem, spikes, _ = evolve(
        num, _full(hidden, isyn.shape), isyn, state.vmem, cap=p.hidden_cap
    )
    readout = NeuronConstants(
        net.dash_syn_out[:, None], net.dash_mem_out, net.bias_out, net.threshold_out
    )
    isyn_out, vmem_out, spikes_out, _ = evolve(
        num, _full(readout, isyn_out.shape), isyn_out, state.vmem_out, cap=p.readout_cap
    )
    isyn_out = isyn_out[..., 0]
    isyn2 = isyn[..., 1] if p.hidden_synapses > 1 else jnp.zeros_like(vmem)
    record = {"isyn": isyn[..., 0], "isyn2": isyn2, "vmem": vmem, "spikes": spikes}
    record |= {"isyn_out": isyn_out, "vmem_out": vmem_out, "spikes_out": spikes_out}
    return XyloState(isyn, vmem, isyn_out, vmem_out, spikes), record


def _as_counts(fn: str, s_in: Any, n_in: int) -> Int[Array, "time *batch n_in"]:
    check_input_events(fn, s_in, n_in)
    if is_concrete(s_in):
        return as_int(fn, "s_in", s_in, low=0)
    if not jnp.issubdtype(s_in.dtype, jnp.integer):
        raise TypeError(f"`{fn}`: `s_in` must hold integer event counts; got dtype {s_in.dtype}.")
    return s_in.astype(jnp.int32)


def run(
    net: XyloNetwork, s_in: Int[Array, "time *batch n_in"], state: XyloState | None = None
) -> tuple[XyloState, dict[str, Int[Array, "time *batch n"]]]:
    """Run the Xylo network over input event counts ``s_in`` ``[T, *batch, n_in]`` from
    ``state`` (default: rest, `init_state`); a stream in chunks, each from the final state of
    the previous one, equals one run bit for bit.

    Counts above 15 per channel and step are clipped to 15 (vendor semantics). Pure and
    jit-compatible (``jax.jit(run)``); batch axes run in parallel and it composes with ``jax.vmap``.

    Returns:
        ``(final_state, record)``, each record entry ``[T, *batch, n]`` int32 (see `step`).

    Example:
        >>> import numpy as np
        >>> from spikejax.chip import xylo
        >>> net = xylo.XyloNetwork(
        ...     weights_in=np.full((1, 1, 2), [100, 0]), weights_rec=np.zeros((1, 1, 2), np.int8),
        ...     weights_out=np.ones((1, 1), np.int8), dash_syn=1, dash_syn_2=0, dash_mem=15,
        ...     threshold=40, dash_syn_out=0, dash_mem_out=0, threshold_out=1,
        ... )
        >>> _, rec = xylo.run(net, np.array([[1], [0]]))
        >>> rec["isyn"][:, 0].tolist(), rec["vmem"][:, 0].tolist(), rec["spikes"][:, 0].tolist()
        ([50, 25], [10, 34], [1, 0])
    """
    fn = "xylo.run"
    s = _as_counts(fn, s_in, net.sizes[0])
    state0 = init_state(net, tuple(s.shape[1:-1]))
    if state is not None:
        hint = "build it with xylo.init_state(net, batch_shape) or take it from a previous run"
        check_like(fn, "state", state, state0, hint)
        state0 = state
    return jax.lax.scan(functools.partial(step, net), state0, s)
