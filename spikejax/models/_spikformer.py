"""Spikformer (Zhou et al., ICLR 2023): SPS + RPE, L blocks of SSA and MLP, mean-pooled head."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax._errors import check_choice, check_range
from spikejax._unroll import check_remat
from spikejax.models._common import (
    as_sequence,
    check_input,
    check_positive_ints,
    linear_head,
    make_neuron,
)
from spikejax.models._spikformer_blocks import MLP, SPS, SSA, SSA_ORDERS, SpikformerBlock
from spikejax.surrogate import Sigmoid

__all__ = ["Spikformer", "check_config"]


def check_config(
    depth: int,
    embed_dim: int,
    *,
    num_heads: int,
    num_classes: int,
    image_size: int,
    in_channels: int,
    pools: Any,
    qkv_bias: bool,
    attn_scale: float,
    learnable_scale: bool,
    ssa_order: str,
    qk_pool: Any,
    neuron: str,
    T: int,
    static_input: bool,
    mlp_ratio: int,
    dtype: Any,
    remat: bool | int,
) -> tuple[tuple[bool, ...], tuple[int, int] | None]:
    """Check the arguments of `Spikformer` (named errors); return ``pools`` and
    ``qk_pool`` as tuples.

    Runs before anything is built, and for the shape arithmetic of
    `spikejax.models.count_params` and `spikejax.models.macs_per_step`.
    """
    fn = "Spikformer"
    check_positive_ints(
        fn,
        depth=depth,
        embed_dim=embed_dim,
        num_heads=num_heads,
        num_classes=num_classes,
        image_size=image_size,
        in_channels=in_channels,
        T=T,
        mlp_ratio=mlp_ratio,
    )
    if embed_dim % 8 or embed_dim % num_heads:
        raise ValueError(
            f"`{fn}`: `embed_dim` must be a multiple of 8 and of `num_heads`={num_heads}; "
            f"got {embed_dim}."
        )
    pools = tuple(pools) if isinstance(pools, Sequence) and not isinstance(pools, str) else pools
    if (
        not isinstance(pools, tuple)
        or len(pools) != 4
        or not all(isinstance(p, bool) for p in pools)
    ):
        raise ValueError(f"`{fn}`: `pools` must be 4 bools; got {pools!r}.")
    check_choice(fn, "ssa_order", ssa_order, SSA_ORDERS)
    for name, flag in (
        ("qkv_bias", qkv_bias),
        ("learnable_scale", learnable_scale),
        ("static_input", static_input),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"`{fn}`: `{name}` must be a bool; got {flag!r}.")
    if isinstance(attn_scale, bool) or not isinstance(attn_scale, int | float):
        raise TypeError(f"`{fn}`: `attn_scale` must be a positive float; got {attn_scale!r}.")
    check_range(fn, "attn_scale", attn_scale, low=0.0, low_open=True)
    if qk_pool is not None:
        d = embed_dim // num_heads
        if (
            not isinstance(qk_pool, Sequence)
            or len(qk_pool) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in qk_pool)
            or qk_pool[0] > d
        ):
            raise ValueError(
                f"`{fn}`: `qk_pool` must be None or (kernel, stride), positive ints with "
                f"kernel <= head width {d}; got {qk_pool!r}."
            )
        qk_pool = tuple(qk_pool)
    make_neuron(fn, neuron, surrogate=Sigmoid(4.0))
    check_remat(fn, remat)
    jnp.dtype(dtype)
    return pools, qk_pool


class Spikformer(nnx.Module):
    r"""Spikformer: spiking patch splitting, spiking self-attention blocks, linear head.

    ``x = SPS(I)``, ``X0 = x + RPE(x)``, ``X'_l = SSA(X_{l−1}) + X_{l−1}``,
    ``X_l = MLP(X'_l) + X'_l``, logits ``= Linear(mean_t mean_tokens X_L)``. No LayerNorm, dropout
    or positional embedding. Spiking neurons are ``neuron`` (default LIF, τ = 2, ``decay_input``)
    with the Sigmoid surrogate (α = 4), hard reset to 0, detached reset, threshold 1 (0.5 for the
    attention neuron), started at ``V = 0`` every call. The residual stream holds integers in
    ``[0, 2 + 2l]`` after block ``l``.

    Input: time-major ``[T, B, H, W, C]``; with ``static_input`` also static images
    ``[B, H, W, C]``, repeated ``T`` times before the first convolution (which therefore runs at
    every step).

    Reference: Zhou, Zhu, He, Wang, Yan, Tian & Yuan, "Spikformer: when spiking neural network meets
    transformer", *ICLR* 2023 (arXiv 2209.15425), and its official code.

    Args:
        depth: number of blocks ``L``.
        embed_dim: width ``D`` (a multiple of 8 and of ``num_heads``).
        rngs: NNX random streams for the initialisers.
        num_heads: attention heads ``H``.
        num_classes: classes ``K``.
        image_size: input height and width.
        in_channels: input channels.
        pools: which of the four SPS blocks end with a 3×3 stride-2 max-pool.
        qkv_bias: biases on the Q, K, V linears.
        attn_scale: the scale ``s`` of ``Q Kᵀ V``.
        learnable_scale: make ``s`` a trainable parameter (one per block).
        ssa_order: ``"qk_v"`` for ``(Q Kᵀ) V`` or ``"q_kv"`` for ``Q (Kᵀ V)`` (same values).
        qk_pool: ``(kernel, stride)`` of an optional max-pool of Q and K along the head features.
        neuron: ``"lif"`` (default), ``"if"`` or ``"plif"``.
        T: time steps for static input.
        static_input: accept static ``[B, H, W, C]`` images.
        mlp_ratio: MLP hidden width ``mlp_ratio·D``.
        dtype: computation dtype of convolutions and linears (attention products stay float32);
            inputs must have this dtype.
        remat: checkpointed BPTT of every neuron layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax.models import Spikformer
        >>> def forward(images):                    # Spikformer-4-384 for CIFAR10
        ...     return Spikformer(4, 384, rngs=nnx.Rngs(0), num_heads=12)(images)
        >>> images = jax.ShapeDtypeStruct((8, 32, 32, 3), jnp.float32)  # repeated T = 4 times
        >>> jax.eval_shape(forward, images).shape
        (8, 10)
    """

    def __init__(
        self,
        depth: int,
        embed_dim: int,
        *,
        rngs: nnx.Rngs,
        num_heads: int = 8,
        num_classes: int = 10,
        image_size: int = 32,
        in_channels: int = 3,
        pools: Sequence[bool] = (False, False, True, True),
        qkv_bias: bool = True,
        attn_scale: float = 0.125,
        learnable_scale: bool = False,
        ssa_order: str = "qk_v",
        qk_pool: tuple[int, int] | None = None,
        neuron: str = "lif",
        T: int = 4,
        static_input: bool = True,
        mlp_ratio: int = 4,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        pools, qk_pool = check_config(
            depth,
            embed_dim,
            num_heads=num_heads,
            num_classes=num_classes,
            image_size=image_size,
            in_channels=in_channels,
            pools=pools,
            qkv_bias=qkv_bias,
            attn_scale=attn_scale,
            learnable_scale=learnable_scale,
            ssa_order=ssa_order,
            qk_pool=qk_pool,
            neuron=neuron,
            T=T,
            static_input=static_input,
            mlp_ratio=mlp_ratio,
            dtype=dtype,
            remat=remat,
        )
        make = partial(make_neuron, "Spikformer", neuron, surrogate=Sigmoid(4.0))
        self.T, self.num_classes, self.dtype = T, num_classes, jnp.dtype(dtype)
        self.image_shape = (image_size, image_size, in_channels)
        self.first_layer = "per_step"
        self.static_input = static_input
        self.sequence_input = True

        common = dict(rngs=rngs, dtype=dtype, remat=remat)
        self.patch_embed = SPS(in_channels, embed_dim, pools, neuron=make, **common)
        self.blocks = nnx.List(
            SpikformerBlock(
                SSA(
                    embed_dim,
                    num_heads,
                    neuron=make,
                    qkv_bias=qkv_bias,
                    scale=float(attn_scale),
                    learnable_scale=learnable_scale,
                    order=ssa_order,
                    qk_pool=qk_pool,
                    **common,
                ),
                MLP(embed_dim, mlp_ratio * embed_dim, neuron=make, **common),
            )
            for _ in range(depth)
        )
        self.head = nnx.Linear(
            embed_dim,
            num_classes,
            kernel_init=jax.nn.initializers.normal(0.02),
            bias_init=jax.nn.initializers.zeros,
            dtype=dtype,
            rngs=rngs,
        )

    def __call__(
        self, x: Float[Array, "*time batch height width channels"], *, per_step: bool = False
    ) -> Float[Array, "*time batch classes"]:
        """Logits ``[B, K]`` (``[T, B, K]`` per step with ``per_step=True``).

        Args:
            x: ``[T, B, H, W, C]``, or static ``[B, H, W, C]`` when the model takes static input.
            per_step: return the classifier output of every step instead of their mean.
        """
        check_input(
            "Spikformer",
            x,
            self.image_shape,
            self.dtype,
            static=self.static_input,
            sequence=True,
            T=self.T,
        )
        tokens = self.patch_embed(as_sequence(x, self.T))
        for block in self.blocks:
            tokens = block(tokens)
        return linear_head(self.head, jnp.mean(tokens, axis=2), per_step)
