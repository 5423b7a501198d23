"""Named checks at the library's boundaries.

Two kinds of checks live here:

* **trace-time** checks on shapes, dtypes and static choices. They always run, also under ``jit``.
* **value** checks (ranges, NaN) on *concrete* arrays. They run where values are known: in
  constructors and at documented entry points outside ``jit``. Under ``jit`` a traced value cannot
  be inspected without a host round-trip, so these checks are skipped there; the training loop
  calls `check_finite` on concrete parameters at its boundaries instead.

Every message names the function, the argument, the rule and the received value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "check_choice",
    "check_finite",
    "check_floating",
    "check_range",
    "check_time_major",
    "is_concrete",
]


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds known values (not a tracer inside ``jit``/``grad``/``vmap``)."""
    return not isinstance(x, jax.core.Tracer)


def check_floating(fn: str, arg: str, x: Any) -> None:
    """Raise ``TypeError`` unless ``x`` has a floating dtype."""
    dtype = jnp.result_type(x)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"`{fn}`: `{arg}` must have a floating dtype; got {dtype}.")


def check_choice(fn: str, arg: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"`{fn}`: `{arg}` must be one of {choices}; got {value!r}.")


def check_finite(fn: str, arg: str, x: Any) -> None:
    """Raise ``ValueError`` if a concrete ``x`` (or any leaf of a pytree) holds NaN or inf."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(x):
        if not is_concrete(leaf) or not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            continue
        values = np.asarray(leaf)
        if not np.all(np.isfinite(values)):
            where = f"{arg}{jax.tree_util.keystr(path)}"
            bad = values[~np.isfinite(values)].ravel()[:3]
            raise ValueError(
                f"`{fn}`: `{where}` must be finite; got non-finite values {bad.tolist()}."
            )


def check_range(
    fn: str,
    arg: str,
    x: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise ``ValueError`` unless every value of a concrete ``x`` lies in the given interval.

    NaN fails every interval. Traced values are not checked (see the module docstring).
    """
    if not is_concrete(x):
        return
    values = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(values)
    if low is not None:
        ok &= values > low if low_open else values >= low
    if high is not None:
        ok &= values < high if high_open else values <= high
    if not np.all(ok):
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = (
            f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        )
        bad = values[~ok].ravel()[:3]
        raise ValueError(f"`{fn}`: `{arg}` must lie in {interval}; got {bad.tolist()}.")


def check_time_major(fn: str, arg: str, x: Any, *, min_ndim: int = 1) -> None:
    """``x``: a floating array ``[T, ...]`` with ``T >= 1`` and at least ``min_ndim`` axes."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{fn}`: `{arg}` must be a floating array; got {type(x).__name__}.")
    check_floating(fn, arg, x)
    if x.ndim < min_ndim or x.shape[0] == 0:
        layout = "[T, ...]" if min_ndim <= 1 else "[T, *batch, classes]"
        raise ValueError(
            f"`{fn}`: `{arg}` must be time-major {layout} with T >= 1; got shape {tuple(x.shape)}."
        )
