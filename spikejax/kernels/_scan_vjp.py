"""``scan_vjp``: the scan forward, and a hand-written backward that is one reverse scan."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import CustomVJPPrimal, SymbolicZero
from jaxtyping import Array, Float

from spikejax.kernels._native_lif import lif_kernel_forward, lif_kernel_refusal
from spikejax.neurons import AbstractNeuron

__all__ = ["scan_vjp"]


def scan_vjp(
    neuron: AbstractNeuron, state0: Any, xs: Float[Array, "time ..."], *, unroll: int = 1
) -> tuple[Any, Float[Array, "time ..."]]:
    """Run an elementwise neuron (`refusal` is ``None``) over time with a custom VJP.

    Forward: ``lax.scan(neuron.step, state0, xs)``, the very program of `spikejax.unroll`'s
    ``"scan"`` backend (so the results are the same bit for bit); for an `LIF` that the C++
    CPU kernel runs (`lif_kernel_refusal` is ``None``: plain LIF, float32, on the CPU, kernels
    available), that kernel (`spikejax.kernels.lif_forward_cpu`: all steps in one call, the
    same arithmetic, equal bit for bit, tested). Under differentiation it also stores the
    state entering each step, ``[T, *shape]`` per state leaf, and nothing else.
    Backward: one reverse ``lax.scan`` whose body recomputes the step from that state and
    applies its VJP (``jax.vjp`` of ``neuron.step``: the surrogate derivative is fused into the
    same loop body). The parameters enter the backward loop broadcast to one value per neuron,
    so their gradients are accumulated per neuron in the loop carry and summed to each
    parameter's shape once, after the loop, instead of a reduction every step; only the
    parameters that are differentiated are accumulated (a fixed threshold costs nothing).

    Forward-mode autodiff (``jax.jvp``) is not defined for it; use the ``"scan"`` backend.
    `spikejax.unroll` calls it for ``backend="scan_vjp"`` (and ``"auto"`` on the CPU).

    Example:
        >>> import jax, jax.numpy as jnp, spikejax as sj
        >>> lif = sj.neurons.LIF(beta=0.9)
        >>> xs = jnp.full((4, 2), 0.4)                       # [T, neurons]
        >>> _, spikes = sj.kernels.scan_vjp(lif, lif.init_state((2,)), xs)
        >>> spikes[:, 0]
        Array([0., 0., 1., 0.], dtype=float32)
        >>> def loss(xs):
        ...     return sj.kernels.scan_vjp(lif, lif.init_state((2,)), xs)[1].sum()
        >>> bool(jnp.all(jax.grad(loss)(xs) > 0))
        True
    """
    return _unroll(neuron, state0, xs, unroll)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _unroll(neuron, state0, xs, n_unroll):
    if lif_kernel_refusal(neuron, state0, xs) is None:
        return lif_kernel_forward(neuron, state0, xs, states=False)
    return jax.lax.scan(neuron.step, state0, xs, unroll=n_unroll)


def _is_primal(x: Any) -> bool:
    return isinstance(x, CustomVJPPrimal)


def _unroll_fwd(neuron, state0, xs, n_unroll):
    # With symbolic zeros every input leaf arrives as CustomVJPPrimal(value, perturbed). Which
    # neuron leaves are differentiated is static; it travels in the residuals' tree structure
    # (a tuple over the neuron's leaves: None for a fixed leaf, () for a differentiated one).
    perturbed = tuple(
        () if p.perturbed else None for p in jax.tree_util.tree_leaves(neuron, is_leaf=_is_primal)
    )
    neuron, state0, xs = jax.tree_util.tree_map(
        lambda p: p.value, (neuron, state0, xs), is_leaf=_is_primal
    )

    if lif_kernel_refusal(neuron, state0, xs) is None:
        final, outputs, states = lif_kernel_forward(neuron, state0, xs, states=True)
        return (final, outputs), (neuron, states, xs, perturbed)

    def body(state, x):
        new, out = neuron.step(state, x)
        return new, (out, state)

    final, (outputs, states) = jax.lax.scan(body, state0, xs, unroll=n_unroll)
    return (final, outputs), (neuron, states, xs, perturbed)


def _unroll_bwd(n_unroll, residuals, cotangents):
    neuron, states, xs, perturbed = residuals
    g_final, g_outputs = jax.tree_util.tree_map(
        _instantiate, cotangents, is_leaf=lambda x: isinstance(x, SymbolicZero)
    )
    leaves, treedef = jax.tree_util.tree_flatten(neuron)
    wanted = [m is not None for m in perturbed]
    step_shape = tuple(xs.shape[1:])
    # One value per neuron: the loop accumulates elementwise, the sums come after it.
    trained0 = [jnp.broadcast_to(p, step_shape) for p, w in zip(leaves, wanted, strict=True) if w]

    def step(trained, state, x):
        it = iter(trained)
        full = [next(it) if w else leaf for leaf, w in zip(leaves, wanted, strict=True)]
        return jax.tree_util.tree_unflatten(treedef, full).step(state, x)

    def body(carry, step_inputs):
        g_state, g_trained = carry
        state, x, g_out = step_inputs
        _, step_vjp = jax.vjp(step, trained0, state, x)
        g_n, g_prev, g_x = step_vjp((g_state, g_out))
        return (g_prev, [a + b for a, b in zip(g_trained, g_n, strict=True)]), g_x

    zeros = [jnp.zeros_like(p) for p in trained0]
    (g_state0, g_trained), g_xs = jax.lax.scan(
        body, (g_final, zeros), (states, xs, g_outputs), reverse=True, unroll=n_unroll
    )
    it = iter(g_trained)
    g_leaves = [
        _sum_to(next(it), leaf) if w else jnp.zeros_like(leaf)
        for leaf, w in zip(leaves, wanted, strict=True)
    ]
    return jax.tree_util.tree_unflatten(treedef, g_leaves), g_state0, g_xs


def _sum_to(g: Any, leaf: Any) -> Any:
    """The gradient ``g`` of ``broadcast_to(leaf, g.shape)`` with respect to ``leaf``."""
    g = g.sum(axis=tuple(range(g.ndim - leaf.ndim)))
    axes = tuple(i for i, d in enumerate(leaf.shape) if d == 1 and g.shape[i] != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).astype(leaf.dtype)


def _instantiate(g: Any) -> Any:
    return jnp.zeros(g.shape, g.dtype) if isinstance(g, SymbolicZero) else g


_unroll.defvjp(_unroll_fwd, _unroll_bwd, symbolic_zeros=True)
