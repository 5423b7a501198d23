"""Pieces shared by the neuron models: reset modes, parameter leaves, fire-and-reset."""

from __future__ import annotations

import enum
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._errors import check_finite, check_range
from spikejax.surrogate import AbstractSurrogate, spike

__all__ = ["Reset", "as_param", "as_reset", "as_surrogate", "fire", "like"]


class Reset(enum.Enum):
    """What happens to the membrane of a neuron that spiked.

    * ``SUBTRACT``: ``v = h - s·θ`` (soft reset; keeps the overshoot).
    * ``ZERO``: ``v = h·(1 - s)`` (hard reset to 0).
    * ``NONE``: ``v = h`` (no reset; e.g. for adaptive thresholds that do the work).
    """

    SUBTRACT = "subtract"
    ZERO = "zero"
    NONE = "none"


def as_reset(fn: str, value: Reset | str) -> Reset:
    """Accept a :class:`Reset` or its string name; reject anything else by name."""
    if isinstance(value, Reset):
        return value
    try:
        return Reset(value)
    except ValueError:
        names = tuple(r.value for r in Reset)
        raise ValueError(f"`{fn}`: `reset` must be one of {names}; got {value!r}.") from None


def as_surrogate(fn: str, value: Any) -> AbstractSurrogate:
    if not isinstance(value, AbstractSurrogate):
        raise TypeError(
            f"`{fn}`: `surrogate` must be an instance of spikejax.surrogate.AbstractSurrogate; "
            f"got {value!r}."
        )
    return value


def as_param(
    fn: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> Float[Array, "..."]:
    """Turn a number or array into a floating array leaf, checking concrete values by name.

    Python numbers and integer arrays become float32; floating arrays keep their dtype. NaN/inf and
    values outside ``[low, high]`` (``(low, high]`` with ``low_open``) raise ``ValueError``.
    """
    if isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, bool) or jnp.result_type(value) == jnp.bool_:
        raise TypeError(f"`{fn}`: `{name}` must be a real number or array; got {value!r}.")
    floating = jnp.issubdtype(jnp.result_type(value), jnp.floating)
    dtype = jnp.result_type(value) if floating and not isinstance(value, float) else jnp.float32
    array = jnp.asarray(value, dtype=dtype)
    check_finite(fn, name, array)
    check_range(fn, name, array, low=low, high=high, low_open=low_open)
    return array


def like(param: Float[Array, "..."], x: Float[Array, "..."]) -> Float[Array, "..."]:
    """``param`` cast to the dtype of ``x`` and broadcast to its shape (explicitly, so that strict
    rank promotion holds: per-neuron parameters align with the trailing axes)."""
    return jnp.broadcast_to(param.astype(x.dtype), x.shape)


def fire(
    h: Float[Array, "..."],
    threshold: Float[Array, "..."],
    reset: Reset,
    surrogate: AbstractSurrogate,
    detach_reset: bool,
) -> tuple[Float[Array, "..."], Float[Array, "..."]]:
    """``s = Θ(h - θ)`` with the surrogate gradient, then the reset. Returns ``(v, s)``.

    With ``detach_reset`` the spike in the reset term is ``stop_gradient(s)``: no gradient flows
    through the reset (Zenke & Vogels, 2021), which is the usual choice.
    """
    s = spike(h - threshold, surrogate)
    r = jax.lax.stop_gradient(s) if detach_reset else s
    if reset is Reset.SUBTRACT:
        v = h - r * threshold
    elif reset is Reset.ZERO:
        v = h * (1 - r)
    else:
        v = h
    return v, s
