"""Spikformer pieces: patch splitting (SPS + RPE), spiking self-attention (SSA), MLP, block."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float

from spikejax.graph import AbstractNode, NodeSpec
from spikejax.layers import Fixed, Spiking, fold, unfold
from spikejax.models._common import ConvBNSpike, LinearBNSpike, max_pool, torch_default_kernel
from spikejax.neurons import AbstractNeuron

__all__ = ["MLP", "SPS", "SSA", "SSA_ORDERS", "AttentionProduct", "SpikformerBlock"]

SSA_ORDERS = ("qk_v", "q_kv")

MakeNeuron = Callable[..., AbstractNeuron]


class SPS(nnx.Module):
    """Spiking patch splitting with the relative position embedding: image sequence → tokens.

    Four ``conv3×3 s1 p1 (no bias) → BN → SN`` blocks with ``D/8, D/4, D/2, D`` channels, max-pool
    3×3 stride 2 padding 1 after the neuron of the blocks selected by ``pools``; then
    ``X0 = x + SN(BN(conv3×3 D→D (x)))`` (RPE) and ``[T, B, h, w, D] → [T, B, h·w, D]``.

    Attributes: ``convs`` (four `ConvBNSpike`), ``rpe`` (`ConvBNSpike`).
    """

    def __init__(
        self,
        in_channels: int,
        embed_dim: int,
        pools: Sequence[bool],
        *,
        neuron: MakeNeuron,
        rngs: nnx.Rngs,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        channels = (in_channels, embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim)
        common = dict(rngs=rngs, dtype=dtype, remat=remat, kernel_init=torch_default_kernel)
        self.convs = nnx.List(
            ConvBNSpike(channels[i], channels[i + 1], 3, neuron=neuron(), **common)
            for i in range(4)
        )
        self.rpe = ConvBNSpike(embed_dim, embed_dim, 3, neuron=neuron(), **common)
        self.pools = tuple(bool(p) for p in pools)

    def __call__(
        self, x: Float[Array, "time batch height width channels"]
    ) -> Float[Array, "time batch tokens features"]:
        T, B = x.shape[:2]
        for conv, pool in zip(self.convs, self.pools, strict=True):
            x = conv(x)
            if pool:
                x = unfold(max_pool(fold(x), 3, 2, 1), T)
        x = x + self.rpe(x)
        return x.reshape((T, B, -1, x.shape[-1]))


def _pool_last(x: Array, window: tuple[int, int]) -> Array:
    """Max-pool the last axis with ``(kernel, stride)`` and no padding."""
    kernel, stride = window
    dims = (1,) * (x.ndim - 1)
    return jax.lax.reduce_window(
        x, np.array(-np.inf, x.dtype), jax.lax.max, (*dims, kernel), (*dims, stride), "VALID"
    )


class AttentionProduct(AbstractNode):
    r"""The two products of spiking self-attention, one graph node of kind ``"attention"``.

    ``((Q Kᵀ)·s) V`` (``order="qk_v"``) or ``(Q (Kᵀ V))·s`` (``"q_kv"``) per head, on
    ``[T, B, H, N, d]`` tensors; ``s`` is the scale. It holds no parameters (the scale belongs to
    `SSA`); being a module of its own makes its inputs ``Q, K, V`` (after the optional
    ``qk_pool``) the inputs of its node, which energy estimation counts events from.
    """

    def __init__(self, order: str):
        self.order = order

    def graph_node(self) -> NodeSpec:
        return NodeSpec("attention", {"order": self.order})

    def __call__(self, q: Array, k: Array, v: Array, scale: Array) -> Array:
        if self.order == "qk_v":
            return ((q @ jnp.swapaxes(k, -1, -2)) * scale) @ v
        return (q @ (jnp.swapaxes(k, -1, -2) @ v)) * scale


class SSA(nnx.Module):
    r"""Spiking self-attention without softmax.

    ``Q = SN(BN(X W_Q [+ b_Q]))`` and likewise ``K``, ``V`` (binary, ``[T, B, N, D]``); per head
    (``d = D/H``), ``SN_{θ=0.5}((Q Kᵀ) V · s)`` computed as ``((Q Kᵀ)·s) V`` (``ssa_order="qk_v"``)
    or ``(Q (Kᵀ V))·s`` (``"q_kv"``), equal in exact arithmetic; heads concatenated; then
    ``SN(BN(Linear_proj(·)))``. The products of binary tensors run in float32, where they are exact
    (their sums exceed bfloat16's 256 exact integers). ``qk_pool=(k, s)`` max-pools ``Q`` and ``K``
    along each head's feature axis (no padding), which keeps the token count and needs no
    parameters.

    Attributes: ``q``, ``k``, ``v``, ``proj`` (`LinearBNSpike`), ``product``
    (`AttentionProduct`), ``attn_sn`` (`Spiking`), ``scale``
    (``nnx.Param`` if learnable, else ``Fixed``).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        neuron: MakeNeuron,
        rngs: nnx.Rngs,
        qkv_bias: bool,
        scale: float,
        learnable_scale: bool = False,
        order: str = "qk_v",
        qk_pool: tuple[int, int] | None = None,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        common = dict(rngs=rngs, dtype=dtype, remat=remat)
        self.q = LinearBNSpike(dim, dim, use_bias=qkv_bias, neuron=neuron(), **common)
        self.k = LinearBNSpike(dim, dim, use_bias=qkv_bias, neuron=neuron(), **common)
        self.v = LinearBNSpike(dim, dim, use_bias=qkv_bias, neuron=neuron(), **common)
        self.product = AttentionProduct(order)
        self.attn_sn = Spiking(neuron(threshold=0.5), remat=remat)
        self.proj = LinearBNSpike(dim, dim, use_bias=True, neuron=neuron(), **common)
        value = jnp.asarray(scale, jnp.float32)
        self.scale = nnx.Param(value) if learnable_scale else Fixed(value)
        self.num_heads, self.order = num_heads, order
        self.qk_pool = None if qk_pool is None else tuple(qk_pool)

    def __call__(
        self, x: Float[Array, "time batch tokens features"]
    ) -> Float[Array, "time batch tokens features"]:
        T, B, N, D = x.shape
        H = self.num_heads

        def split(t):  # [T, B, N, D] -> [T, B, H, N, d], float32
            return t.reshape((T, B, N, H, D // H)).transpose(0, 1, 3, 2, 4).astype(jnp.float32)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        if self.qk_pool is not None:
            q, k = _pool_last(q, self.qk_pool), _pool_last(k, self.qk_pool)
        y = self.product(q, k, v, self.scale[...])
        y = y.transpose(0, 1, 3, 2, 4).reshape((T, B, N, D))
        s = self.attn_sn(y)
        return self.proj(s.astype(x.dtype))


class MLP(nnx.Module):
    """``SN(BN(Linear 4D→D (SN(BN(Linear D→4D (x))))))``, both linears with bias.

    Attributes: ``fc1``, ``fc2`` (`LinearBNSpike`).
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        *,
        neuron: MakeNeuron,
        rngs: nnx.Rngs,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        common = dict(rngs=rngs, dtype=dtype, remat=remat)
        self.fc1 = LinearBNSpike(dim, hidden, use_bias=True, neuron=neuron(), **common)
        self.fc2 = LinearBNSpike(hidden, dim, use_bias=True, neuron=neuron(), **common)

    def __call__(
        self, x: Float[Array, "time batch tokens features"]
    ) -> Float[Array, "time batch tokens features"]:
        return self.fc2(self.fc1(x))


class SpikformerBlock(nnx.Module):
    """``X' = X + SSA(X)``, ``Y = X' + MLP(X')`` (SEW-style ADD of spike counts; no LayerNorm).

    Attributes: ``attn`` (`SSA`), ``mlp`` (`MLP`).
    """

    def __init__(self, attn: SSA, mlp: MLP):
        self.attn = attn
        self.mlp = mlp

    def __call__(
        self, x: Float[Array, "time batch tokens features"]
    ) -> Float[Array, "time batch tokens features"]:
        x = x + self.attn(x)
        return x + self.mlp(x)
