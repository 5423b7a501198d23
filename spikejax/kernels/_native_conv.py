"""The C++ CPU convolution kernels (``csrc/conv.cc``): the value and the kernel gradient from
the nonzero entries of a sparse input, and the input and kernel gradients from the nonzero
entries of the output's cotangent.

They compute valid (unpadded) NHWC convolutions with HWIO kernels; callers pad first. No
gradient is defined here: `spikejax.layers.Conv` and `spikejax.layers.EventConv` put them
together into a differentiable convolution.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from spikejax.kernels._native import require_native

__all__ = ["conv_input_grad_cpu", "conv_kernel_grad_cpu", "event_conv_cpu", "event_conv_wgrad_cpu"]


def _pair(fn: str, arg: str, value) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"`{fn}`: `{arg}` must be an int or two ints; got {value!r}.")
    if min(pair) < 1:
        raise ValueError(f"`{fn}`: `{arg}` must be positive; got {value!r}.")
    return pair


def _out_size(fn: str, size: int, k: int, s: int, what: str) -> int:
    if size < k:
        raise ValueError(f"`{fn}`: the {what} ({size}) is smaller than the kernel ({k}).")
    return (size - k) // s + 1


def _call(target: str, out_shape: tuple[int, ...], a: Array, b: Array, strides):
    out = jax.ShapeDtypeStruct(out_shape, jnp.float32)
    call = jax.ffi.ffi_call(target, out, vmap_method="sequential")
    return call(a, b, stride_h=np.int64(strides[0]), stride_w=np.int64(strides[1]))


def event_conv_cpu(
    x: Float[Array, "n h w c_in"],
    kernel: Float[Array, "kh kw c_in c_out"],
    *,
    strides: int | tuple[int, int] = 1,
) -> Float[Array, "n h_out w_out c_out"]:
    """Valid 2-D convolution from the nonzero entries of ``x``, by the C++ CPU kernel (float32).

    $$ y_{n,p,q,:} = \\sum_{(i,j,c):\\ \\tilde x \\neq 0} \\tilde x\\; k_{i,j,c,:},\\qquad
       \\tilde x = x_{n,\\,s_h p+i,\\,s_w q+j,\\,c} $$

    summed from 0 over the window in ascending ``(i, j, c)``, one fused multiply-add per term
    where the CPU has one. The cost is one pass over ``x`` and ``c_out`` multiply-adds per
    nonzero entry and window it falls in: for binary spikes, a silent input costs the pass only.
    It equals ``lax.conv_general_dilated(x, kernel, strides, "VALID")`` up to float rounding (bit
    for bit when the sums are exact, e.g. binary ``x`` and dyadic weights).

    Raises:
        RuntimeError: the kernels are not available (`native_status` says why).
        TypeError: ``x`` or ``kernel`` is not a 4-d float32 array.
        ValueError: the channels differ, the kernel is larger than the input, or bad strides.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> x = jnp.zeros((1, 3, 3, 1)).at[0, 1, 1, 0].set(1.0)
        >>> k = jnp.arange(4.0).reshape(2, 2, 1, 1)
        >>> if sj.kernels.native_status().available:
        ...     y = sj.kernels.event_conv_cpu(x, k)
        ...     assert y[0, :, :, 0].tolist() == [[3.0, 2.0], [1.0, 0.0]]
    """
    fn = "event_conv_cpu"
    require_native(fn, ndim=4, x=x, kernel=kernel)
    sh, sw = _pair(fn, "strides", strides)
    n, h, w, c = x.shape
    kh, kw, kc, o = kernel.shape
    if kc != c:
        raise ValueError(
            f"`{fn}`: `kernel` [kh, kw, c_in, c_out] must have c_in = {c} (the channels of `x` "
            f"{tuple(x.shape)}); got {tuple(kernel.shape)}."
        )
    ho, wo = _out_size(fn, h, kh, sh, "height"), _out_size(fn, w, kw, sw, "width")
    return _call("spikejax_event_conv_f32", (n, ho, wo, o), x, kernel, (sh, sw))


def event_conv_wgrad_cpu(
    x: Float[Array, "n h w c_in"],
    g: Float[Array, "n h_out w_out c_out"],
    kernel_size: tuple[int, int],
    *,
    strides: int | tuple[int, int] = 1,
) -> Float[Array, "kh kw c_in c_out"]:
    """The kernel gradient of `event_conv_cpu` for the output cotangent ``g``, from the nonzero
    entries of ``x`` (C++ CPU kernel, float32).

    $$ \\frac{\\partial L}{\\partial k_{i,j,c,:}} = \\sum_{(n,p,q):\\ \\tilde x \\neq 0}
       \\tilde x\\; g_{n,p,q,:},\\qquad \\tilde x = x_{n,\\,s_h p+i,\\,s_w q+j,\\,c} $$

    summed in up to 16 fixed consecutive blocks of images (fewer for few images or a large
    kernel), each from 0 in ascending ``(n, p, q)``, one fused multiply-add per term where the
    CPU has one, and the blocks' sums then added in order; the blocks depend on the shapes only,
    not on the threads. Raises as `event_conv_cpu`, and when ``g`` is not the output's shape.
    """
    return _kernel_grad("event_conv_wgrad_cpu", x, g, kernel_size, strides)


def conv_kernel_grad_cpu(
    x: Float[Array, "n h w c_in"],
    g: Float[Array, "n h_out w_out c_out"],
    kernel_size: tuple[int, int],
    *,
    strides: int | tuple[int, int] = 1,
) -> Float[Array, "kh kw c_in c_out"]:
    """The kernel gradient of a valid 2-D convolution of ``x`` for the output cotangent ``g``,
    from the nonzero entries of ``g`` (C++ CPU kernel, float32): behind a max pool three in four
    are zero, whatever ``x`` holds.

    $$ \\frac{\\partial L}{\\partial k_{i,j,c,o}} = \\sum_{(n,p,q):\\ g_{n,p,q,o} \\neq 0}
       g_{n,p,q,o}\\; x_{n,\\,s_h p+i,\\,s_w q+j,\\,c} $$

    The images are summed in up to 16 fixed consecutive blocks (fewer for few images or a
    large kernel), each from 0 in ascending ``(n, p, q)``, one fused multiply-add per term where
    the CPU has one; the blocks' sums are then added in order (as `event_conv_wgrad_cpu`). The
    blocks depend on the shapes only, not on the threads. Raises as `event_conv_wgrad_cpu`.
    """
    return _kernel_grad("conv_kernel_grad_cpu", x, g, kernel_size, strides)


def _kernel_grad(fn: str, x, g, kernel_size, strides):
    require_native(fn, ndim=4, x=x, g=g)
    sh, sw = _pair(fn, "strides", strides)
    kh, kw = _pair(fn, "kernel_size", kernel_size)
    n, h, w, c = x.shape
    want = (n, _out_size(fn, h, kh, sh, "height"), _out_size(fn, w, kw, sw, "width"), g.shape[3])
    if tuple(g.shape) != want:
        raise ValueError(
            f"`{fn}`: `g` must be the output's shape {want} for `x` {tuple(x.shape)}, kernel "
            f"size {(kh, kw)} and strides {(sh, sw)}; got {tuple(g.shape)}."
        )
    target = {
        "event_conv_wgrad_cpu": "spikejax_event_conv_wgrad_f32",
        "conv_kernel_grad_cpu": "spikejax_conv_kernel_grad_f32",
    }[fn]
    return _call(target, (kh, kw, c, g.shape[3]), x, g, (sh, sw))


def conv_input_grad_cpu(
    g: Float[Array, "n h_out w_out c_out"],
    kernel: Float[Array, "kh kw c_in c_out"],
    input_size: tuple[int, int],
    *,
    strides: int | tuple[int, int] = 1,
) -> Float[Array, "n h w c_in"]:
    """The input gradient of a valid 2-D convolution of an input of height and width
    ``input_size``, from the nonzero entries of the output cotangent ``g`` (C++ CPU kernel,
    float32). Per output position, the window's gradient ``d = Σ_o g_o k_{:,:,:,o}`` (nonzero
    ``g_o`` in ascending ``o``) is formed once and added onto the window's pixels, positions in
    ascending ``(p, q)``:

    $$ \\frac{\\partial L}{\\partial x_{n,y,x,c}} = \\sum_{(p,q,i,j):\\ s_h p+i=y,\\ s_w q+j=x}
       \\Big(\\sum_{o:\\ g_{n,p,q,o} \\neq 0} g_{n,p,q,o}\\, k_{i,j,c,o}\\Big) $$

    A zero cotangent costs nothing beyond reading it: behind a max pool, three in four are.
    Equals XLA's input gradient up to float rounding. Raises as `event_conv_cpu`, and when ``g``
    is not the output's shape for ``input_size``.
    """
    fn = "conv_input_grad_cpu"
    require_native(fn, ndim=4, g=g, kernel=kernel)
    sh, sw = _pair(fn, "strides", strides)
    h, w = _pair(fn, "input_size", input_size)
    kh, kw, c, o = kernel.shape
    n = g.shape[0]
    want = (n, _out_size(fn, h, kh, sh, "height"), _out_size(fn, w, kw, sw, "width"), o)
    if tuple(g.shape) != want:
        raise ValueError(
            f"`{fn}`: `g` must be the output's shape {want} for input size {(h, w)}, `kernel` "
            f"{tuple(kernel.shape)} and strides {(sh, sw)}; got {tuple(g.shape)}."
        )
    # [O, KH, KW, C]: each output channel's window contiguous, the rows the kernel sums.
    wt = kernel.transpose(3, 0, 1, 2)
    return _call("spikejax_conv_input_grad_f32", (n, h, w, c), g, wt, (sh, sw))
