"""SEW networks for event frames: 7B-Net (DVS128 Gesture) and Wide-7B-Net (CIFAR10-DVS)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax._unroll import check_remat
from spikejax.layers import fold, unfold
from spikejax.models._common import (
    ConvBNSpike,
    check_input,
    check_positive_int,
    check_positive_ints,
    linear_head,
    make_neuron,
    max_pool,
    torch_default_kernel,
    torch_linear,
)
from spikejax.models._sew_blocks import SEWBasicBlock, check_connect
from spikejax.surrogate import ATan

__all__ = ["SEWDVSNet", "check_config"]


def check_config(
    stages: Any,
    *,
    num_classes: int,
    connect: str,
    neuron: str,
    zero_init_residual: bool,
    up_kernel_size: int,
    T: int,
    image_size: int,
    in_channels: int,
    dtype: Any,
    remat: bool | int,
) -> tuple[tuple[int, int], ...]:
    """Check the arguments of `SEWDVSNet` (named errors); return ``stages`` as a tuple.

    Runs before anything is built, and for the shape arithmetic of
    `spikejax.models.count_params` and `spikejax.models.macs_per_step`.
    """
    fn = "SEWDVSNet"
    ok = isinstance(stages, Sequence) and not isinstance(stages, str) and len(stages) > 0
    ok = ok and all(isinstance(s, Sequence) and len(s) == 2 for s in stages)
    if not ok:
        raise ValueError(
            f"`{fn}`: `stages` must hold at least one (channels, blocks) pair; got {stages!r}."
        )
    stages = tuple((c, n) for c, n in stages)
    check_positive_ints(
        fn, num_classes=num_classes, T=T, image_size=image_size, in_channels=in_channels
    )
    for channels, blocks in stages:
        check_positive_int(fn, "stages[i][0] (channels)", channels)
        check_positive_int(fn, "stages[i][1] (blocks)", blocks)
    if up_kernel_size not in (1, 3) or isinstance(up_kernel_size, bool):
        raise ValueError(f"`{fn}`: `up_kernel_size` must be 1 or 3; got {up_kernel_size!r}.")
    pools = sum(n for _, n in stages)
    if image_size % 2**pools:
        raise ValueError(
            f"`{fn}`: `image_size` must be a multiple of 2**{pools} ({pools} max-pools of "
            f"stride 2); got {image_size}."
        )
    check_connect(fn, connect, zero_init_residual, make_neuron(fn, neuron, surrogate=ATan(2.0)))
    check_remat(fn, remat)
    jnp.dtype(dtype)
    return stages


class SEWDVSNet(nnx.Module):
    r"""SEW network on event frames: ``up-conv-BN-SN, {SEW Block(c)-MPk2s2}×n`` per stage, FC.

    Each stage starts with a channel-changing ``conv k×k (pad k//2, no bias) → BN → SN``
    (``k = up_kernel_size``; the official code uses 1×1, the paper's spec strings 3×3), followed by
    ``n`` SEW blocks ``{conv3×3 c→c (pad 1, no bias)-BN-SN}×2, g(A, input)``, each followed by
    max-pool 2×2 stride 2. The pooled map is flattened (``C`` features after seven pools of
    128×128), averaged over ``T`` and classified by ``Linear(C, K)`` with bias. Spiking neurons are
    ``neuron`` with the ATan surrogate (α = 2), hard reset to 0 and detached reset, started at
    ``V = 0`` every call.

    * 7B-Net (DVS128 Gesture): ``stages=((32, 7),)``:
      c32k1s1-BN-PLIF-{SEW Block(c32)-MPk2s2}×7-FC11.
    * Wide-7B-Net (CIFAR10-DVS): ``stages=((64, 4), (128, 3))``:
      c64k1s1-BN-PLIF-{SEW Block(c64)-MPk2s2}×4-c128k1s1-BN-PLIF-{SEW Block(c128)-MPk2s2}×3-FC10.

    Input: time-major event frames ``[T, B, H, W, C]`` (polarity channels last; any ``T``).

    Reference: Fang et al., "Deep residual learning in spiking neural networks", *NeurIPS* 2021,
    and its official code (``up_kernel_size=1``).

    Args:
        stages: ``(channels, blocks)`` per stage.
        rngs: NNX random streams for the initialisers.
        num_classes: classes ``K``.
        connect: ``"add"`` (default), ``"and"`` or ``"iand"``.
        neuron: ``"plif"`` (default), ``"if"`` or ``"lif"``.
        zero_init_residual: ``γ = 0`` on the last BN of every block (``β = 1`` too for AND).
        up_kernel_size: kernel of the channel-changing convolutions (1 or 3).
        T: default number of frames (metadata; the model takes any ``T``).
        image_size: frame height and width; must be ``2**(blocks in total)`` times an integer.
        in_channels: input channels (2 polarities).
        dtype: computation dtype; inputs must have this dtype.
        remat: checkpointed BPTT of every neuron layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax.models import SEWDVSNet
        >>> def forward(frames):                    # 7B-Net
        ...     return SEWDVSNet(((32, 7),), rngs=nnx.Rngs(0), num_classes=11)(frames)
        >>> frames = jax.ShapeDtypeStruct((16, 4, 128, 128, 2), jnp.float32)  # [T, B, H, W, C]
        >>> jax.eval_shape(forward, frames).shape
        (4, 11)
    """

    def __init__(
        self,
        stages: Sequence[tuple[int, int]],
        *,
        rngs: nnx.Rngs,
        num_classes: int = 11,
        connect: str = "add",
        neuron: str = "plif",
        zero_init_residual: bool = False,
        up_kernel_size: int = 1,
        T: int = 16,
        image_size: int = 128,
        in_channels: int = 2,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        stages = check_config(
            stages,
            num_classes=num_classes,
            connect=connect,
            neuron=neuron,
            zero_init_residual=zero_init_residual,
            up_kernel_size=up_kernel_size,
            T=T,
            image_size=image_size,
            in_channels=in_channels,
            dtype=dtype,
            remat=remat,
        )
        pools = sum(n for _, n in stages)
        make = partial(make_neuron, "SEWDVSNet", neuron, surrogate=ATan(2.0))
        self.T, self.num_classes, self.dtype = T, num_classes, jnp.dtype(dtype)
        self.image_shape = (image_size, image_size, in_channels)
        self.first_layer = "per_step"
        self.static_input = False
        self.sequence_input = True

        common = dict(rngs=rngs, dtype=dtype, remat=remat, kernel_init=torch_default_kernel)
        previous = in_channels
        ups, blocks = [], []
        for channels, count in stages:
            ups.append(ConvBNSpike(previous, channels, up_kernel_size, neuron=make(), **common))
            blocks.append(
                nnx.List(
                    SEWBasicBlock(
                        channels,
                        channels,
                        neuron=make,
                        connect=connect,
                        zero_init_residual=zero_init_residual,
                        **common,
                    )
                    for _ in range(count)
                )
            )
            previous = channels
        self.stem = ups[0]
        self.ups = nnx.List(ups[1:])
        self.stages = nnx.List(blocks)
        side = image_size // 2**pools
        features = previous * side * side
        self.fc = torch_linear(features, num_classes, dtype=dtype, rngs=rngs)

    def __call__(
        self, x: Float[Array, "time batch height width channels"], *, per_step: bool = False
    ) -> Float[Array, "*time batch classes"]:
        """Logits ``[B, K]`` from frames ``[T, B, H, W, C]`` (``[T, B, K]`` with ``per_step``)."""
        check_input(
            "SEWDVSNet", x, self.image_shape, self.dtype, static=False, sequence=True, T=self.T
        )
        T = x.shape[0]
        s = x
        for i, stage in enumerate(self.stages):
            s = self.stem(s) if i == 0 else self.ups[i - 1](s)
            for block in stage:
                s = unfold(max_pool(fold(block(s)), 2, 2, 0), T)
        features = s.reshape((T, s.shape[1], -1))
        return linear_head(self.fc, features, per_step)
