"""The neuron interface: a pytree of parameters with ``init_state`` and a scan-ready ``step``."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = ["AbstractNeuron"]


class AbstractNeuron(abc.ABC):
    """A neuron model: array leaves (decays, thresholds, ...) and static choices (reset, surrogate).

    ``step(state, x) -> (state, out)`` advances every neuron by one time step and is used directly
    as a ``lax.scan`` body by :func:`spikejax.unroll`. Parameters are scalars or per-neuron arrays
    that broadcast against the trailing axes of the state; the state has the shape of one time step
    of the input, ``(*batch, *neurons)``.

    Class attributes:
        spiking: whether ``out`` is a spike tensor (exactly 0/1) or a membrane readout.
        trainable: the leaves that :class:`spikejax.layers.Spiking` exposes as ``nnx.Param`` by
            default; every other leaf is held fixed (it is still an array the chip target can
            quantize).
    """

    spiking: ClassVar[bool] = True
    trainable: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> Any:
        """The resting state for inputs of one time step with ``shape`` and ``dtype``."""

    @abc.abstractmethod
    def step(self, state: Any, x: Float[Array, "..."]) -> tuple[Any, Float[Array, "..."]]:
        """One time step: integrate ``x``, fire, reset. Returns ``(new_state, out)``."""
