"""Which neurons the fused backends run, and the flat ``[T, M]`` layout they run them in.

A fused backend runs a neuron's own ``step`` with every parameter broadcast to one value per
neuron (the Pallas kernels also flatten every state leaf and every time step of the input to
``M`` entries, ``M`` = the number of neurons in one step, batch included). That is exact only
for a neuron
whose ``step`` is elementwise (entry ``m`` of the new state and output depends on entry ``m`` of
the state, the input and each broadcast parameter, and on nothing else) and whose state leaves are
floating arrays of the step's shape. The built-in neurons that are: `ELEMENTWISE_NEURONS`.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from spikejax.neurons import (
    ALIF,
    IF,
    LI,
    LIF,
    PLIF,
    AbstractNeuron,
    CubaLI,
    CubaLIF,
    Izhikevich,
)

__all__ = ["ELEMENTWISE_NEURONS", "flatten", "refusal", "unflatten"]

# Exact classes, not subclasses: a subclass may override ``step`` with cross-neuron coupling.
# Left out: ``Recurrent`` (its step multiplies the spikes by a weight matrix: entry m depends on
# every entry) and ``RefractoryLIF`` (an int32 countdown leaf, which has no cotangent).
ELEMENTWISE_NEURONS: tuple[type[AbstractNeuron], ...] = (
    IF,
    LIF,
    LI,
    CubaLIF,
    CubaLI,
    ALIF,
    PLIF,
    Izhikevich,
)


def refusal(neuron: AbstractNeuron, state0: Any, xs: Any) -> str | None:
    """Why the fused backends cannot run ``neuron`` from ``state0`` over ``xs``; ``None`` if
    they can.

    Call it after ``unroll``'s own checks (``state0`` matches what the neuron declares for ``xs``).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> lif, xs = sj.neurons.LIF(beta=0.9), jnp.zeros((4, 3))     # [T, neurons]
        >>> sj.kernels.refusal(lif, lif.init_state((3,)), xs) is None
        True
        >>> rec = sj.neurons.Recurrent(lif, jnp.zeros((3, 3)))
        >>> sj.kernels.refusal(rec, rec.init_state((3,)), xs)  # doctest: +ELLIPSIS
        'Recurrent is not one of the elementwise neurons they run (IF, LIF, LI, ...)'
    """
    names = ", ".join(cls.__name__ for cls in ELEMENTWISE_NEURONS)
    if type(neuron) not in ELEMENTWISE_NEURONS:
        return f"{type(neuron).__name__} is not one of the elementwise neurons they run ({names})"
    step_shape = tuple(xs.shape[1:])
    if math.prod(step_shape) == 0:
        return f"the input has no neurons (step shape {step_shape})"
    for path, leaf in jax.tree_util.tree_leaves_with_path(neuron):
        try:
            broadcast = jnp.broadcast_shapes(tuple(leaf.shape), step_shape)
        except ValueError:
            broadcast = None
        if broadcast != step_shape:
            return (
                f"parameter `{jax.tree_util.keystr(path)}` of shape {tuple(leaf.shape)} does not "
                f"broadcast to the step shape {step_shape}"
            )
    for path, leaf in jax.tree_util.tree_leaves_with_path(state0):
        if tuple(leaf.shape) != step_shape or not jnp.issubdtype(leaf.dtype, jnp.floating):
            return (
                f"state leaf `state0{jax.tree_util.keystr(path)}` ({leaf.dtype}{list(leaf.shape)}) "
                f"is not a floating array of the step shape {step_shape}"
            )
    return None


def flatten(neuron: AbstractNeuron, state0: Any, xs: Any) -> tuple[AbstractNeuron, Any, Any]:
    """``(neuron, state0, xs)`` in the flat layout: every parameter broadcast to the step shape
    and raveled to ``[M]`` (dtype kept), every state leaf ``[M]``, ``xs`` ``[T, M]``.

    Differentiable: the gradient of a broadcast parameter is summed back to its own shape here,
    outside the kernels, which accumulate one value per neuron.
    """
    step_shape = tuple(xs.shape[1:])
    flat_neuron = jax.tree_util.tree_map(
        lambda p: jnp.broadcast_to(p, step_shape).reshape(-1), neuron
    )
    flat_state = jax.tree_util.tree_map(lambda s: s.reshape(-1), state0)
    return flat_neuron, flat_state, xs.reshape(xs.shape[0], -1)


def unflatten(final: Any, outputs: Any, xs: Any) -> tuple[Any, Any]:
    """The flat ``(final_state, outputs)`` back in the shapes of ``xs``."""
    step_shape = tuple(xs.shape[1:])
    final = jax.tree_util.tree_map(lambda s: s.reshape(step_shape), final)
    return final, outputs.reshape(xs.shape[0], *step_shape)
