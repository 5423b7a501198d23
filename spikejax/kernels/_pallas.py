"""``pallas_unroll``: all T steps of an elementwise neuron in one Pallas kernel, forward and back.

The kernels see the flat layout of `spikejax.kernels.flatten` (``xs`` ``[T, M]``) with ``M``
padded to a multiple of ``block``. The grid runs over blocks of ``block`` neurons; inside a
program, ``lax.fori_loop`` runs time, with the state of its neurons in registers (GPU) or VMEM
(TPU) between steps, reading one row of ``xs`` and writing one row of outputs per step.

What the backward kernel needs it has stored, not recomputed: the forward kernel also writes the
state entering each step (``[T, M]`` per state leaf; for ``LIF`` that is ``v_{t-1}``). The backward
kernel runs time in reverse, rebuilds each step from that state and ``x_t`` and applies the VJP
of ``neuron.step`` (surrogate derivative included), carrying the state cotangent and one
parameter-gradient accumulator per neuron in registers; it writes ``dL/dx_t`` per step and, at
the end, ``dL/dstate0`` and the per-neuron parameter gradients, which are summed to each
parameter's shape outside the kernel.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax.kernels._support import flatten, unflatten
from spikejax.neurons import AbstractNeuron

__all__ = ["DEFAULT_BLOCK", "pallas_unroll"]

DEFAULT_BLOCK = 256  # neurons per program: a power of two, as Triton's block shapes must be


def pallas_unroll(
    neuron: AbstractNeuron,
    state0: Any,
    xs: Float[Array, "time ..."],
    *,
    block: int = DEFAULT_BLOCK,
    interpret: bool | None = None,
) -> tuple[Any, Float[Array, "time ..."]]:
    """Run an elementwise neuron (`refusal` is ``None``) over time in one Pallas kernel.

    Args:
        neuron: an instance of one of `ELEMENTWISE_NEURONS`.
        state0: its state for one step of ``xs``.
        xs: time-major input ``[T, *batch, *neurons]``.
        block: neurons per kernel program (the grid has ``ceil(M / block)`` programs).
        interpret: run the kernels in Pallas's interpret mode (correct on any backend, slow);
            ``None``: on the CPU, which has no Pallas compiler, and nowhere else.

    Returns:
        ``(final_state, outputs)``, as `spikejax.unroll` returns them.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> lif = sj.neurons.LIF(beta=0.9)
        >>> xs = jnp.full((4, 2), 0.4)                       # [T, neurons]
        >>> _, spikes = sj.kernels.pallas_unroll(lif, lif.init_state((2,)), xs, block=8)
        >>> spikes[:, 0]                                     # interpret mode on the CPU
        Array([0., 0., 1., 0.], dtype=float32)
    """
    if interpret is None:
        interpret = jax.default_backend() == "cpu"
    flat_neuron, flat_state, flat_xs = flatten(neuron, state0, xs)
    n = flat_xs.shape[1]
    padded = -(-n // block) * block

    def pad(a, mode):
        widths = [(0, 0)] * (a.ndim - 1) + [(0, padded - n)]
        return jnp.pad(a, widths, mode=mode) if padded != n else a

    # Padded neurons repeat the last parameter values (valid ones) and start from a zero state
    # with zero input; their results are cut off below and their cotangents are zero.
    flat_neuron = jax.tree_util.tree_map(lambda p: pad(p, "edge"), flat_neuron)
    flat_state = jax.tree_util.tree_map(lambda s: pad(s, "constant"), flat_state)
    final, outputs = _unroll(flat_neuron, flat_state, pad(flat_xs, "constant"), block, interpret)
    final = jax.tree_util.tree_map(lambda s: s[:n], final)
    return unflatten(final, outputs[:, :n], xs)


def _specs(T: int, block: int, n_vectors: int, n_series: int):
    from jax.experimental import pallas as pl

    vector = pl.BlockSpec((block,), lambda i: (i,))
    series = pl.BlockSpec((T, block), lambda i: (0, i))
    return [vector] * n_vectors + [series] * n_series


def _call(kernel, ins_vectors, ins_series, outs_vectors, outs_series, T, block, interpret):
    """``pallas_call`` over blocks of neurons; ``*_vectors`` are ``[M]``, ``*_series``
    ``[T, M]``."""
    from jax.experimental import pallas as pl

    n = (ins_series + ins_vectors)[0].shape[-1]
    return pl.pallas_call(
        kernel,
        grid=(n // block,),
        in_specs=_specs(T, block, len(ins_vectors), len(ins_series)),
        out_specs=_specs(T, block, len(outs_vectors), len(outs_series)),
        out_shape=[*outs_vectors, *outs_series],
        interpret=interpret,
    )(*ins_vectors, *ins_series)


def _forward(neuron, state0, xs, block, interpret, keep_states):
    T, n = xs.shape
    p_leaves, p_def = jax.tree_util.tree_flatten(neuron)
    s_leaves, s_def = jax.tree_util.tree_flatten(state0)
    n_p, n_s = len(p_leaves), len(s_leaves)
    out_shape = jax.eval_shape(neuron.step, state0, xs[0])[1]

    def kernel(*refs):
        params = [r[...] for r in refs[:n_p]]
        state = [r[...] for r in refs[n_p : n_p + n_s]]
        x_ref = refs[n_p + n_s]
        final_refs = refs[n_p + n_s + 1 : n_p + 2 * n_s + 1]
        out_ref = refs[n_p + 2 * n_s + 1]
        state_refs = refs[n_p + 2 * n_s + 2 :]
        step_neuron = jax.tree_util.tree_unflatten(p_def, params)

        def body(t, leaves):
            for ref, leaf in zip(state_refs, leaves if keep_states else [], strict=True):
                ref[t] = leaf
            new, out = step_neuron.step(jax.tree_util.tree_unflatten(s_def, leaves), x_ref[t])
            out_ref[t] = out
            return jax.tree_util.tree_leaves(new)

        final = jax.lax.fori_loop(0, T, body, state)
        for ref, leaf in zip(final_refs, final, strict=True):
            ref[...] = leaf

    results = _call(
        kernel,
        [*p_leaves, *s_leaves],
        [xs],
        [jax.ShapeDtypeStruct((n,), s.dtype) for s in s_leaves],
        [jax.ShapeDtypeStruct((T, n), out_shape.dtype)]
        + [jax.ShapeDtypeStruct((T, n), s.dtype) for s in s_leaves if keep_states],
        T,
        block,
        interpret,
    )
    final = jax.tree_util.tree_unflatten(s_def, results[:n_s])
    states = jax.tree_util.tree_unflatten(s_def, results[n_s + 1 :]) if keep_states else None
    return final, results[n_s], states


def _backward(neuron, states, xs, g_final, g_outputs, block, interpret):
    T, n = xs.shape
    p_leaves, p_def = jax.tree_util.tree_flatten(neuron)
    s_leaves, s_def = jax.tree_util.tree_flatten(states)
    g_final_leaves = s_def.flatten_up_to(g_final)
    n_p, n_s = len(p_leaves), len(s_leaves)

    def kernel(*refs):
        params = [r[...] for r in refs[:n_p]]
        g_state = [r[...] for r in refs[n_p : n_p + n_s]]
        state_refs = refs[n_p + n_s : n_p + 2 * n_s]
        x_ref, g_out_ref = refs[n_p + 2 * n_s : n_p + 2 * n_s + 2]
        g_param_refs = refs[n_p + 2 * n_s + 2 : 2 * n_p + 2 * n_s + 2]
        g_state0_refs = refs[2 * n_p + 2 * n_s + 2 : 2 * n_p + 3 * n_s + 2]
        g_x_ref = refs[2 * n_p + 3 * n_s + 2]
        step_neuron = jax.tree_util.tree_unflatten(p_def, params)

        def body(k, carry):
            g_state, g_params = carry
            t = T - 1 - k
            state = jax.tree_util.tree_unflatten(s_def, [r[t] for r in state_refs])
            _, step_vjp = jax.vjp(_step, step_neuron, state, x_ref[t])
            g_n, g_prev, g_x = step_vjp(
                (jax.tree_util.tree_unflatten(s_def, g_state), g_out_ref[t])
            )
            g_x_ref[t] = g_x
            g_params = [
                a + b for a, b in zip(g_params, jax.tree_util.tree_leaves(g_n), strict=True)
            ]
            return jax.tree_util.tree_leaves(g_prev), g_params

        zeros = [jnp.zeros_like(p) for p in params]
        g_state0, g_params = jax.lax.fori_loop(0, T, body, (g_state, zeros))
        for ref, leaf in zip([*g_param_refs, *g_state0_refs], [*g_params, *g_state0], strict=True):
            ref[...] = leaf

    results = _call(
        kernel,
        [*p_leaves, *g_final_leaves],
        [*s_leaves, xs, g_outputs],
        [jax.ShapeDtypeStruct((n,), p.dtype) for p in p_leaves]
        + [jax.ShapeDtypeStruct((n,), s.dtype) for s in s_leaves],
        [jax.ShapeDtypeStruct((T, n), xs.dtype)],
        T,
        block,
        interpret,
    )
    g_neuron = jax.tree_util.tree_unflatten(p_def, results[:n_p])
    g_state0 = jax.tree_util.tree_unflatten(s_def, results[n_p : n_p + n_s])
    return g_neuron, g_state0, results[n_p + n_s]


def _step(neuron, state, x):
    return neuron.step(state, x)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _unroll(neuron, state0, xs, block, interpret):
    final, outputs, _ = _forward(neuron, state0, xs, block, interpret, keep_states=False)
    return final, outputs


def _unroll_fwd(neuron, state0, xs, block, interpret):
    final, outputs, states = _forward(neuron, state0, xs, block, interpret, keep_states=True)
    return (final, outputs), (neuron, states, xs)


def _unroll_bwd(block, interpret, residuals, cotangents):
    neuron, states, xs = residuals
    g_final, g_outputs = cotangents
    return _backward(neuron, states, xs, g_final, g_outputs, block, interpret)


_unroll.defvjp(_unroll_fwd, _unroll_bwd)
