"""Named checks for integer chip parameters and recorded trace dictionaries.

Concrete values are checked (integer dtype, range) and converted to int32; traced values only get
their dtype checked, since their values cannot be inspected under ``jit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from spikejax._errors import is_concrete

__all__ = ["as_int", "check_input_events", "check_like", "check_shape", "require_keys"]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def require_keys(fn: str, case: Any, keys: Iterable[str]) -> None:
    """Raise unless ``case`` is a mapping that holds every key in ``keys``."""
    if not isinstance(case, Mapping):
        raise TypeError(f"`{fn}`: `case` must be a dict of arrays and parameters; got {case!r}.")
    missing = [k for k in keys if k not in case]
    if missing:
        raise ValueError(
            f"`{fn}`: `case` must hold the keys {list(keys)}; missing {missing} "
            f"(got keys {sorted(case)})."
        )


def as_int(
    fn: str,
    arg: str,
    value: Any,
    *,
    low: int | None = None,
    high: int | None = None,
) -> jax.Array:
    """``value`` as an int32 array, checked to be an integer array within ``[low, high]``.

    Python ints and integer NumPy/JAX arrays are accepted; booleans and floating values (even
    integral ones such as ``3.0``) are rejected, as is anything outside ``[low, high]`` or int32.
    Traced values must already be int32 and are returned unchanged.
    """
    low = INT32_MIN if low is None else low
    high = INT32_MAX if high is None else high
    rule = f"an integer array with values in [{low}, {high}]"
    if not is_concrete(value):
        if value.dtype != jnp.int32:
            raise TypeError(
                f"`{fn}`: `{arg}` must be an int32 array when traced; got {value.dtype}."
            )
        return value
    if isinstance(value, bool):
        raise ValueError(f"`{fn}`: `{arg}` must be {rule}; got {value!r}.")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{fn}`: `{arg}` must be {rule}; got {value!r}.") from None
    if array.dtype.kind not in "iu":
        raise ValueError(f"`{fn}`: `{arg}` must be {rule}; got dtype {array.dtype}.")
    wide = array.astype(np.int64) if array.dtype != np.uint64 else array
    bad = (wide < low) | (wide > high)
    if np.any(bad):
        shown = np.asarray(wide)[bad].ravel()[:3].tolist()
        raise ValueError(f"`{fn}`: `{arg}` must be {rule}; got {shown}.")
    return jnp.asarray(array.astype(np.int32))


def check_shape(fn: str, arg: str, x: Any, shape: tuple[int, ...], meaning: str = "") -> None:
    """Raise ``ValueError`` unless ``x.shape == shape`` (``meaning`` names the axes)."""
    if tuple(x.shape) != tuple(shape):
        extra = f" {meaning}" if meaning else ""
        raise ValueError(
            f"`{fn}`: `{arg}` must have shape {tuple(shape)}{extra}; got {tuple(x.shape)}."
        )


def check_input_events(fn: str, s_in: Any, n_in: int) -> None:
    """Raise unless ``s_in`` is an array ``[T, *batch, n_in]`` (its values are checked apart)."""
    if not hasattr(s_in, "shape") or not hasattr(s_in, "dtype"):
        raise TypeError(f"`{fn}`: `s_in` must be an array [T, *batch, n_in]; got {s_in!r}.")
    if s_in.ndim < 2 or s_in.shape[-1] != n_in:
        raise ValueError(
            f"`{fn}`: `s_in` must be time-major [T, *batch, n_in] with n_in = {n_in}; "
            f"got shape {tuple(s_in.shape)}."
        )


def check_like(fn: str, arg: str, got: Any, want: Any, hint: str) -> None:
    """``got`` must have the tree structure of ``want`` and, leaf by leaf, its shape and dtype
    (``want``'s leaves may be abstract); otherwise ``ValueError`` naming the leaf and both shapes.
    ``hint`` says how to build a good value."""
    if jax.tree_util.tree_structure(got) != jax.tree_util.tree_structure(want):
        raise ValueError(
            f"`{fn}`: `{arg}` must have the structure {jax.tree_util.tree_structure(want)}; got "
            f"{jax.tree_util.tree_structure(got)}; {hint}."
        )
    got_leaves = jax.tree_util.tree_leaves_with_path(got)
    for (key, leaf), expected in zip(got_leaves, jax.tree_util.tree_leaves(want), strict=True):
        shape = tuple(getattr(leaf, "shape", ()))
        dtype = getattr(leaf, "dtype", type(leaf).__name__)
        if shape != tuple(expected.shape) or dtype != expected.dtype:
            raise ValueError(
                f"`{fn}`: `{arg}{jax.tree_util.keystr(key)}` has shape {shape} ({dtype}), but "
                f"{tuple(expected.shape)} ({expected.dtype}) is needed here; {hint}."
            )
