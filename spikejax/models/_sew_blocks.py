"""Spike-element-wise (SEW) residual blocks: Basic and Bottleneck, connect ADD / AND / IAND."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax._errors import check_choice
from spikejax.models._common import ConvBNSpike, kaiming_normal_fan_out
from spikejax.neurons import IF, AbstractNeuron

__all__ = ["CONNECTS", "SEWBasicBlock", "SEWBottleneck", "check_connect", "connect"]

CONNECTS = ("add", "and", "iand")


def connect(kind: str, a: Float[Array, "..."], s: Float[Array, "..."]) -> Float[Array, "..."]:
    """The element-wise function ``g(A, S)`` of a SEW block.

    ``"add"``: ``A + S``; ``"and"``: ``A·S``; ``"iand"``: ``(1 − A)·S`` (the same in Basic and
    Bottleneck blocks).
    """
    if kind == "add":
        return a + s
    if kind == "and":
        return a * s
    return (1 - a) * s


def check_connect(fn: str, kind: str, zero_init_residual: bool, neuron: AbstractNeuron) -> None:
    """Reject ``connect`` values outside `CONNECTS` and the one combination that cannot work.

    With ``zero_init_residual`` an AND block is the identity only if its last neuron fires on a
    constant input of 1 (``β = 1``, ``γ = 0``) at every step. IF reaches ``H = 1 ≥ V_th`` and fires
    (``Θ(0) = 1``); LIF and PLIF with ``k = 1/2`` reach ``H = 1/2`` and never fire, which would zero
    every AND block's output.
    """
    check_choice(fn, "connect", kind, CONNECTS)
    if kind == "and" and zero_init_residual and not isinstance(neuron, IF):
        raise ValueError(
            f'`{fn}`: `zero_init_residual=True` with `connect="and"` needs IF neurons (the block '
            f"is the identity only if the last neuron fires on a constant input of 1, which LIF "
            f"and PLIF with k = 1/2 do not); got neuron {type(neuron).__name__}."
        )


def _zero_init(unit: ConvBNSpike, kind: str) -> None:
    """``γ = 0`` on the last batch norm of a block (and ``β = 1`` for AND): the block starts as its
    shortcut."""
    scale, bias = unit.bn.norm.scale, unit.bn.norm.bias
    scale[...] = jnp.zeros(scale.shape, scale.dtype)
    if kind == "and":
        bias[...] = jnp.ones(bias.shape, bias.dtype)


def _shortcut(
    in_channels: int,
    out_channels: int,
    stride: int,
    neuron: Callable[[], AbstractNeuron],
    common: dict[str, Any],
) -> ConvBNSpike | None:
    """The spiking shortcut ``SN(BN(conv1×1_s(S)))`` where the shape changes, else ``None``."""
    if stride == 1 and in_channels == out_channels:
        return None
    return ConvBNSpike(in_channels, out_channels, 1, stride=stride, neuron=neuron(), **common)


def _join(
    block: SEWBasicBlock | SEWBottleneck,
    a: Float[Array, "time batch height width channels"],
    x: Float[Array, "time batch height0 width0 channels0"],
) -> Float[Array, "time batch height width channels"]:
    """``O = g(A, S')`` with ``S'`` the block input or its shortcut."""
    shortcut = x if block.downsample is None else block.downsample(x)
    return connect(block.connect, a, shortcut)


class SEWBasicBlock(nnx.Module):
    """``A = SN(BN(conv3×3(SN(BN(conv3×3_s(S))))))``, ``O = g(A, S')``.

    ``S' = S``, or ``downsample(S) = SN(BN(conv1×1_s(S)))`` (a spiking shortcut) when
    ``stride ≠ 1`` or ``in_channels ≠ planes``. Input and output ``[T, B, H, W, C]``.

    Attributes: ``conv1``, ``conv2``, ``downsample`` (each a
    `ConvBNSpike`, ``downsample`` possibly ``None``).
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        planes: int,
        *,
        neuron: Callable[[], AbstractNeuron],
        rngs: nnx.Rngs,
        stride: int = 1,
        connect: str = "add",
        zero_init_residual: bool = False,
        kernel_init: Any = kaiming_normal_fan_out,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
        groups: int = 1,
        base_width: int = 64,
    ):
        if groups != 1 or base_width != 64:
            raise ValueError(
                "`SEWBasicBlock`: `groups` and `base_width` must be 1 and 64 (grouped and wide "
                f"variants need Bottleneck blocks); got groups={groups}, base_width={base_width}."
            )
        check_connect("SEWBasicBlock", connect, zero_init_residual, neuron())
        common = dict(rngs=rngs, kernel_init=kernel_init, dtype=dtype, remat=remat)
        self.conv1 = ConvBNSpike(in_channels, planes, 3, stride=stride, neuron=neuron(), **common)
        self.conv2 = ConvBNSpike(planes, planes, 3, neuron=neuron(), **common)
        self.downsample = nnx.data(_shortcut(in_channels, planes, stride, neuron, common))
        self.connect = connect
        if zero_init_residual:
            _zero_init(self.conv2, connect)

    def __call__(
        self, x: Float[Array, "time batch height width channels"]
    ) -> Float[Array, "time batch height2 width2 channels2"]:
        return _join(self, self.conv2(self.conv1(x)), x)


class SEWBottleneck(nnx.Module):
    """``conv1×1 → conv3×3_s (groups) → conv1×1 (×4)``, each ``-BN-SN``, then ``O = g(A, S')``.

    Width ``w = ⌊planes·base_width/64⌋·groups`` (``w = planes`` for plain ResNets); output
    channels ``4·planes``. ``S' = S``, or the spiking shortcut ``SN(BN(conv1×1_s(S)))`` when
    ``stride ≠ 1`` or ``in_channels ≠ 4·planes`` (so also in the first block of layer1, 64 → 256).

    Attributes: ``conv1``, ``conv2``, ``conv3``, ``downsample`` (possibly ``None``).
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        *,
        neuron: Callable[[], AbstractNeuron],
        rngs: nnx.Rngs,
        stride: int = 1,
        connect: str = "add",
        zero_init_residual: bool = False,
        kernel_init: Any = kaiming_normal_fan_out,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
        groups: int = 1,
        base_width: int = 64,
    ):
        check_connect("SEWBottleneck", connect, zero_init_residual, neuron())
        width = int(planes * (base_width / 64.0)) * groups
        out_channels = planes * self.expansion
        common = dict(rngs=rngs, kernel_init=kernel_init, dtype=dtype, remat=remat)
        self.conv1 = ConvBNSpike(in_channels, width, 1, neuron=neuron(), **common)
        self.conv2 = ConvBNSpike(
            width, width, 3, stride=stride, groups=groups, neuron=neuron(), **common
        )
        self.conv3 = ConvBNSpike(width, out_channels, 1, neuron=neuron(), **common)
        self.downsample = nnx.data(_shortcut(in_channels, out_channels, stride, neuron, common))
        self.connect = connect
        if zero_init_residual:
            _zero_init(self.conv3, connect)

    def __call__(
        self, x: Float[Array, "time batch height width channels"]
    ) -> Float[Array, "time batch height2 width2 channels2"]:
        return _join(self, self.conv3(self.conv2(self.conv1(x))), x)
