"""SEW-ResNet for ImageNet (Fang et al., NeurIPS 2021), torchvision topology with v1.5 strides."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax._errors import check_choice
from spikejax._unroll import check_remat
from spikejax.layers import fold, unfold
from spikejax.models._common import (
    ConvBNSpike,
    as_sequence,
    check_input,
    check_positive_int,
    check_positive_ints,
    kaiming_normal_fan_out,
    linear_head,
    make_neuron,
    max_pool,
    torch_linear,
)
from spikejax.models._sew_blocks import SEWBasicBlock, SEWBottleneck, check_connect
from spikejax.surrogate import ATan

__all__ = ["SEWResNet", "check_config"]

_BLOCKS = {"basic": SEWBasicBlock, "bottleneck": SEWBottleneck}


def check_config(
    block: str,
    layers: Any,
    *,
    num_classes: int,
    connect: str,
    neuron: str,
    zero_init_residual: bool,
    stem: str,
    T: int,
    image_size: int,
    in_channels: int,
    width: int,
    groups: int,
    width_per_group: int,
    dtype: Any,
    remat: bool | int,
) -> tuple[int, ...]:
    """Check the arguments of `SEWResNet` (named errors); return ``layers`` as a tuple.

    Runs before anything is built, and for the shape arithmetic of
    `spikejax.models.count_params` and `spikejax.models.macs_per_step`.
    """
    fn = "SEWResNet"
    check_choice(fn, "block", block, tuple(_BLOCKS))
    check_choice(fn, "stem", stem, ("once", "per_step"))
    if isinstance(layers, str) or not isinstance(layers, Sequence) or len(layers) != 4:
        raise ValueError(f"`{fn}`: `layers` must hold 4 block counts; got {layers!r}.")
    layers = tuple(layers)
    check_positive_ints(
        fn,
        num_classes=num_classes,
        T=T,
        image_size=image_size,
        in_channels=in_channels,
        width=width,
        groups=groups,
        width_per_group=width_per_group,
    )
    for value in layers:
        check_positive_int(fn, "layers[i]", value)
    if block == "basic" and (groups != 1 or width_per_group != 64):
        raise ValueError(
            f"`{fn}`: `groups` and `width_per_group` must be 1 and 64 with Basic blocks (grouped "
            f"and wide variants need Bottleneck blocks); got groups={groups}, "
            f"width_per_group={width_per_group}."
        )
    if block == "bottleneck" and int(width * width_per_group / 64) < 1:
        raise ValueError(
            f"`{fn}`: `width·width_per_group/64` must be at least 1 (a Bottleneck needs a "
            f"non-empty group width); got width={width}, width_per_group={width_per_group}."
        )
    check_connect(fn, connect, zero_init_residual, make_neuron(fn, neuron, surrogate=ATan(2.0)))
    check_remat(fn, remat)
    jnp.dtype(dtype)
    return layers


class SEWResNet(nnx.Module):
    r"""Spike-element-wise ResNet (SEW-ResNet) for static images.

    Stem ``conv7×7 (3→w, stride 2, pad 3, no bias) → BN → SN → maxpool 3×3 s2 p1``; four stages of
    SEW blocks with planes ``w, 2w, 4w, 8w`` and strides 1, 2, 2, 2 (stride on the 3×3 convolution,
    ResNet v1.5); every convolution without bias and padded ``k//2`` on both sides; a spiking
    ``conv1×1-BN-SN`` shortcut where shape changes. Head: mean over space per step, mean over
    ``T``, ``Linear(8w·expansion, K)`` with bias. Every spiking neuron (SN) is ``neuron`` with the
    ATan surrogate (α = 2), hard reset to 0 and detached reset; each forward pass starts them at
    ``V = 0``.

    ``stem="once"`` (official code): the stem convolution and its batch norm run once on the
    static image ``[B, H, W, 3]`` and are repeated for ``T`` steps before the first SN, so the
    model takes only static images. ``stem="per_step"`` (SpikingJelly): the stem runs at every
    step; the model takes ``[T, B, H, W, 3]``, or a static ``[B, H, W, 3]`` that it repeats ``T``
    times. Both give the same output on a static image; they differ in compute (``first_layer``).

    Reference: Fang, Yu, Chen, Huang, Masquelier & Tian, "Deep residual learning in spiking neural
    networks", *NeurIPS* 2021 (arXiv 2102.04159).

    Args:
        block: ``"basic"`` (SEW-18/34) or ``"bottleneck"`` (SEW-50/101/152, expansion 4).
        layers: blocks per stage, e.g. ``(2, 2, 2, 2)``.
        rngs: NNX random streams for the initialisers.
        num_classes: classes ``K``.
        connect: ``"add"`` (default), ``"and"`` or ``"iand"``.
        neuron: ``"if"`` (default), ``"lif"`` (τ = 2) or ``"plif"`` (one trainable ``w`` per layer).
        zero_init_residual: ``γ = 0`` on the last BN of every block (and ``β = 1`` for AND, which
            needs IF neurons), so each block starts as its shortcut.
        stem: ``"once"`` or ``"per_step"``.
        T: time steps for a static input.
        image_size: input height and width (``H = W``).
        in_channels: input channels.
        width: stem channels and planes of the first stage (64 in the paper).
        groups: groups of the 3×3 convolution of Bottleneck blocks (ResNeXt).
        width_per_group: Bottleneck width per group (64 plain, 4 or 8 ResNeXt, 128 Wide-ResNet).
        dtype: computation dtype of convolutions and the classifier (parameters stay float32);
            inputs must have this dtype.
        remat: checkpointed BPTT of every neuron layer (see `spikejax.unroll`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax.models import SEWResNet
        >>> def forward(images):                    # SEW-ResNet-18, 10 classes, T = 4
        ...     net = SEWResNet("basic", (2, 2, 2, 2), rngs=nnx.Rngs(0), num_classes=10)
        ...     return net(images)
        >>> images = jax.ShapeDtypeStruct((8, 224, 224, 3), jnp.float32)
        >>> jax.eval_shape(forward, images).shape    # shapes only, no weights allocated
        (8, 10)
    """

    def __init__(
        self,
        block: str,
        layers: Sequence[int],
        *,
        rngs: nnx.Rngs,
        num_classes: int = 1000,
        connect: str = "add",
        neuron: str = "if",
        zero_init_residual: bool = False,
        stem: str = "once",
        T: int = 4,
        image_size: int = 224,
        in_channels: int = 3,
        width: int = 64,
        groups: int = 1,
        width_per_group: int = 64,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        layers = check_config(
            block,
            layers,
            num_classes=num_classes,
            connect=connect,
            neuron=neuron,
            zero_init_residual=zero_init_residual,
            stem=stem,
            T=T,
            image_size=image_size,
            in_channels=in_channels,
            width=width,
            groups=groups,
            width_per_group=width_per_group,
            dtype=dtype,
            remat=remat,
        )
        cls = _BLOCKS[block]
        make = partial(make_neuron, "SEWResNet", neuron, surrogate=ATan(2.0))
        self.T, self.num_classes, self.dtype = T, num_classes, jnp.dtype(dtype)
        self.image_shape = (image_size, image_size, in_channels)
        self.first_layer = stem
        self.static_input = True
        self.sequence_input = stem == "per_step"

        common = dict(rngs=rngs, dtype=dtype, remat=remat)
        self.conv1 = ConvBNSpike(
            in_channels,
            width,
            7,
            stride=2,
            neuron=make(),
            kernel_init=kaiming_normal_fan_out,
            **common,
        )
        channels = width
        stages = []
        for i, (count, stride) in enumerate(zip(layers, (1, 2, 2, 2), strict=True)):
            planes = width * 2**i
            stage = []
            for j in range(count):
                stage.append(
                    cls(
                        channels,
                        planes,
                        stride=stride if j == 0 else 1,
                        neuron=make,
                        connect=connect,
                        zero_init_residual=zero_init_residual,
                        groups=groups,
                        base_width=width_per_group,
                        **common,
                    )
                )
                channels = planes * cls.expansion
            stages.append(nnx.List(stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = torch_linear(channels, num_classes, dtype=dtype, rngs=rngs)

    def __call__(
        self, x: Float[Array, "*time batch height width channels"], *, per_step: bool = False
    ) -> Float[Array, "*time batch classes"]:
        """Logits ``[B, K]`` (``[T, B, K]`` per step with ``per_step=True``).

        Args:
            x: ``[B, H, W, C]`` static images (``stem="once"``); with ``stem="per_step"`` also
                time-major ``[T, B, H, W, C]``.
            per_step: return the classifier output of every step instead of their mean.
        """
        check_input(
            "SEWResNet",
            x,
            self.image_shape,
            self.dtype,
            static=True,
            sequence=self.sequence_input,
            T=self.T,
        )
        if self.first_layer == "once" and x.ndim == 4:
            s = self.conv1(x, repeat=self.T)
        else:
            s = self.conv1(as_sequence(x, self.T))
        T = s.shape[0]
        s = unfold(max_pool(fold(s), 3, 2, 1), T)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                s = block(s)
        return linear_head(self.fc, jnp.mean(s, axis=(2, 3)), per_step)
