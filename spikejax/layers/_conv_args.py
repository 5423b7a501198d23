"""Argument checks and output sizes of `conv2d_im2col` (named errors, nothing repaired)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

__all__ = ["check_conv_args", "out_size", "padding_pairs", "positive_pair"]


def out_size(size: int, k: int, s: int) -> int:
    """Output length of a valid window ``k`` with stride ``s`` over ``size`` (padding included)."""
    return (size - k) // s + 1


def positive_pair(fn: str, arg: str, value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    ok = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    )
    if not ok:
        raise ValueError(
            f"`{fn}`: `{arg}` must be a positive int or a pair of positive ints; got {value!r}."
        )
    return int(value[0]), int(value[1])


def padding_pairs(fn: str, padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(lo, hi)`` zero padding per spatial axis from an int, a pair of ints or two pairs."""

    def is_count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if is_count(padding):
        return (padding, padding), (padding, padding)
    if isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) == 2:
        pairs = []
        for p in padding:
            if is_count(p):
                pairs.append((p, p))
            elif isinstance(p, Sequence) and len(p) == 2 and all(is_count(v) for v in p):
                pairs.append((int(p[0]), int(p[1])))
            else:
                break
        if len(pairs) == 2:
            return pairs[0], pairs[1]
    raise ValueError(
        f"`{fn}`: `padding` must be a non-negative int, or one int or (low, high) pair of "
        f"non-negative ints per spatial axis (zero padding); got {padding!r}."
    )


def check_conv_args(
    x: Any, kernel: Any, bias: Any, max_pool: Any, chunk: Any, strides, pads
) -> None:
    """Raise `TypeError`/`ValueError` naming the argument unless `conv2d_im2col` computes it."""
    fn = "conv2d_im2col"
    named = [("x", x), ("kernel", kernel)] + ([] if bias is None else [("bias", bias)])
    for name, a in named:
        if not hasattr(a, "shape") or not hasattr(a, "dtype"):
            raise TypeError(f"`{fn}`: `{name}` must be an array; got {type(a).__name__}.")
        if not jnp.issubdtype(a.dtype, jnp.floating):
            raise TypeError(f"`{fn}`: `{name}` must have a floating dtype; got {a.dtype}.")
        if name != "x" and a.dtype != x.dtype:
            raise TypeError(
                f"`{fn}`: `{name}` must have the dtype of `x` ({x.dtype}); got {a.dtype}."
            )
    if x.ndim != 4:
        raise ValueError(f"`{fn}`: `x` must be NHWC [n, h, w, c]; got shape {tuple(x.shape)}.")
    if kernel.ndim != 4:
        raise ValueError(
            f"`{fn}`: `kernel` must be HWIO [kh, kw, c_in, c_out]; got shape {tuple(kernel.shape)}."
        )
    if kernel.shape[2] != x.shape[3]:
        raise ValueError(
            f"`{fn}`: `kernel` input channels must equal `x` channels {x.shape[3]}; "
            f"got kernel shape {tuple(kernel.shape)}."
        )
    padded = (x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1]))
    if kernel.shape[0] > padded[0] or kernel.shape[1] > padded[1]:
        raise ValueError(
            f"`{fn}`: `kernel` must fit inside the padded image {padded}; "
            f"got kernel shape {tuple(kernel.shape)}."
        )
    if bias is not None and tuple(bias.shape) != (kernel.shape[3],):
        raise ValueError(
            f"`{fn}`: `bias` must have shape ({kernel.shape[3]},) (one per output channel); "
            f"got {tuple(bias.shape)}."
        )
    out = tuple(out_size(padded[a], kernel.shape[a], strides[a]) for a in range(2))
    if (
        isinstance(max_pool, bool)
        or not isinstance(max_pool, int)
        or max_pool < 1
        or max_pool > min(out)
    ):
        raise ValueError(
            f"`{fn}`: `max_pool` must be a positive int no larger than the output {out}; "
            f"got {max_pool!r}."
        )
    if chunk is not None and (
        isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1 or x.shape[0] % chunk
    ):
        raise ValueError(
            f"`{fn}`: `chunk` must be a positive int dividing the batch size {x.shape[0]}; "
            f"got {chunk!r}."
        )
