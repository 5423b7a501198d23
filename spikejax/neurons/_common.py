"""Building blocks for neuron models: reset modes, parameter leaves, fire-and-reset.

The public ones (`Reset`, `as_param`, `like`, `fire`,
`reset_membrane`) are exported from `spikejax.neurons` for writing new neurons.
"""

from __future__ import annotations

import enum
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from spikejax.neurons._interval import UNBOUNDED, Interval
from spikejax.surrogate import AbstractSurrogate, SmoothTwin, spike

__all__ = [
    "Reset",
    "as_param",
    "as_reset",
    "as_surrogate",
    "check_v_reset",
    "fire",
    "like",
    "optional_param",
    "reset_membrane",
]


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
    """Accept a `Reset` or its string name; reject anything else by name."""
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


def as_param(fn: str, name: str, value: Any, interval: Interval = UNBOUNDED) -> Float[Array, "..."]:
    """Turn a number or array into a floating array leaf, checking concrete values by name.

    Python numbers and integer arrays become float32; floating arrays keep their dtype. Booleans
    raise ``TypeError``; NaN/±inf and values outside ``interval`` raise ``ValueError`` whose
    message starts with "`fn`: `name` must". Tracers (inside ``jit``/``grad``) pass unchecked.
    Neurons call it in ``__post_init__`` with the interval their class declares in ``bounds``.

    Example:
        >>> import spikejax as sj
        >>> sj.neurons.as_param("MyNeuron", "beta", 0.5, sj.neurons.Interval(0.0, 1.0))
        Array(0.5, dtype=float32)
        >>> sj.neurons.as_param("MyNeuron", "beta", 1.5, sj.neurons.Interval(0.0, 1.0))
        Traceback (most recent call last):
        ValueError: `MyNeuron`: `beta` must lie in [0.0, 1.0]; got [1.5].
    """
    if isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, list | tuple):
        value = np.asarray(value)
    if isinstance(value, str | bytes) or not _is_numeric(value):
        raise TypeError(
            f"`{fn}`: `{name}` must be a real number or array; got {type(value).__name__} "
            f"{value!r}."
        )
    if isinstance(value, bool) or jnp.result_type(value) == jnp.bool_:
        raise TypeError(f"`{fn}`: `{name}` must be a real number or array; got {value!r}.")
    floating = jnp.issubdtype(jnp.result_type(value), jnp.floating)
    dtype = jnp.result_type(value) if floating and not isinstance(value, float) else jnp.float32
    array = jnp.asarray(value, dtype=dtype)
    interval.check(fn, name, array)
    return array


def _is_numeric(value: Any) -> bool:
    """A number, or an array (or nested sequence) of numbers: what ``jnp.asarray`` turns into a
    numeric array without parsing text."""
    try:
        dtype = np.asarray(value).dtype
    except (TypeError, ValueError):
        return False
    return dtype == np.bool_ or jnp.issubdtype(dtype, jnp.number)


def like(param: Any, x: Float[Array, "..."]) -> Float[Array, "..."]:
    """``param`` (an array leaf or a number) cast to the dtype of ``x`` and broadcast to its shape.

    Explicitly, so that strict dtype and rank promotion hold: per-neuron parameters align with the
    trailing axes of ``x``.
    """
    return jnp.broadcast_to(jnp.asarray(param).astype(x.dtype), x.shape)


def reset_membrane(
    h: Float[Array, "..."],
    s: Float[Array, "..."],
    threshold: Float[Array, "..."],
    reset: Reset,
    detach_reset: bool,
    v_reset: Float[Array, "..."] | None = None,
) -> Float[Array, "..."]:
    """The membrane after the spike ``s``: ``h - s·θ`` | ``h·(1 - s) + s·v_reset`` | ``h`` (see
    `Reset`); without ``v_reset`` the hard reset is ``h·(1 - s)`` (to 0).

    With ``detach_reset`` the spike in the reset term is ``stop_gradient(s)``: no gradient flows
    through the reset (Zenke & Vogels, 2021), which is the usual choice.
    """
    r = jax.lax.stop_gradient(s) if detach_reset else s
    if reset is Reset.SUBTRACT:
        return h - r * threshold
    if reset is Reset.ZERO:
        if v_reset is None:
            return h * (1 - r)
        return h * (1 - r) + r * v_reset
    return h


def fire(
    h: Float[Array, "..."],
    threshold: Float[Array, "..."],
    reset: Reset,
    surrogate: AbstractSurrogate,
    detach_reset: bool,
    *,
    strict: bool = False,
    v_reset: Float[Array, "..."] | None = None,
) -> tuple[Float[Array, "..."], Float[Array, "..."]]:
    """``s = Θ(h - θ)`` with the surrogate gradient (`spikejax.surrogate.spike`), then
    `reset_membrane`. Returns ``(v, s)``.

    ``Θ(0) = 1`` (a neuron fires *at* threshold); with ``strict`` the spike is
    ``1[h > θ]`` instead (NIR's convention), with the same surrogate gradient at ``h - θ``.
    ``v_reset`` is the value of the hard reset (``Reset.ZERO``); ``None`` resets to 0.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> sj.neurons.fire(jnp.array([0.5, 1.5]), jnp.array([1.0, 1.0]), sj.neurons.Reset.SUBTRACT,
        ...                 sj.surrogate.ATan(), True)
        (Array([0.5, 0.5], dtype=float32), Array([0., 1.], dtype=float32))
        >>> sj.neurons.fire(jnp.array([1.0, 1.5]), jnp.array([1.0, 1.0]), sj.neurons.Reset.ZERO,
        ...                 sj.surrogate.ATan(), True, strict=True, v_reset=jnp.array(-0.5))
        (Array([ 1. , -0.5], dtype=float32), Array([0., 1.], dtype=float32))
    """
    if v_reset is not None and reset is not Reset.ZERO:
        raise ValueError(
            f"`fire`: `v_reset` is the value of the hard reset and needs reset={Reset.ZERO.value!r}"
            f"; got reset={reset.value!r}."
        )
    s = spike(h - threshold, surrogate)
    if strict and not isinstance(surrogate, SmoothTwin):
        # Forward: exactly 1[h > θ]; backward: the surrogate's derivative, as for Θ(h - θ).
        s = s - jax.lax.stop_gradient(s - (h > threshold).astype(s.dtype))
    return reset_membrane(h, s, threshold, reset, detach_reset, v_reset), s


def check_v_reset(fn: str, reset: Reset, v_reset: Any, strict: Any) -> None:
    """Constructor checks of the NIR options: ``v_reset`` only with the hard reset; ``strict`` a
    bool."""
    if v_reset is not None and reset is not Reset.ZERO:
        raise ValueError(
            f"`{fn}`: `v_reset` is the membrane after a hard reset and needs "
            f"reset={Reset.ZERO.value!r}; got reset={reset.value!r}."
        )
    if not isinstance(strict, bool):
        raise TypeError(f"`{fn}`: `strict` must be a bool; got {strict!r}.")


def optional_param(fn: str, name: str, value: Any, interval: Interval = UNBOUNDED) -> Any:
    """`as_param` for an optional leaf: ``None`` (the option is off, no leaf) stays ``None``."""
    return None if value is None else as_param(fn, name, value, interval)
