"""A per-element delay line, run like a neuron so that streaming (``sj.run``) carries it."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from spikejax.neurons import AbstractNeuron, static

__all__ = ["Delay", "DelayState"]


class DelayState(NamedTuple):
    """State of `Delay`. ``past``: the last ``depth`` inputs, newest first,
    ``(depth, *batch, *neurons)``."""

    past: Float[Array, "..."]


class Delay(AbstractNeuron):
    r"""Delay every element of the input by its own whole number of steps.

    One step: $y_{t,i} = x_{t - d_i, i}$, with $x_t = 0$ for $t < 0$. The state
    holds the last ``depth = max(d)`` inputs (newest first); ``d_i = 0`` passes the input through.
    NIR's ``Delay(delay)`` in seconds is ``d = delay / dt`` steps (`spikejax.nir`).

    Args:
        steps: non-negative integer delays, scalar or per element (broadcast against the input's
            trailing axes).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> delay = sj.nir.Delay(steps=jnp.array([0, 2]))
        >>> _, ys = sj.unroll(delay, delay.init_state((2,)), jnp.arange(1.0, 9.0).reshape(4, 2))
        >>> ys
        Array([[1., 0.],
               [3., 0.],
               [5., 2.],
               [7., 4.]], dtype=float32)
    """

    spiking: ClassVar[bool] = False

    steps: Int[Array, "..."]
    depth: int = static(-1)

    def __post_init__(self):
        steps = np.asarray(self.steps)
        if steps.dtype.kind not in "iu" or (steps.size and steps.min() < 0):
            raise ValueError(
                f"`Delay`: `steps` must be non-negative integers; got {steps.dtype} {steps!r}."
            )
        object.__setattr__(self, "steps", jnp.asarray(steps, jnp.int32))
        depth = int(steps.max()) if steps.size else 0
        if self.depth not in (-1, depth):
            raise ValueError(f"`Delay`: `depth` must be max(steps) = {depth}; got {self.depth}.")
        object.__setattr__(self, "depth", depth)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> DelayState:
        return DelayState(past=jnp.zeros((self.depth, *shape), dtype))

    def step(
        self, state: DelayState, x: Float[Array, "..."]
    ) -> tuple[DelayState, Float[Array, "..."]]:
        history = jnp.concatenate([x[None], state.past], axis=0)  # x_t, x_{t-1}, ..., x_{t-depth}
        index = jnp.broadcast_to(self.steps, x.shape)[None]
        out = jnp.take_along_axis(history, index, axis=0)[0]
        return DelayState(history[: self.depth]), out
