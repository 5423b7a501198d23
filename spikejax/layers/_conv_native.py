"""A 2-D convolution differentiated by the C++ CPU kernels; event-driven for sparse inputs."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, Float

from spikejax import kernels
from spikejax.layers._branch import shared_branch
from spikejax.layers._conv import values_and_need, xla_conv

__all__ = ["SPARSE_COTANGENT", "conv_native"]

#: Largest fraction of nonzero cotangent entries for which the kernel gradient is computed from
#: them (`spikejax.kernels.conv_kernel_grad_cpu`) instead of by XLA. Measured at
#: ``conv_nmnist``'s conv2 (800 x 15 x 15 x 12 -> 64, 5 x 5) on a 2-core AMD EPYC CPU: 22 ms
#: against XLA's 39 ms at 25 % nonzero (behind a 2 x 2 max pool: 18 ms), 48 against 43 at 50 %.
SPARSE_COTANGENT = 0.3


def _padded(x, pads):
    return jnp.pad(x, ((0, 0), *pads, (0, 0))) if any(p != (0, 0) for p in pads) else x


def _dense_kernel_grad(xp, kernel, strides, g):
    """XLA's kernel gradient for the padded input ``xp``, written as a forward convolution of
    ``xp`` (batch and channels swapped) with ``g`` as the kernel, dilated by the strides: the
    same sums as JAX's transpose rule (bit for bit on XLA:CPU), which XLA:CPU runs about 150x
    slower inside a conditional (8.2 s against 50 ms at ``conv_nmnist``'s conv2); this form
    runs at its usual speed there."""
    kh, kw = kernel.shape[:2]
    dk = jax.lax.conv_general_dilated(
        xp.transpose(3, 1, 2, 0),  # [C, H, W, N]: channels as the batch, images as features
        g.transpose(1, 2, 0, 3),  # [HO, WO, N, O]: the cotangent as the kernel
        (1, 1),
        "VALID",
        rhs_dilation=strides,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    return dk[:, :kh, :kw, :].transpose(1, 2, 0, 3)


def _forward(x, kernel, strides, pads, capacity):
    """``(y, branch)``: branch 1 where the event path ran, 0 where the dense (under ``vmap``,
    one for all members: `shared_branch`). The dense value is XLA's convolution of the
    unpadded input with its padding, the operation the network graph reads."""

    def dense():
        return xla_conv(x, kernel, None, strides, pads)

    if capacity is None:
        return dense(), jnp.zeros((), jnp.int32)
    event = shared_branch((kernels.count_nonzero_cpu(x) <= capacity).astype(jnp.int32))
    y = jax.lax.switch(
        event, [dense, lambda: kernels.event_conv_cpu(_padded(x, pads), kernel, strides=strides)]
    )
    return y, event


def _kernel_grad(xp, kernel, strides, capacity, event, g):
    """From the input's nonzeros where the forward took the event path, else from the
    cotangent's where at most `SPARSE_COTANGENT` of it is nonzero, else XLA's."""
    branches = [
        lambda: _dense_kernel_grad(xp, kernel, strides, g),
        lambda: kernels.conv_kernel_grad_cpu(xp, g, kernel.shape[:2], strides=strides),
        lambda: kernels.event_conv_wgrad_cpu(xp, g, kernel.shape[:2], strides=strides),
    ]

    def by_cotangent():
        sparse = kernels.count_nonzero_cpu(g) <= math.ceil(SPARSE_COTANGENT * g.size)
        return sparse.astype(jnp.int32)

    if capacity is None:
        which = by_cotangent()
    else:
        which = jax.lax.cond(event == 1, lambda: jnp.int32(2), by_cotangent)
    return jax.lax.switch(shared_branch(which), branches)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv(x, kernel, strides, pads, capacity):
    return _forward(x, kernel, strides, pads, capacity)[0]


def _conv_fwd(x, kernel, strides, pads, capacity):
    x, kernel, _, need = values_and_need(x, kernel, None)
    y, event = _forward(x, kernel, strides, pads, capacity)
    return y, (x, kernel, event, need)


def _conv_bwd(strides, pads, capacity, saved, g):
    x, kernel, event, (need_x, need_kernel, _) = saved
    if isinstance(g, SymbolicZero):
        return None, None
    xp = _padded(x, pads)
    dx = dk = None
    if need_x:
        dxp = kernels.conv_input_grad_cpu(g, kernel, xp.shape[1:3], strides=strides)
        (top, _), (left, _) = pads
        dx = dxp[:, top : top + x.shape[1], left : left + x.shape[2]]
    if need_kernel:
        dk = _kernel_grad(xp, kernel, strides, capacity, event, g)
    return dx, dk


_conv.defvjp(_conv_fwd, _conv_bwd, symbolic_zeros=True)


def conv_native(
    x: Float[Array, "n h w c_in"],
    kernel: Float[Array, "kh kw c_in c_out"],
    strides: tuple[int, int],
    pads: tuple[tuple[int, int], tuple[int, int]],
    capacity: int | None,
) -> Float[Array, "n h_out w_out c_out"]:
    """NHWC convolution with zero padding ``pads`` (float32, CPU) whose gradient the C++
    kernels compute.

    The value is ``lax.conv_general_dilated(x, kernel, strides, pads)``; with a ``capacity``,
    a call whose ``x`` has at most ``capacity`` nonzero entries computes it from them instead
    (`spikejax.kernels.event_conv_cpu`, equal up to float rounding) and its kernel gradient
    likewise (`spikejax.kernels.event_conv_wgrad_cpu`); otherwise the kernel gradient comes
    from the cotangent's nonzeros where at most `SPARSE_COTANGENT` of it is nonzero
    (`spikejax.kernels.conv_kernel_grad_cpu`), else from XLA. The input gradient is
    `spikejax.kernels.conv_input_grad_cpu`'s. Only what is differentiated
    is computed (the data of a first layer gets no input gradient).
    """
    return _conv(x, kernel, strides, pads, capacity)
