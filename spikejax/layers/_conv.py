"""2-D convolution as strided slices and one matrix product (im2col), in memory-bounded chunks."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, Float

from spikejax.layers._conv_args import check_conv_args, out_size, padding_pairs, positive_pair
from spikejax.layers._pool import unpool

__all__ = ["conv2d_im2col"]

# Largest patch matrix one chunk may build, in bytes, when `chunk` is not given.
_PATCH_BYTES = 16 * 2**20


def _patches(x: Float[Array, "n h w c"], kh: int, kw: int, strides) -> Float[Array, "rows cols"]:
    """Patch matrix ``[n*ho*wo, kh*kw*c]``; row ``(n, y, x)`` holds ``x[n, sy*y+i, sx*x+j, c]``.

    Columns are in ``(i, j, c)`` order, matching ``kernel.reshape(kh*kw*c, o)`` for HWIO kernels.
    """
    n, h, w, c = x.shape
    sh, sw = strides
    ho, wo = out_size(h, kh, sh), out_size(w, kw, sw)
    cols = [
        jax.lax.slice(
            x, (0, i, j, 0), (n, i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1, c), (1, sh, sw, 1)
        )
        for i in range(kh)
        for j in range(kw)
    ]
    return jnp.stack(cols, axis=-2).reshape(n * ho * wo, kh * kw * c)


def _col2im(
    dp: Float[Array, "rows cols"], shape: tuple[int, ...], kh: int, kw: int, strides
) -> Float[Array, "n h w c"]:
    """Adjoint of `_patches`: add every patch entry back onto the pixel it was read from."""
    n, h, w, c = shape
    sh, sw = strides
    ho, wo = out_size(h, kh, sh), out_size(w, kw, sw)
    dp = dp.reshape(n, ho, wo, kh, kw, c)
    zero = jnp.zeros((), dp.dtype)
    dx = None
    for i in range(kh):
        for j in range(kw):
            # Row y of the slice lands on pixel sh*y + i: interior padding spreads the stride.
            pad = (
                (0, 0, 0),
                (i, h - i - sh * (ho - 1) - 1, sh - 1),
                (j, w - j - sw * (wo - 1) - 1, sw - 1),
                (0, 0, 0),
            )
            term = jax.lax.pad(dp[:, :, :, i, j, :], zero, pad)
            dx = term if dx is None else dx + term
    return dx


def _pool_windows(y, pool: int):
    """The ``pool*pool`` strided views of ``y`` (cropped to whole windows), row-major order."""
    ho, wo = y.shape[1:3]
    hp, wp = ho // pool, wo // pool
    y = y[:, : hp * pool, : wp * pool, :]
    return [y[:, a::pool, b::pool, :] for a in range(pool) for b in range(pool)]


def _forward_chunk(x, kernel, bias, pool: int, strides):
    """``(max_pool(conv(x) + bias), index of each window's first maximum)`` for one chunk."""
    kh, kw, c, o = kernel.shape
    n, h, w, _ = x.shape
    ho, wo = out_size(h, kh, strides[0]), out_size(w, kw, strides[1])
    y = _patches(x, kh, kw, strides) @ kernel.reshape(kh * kw * c, o)
    if bias is not None:
        y = y + jnp.broadcast_to(bias, y.shape)
    y = y.reshape(n, ho, wo, o)
    if pool == 1:
        return y, jnp.zeros((), jnp.int8)
    windows = _pool_windows(y, pool)
    best, index = windows[0], jnp.zeros(windows[0].shape, jnp.int8)
    for k, candidate in enumerate(windows[1:], start=1):
        better = candidate > best  # strictly: ties keep the first maximum
        best = jnp.where(better, candidate, best)
        index = jnp.where(better, jnp.asarray(k, jnp.int8), index)
    return best, index


def _unpool(g, index, shape: tuple[int, ...], pool: int):
    """Adjoint of the max pool: each window's gradient goes to its first maximum; crop is zero."""
    return g if pool == 1 else unpool(g, index, shape, (pool, pool), (pool, pool))


def _chunked(x, chunk: int):
    return x.reshape(x.shape[0] // chunk, chunk, *x.shape[1:])


def _unchunked(ys):
    return ys.reshape(ys.shape[0] * ys.shape[1], *ys.shape[2:])


def _forward(x, kernel, bias, chunk: int, pool: int, strides):
    if chunk == x.shape[0]:
        return _forward_chunk(x, kernel, bias, pool, strides)
    ys, index = jax.lax.map(
        lambda xc: _forward_chunk(xc, kernel, bias, pool, strides), _chunked(x, chunk)
    )
    return _unchunked(ys), index if pool == 1 else _unchunked(index)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class _Saved:
    """What the backward pass keeps, and which inputs it differentiates (static).

    ``index``: each pooling window's argmax (int8), or a scalar when not pooling. An input
    nobody differentiates (the data of a first layer, a frozen kernel) gets no cotangent, so its
    part of the backward pass is never built: a ``custom_vjp`` backward is one computation that
    XLA cannot prune inside the chunk loop.
    """

    x: Array
    kernel: Array
    bias: Array | None
    index: Array
    need: tuple[bool, bool, bool] = dataclasses.field(metadata={"static": True})


def values_and_need(x, kernel, bias):
    """Strip ``custom_vjp``'s perturbation records: the values and which ones need a gradient."""
    need = tuple(p is not None and p.perturbed for p in (x, kernel, bias))
    return x.value, kernel.value, None if bias is None else bias.value, need


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _conv(x, kernel, bias, chunk, pool, strides):
    return _forward(x, kernel, bias, chunk, pool, strides)[0]


def _conv_fwd(x, kernel, bias, chunk, pool, strides):
    # Kept for the backward pass: the inputs and, when pooling, each window's argmax (int8).
    # Patches are rebuilt chunk by chunk there instead of being stored.
    x, kernel, bias, need = values_and_need(x, kernel, bias)
    y, index = _forward(x, kernel, bias, chunk, pool, strides)
    return y, _Saved(x, kernel, bias, index, need)


def _conv_bwd(chunk, pool, strides, saved, g):
    x, kernel, bias, index = saved.x, saved.kernel, saved.bias, saved.index
    need_dx, need_dk, need_db = saved.need
    need_db = need_db and bias is not None
    if isinstance(g, SymbolicZero) or not any((need_dx, need_dk, need_db)):
        return None, None, None
    kh, kw, c, o = kernel.shape
    n, h, w, _ = x.shape
    ho, wo = out_size(h, kh, strides[0]), out_size(w, kw, strides[1])
    k2 = kernel.reshape(kh * kw * c, o)

    def one_chunk(carry, xgi):
        dk, db = carry
        xc, gc, ic = xgi
        gc = _unpool(gc, ic, (xc.shape[0], ho, wo, o), pool)
        g2 = gc.reshape(-1, o)
        if need_dk:
            p = _patches(xc, kh, kw, strides)
            dk = dk + jax.lax.dot_general(p, g2, (((0,), (0,)), ((), ())))
        if need_db:
            db = db + jnp.sum(g2, axis=0)
        if not need_dx:
            return (dk, db), None
        dp = jax.lax.dot_general(g2, k2, (((1,), (1,)), ((), ())))
        return (dk, db), _col2im(dp, xc.shape, kh, kw, strides)

    carry0 = (
        jnp.zeros_like(k2) if need_dk else None,
        jnp.zeros_like(bias) if need_db else None,
    )
    if chunk == n:
        (dk, db), dx = one_chunk(carry0, (x, g, index))
    else:
        index = jnp.zeros((n,), jnp.int8) if pool == 1 else index
        xs = (_chunked(x, chunk), _chunked(g, chunk), _chunked(index, chunk))
        (dk, db), dxs = jax.lax.scan(one_chunk, carry0, xs)
        dx = None if dxs is None else _unchunked(dxs)
    return dx, None if dk is None else dk.reshape(kernel.shape), db


_conv.defvjp(_conv_fwd, _conv_bwd, symbolic_zeros=True)


def xla_conv(x, kernel, bias, strides, pads):
    y = jax.lax.conv_general_dilated(
        x, kernel, strides, pads, dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return y if bias is None else y + jnp.broadcast_to(bias, y.shape)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _conv_xla_forward(x, kernel, bias, chunk, strides, pads):
    # The value is XLA's convolution: the same bits as nnx.Conv for any batch size, and the
    # operation the network graph reads. Only the derivative is im2col's (XLA:CPU's YNNPACK
    # convolutions differentiate slowly; see spikejax/_xla_flags.py).
    return xla_conv(x, kernel, bias, strides, pads)


def _zero_pad(x, pads):
    return jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _conv_xla_forward_fwd(x, kernel, bias, chunk, strides, pads):
    x, kernel, bias, need = values_and_need(x, kernel, bias)
    no_index = jnp.zeros((), jnp.int8)
    return xla_conv(x, kernel, bias, strides, pads), _Saved(x, kernel, bias, no_index, need)


def _conv_xla_forward_bwd(chunk, strides, pads, saved, g):
    x = saved.x
    padded = dataclasses.replace(saved, x=_zero_pad(x, pads))
    dx, dk, db = _conv_bwd(chunk, 1, strides, padded, g)
    if dx is not None:
        (top, _), (left, _) = pads
        dx = dx[:, top : top + x.shape[1], left : left + x.shape[2]]
    return dx, dk, db


_conv_xla_forward.defvjp(_conv_xla_forward_fwd, _conv_xla_forward_bwd, symbolic_zeros=True)


def _default_chunk(n: int, rows_per_image: int, cols: int, itemsize: int) -> int:
    """Largest divisor of ``n`` whose patch matrix fits in ``_PATCH_BYTES`` (at least 1)."""
    per_image = rows_per_image * cols * itemsize
    best = 1
    for d in range(1, n + 1):
        if n % d == 0 and d * per_image <= _PATCH_BYTES:
            best = d
    return best


def conv2d_im2col(
    x: Float[Array, "batch height width channels"],
    kernel: Float[Array, "kh kw c_in c_out"],
    bias: Float[Array, " c_out"] | None = None,
    *,
    strides: int | tuple[int, int] = 1,
    padding: Any = 0,
    max_pool: int = 1,
    chunk: int | None = None,
    xla_forward: bool = False,
) -> Float[Array, "batch height_out width_out c_out"]:
    r"""2-D convolution (cross-correlation) by im2col, optionally + bias + max pool.

    With the input zero-padded by ``(l_h, r_h)``, ``(l_w, r_w)`` into ``\tilde x`` and strides
    ``(s_h, s_w)``:

    $$
    \begin{aligned}
    z_{n,h,w,o} &= \sum_{i<k_h}\sum_{j<k_w}\sum_{c} \tilde x_{n,\,s_h h+i,\,s_w w+j,\,c}\;
        k_{i,j,c,o} + b_o \\
    y_{n,h,w,o} &= \max_{a,b<p}\; z_{n,\,ph+a,\,pw+b,\,o}
    \end{aligned}
    $$

    for ``h < ⌊(H + l_h + r_h - k_h)/s_h⌋ + 1`` (likewise ``w``) and pool size ``p = max_pool``
    (stride ``p``, incomplete windows at the bottom/right dropped; ``p = 1``: no pooling). ``z``
    equals ``lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=("NHWC",
    "HWIO", "NHWC")) + bias`` up to float rounding (sums are taken in a different order).

    The images are processed ``chunk`` at a time: each chunk's patch matrix
    ``[chunk*h_out*w_out, k_h*k_w*c_in]`` is built from ``k_h*k_w`` strided slices and
    multiplied by the kernel in one matrix product; bias and pooling are applied to the chunk, so
    the un-pooled ``z`` of the whole batch is never stored. The gradient is written by hand: only
    ``x``, the parameters and (when pooling) the position of each window's maximum are kept for
    the backward pass, which rebuilds each chunk's patches and computes ``dkernel = patchesᵀ·g``,
    ``dbias = Σ g`` and ``dx = col2im(g·kernelᵀ)``, each only for an input that is differentiated
    (the data of a first layer gets no ``dx``, a frozen kernel no ``dkernel``). The gradient of a
    window goes to its first maximum in row-major order (as PyTorch's ``max_pool2d``). So
    temporary memory is bounded by the chunk, not the batch. Where XLA:CPU computes float
    convolutions by YNNPACK (jaxlib 0.10's default) this is several times faster to
    differentiate than ``lax.conv_general_dilated`` for small kernels on large time-folded
    batches; `Conv` uses it there.

    Args:
        x: NHWC input, e.g. ``[T*B, H, W, C]`` (see `spikejax.layers.fold`).
        kernel: HWIO kernel ``[k_h, k_w, C, O]`` of the dtype of ``x``.
        bias: optional ``[O]`` bias of the dtype of ``x``.
        strides: ``s`` or ``(s_h, s_w)`` (default 1).
        padding: zero padding: ``q`` (all sides), ``(q_h, q_w)`` or ``((l_h, r_h), (l_w, r_w))``
            (default 0: valid).
        max_pool: pool size and stride ``p`` (default 1: no pooling).
        chunk: images per chunk; must divide the batch size. Default: the largest divisor whose
            patch matrix fits in 16 MiB.
        xla_forward: compute the value with ``lax.conv_general_dilated`` (+ bias), keeping
            im2col's derivative (needs ``max_pool=1``): what `Conv` does on CPU. The value then
            has XLA's bits for every batch size, and the network graph sees a convolution.

    Returns:
        ``[N, H_out // p, W_out // p, O]`` in the dtype of ``x``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from spikejax import layers
        >>> x = jnp.arange(2 * 4 * 4 * 1, dtype=jnp.float32).reshape(2, 4, 4, 1)
        >>> k = jnp.ones((3, 3, 1, 2), jnp.float32)
        >>> y = layers.conv2d_im2col(x, k)
        >>> y.shape, y[0, :, :, 0]
        ((2, 2, 2, 2), Array([[45., 54.],
               [81., 90.]], dtype=float32))
        >>> layers.conv2d_im2col(x, k, jnp.array([1.0, -1.0]), max_pool=2)[0, 0, 0]
        Array([91., 89.], dtype=float32)
        >>> layers.conv2d_im2col(x, k, strides=2, padding=1)[0, :, :, 0]
        Array([[10., 24.],
               [51., 90.]], dtype=float32)
    """
    strides = positive_pair("conv2d_im2col", "strides", strides)
    pads = padding_pairs("conv2d_im2col", padding)
    check_conv_args(x, kernel, bias, max_pool, chunk, strides, pads)
    kh, kw, c, _ = kernel.shape
    if chunk is None:
        h, w = x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1])
        rows = out_size(h, kh, strides[0]) * out_size(w, kw, strides[1])
        chunk = _default_chunk(x.shape[0], rows, kh * kw * c, jnp.dtype(x.dtype).itemsize)
    if xla_forward:
        if max_pool != 1:
            raise ValueError(
                f"`conv2d_im2col`: `xla_forward=True` needs `max_pool=1`; got {max_pool!r}."
            )
        return _conv_xla_forward(x, kernel, bias, chunk, strides, pads)
    if any(p != (0, 0) for p in pads):
        x = _zero_pad(x, pads)
    return _conv(x, kernel, bias, chunk, max_pool, strides)
