"""Small networks for quick experiments: a LIF multilayer perceptron and a convolutional SNN.

Both read time-major inputs and return the membrane of a leaky-integrator readout ``[T, B, K]``
(reduce it over time with `spikejax.readout`, or train it with a loss of
`spikejax.losses`). Like every model, they are read through their network graph
(`spikejax.graph.trace`) by energy estimation and chip deployment.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax.layers import Conv, SeqBatchNorm, SeqDropout, fold, max_pool, unfold
from spikejax.models._common import check_dtype
from spikejax.models._small_config import (
    SURROGATES,
    NeuronSpec,
    check_conv_snn,
    check_lif_mlp,
)

__all__ = ["SURROGATES", "ConvSNN", "LIFMLP"]


class _DenseLIF(nnx.Module):
    """``Linear → LIF (→ SeqDropout)`` on ``[T, B, features]``."""

    def __init__(self, n_in, n_out, spec, *, dropout, dtype, rngs):
        self.fc = nnx.Linear(n_in, n_out, dtype=dtype, rngs=rngs)
        self.sn = spec.lif(n_out)
        self.dropout = SeqDropout(dropout, rngs=rngs) if dropout > 0 else None

    def __call__(self, x):
        s = self.sn(self.fc(x))
        return s if self.dropout is None else self.dropout(s)


def _dense_layers(
    sizes: Sequence[int], spec: NeuronSpec, *, dropout: float, dtype: Any, rngs: nnx.Rngs
) -> nnx.List:
    """One `_DenseLIF` per consecutive pair of ``sizes``."""
    return nnx.List(
        [
            _DenseLIF(n_in, n_out, spec, dropout=dropout, dtype=dtype, rngs=rngs)
            for n_in, n_out in itertools.pairwise(sizes)
        ]
    )


class _Readout(nnx.Module):
    """``Linear → LI``: the readout membrane ``[T, B, K]``."""

    def __init__(self, n_in, num_classes, spec, *, dtype, rngs):
        self.fc = nnx.Linear(n_in, num_classes, dtype=dtype, rngs=rngs)
        self.li = spec.li(num_classes)

    def __call__(self, x):
        return self.li(self.fc(x))


class LIFMLP(nnx.Module):
    r"""A multilayer perceptron of LIF layers with a leaky-integrator readout.

    ``[T, B, in] → {Linear → LIF}`` for each entry of ``hidden`` ``→ Linear → LI → [T, B, K]``.
    Every LIF layer has per-neuron ``β`` and ``θ`` (trainable with ``learn_beta`` /
    ``learn_threshold``), the chosen reset and surrogate, a detached reset and starts at rest every
    call. The readout integrates ``v_t = β_r v_{t-1} + x_t`` and never spikes; its membrane is the
    output. Linear layers use NNX's default initialisation (LeCun normal weights, zero bias).

    Args:
        in_features: input features per step.
        hidden: sizes of the LIF layers, e.g. ``(128,)``.
        num_classes: readout size ``K``.
        rngs: NNX random streams (``"params"``; ``"dropout"`` when ``dropout > 0``).
        beta: LIF decay per step in ``[0, 1]``.
        threshold: LIF threshold ``θ > 0``.
        reset: ``"subtract"``, ``"zero"`` or ``"none"``.
        surrogate: a surrogate instance or a name of `SURROGATES`.
        decay_input: scale inputs by ``1 - β`` (SpikingJelly's form), also in the readout.
        learn_beta: train the decays (also the readout's).
        learn_threshold: train the thresholds.
        readout_beta: readout decay (default: ``beta``).
        dropout: rate of `SeqDropout` after every LIF layer (0: none).
        T: default number of steps (metadata for tools that build an abstract input).
        dtype: computation dtype; inputs must have it.
        remat: checkpointed BPTT of every LIF layer.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax.models import LIFMLP
        >>> net = LIFMLP(64, (32,), 10, rngs=nnx.Rngs(0))
        >>> net(jnp.ones((8, 5, 64))).shape                  # [T, B, K]
        (8, 5, 10)
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (128,),
        num_classes: int = 10,
        *,
        rngs: nnx.Rngs,
        beta: float = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Any = "atan",
        decay_input: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        readout_beta: float | None = None,
        dropout: float = 0.0,
        T: int = 8,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        hidden, spec = check_lif_mlp(
            in_features=in_features,
            hidden=hidden,
            num_classes=num_classes,
            T=T,
            dropout=dropout,
            dtype=dtype,
            beta=beta,
            threshold=threshold,
            reset=reset,
            surrogate=surrogate,
            decay_input=decay_input,
            learn_beta=learn_beta,
            learn_threshold=learn_threshold,
            readout_beta=readout_beta,
            remat=remat,
        )
        sizes = (in_features, *hidden)
        self.blocks = _dense_layers(sizes, spec, dropout=dropout, dtype=dtype, rngs=rngs)
        self.head = _Readout(sizes[-1], num_classes, spec, dtype=dtype, rngs=rngs)
        self.in_features, self.num_classes, self.T = in_features, num_classes, T
        self.dtype = jnp.dtype(dtype)
        self.image_shape = (in_features,)
        self.static_input = False

    def __call__(
        self, x: Float[Array, "time batch features"]
    ) -> Float[Array, "time batch classes"]:
        """``x``: ``[T, B, in_features]``. Returns the readout membrane ``[T, B, K]``."""
        if not hasattr(x, "shape") or x.ndim != 3 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"`LIFMLP`: `x` must be time-major [T, B, {self.in_features}]; got shape "
                f"{getattr(x, 'shape', type(x).__name__)}."
            )
        check_dtype("LIFMLP", x, self.dtype)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class _ConvLIF(nnx.Module):
    """``Conv k×k ('same', no bias) → SeqBatchNorm → LIF → MaxPool p×p`` on ``[T, B, H, W, C]``."""

    def __init__(self, c_in, c_out, spec, *, kernel, pool, dtype, rngs):
        self.conv = Conv(
            c_in, c_out, (kernel, kernel), padding="SAME", use_bias=False, dtype=dtype, rngs=rngs
        )
        self.bn = SeqBatchNorm(c_out, rngs=rngs)
        self.sn = spec.lif(c_out)
        self.kernel, self.pool = kernel, pool

    def __call__(self, x):
        T = x.shape[0]
        s = self.sn(self.bn(unfold(self.conv(fold(x)), T)))
        if self.pool == 1:
            return s
        return unfold(max_pool(fold(s), self.pool, self.pool, 0), T)


class ConvSNN(nnx.Module):
    r"""A convolutional SNN for event frames, with a leaky-integrator readout.

    ``[T, B, H, W, C] → {Conv k×k → SeqBatchNorm → LIF → MaxPool p×p}`` for each entry of
    ``channels`` ``→ flatten → {Linear → LIF}`` for each entry of ``hidden``
    ``→ Linear → LI → [T, B, K]``. Convolutions and pooling run time-folded on ``[T·B, ...]``;
    convolutions are ``'same'``-padded without bias (batch norm follows); pooling takes
    ``⌊H/p⌋ × ⌊W/p⌋`` windows. LIF layers have per-channel (per-neuron) ``β`` and ``θ``. The readout
    membrane is the output, as in `LIFMLP`.

    Args:
        in_channels: input channels (2 polarities for event cameras).
        channels: output channels of the convolution blocks, e.g. ``(16, 32)``.
        num_classes: readout size ``K``.
        rngs: NNX random streams (``"params"``; ``"dropout"`` when ``dropout > 0``).
        image_size: ``(H, W)`` of the frames (an int for square frames).
        kernel: convolution kernel size.
        pool: max-pooling window and stride after every block (1: no pooling).
        hidden: sizes of LIF layers between the convolutions and the readout.
        beta, threshold, reset, surrogate, decay_input, learn_beta: as in `LIFMLP`.
        learn_threshold, readout_beta, dropout, T, dtype, remat: as in `LIFMLP` (``dropout`` acts
            after the hidden LIF layers only).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax.models import ConvSNN
        >>> net = ConvSNN(2, (4,), 10, image_size=(6, 6), rngs=nnx.Rngs(0))
        >>> net(jnp.ones((3, 2, 6, 6, 2))).shape            # [T, B, K]
        (3, 2, 10)
    """

    def __init__(
        self,
        in_channels: int = 2,
        channels: Sequence[int] = (16, 32),
        num_classes: int = 10,
        *,
        rngs: nnx.Rngs,
        image_size: int | Sequence[int] = 34,
        kernel: int = 3,
        pool: int = 2,
        hidden: Sequence[int] = (),
        beta: float = 0.5,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Any = "atan",
        decay_input: bool = False,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        readout_beta: float | None = None,
        dropout: float = 0.0,
        T: int = 16,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        channels, size, hidden, spec = check_conv_snn(
            in_channels=in_channels,
            channels=channels,
            num_classes=num_classes,
            image_size=image_size,
            kernel=kernel,
            pool=pool,
            hidden=hidden,
            T=T,
            dropout=dropout,
            dtype=dtype,
            beta=beta,
            threshold=threshold,
            reset=reset,
            surrogate=surrogate,
            decay_input=decay_input,
            learn_beta=learn_beta,
            learn_threshold=learn_threshold,
            readout_beta=readout_beta,
            remat=remat,
        )
        h, w = size
        blocks, c_in = [], in_channels
        for c_out in channels:
            blocks.append(
                _ConvLIF(c_in, c_out, spec, kernel=kernel, pool=pool, dtype=dtype, rngs=rngs)
            )
            h, w, c_in = h // pool, w // pool, c_out
        self.blocks = nnx.List(blocks)
        sizes = (h * w * c_in, *hidden)
        self.dense = _dense_layers(sizes, spec, dropout=dropout, dtype=dtype, rngs=rngs)
        self.head = _Readout(sizes[-1], num_classes, spec, dtype=dtype, rngs=rngs)
        self.num_classes, self.T, self.dtype = num_classes, T, jnp.dtype(dtype)
        self.image_shape = (*size, in_channels)
        self.static_input = False

    def __call__(
        self, x: Float[Array, "time batch height width channels"]
    ) -> Float[Array, "time batch classes"]:
        """``x``: ``[T, B, H, W, C]``. Returns the readout membrane ``[T, B, K]``."""
        if not hasattr(x, "shape") or x.ndim != 5 or tuple(x.shape[2:]) != self.image_shape:
            h, w, c = self.image_shape
            raise ValueError(
                f"`ConvSNN`: `x` must be time-major frames [T, B, {h}, {w}, {c}] (channels last); "
                f"got shape {getattr(x, 'shape', type(x).__name__)}."
            )
        check_dtype("ConvSNN", x, self.dtype)
        for block in self.blocks:
            x = block(x)
        x = x.reshape((*x.shape[:2], math.prod(x.shape[2:])))
        for block in self.dense:
            x = block(x)
        return self.head(x)
