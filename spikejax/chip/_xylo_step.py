"""The Xylo core v2 integer step: ordered saturating accumulation, dash decay, multi-spike fire."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax._errors import is_concrete
from spikejax.chip._checks import as_int, check_input_events
from spikejax.chip._intmath import dash_delta, saturate, sequential_sat_add
from spikejax.chip._xylo_params import XyloNetwork

__all__ = ["XyloState", "accumulate", "evolve", "init_state", "run", "step"]


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


def accumulate(
    acc: Int[Array, "*batch post syn"],
    counts: Int[Array, "*batch pre"],
    weights: Int[Array, "pre post syn"],
    *,
    bits: int = 16,
) -> Int[Array, "*batch post syn"]:
    """Per-source sequential saturating accumulation, sources in ascending order.

    ``for i in 0..pre-1: acc = clip(acc + counts[i] * weights[i], lo, hi)`` over the signed
    ``bits`` range: the ``counts[i]`` same-sign events of one source equal one saturating add of
    their sum, but different sources saturate one after the other (not ``clip(acc + sum)``).
    """
    batch = counts.shape[:-1]
    w = jnp.reshape(weights, (1,) * len(batch) + weights.shape)
    inc = counts[..., None, None] * w
    return sequential_sat_add(acc, inc, axis=len(batch), bits=bits)


def evolve(
    isyn: Int[Array, "*batch n syn"],
    vmem: Int[Array, "*batch n"],
    dash_syn: Int[Array, "n syn"],
    dash_mem: Int[Array, " n"],
    bias: Int[Array, " n"],
    threshold: Int[Array, " n"],
    *,
    cap: int,
    bits: int = 16,
) -> tuple[Int[Array, "*batch n syn"], Int[Array, "*batch n"], Int[Array, "*batch n"]]:
    """Neuron evolution after this step's events were added, with ``sat = saturate(·, bits)``:

    1. ``isyn_k = isyn_k - dash_delta(isyn_k, dash_syn_k)`` for every synapse k;
    2. ``dv = sat(-dash_delta(vmem, dash_mem) + sum_k isyn_k)``;
    3. ``dv = sat(dv + bias)``;
    4. ``vmem = sat(vmem + dv)``;
    5. ``n = min(vmem // threshold, cap)`` if ``vmem >= threshold``, else 0;
    6. ``vmem = vmem - n * threshold``.

    Returns:
        ``(isyn, vmem, n)``.
    """
    isyn = isyn - dash_delta(isyn, jnp.broadcast_to(dash_syn, isyn.shape))
    dv = saturate(-dash_delta(vmem, jnp.broadcast_to(dash_mem, vmem.shape)) + isyn.sum(-1), bits)
    dv = saturate(dv + jnp.broadcast_to(bias, vmem.shape), bits)
    vmem = saturate(vmem + dv, bits)
    thr = jnp.broadcast_to(threshold, vmem.shape)
    n = jnp.where(vmem >= thr, jnp.minimum(jnp.floor_divide(vmem, thr), cap), jnp.zeros_like(vmem))
    return isyn, vmem - n * thr, n


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
       (:func:`accumulate`);
    2. readout ``isyn_out += `` previous hidden counts times ``weights_out << weight_shift_out``;
    3. :func:`evolve` the hidden layer (synapses 1 and 2, cap 31), then the readout (cap 1).

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
    dash_syn = jnp.stack([net.dash_syn, net.dash_syn_2], axis=-1)
    isyn, vmem, spikes = evolve(
        isyn,
        state.vmem,
        dash_syn,
        net.dash_mem,
        net.bias,
        net.threshold,
        cap=p.hidden_cap,
        bits=bits,
    )
    isyn_out, vmem_out, spikes_out = evolve(
        isyn_out,
        state.vmem_out,
        net.dash_syn_out[:, None],
        net.dash_mem_out,
        net.bias_out,
        net.threshold_out,
        cap=p.readout_cap,
        bits=bits,
    )
    isyn_out = isyn_out[..., 0]
    record = {"isyn": isyn[..., 0], "isyn2": isyn[..., 1], "vmem": vmem, "spikes": spikes}
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
    net: XyloNetwork, s_in: Int[Array, "time *batch n_in"]
) -> tuple[XyloState, dict[str, Int[Array, "time *batch n"]]]:
    """Run the Xylo network over input event counts ``s_in`` ``[T, *batch, n_in]`` from rest.

    Counts above 15 per channel and step are clipped to 15 (vendor semantics). Pure and
    jit-compatible (``jax.jit(run)``); batch axes run in parallel and it composes with ``jax.vmap``.

    Returns:
        ``(final_state, record)``, each record entry ``[T, *batch, n]`` int32 (see :func:`step`).

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
    s = _as_counts("xylo.run", s_in, net.sizes[0])
    state0 = init_state(net, tuple(s.shape[1:-1]))
    return jax.lax.scan(functools.partial(step, net), state0, s)
