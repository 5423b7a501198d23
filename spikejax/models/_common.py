"""Building blocks shared by the zoo: neurons, initialisers, conv/linear-BN-spike units, and input
checks (max-pooling is `spikejax.layers.max_pool`)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from spikejax._errors import check_choice
from spikejax.layers import Conv, SeqBatchNorm, Spiking, fold, max_pool, unfold
from spikejax.neurons import IF, LIF, PLIF, AbstractNeuron
from spikejax.surrogate import AbstractSurrogate

__all__ = [
    "NEURONS",
    "ConvBNSpike",
    "LinearBNSpike",
    "as_sequence",
    "check_dtype",
    "check_input",
    "check_positive_int",
    "check_positive_ints",
    "kaiming_normal_fan_out",
    "linear_head",
    "make_neuron",
    "max_pool",
    "torch_default_bias",
    "torch_default_kernel",
    "torch_linear",
]

NEURONS = ("if", "lif", "plif")


def make_neuron(
    fn: str, kind: str, *, surrogate: AbstractSurrogate, threshold: float = 1.0
) -> AbstractNeuron:
    """A fresh neuron of ``kind`` with a hard reset to 0 and a detached reset.

    ``"if"``: `IF`; ``"lif"``: `LIF` with
    ``β = 1/2`` and ``decay_input=True`` (SpikingJelly ``LIFNode(tau=2)``); ``"plif"``:
    `PLIF` with ``w = 0`` (``k = 1/2``, one trainable scalar per layer).
    """
    check_choice(fn, "neuron", kind, NEURONS)
    if kind == "if":
        return IF(threshold=threshold, reset="zero", surrogate=surrogate)
    if kind == "lif":
        return LIF(
            beta=0.5, threshold=threshold, reset="zero", decay_input=True, surrogate=surrogate
        )
    return PLIF(w=0.0, threshold=threshold, reset="zero", decay_input=True, surrogate=surrogate)


# PyTorch's ``kaiming_normal_(mode="fan_out", nonlinearity="relu")`` (torchvision ResNets).
kaiming_normal_fan_out = jax.nn.initializers.variance_scaling(2.0, "fan_out", "normal")
# PyTorch's default ``Conv``/``Linear`` weight: ``kaiming_uniform_(a=√5)`` = U(±1/√fan_in).
torch_default_kernel = jax.nn.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def torch_default_bias(fan_in: int):
    """PyTorch's default bias initialiser, ``U(±1/√fan_in)``."""
    bound = 1.0 / math.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def torch_linear(in_features: int, out_features: int, *, dtype: Any, rngs: nnx.Rngs) -> nnx.Linear:
    """A ``Linear`` with PyTorch's default initialisation (weight and bias ``U(±1/√fan_in)``)."""
    return nnx.Linear(
        in_features,
        out_features,
        kernel_init=torch_default_kernel,
        bias_init=torch_default_bias(in_features),
        dtype=dtype,
        rngs=rngs,
    )


