"""Checks shared by the encoders."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Real

from spikejax._errors import check_finite, check_floating, check_range, is_concrete

__all__ = ["as_real", "broadcast_param", "check_array", "check_num_steps", "compute_dtype"]


def check_num_steps(fn: str, num_steps: Any) -> None:
    """``num_steps`` must be a Python or NumPy int >= 1 (it fixes an output shape: static)."""
    if isinstance(num_steps, bool) or not isinstance(num_steps, int | np.integer):
        raise TypeError(f"`{fn}`: `num_steps` must be a positive int; got {num_steps!r}.")
    if num_steps < 1:
        raise ValueError(f"`{fn}`: `num_steps` must be a positive int; got {num_steps!r}.")


def check_array(fn: str, arg: str, x: Any) -> None:
    """``x`` must be an array (JAX or NumPy) with a floating dtype."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{fn}`: `{arg}` must be a floating array; got {type(x).__name__}.")
    check_floating(fn, arg, x)


def compute_dtype(dtype: Any) -> Any:
    """The dtype encoders compute in: ``dtype`` widened to at least float32."""
    dtype = jnp.dtype(dtype)
    return dtype if jnp.finfo(dtype).bits >= 32 else jnp.dtype(jnp.float32)


def as_real(
    fn: str,
    arg: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    scalar: bool = False,
) -> Real[Array, "..."]:
    """``value`` as a real (integer or floating) array; finite and in ``[low, high]`` when concrete.

    With ``scalar``, ``value`` must have shape ``()``.
    """
    if isinstance(value, bool):
        raise TypeError(f"`{fn}`: `{arg}` must be a real number or array; got {value!r}.")
    try:
        array = jnp.asarray(value)
    except TypeError:
        raise TypeError(f"`{fn}`: `{arg}` must be a real number or array; got {value!r}.") from None
    if not (jnp.issubdtype(array.dtype, jnp.floating) or jnp.issubdtype(array.dtype, jnp.integer)):
        raise TypeError(f"`{fn}`: `{arg}` must be a real number or array; got dtype {array.dtype}.")
    if scalar and array.ndim != 0:
        raise ValueError(f"`{fn}`: `{arg}` must be a scalar; got shape {tuple(array.shape)}.")
    if is_concrete(array):
        check_finite(fn, arg, array)
        check_range(fn, arg, array, low=low, high=high, low_open=low_open)
    return array


def broadcast_param(
    fn: str, arg: str, value: Real[Array, "..."], shape: tuple[int, ...], dtype: Any
) -> Array:
    """``value`` cast to ``dtype`` and explicitly broadcast to ``shape``, or a named error."""
    try:
        ok = np.broadcast_shapes(value.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"`{fn}`: `{arg}` must be a scalar or broadcastable to shape {tuple(shape)}; "
            f"got shape {tuple(value.shape)}."
        )
    return jnp.broadcast_to(value.astype(dtype), shape)
