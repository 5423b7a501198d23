"""`max_pool`: max pooling over the two spatial axes with a hand-written, index-based gradient."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = ["max_pool"]


def _views(x, window, strides, out):
    """The ``k_h·k_w`` strided views of ``x`` (one per window offset), row-major order."""
    n, _, _, c = x.shape
    (kh, kw), (sh, sw), (ho, wo) = window, strides, out
    return [
        jax.lax.slice(
            x, (0, a, b, 0), (n, a + sh * (ho - 1) + 1, b + sw * (wo - 1) + 1, c), (1, sh, sw, 1)
        )
        for a in range(kh)
        for b in range(kw)
    ]


def _forward(x, window, strides, out):
    views = _views(x, window, strides, out)
    best, index = views[0], jnp.zeros(views[0].shape, jnp.int8)
    for k, candidate in enumerate(views[1:], start=1):
        better = candidate > best  # strictly: ties keep the first maximum
        best = jnp.where(better, candidate, best)
        index = jnp.where(better, jnp.asarray(k, jnp.int8), index)
    return best, index


def _pool_fwd(x, window, strides, out):
    y, index = _forward(x, window, strides, out)
    return y, (index, x.shape)


def unpool(g, index, shape: tuple[int, ...], window, strides):
    """Adjoint of max pooling: each window's gradient onto its first maximum, ``dx`` of ``shape``.

    ``g``: ``[n, h_out, w_out, c]``; ``index``: each window's argmax, row-major within the window
    (int8); ``shape``: the pooled input's ``[n, h, w, c]``. Pixels no window reads get zero.
    """
    _, h, w, _ = shape
    (kh, kw), (sh, sw) = window, strides
    _, ho, wo, _ = g.shape
    zero = jnp.zeros((), g.dtype)
    dx = None
    for k in range(kh * kw):
        a, b = divmod(k, kw)
        # Window (y, x) read pixel (sh*y + a, sw*x + b): interior padding spreads the stride.
        pad = (
            (0, 0, 0),
            (a, h - a - sh * (ho - 1) - 1, sh - 1),
            (b, w - b - sw * (wo - 1) - 1, sw - 1),
            (0, 0, 0),
        )
        term = jax.lax.pad(jnp.where(index == k, g, zero), zero, pad)
        dx = term if dx is None else dx + term
    return dx


def _pool_bwd(window, strides, out, residuals, g):
    index, shape = residuals
    return (unpool(g, index, shape, window, strides),)


def _reduce_window(x, window, strides, pads):
    init = np.array(-np.inf, x.dtype)  # concrete, so JAX uses its differentiable max-pool
    return jax.lax.reduce_window(
        x,
        init,
        jax.lax.max,
        (1, *window, 1),
        (1, *strides, 1),
        ((0, 0), (pads[0], pads[0]), (pads[1], pads[1]), (0, 0)),
    )


def _neg_inf_pad(x, pads):
    if pads == (0, 0):
        return x
    widths = ((0, 0), (pads[0], pads[0]), (pads[1], pads[1]), (0, 0))
    return jnp.pad(x, widths, constant_values=-jnp.inf)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3, 4))
def _max_pool(x, window, strides, pads, out):
    # The primal is XLA's reduce_window, what a reader of the operations sees (a pooling node);
    # under differentiation the forward keeps each window's argmax and the derivative uses it.
    return _reduce_window(x, window, strides, pads)


def _max_pool_fwd(x, window, strides, pads, out):
    return _pool_fwd(_neg_inf_pad(x, pads), window, strides, out)


def _max_pool_bwd(window, strides, pads, out, residuals, g):
    (dx,) = _pool_bwd(window, strides, out, residuals, g)
    h, w = dx.shape[1] - 2 * pads[0], dx.shape[2] - 2 * pads[1]
    return (dx[:, pads[0] : pads[0] + h, pads[1] : pads[1] + w],)


_max_pool.defvjp(_max_pool_fwd, _max_pool_bwd)


def _pair(fn: str, arg: str, value: Any, low: int) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    ok = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= low for v in value)
    )
    if not ok:
        kind = "positive" if low else "non-negative"
        raise ValueError(
            f"`{fn}`: `{arg}` must be a {kind} int or a pair of {kind} ints; got {value!r}."
        )
    return int(value[0]), int(value[1])


def max_pool(
    x: Float[Array, "*batch height width channels"],
    window: int | tuple[int, int],
    strides: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Float[Array, "*batch height_out width_out channels"]:
    r"""Max pooling over the height and width axes, padded with ``-inf``.

    $$
    y_{n,h,w,c} = \max_{a<k_h,\; b<k_w}\; \tilde x_{n,\,s_h h+a,\,s_w w+b,\,c}
    $$

    with ``\tilde x`` the input padded by ``padding`` on both sides of each axis with ``-inf``
    (padding never wins), ``h < ⌊(H + 2 q_h - k_h)/s_h⌋ + 1`` (likewise ``w``): the values of
    ``nnx.max_pool`` and of PyTorch's ``max_pool2d``. The gradient of each window goes to its first
    maximum in row-major order (as PyTorch; on spike inputs every window with two spikes is a
    tie), computed from the int8 position of that maximum kept by the forward pass, so the
    backward pass neither stores nor re-reads the input. On XLA:CPU this is faster than
    differentiating ``reduce_window``. Undifferentiated, the value is ``lax.reduce_window``'s
    (``max``, the operation the network graph reads as a pooling node).

    Args:
        x: ``[*batch, H, W, C]``, floating (any number of leading batch axes, e.g. time-major
            ``[T, B, ...]``).
        window: ``k`` or ``(k_h, k_w)``.
        strides: ``s`` or ``(s_h, s_w)`` (default: the window).
        padding: ``q`` or ``(q_h, q_w)``, on both sides (default 0).

    Returns:
        ``[*batch, H_out, W_out, C]`` in the dtype of ``x``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from spikejax import layers
        >>> x = jnp.array([[1.0, 1.0, 0.0], [0.0, 1.0, 2.0]]).reshape(1, 2, 3, 1)
        >>> layers.max_pool(x, 2, 1)[0, :, :, 0]
        Array([[1., 2.]], dtype=float32)
        >>> jax.grad(lambda x: layers.max_pool(x, 2, 1).sum())(x)[0, :, :, 0]   # first maximum
        Array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    fn = "max_pool"
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{fn}`: `x` must be an array; got {type(x).__name__}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"`{fn}`: `x` must have a floating dtype; got {x.dtype}.")
    if x.ndim < 3:
        raise ValueError(f"`{fn}`: `x` must be [*batch, H, W, C]; got shape {tuple(x.shape)}.")
    window = _pair(fn, "window", window, 1)
    strides = window if strides is None else _pair(fn, "strides", strides, 1)
    pads = _pair(fn, "padding", padding, 0)
    size = x.shape[-3:-1]
    if any(window[a] > size[a] + 2 * pads[a] for a in range(2)):
        raise ValueError(
            f"`{fn}`: `window` {window} must fit inside the padded image "
            f"{tuple(size[a] + 2 * pads[a] for a in range(2))}; got input shape {tuple(x.shape)}."
        )
    lead = x.ndim - 3
    batch = x.shape[:lead]
    x = x.reshape((-1, *x.shape[lead:]))
    out = tuple((x.shape[1 + a] + 2 * pads[a] - window[a]) // strides[a] + 1 for a in range(2))
    y = _max_pool(x, window, strides, pads, out)
    return y.reshape((*batch, *y.shape[1:]))
