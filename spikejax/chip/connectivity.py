"""How a chip layer's presynaptic neurons reach its neurons: dense, convolutional or pooling.

A `Synapse` describes the connectivity of one layer, read from the network graph:

* ``"dense"``: every presynaptic neuron reaches every neuron (``nnx.Linear``; a flatten before
  it only reorders the presynaptic neurons, row-major, channels last);
* ``"conv"``: a convolution with shared weights (``nnx.Conv``: kernel, strides, padding, kernel
  dilation, feature groups), channels last;
* ``"pool"``: the window sum of a max-pooling relay (each neuron sums its window with one shared
  weight; with binary spikes and a threshold below one weight the relay fires exactly when any
  spike of its window does: the OR that max pooling of spikes is).

Any of them may start with a folded **sum pool** (``pool``: a sum or average pool in the float
network, window equal to its strides, no padding): the presynaptic spikes are summed over each
window before the weights, i.e. every presynaptic neuron of a window reaches the neuron with the
same weight (an average pool's ``1 / count`` goes into the weights' scale). On integer event
counts the sum and the weighted sum are exact integer sums, so the chip's accumulation rule
(exact sum, then its shift or saturation) applies unchanged.

`apply` is the one linear map of a layer, on any numeric dtype; the chips call it with
integer values cast to float32 only while every partial sum is an integer below ``2**24``
(`exact_apply`), where float accumulation is exact in any order.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

__all__ = ["Synapse", "apply", "exact_apply", "fan_in", "window_sum"]

_F32_EXACT = 1 << 24  # float32 represents every integer of smaller magnitude exactly
_SPATIAL = "HWD"


@dataclasses.dataclass(frozen=True)
class Synapse:
    """The connectivity of one layer (static, hashable).

    Attributes:
        op: ``"dense"``, ``"conv"`` or ``"pool"``.
        in_shape: per-sample presynaptic shape, channels last (before ``pool``).
        out_shape: per-sample shape of the layer's neurons, channels last.
        pool: ``(window, strides)`` of a folded sum pool over the spatial axes, or ``None``.
        pool_scale: ``1 / count`` for a folded average pool, 1 for a sum pool.
        kernel: spatial kernel (``"conv"``) or window (``"pool"``) size.
        strides: spatial strides.
        padding: ``((low, high), ...)`` per spatial axis.
        dilation: kernel dilation per spatial axis.
        groups: feature groups of a convolution.
    """

    op: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    pool: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    pool_scale: float = 1.0
    kernel: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()
    padding: tuple[tuple[int, int], ...] = ()
    dilation: tuple[int, ...] = ()
    groups: int = 1

    @property
    def n_in(self) -> int:
        """Presynaptic neurons."""
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        """Neurons of the layer."""
        return math.prod(self.out_shape)

    @property
    def pooled_shape(self) -> tuple[int, ...]:
        """The presynaptic shape after the folded sum pool."""
        if self.pool is None:
            return self.in_shape
        window, strides = self.pool
        spatial = self.in_shape[:-1]
        out = [(n - k) // s + 1 for n, k, s in zip(spatial, window, strides, strict=True)]
        return (*out, self.in_shape[-1])

    @property
    def pool_count(self) -> int:
        """Presynaptic neurons summed per folded pool window (1 without one)."""
        return 1 if self.pool is None else math.prod(self.pool[0])


def fan_in(syn: Synapse) -> int:
    """The largest number of presynaptic neurons that reach one neuron (padding ignored)."""
    if syn.op == "dense":
        return syn.n_in
    c_in = syn.pooled_shape[-1]
    per = math.prod(syn.kernel) * (c_in // syn.groups if syn.op == "conv" else 1)
    return per * syn.pool_count


def window_sum(
    x: jax.Array, window: tuple[int, ...], strides: tuple[int, ...], padding=None
) -> jax.Array:
    """Sum of ``x`` ``[rows, *spatial, C]`` over spatial windows (no padding: floor mode)."""
    pad = ((0, 0), *(padding or ((0, 0),) * len(window)), (0, 0))
    zero = np.array(0, x.dtype)  # concrete, so JAX uses its differentiable window sum
    return jax.lax.reduce_window(x, zero, jax.lax.add, (1, *window, 1), (1, *strides, 1), pad)


def apply(syn: Synapse, x: jax.Array, w: jax.Array, *, precision=None, out_dtype=None) -> jax.Array:
    """The layer's linear map of presynaptic values ``x`` ``[rows, n_in]`` -> ``[rows, n_out]``.

    ``w``: the kernel ``(n_in, n_out)`` (dense), ``(*kernel, c_in / groups, c_out)`` (conv) or
    one shared weight (pool, a scalar). Average-pool scales are not applied (they belong to the
    weights' scale): the folded pool is a sum.
    """
    rows = x.shape[0]
    if syn.op == "dense" and syn.pool is None:
        return jnp.matmul(x, w, precision=precision, preferred_element_type=out_dtype)
    h = x.reshape((rows, *syn.in_shape))
    if syn.pool is not None:
        h = window_sum(h, *syn.pool)
    if syn.op == "dense":
        h = h.reshape((rows, -1))
        return jnp.matmul(h, w, precision=precision, preferred_element_type=out_dtype)
    if syn.op == "pool":
        out = window_sum(h, syn.kernel, syn.strides, syn.padding) * w
        return out.reshape((rows, -1)).astype(out_dtype or out.dtype)
    letters = _SPATIAL[: len(syn.kernel)]
    out = jax.lax.conv_general_dilated(
        h,
        w,
        window_strides=syn.strides,
        padding=syn.padding,
        rhs_dilation=syn.dilation,
        dimension_numbers=(f"N{letters}C", f"{letters}IO", f"N{letters}C"),
        feature_group_count=syn.groups,
        precision=precision,
        preferred_element_type=out_dtype,
    )
    return out.reshape((rows, -1))


def exact_apply(
    syn: Synapse, x: Int[Array, "rows n_in"], w: Int[Array, "..."], max_count: int, w_max: int
) -> Int[Array, "rows n_out"]:
    """`apply` on integers, exactly, for presynaptic counts ``0 <= x <= max_count`` and
    weights ``|w| <= w_max``.

    A folded sum pool runs first on int32. Every partial sum of the weighted sum is then an
    integer of magnitude at most ``fan_in * max_count * w_max``; below ``2**24`` a float map with
    float32 accumulation is exact whatever the summation order (operands of at most 256 in
    magnitude are exact in bfloat16, the faster operand type); beyond, the map runs on int32.
    """
    x = x.astype(jnp.int32)  # spikes may arrive as int8: sums need the width
    if syn.pool is not None:
        rows = x.shape[0]
        pooled = window_sum(x.reshape((rows, *syn.in_shape)), *syn.pool)
        x = pooled.reshape((rows, -1))
        max_count = max_count * syn.pool_count
        syn = dataclasses.replace(syn, pool=None, in_shape=syn.pooled_shape)
    if syn.op == "pool":  # a window sum: integer adds, exact as they are
        return apply(syn, x, w.astype(jnp.int32))
    bound = fan_in(syn) * max_count * w_max
    if bound < _F32_EXACT:
        dtype = jnp.bfloat16 if max(max_count, w_max) <= 256 else jnp.float32
        acc = apply(
            syn,
            x.astype(dtype),
            w.astype(dtype),
            precision=jax.lax.Precision.HIGHEST,
            out_dtype=jnp.float32,
        )
        return acc.astype(jnp.int32)
    return apply(syn, x.astype(jnp.int32), w.astype(jnp.int32), out_dtype=jnp.int32)


def dense(n_in: int, n_out: int) -> Synapse:
    """The dense connectivity ``n_in -> n_out``."""
    return Synapse("dense", (n_in,), (n_out,))


def per_neuron(value: np.ndarray | jax.Array, out_shape: tuple[int, ...], xp=jnp):
    """A scalar, per-channel ``(C,)`` or per-neuron value broadcast to every neuron, flattened."""
    return xp.broadcast_to(value, out_shape).reshape(-1)
