"""Readouts: reduce time-major outputs ``[T, *batch, classes]`` over time."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from spikejax._errors import check_time_major

__all__ = [
    "first_spike_time",
    "membrane_last",
    "membrane_max",
    "membrane_mean",
    "spike_count",
    "spike_rate",
]


def spike_count(spikes: Float[Array, "time *batch classes"]) -> Float[Array, "*batch classes"]:
    """Number of spikes over time: ``Σ_t s_t``, in the dtype of ``spikes``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import readout
        >>> readout.spike_count(jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
        Array([2., 1.], dtype=float32)
    """
    check_time_major("spike_count", "spikes", spikes)
    return jnp.sum(spikes, axis=0)


def spike_rate(spikes: Float[Array, "time *batch classes"]) -> Float[Array, "*batch classes"]:
    """Spikes per step: ``(1/T) Σ_t s_t``, in the dtype of ``spikes``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import readout
        >>> readout.spike_rate(jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]))
        Array([0.5 , 0.25], dtype=float32)
    """
    check_time_major("spike_rate", "spikes", spikes)
    return jnp.mean(spikes, axis=0)


def membrane_mean(v: Float[Array, "time *batch classes"]) -> Float[Array, "*batch classes"]:
    """Time-averaged membrane potential ``(1/T) Σ_t v_t`` (e.g. of a non-spiking readout layer)."""
    check_time_major("membrane_mean", "v", v)
    return jnp.mean(v, axis=0)


def membrane_max(v: Float[Array, "time *batch classes"]) -> Float[Array, "*batch classes"]:
    """Peak membrane potential over time, ``max_t v_t``.

    The gradient flows to the step(s) where the maximum is attained.
    """
    check_time_major("membrane_max", "v", v)
    return jnp.max(v, axis=0)


def membrane_last(v: Float[Array, "time *batch classes"]) -> Float[Array, "*batch classes"]:
    """Membrane potential at the last step, ``v_{T-1}``."""
    check_time_major("membrane_last", "v", v)
    return v[-1]


def first_spike_time(spikes: Float[Array, "time *batch classes"]) -> Int[Array, "*batch classes"]:
    """Index of the first step with a nonzero entry, ``min {t : s_t != 0}``; ``T`` if there is none.

    Returned as int32. An integer index has no gradient: for time-to-first-spike training use a
    loss with its own surrogate, not this readout.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import readout
        >>> readout.first_spike_time(jnp.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]]))
        Array([1, 3], dtype=int32)
    """
    check_time_major("first_spike_time", "spikes", spikes)
    fired = spikes != 0
    first = jnp.argmax(fired, axis=0).astype(jnp.int32)
    return jnp.where(jnp.any(fired, axis=0), first, jnp.int32(spikes.shape[0]))
