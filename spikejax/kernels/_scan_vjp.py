"""``scan_vjp``: the scan forward, and a hand-written backward that is one reverse scan."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax.kernels._support import flatten, unflatten
from spikejax.neurons import AbstractNeuron

__all__ = ["scan_vjp"]


def scan_vjp(
    neuron: AbstractNeuron, state0: Any, xs: Float[Array, "time ..."], *, unroll: int = 1
) -> tuple[Any, Float[Array, "time ..."]]:
    """Run an elementwise neuron (`refusal` is ``None``) over time with a custom VJP.

    Forward: ``lax.scan(neuron.step, state0, xs)`` on the flat layout, the same arithmetic as
    `spikejax.unroll`'s ``"scan"`` backend (bit for bit). For the backward pass it also stores
    the state entering each step, ``[T, M]`` per state leaf, and nothing else. Backward: one
    reverse ``lax.scan`` whose body recomputes the step from that state and applies its VJP
    (``jax.vjp`` of ``neuron.step``: the surrogate derivative is fused into the same loop body);
    parameter gradients are accumulated per neuron in the loop carry and summed to each
    parameter's shape once, after the loop, instead of a reduction every step.

    Forward-mode autodiff (``jax.jvp``) is not defined for it; use the ``"scan"`` backend.
    """
    flat_neuron, flat_state, flat_xs = flatten(neuron, state0, xs)
    final, outputs = _unroll(flat_neuron, flat_state, flat_xs, unroll)
    return unflatten(final, outputs, xs)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _unroll(neuron, state0, xs, n_unroll):
    return jax.lax.scan(neuron.step, state0, xs, unroll=n_unroll)


def _unroll_fwd(neuron, state0, xs, n_unroll):
    def body(state, x):
        new, out = neuron.step(state, x)
        return new, (out, state)

    final, (outputs, states) = jax.lax.scan(body, state0, xs, unroll=n_unroll)
    return (final, outputs), (neuron, states, xs)


def _unroll_bwd(n_unroll, residuals, cotangents):
    neuron, states, xs = residuals
    g_final, g_outputs = cotangents

    def body(carry, step_inputs):
        g_state, g_neuron = carry
        state, x, g_out = step_inputs
        _, step_vjp = jax.vjp(_step, neuron, state, x)
        g_n, g_prev, g_x = step_vjp((g_state, g_out))
        return (g_prev, jax.tree_util.tree_map(jnp.add, g_neuron, g_n)), g_x

    zeros = jax.tree_util.tree_map(jnp.zeros_like, neuron)
    (g_state0, g_neuron), g_xs = jax.lax.scan(
        body, (g_final, zeros), (states, xs, g_outputs), reverse=True, unroll=n_unroll
    )
    return g_neuron, g_state0, g_xs


def _step(neuron, state, x):
    return neuron.step(state, x)


_unroll.defvjp(_unroll_fwd, _unroll_bwd)
