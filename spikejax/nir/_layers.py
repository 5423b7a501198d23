"""The stateless NIR nodes as NNX layers on time-major tensors in NIR's own (channels-first)
layout: convolution, sum/average pooling, flatten, elementwise scale and threshold.

Affine and Linear nodes are ``nnx.Linear`` layers; neurons and delays are
`spikejax.layers.Spiking` layers. Convolution and pooling run time-folded with channels
last inside (``nnx.Conv``, ``reduce_window``), so the network graph sees ordinary convolution and
pooling nodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax.graph import AbstractNode, NodeSpec
from spikejax.layers import fold, unfold
from spikejax.neurons import Reset, fire
from spikejax.surrogate import ATan

__all__ = ["Conv", "Flatten", "Pool", "Scale", "Threshold"]

TimeMajor = Float[Array, "time batch ..."]


def _channels_last(x: Array) -> Array:
    return jnp.moveaxis(x, 1, -1)


def _channels_first(x: Array) -> Array:
    return jnp.moveaxis(x, -1, 1)


class Conv(nnx.Module):
    """NIR ``Conv1d``/``Conv2d`` on ``[T, B, C, *spatial]``: an ``nnx.Conv`` (channels last)
    between two transposes.

    Args:
        weight: ``(C_out, C_in / groups, *kernel)``, as NIR stores it.
        bias: ``(C_out,)`` or ``None``.
        stride, dilation: per spatial axis.
        padding: ``((lo, hi), ...)`` per spatial axis.
        groups: feature groups.
    """

    def __init__(
        self,
        weight: Array,
        bias: Array | None,
        *,
        stride: Sequence[int],
        padding: Sequence[tuple[int, int]],
        dilation: Sequence[int],
        groups: int,
    ):
        weight = jnp.asarray(weight, jnp.float32)
        c_out, c_in_g, *kernel = weight.shape
        self.conv = nnx.Conv(
            c_in_g * groups,
            c_out,
            tuple(kernel),
            strides=tuple(stride),
            padding=tuple(tuple(p) for p in padding),
            kernel_dilation=tuple(dilation),
            feature_group_count=groups,
            use_bias=bias is not None,
            rngs=nnx.Rngs(0),
        )
        # NIR (O, I, *K) -> flax (*K, I, O)
        self.conv.kernel[...] = jnp.transpose(weight, (*range(2, weight.ndim), 1, 0))
        if bias is not None:
            self.conv.bias[...] = jnp.asarray(bias, jnp.float32)

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        T = xs.shape[0]
        return unfold(_channels_first(self.conv(_channels_last(fold(xs)))), T)


class Pool(nnx.Module):
    """NIR ``SumPool2d`` (``mode="sum"``) or ``AvgPool2d`` (``"avg"``: the sum divided by the
    window size, padding included as in PyTorch) on ``[T, B, C, H, W]``."""

    def __init__(
        self,
        mode: str,
        kernel: Sequence[int],
        stride: Sequence[int],
        padding: Sequence[int],
    ):
        self.mode = mode
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.padding = tuple(padding)

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        T = xs.shape[0]
        x = _channels_last(fold(xs))
        y = jax.lax.reduce_window(
            x,
            jnp.zeros((), x.dtype),
            jax.lax.add,
            (1, *self.kernel, 1),
            (1, *self.stride, 1),
            ((0, 0), *((p, p) for p in self.padding), (0, 0)),
        )
        if self.mode == "avg":
            count = 1
            for k in self.kernel:
                count *= k
            y = y / count
        return unfold(_channels_first(y), T)


class Flatten(nnx.Module):
    """NIR ``Flatten``: merge feature axes ``start_dim..end_dim`` (the batch excluded; both
    already made non-negative)."""

    def __init__(self, start_dim: int, end_dim: int):
        self.start_dim, self.end_dim = start_dim, end_dim

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        lead, shape = xs.shape[:2], xs.shape[2:]
        merged = 1
        for n in shape[self.start_dim : self.end_dim + 1]:
            merged *= n
        new = (*shape[: self.start_dim], merged, *shape[self.end_dim + 1 :])
        return xs.reshape((*lead, *new))


class Scale(AbstractNode):
    """NIR ``Scale``: ``y = s ⊙ x`` elementwise (``s`` broadcast against the feature axes)."""

    def __init__(self, scale: Array):
        self.scale = nnx.Param(jnp.asarray(scale, jnp.float32))

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        return xs * jnp.broadcast_to(self.scale[...].astype(xs.dtype), xs.shape)

    def graph_node(self) -> NodeSpec:
        return NodeSpec("op", {"nir": "Scale"}, macs=0)


class Threshold(AbstractNode):
    """NIR ``Threshold``: ``y = 1[x > θ]`` (strict), with the ``ATan`` surrogate gradient."""

    def __init__(self, threshold: Array):
        self.threshold = nnx.Param(jnp.asarray(threshold, jnp.float32))

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        theta = jnp.broadcast_to(self.threshold[...].astype(xs.dtype), xs.shape)
        return fire(xs, theta, Reset.NONE, ATan(), True, strict=True)[1]

    def graph_node(self) -> NodeSpec:
        return NodeSpec("activation", {"nir": "Threshold"}, macs=0)