def check_positive_int(fn: str, arg: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{fn}`: `{arg}` must be a positive int; got {value!r}.")


def check_positive_ints(fn: str, **values: Any) -> None:
    """`check_positive_int` on every keyword argument, in the order given."""
    for arg, value in values.items():
        check_positive_int(fn, arg, value)


def check_dtype(fn: str, x: Any, dtype: Any) -> None:
    """The input must be an array of the model's computation dtype (nothing is cast silently)."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{fn}`: `x` must be an array; got {type(x).__name__}.")
    if x.dtype != jnp.dtype(dtype):
        raise TypeError(
            f"`{fn}`: `x` must have the model's dtype {jnp.dtype(dtype)} (build the model with "
            f"`dtype=` to compute in another dtype); got {x.dtype}."
        )


def check_input(
    fn: str,
    x: Any,
    image_shape: tuple[int, int, int],
    dtype: Any,
    *,
    static: bool,
    sequence: bool,
    T: int,
) -> None:
    """``x`` must be a static batch ``[B, H, W, C]`` (if ``static``) or time-major
    ``[T, B, H, W, C]`` (if ``sequence``) with ``(H, W, C) == image_shape``, in the model's
    dtype."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`{fn}`: `x` must be an array; got {type(x).__name__}.")
    shape = tuple(x.shape)
    ok_static = static and len(shape) == 4 and shape[1:] == tuple(image_shape) and shape[0] > 0
    ok_sequence = (
        sequence and len(shape) == 5 and shape[2:] == tuple(image_shape) and min(shape[:2]) > 0
    )
    if not (ok_static or ok_sequence):
        h, w, c = image_shape
        forms = []
        if sequence:
            forms.append(f"time-major [T, B, {h}, {w}, {c}]")
        if static:
            forms.append(f"a static image batch [B, {h}, {w}, {c}] (used for T={T} steps)")
        raise ValueError(f"`{fn}`: `x` must be {' or '.join(forms)}; got shape {shape}.")
    check_dtype(fn, x, dtype)


def as_sequence(x: Float[Array, "..."], T: int) -> Float[Array, "time ..."]:
    """A static ``[B, H, W, C]`` batch repeated for ``T`` steps; ``[T, B, H, W, C]`` unchanged."""
    if x.ndim == 4:
        return jnp.broadcast_to(x[None], (T, *x.shape))
    return x


def linear_head(
    fc: nnx.Linear, features: Float[Array, "time batch channels"], per_step: bool
) -> Float[Array, "batch classes"]:
    """The classifier on per-step features: ``fc(mean_t features)`` (``[B, K]``), or with
    ``per_step`` the per-step logits ``fc(features)`` (``[T, B, K]``; their mean over T is the
    former)."""
    if per_step:
        return fc(features)
    return fc(jnp.mean(features, axis=0))


class ConvBNSpike(nnx.Module):
    """``conv k×k (stride s, symmetric padding k//2, no bias) → BN → spiking neuron``.

    The convolution runs time-folded on ``[T·B, H, W, C]``; batch norm is time-merged
    (`SeqBatchNorm`, PyTorch momentum 0.1, ε = 1e-5); the neuron runs from
    rest through `Spiking`. Called with ``repeat=T`` on a static
    ``[B, H, W, C]`` input, the convolution and batch norm run once and their output is repeated for
    ``T`` steps before the neuron (SEW ImageNet stem).

    Attributes: ``conv`` (`spikejax.layers.Conv`, an ``nnx.Conv``), ``bn`` (``SeqBatchNorm``),
    ``sn`` (``Spiking``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        *,
        neuron: AbstractNeuron,
        rngs: nnx.Rngs,
        stride: int = 1,
        groups: int = 1,
        kernel_init: Any = torch_default_kernel,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        pad = kernel // 2
        self.conv = Conv(
            in_channels,
            out_channels,
            (kernel, kernel),
            strides=(stride, stride),
            padding=((pad, pad), (pad, pad)),
            feature_group_count=groups,
            use_bias=False,
            kernel_init=kernel_init,
            dtype=dtype,
            rngs=rngs,
        )
        self.bn = SeqBatchNorm(out_channels, rngs=rngs)
        self.sn = Spiking(neuron, remat=remat)
        self.kernel, self.stride, self.pad, self.groups = kernel, stride, pad, groups

    def __call__(
        self, x: Float[Array, "time batch height width channels"], *, repeat: int | None = None
    ) -> Float[Array, "time batch height2 width2 channels2"]:
        """``x``: ``[T, B, H, W, C]``, or static ``[B, H, W, C]`` with ``repeat=T``."""
        if repeat is None:
            y = self.bn(unfold(self.conv(fold(x)), x.shape[0]))
        else:
            y = self.bn(self.conv(x)[None])
            y = jnp.broadcast_to(y, (repeat, *y.shape[1:]))
        return self.sn(y)


class LinearBNSpike(nnx.Module):
    """``Linear over tokens (optional bias) → BN → spiking neuron`` on ``[T, B, N, D]``.

    Batch-norm statistics are shared over time, batch and tokens (PyTorch ``BatchNorm1d`` on the
    time-merged ``[T·B, D, N]``). Attributes: ``linear``, ``bn``, ``sn``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        use_bias: bool,
        neuron: AbstractNeuron,
        rngs: nnx.Rngs,
        dtype: Any = jnp.float32,
        remat: bool | int = False,
    ):
        self.linear = nnx.Linear(
            in_features,
            out_features,
            use_bias=use_bias,
            kernel_init=jax.nn.initializers.normal(0.02),
            bias_init=jax.nn.initializers.zeros,
            dtype=dtype,
            rngs=rngs,
        )
        self.bn = SeqBatchNorm(out_features, rngs=rngs)
        self.sn = Spiking(neuron, remat=remat)

    def __call__(
        self, x: Float[Array, "time batch tokens features"]
    ) -> Float[Array, "time batch tokens features2"]:
        return self.sn(self.bn(self.linear(x)))
