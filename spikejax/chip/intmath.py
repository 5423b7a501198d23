"""Integer helpers shared by the chip arithmetics, exact in int32 (no 64-bit mode needed).

``>>`` is an arithmetic right shift (floor toward -inf). Every helper takes and returns int32
arrays; Python ints are accepted where a shift amount or a bit width is expected.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, Int

__all__ = [
    "check_int32",
    "sat16",
    "sat_add",
    "saturate",
    "sequential_sat_add",
    "shift",
]

_INT32 = jnp.dtype(jnp.int32)


def check_int32(fn: str, arg: str, x: Any) -> None:
    """Raise ``TypeError`` naming ``fn`` and ``arg`` unless ``x`` is int32."""
    dtype = jnp.result_type(x)
    if dtype != _INT32:
        raise TypeError(f"`{fn}`: `{arg}` must be an int32 array; got dtype {dtype}.")


def shift(x: Int[Array, "..."], e: int | Int[Array, "..."]) -> Int[Array, "..."]:
    """``x << e`` for ``e > 0``, else the arithmetic ``x >> -e``; ``e`` is an int or an int32 array.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax.chip import intmath
        >>> x = jnp.array([5, -5], jnp.int32)
        >>> intmath.shift(x, 2), intmath.shift(x, -1)
        (Array([ 20, -20], dtype=int32), Array([ 2, -3], dtype=int32))
    """
    check_int32("shift", "x", x)
    if isinstance(e, int):
        if e > 0:
            return jnp.left_shift(x, e)
        return jnp.right_shift(x, -e) if e < 0 else x
    check_int32("shift", "e", e)
    zero = jnp.zeros((), jnp.int32)
    left = jnp.left_shift(x, jnp.maximum(e, zero))
    right = jnp.right_shift(x, jnp.maximum(-e, zero))
    return jnp.where(e >= 0, left, right)


def saturate(x: Int[Array, "..."], bits: int) -> Int[Array, "..."]:
    """``clip(x, -2**(bits-1), 2**(bits-1) - 1)``: saturation to a signed ``bits``-wide integer."""
    check_int32("saturate", "x", x)
    return jnp.clip(x, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def sat16(x: Int[Array, "..."]) -> Int[Array, "..."]:
    """``clip(x, -32768, 32767)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax.chip import intmath
        >>> intmath.sat16(jnp.array([40000, -40000, 7], jnp.int32))
        Array([ 32767, -32768,      7], dtype=int32)
    """
    return saturate(x, 16)


def sat_add(acc: Int[Array, "..."], a: Int[Array, "..."], *, bits: int = 16) -> Int[Array, "..."]:
    """Saturating add ``clip(acc + a, -2**(bits-1), 2**(bits-1) - 1)`` (shapes must match)."""
    return saturate(acc + a, bits)


def _full(value: int, shape: tuple[int, ...]) -> Int[Array, "..."]:
    return jnp.full(shape, value, jnp.int32)


def _compose(first, second, reach: int):
    """The clip-map ``second ∘ first`` for maps ``y -> clip(y + a, lo, hi)``.

    ``clip(clip(y + a1, lo1, hi1) + a2, lo2, hi2) == clip(y + a1 + a2, clip(lo1 + a2, lo2, hi2),
    clip(hi1 + a2, lo2, hi2))``. On the saturated domain any offset beyond ``±reach`` (the
    domain size) already lands on a rail, so offsets are clipped to ``±reach`` to stay small.
    """
    a1, lo1, hi1 = first
    a2, lo2, hi2 = second
    a = jnp.clip(a1 + a2, -reach, reach)
    return a, jnp.clip(lo1 + a2, lo2, hi2), jnp.clip(hi1 + a2, lo2, hi2)


def sequential_sat_add(
    acc: Int[Array, "..."], increments: Int[Array, "..."], *, axis: int, bits: int = 16
) -> Int[Array, "..."]:
    """One saturating add per entry of ``increments`` along ``axis``, in ascending index order.

    Equal to ``for i: acc = clip(acc + increments[..., i, ...], lo, hi)`` with the signed ``bits``
    range ``[lo, hi]`` (``acc`` must lie in it), which differs from ``clip(acc + sum, lo, hi)`` when
    a partial sum hits a rail. Evaluated without a sequential loop: the maps
    ``y -> clip(y + a, lo, hi)`` are closed under composition, so pairs of neighbouring maps are
    composed in ``ceil(log2 n)`` vectorized rounds and the total map is applied once.

    Args:
        acc: accumulator, shape ``increments.shape`` without ``axis``.
        increments: int32 increments; ``axis`` indexes the events in order.
        axis: the event axis of ``increments``.
        bits: width of the saturating accumulator.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax.chip import intmath
        >>> acc = jnp.array([30000], jnp.int32)
        >>> intmath.sequential_sat_add(acc, jnp.array([[5000, -5000]], jnp.int32), axis=1)
        Array([27767], dtype=int32)
    """
    check_int32("sequential_sat_add", "acc", acc)
    check_int32("sequential_sat_add", "increments", increments)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    a = jnp.moveaxis(increments, axis, 0)
    if a.shape[1:] != acc.shape:
        raise ValueError(
            f"`sequential_sat_add`: `acc` must have the shape of `increments` without axis {axis}, "
            f"{a.shape[1:]}; got {acc.shape}."
        )
    if a.shape[0] == 0:
        return acc
    reach = 1 << bits  # hi - lo + 1: any larger offset already lands on a rail
    maps = (jnp.clip(a, -reach, reach), _full(lo, a.shape), _full(hi, a.shape))
    while maps[0].shape[0] > 1:
        if maps[0].shape[0] % 2:
            one = (1, *a.shape[1:])
            identity = (_full(0, one), _full(lo, one), _full(hi, one))
            maps = tuple(jnp.concatenate([m, i]) for m, i in zip(maps, identity, strict=True))
        maps = _compose(tuple(m[0::2] for m in maps), tuple(m[1::2] for m in maps), reach)
    total_a, total_lo, total_hi = (m[0] for m in maps)
    return jnp.clip(acc + total_a, total_lo, total_hi)


def signed_bounds(bits: int) -> tuple[int, int]:
    """Inclusive range ``(-2**(bits-1), 2**(bits-1) - 1)`` of a signed ``bits``-wide integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def check_widths(fn: str, obj: Any, rules: dict[str, tuple[int, int, str]]) -> None:
    """Raise ``ValueError`` naming the first field of ``obj`` outside its rule.

    ``rules`` maps a field name to ``(low, high, why)``: the field must be an int in
    ``[low, high]``; ``why`` says what the bound keeps exact.
    """
    for name, (low, high, why) in rules.items():
        value = getattr(obj, name)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        if not ok:
            raise ValueError(
                f"`{fn}`: `{name}` must be an int in [{low}, {high}] ({why}); got {value!r}."
            )
