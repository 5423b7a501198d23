"""QCFS: the quantisation–clip–floor–shift activation that trains an ANN for exact conversion."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax.graph import AbstractNode, NodeSpec

__all__ = ["QCFS"]


class QCFS(AbstractNode):
    r"""Quantisation–clip–floor–shift activation with a trainable clipping level λ.

    $$
    \hat a(z) = \lambda\,\mathrm{clip}\!\left(\frac{\lfloor z L/\lambda + \varphi\rfloor}{L},
    0, 1\right)
    $$

    with ``L`` levels and shift ``φ``. The floor passes gradients straight through
    (``∂⌊y⌋/∂y = 1``), so both ``z`` and ``λ`` are trained. An ANN trained with QCFS converts to an
    SNN of soft-reset IF neurons with ``θ = λ`` and ``v(0) = φ·θ``
    (`spikejax.convert.ann_to_snn` with ``method="qcfs"``); with ``φ = 0``, ``T = L`` and a
    constant input the spike count of a layer equals ``L·â(z)/λ`` exactly (Bu et al., Theorem 1);
    with ``φ = 1/2`` the expected conversion error is zero for any ``T`` (Theorem 2).

    Reference: Bu, Fang, Ding, Dai, Yu & Huang, "Optimal ANN-SNN conversion for high-accuracy and
    ultra-low-latency spiking neural networks", *ICLR* 2022.

    Args:
        levels: quantisation levels ``L >= 1`` (the paper uses 4 or 8).
        clip: the initial clipping level ``λ > 0``.
        shift: ``φ`` in ``[0, 1)``; ``1/2`` by default.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import convert
        >>> act = convert.QCFS(4, clip=2.0)
        >>> act(jnp.array([-1.0, 0.2, 0.3, 1.0, 5.0]))     # λ/L = 0.5 steps, rounded
        Array([0. , 0. , 0.5, 1. , 2. ], dtype=float32)
    """

    def __init__(self, levels: int, *, clip: float = 8.0, shift: float = 0.5):
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ValueError(f"`QCFS`: `levels` must be an int >= 1; got {levels!r}.")
        if isinstance(clip, bool) or not isinstance(clip, int | float) or not clip > 0:
            raise ValueError(f"`QCFS`: `clip` must be a number > 0; got {clip!r}.")
        if isinstance(shift, bool) or not isinstance(shift, int | float) or not 0 <= shift < 1:
            raise ValueError(f"`QCFS`: `shift` must be a number in [0, 1); got {shift!r}.")
        self.levels = levels
        self.shift = float(shift)
        self.clip = nnx.Param(jnp.asarray(clip, jnp.float32))

    def __call__(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        lam = self.clip[...].astype(z.dtype)
        levels = jnp.asarray(self.levels, z.dtype)
        y = z * levels / lam + jnp.asarray(self.shift, z.dtype)
        y = y + jax.lax.stop_gradient(jnp.floor(y) - y)  # floor forward, identity backward
        return lam * jnp.clip(y / levels, 0, 1)

    def graph_node(self) -> NodeSpec:
        return NodeSpec("activation", {"levels": self.levels, "shift": self.shift})
