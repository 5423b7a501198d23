"""Settings and argument checks shared by the small experiment networks (`LIFMLP`,
`ConvSNN`): surrogate names, layer sizes, the LIF settings of every spiking layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from spikejax._errors import check_choice, check_range
from spikejax._unroll import check_remat
from spikejax.layers import Spiking
from spikejax.models._common import check_positive_ints
from spikejax.neurons import LI, LIF
from spikejax.surrogate import (
    AbstractSurrogate,
    ATan,
    Erf,
    FastSigmoid,
    Gaussian,
    Rectangle,
    Sigmoid,
    StraightThrough,
    Triangle,
)

__all__ = ["SURROGATES", "NeuronSpec", "check_conv_snn", "check_lif_mlp"]

#: Surrogate names accepted by the small models (each with its class's default parameters).
SURROGATES = {
    "atan": ATan,
    "sigmoid": Sigmoid,
    "fast_sigmoid": FastSigmoid,
    "triangle": Triangle,
    "rectangle": Rectangle,
    "gaussian": Gaussian,
    "erf": Erf,
    "straight_through": StraightThrough,
}


def _surrogate(fn: str, surrogate: Any) -> AbstractSurrogate:
    if isinstance(surrogate, AbstractSurrogate):
        return surrogate
    check_choice(fn, "surrogate", surrogate, tuple(SURROGATES))
    return SURROGATES[surrogate]()


def _sizes(fn: str, arg: str, sizes: Any, *, allow_empty: bool) -> tuple[int, ...]:
    ok = isinstance(sizes, Sequence) and not isinstance(sizes, str)
    ok = ok and all(not isinstance(n, bool) and isinstance(n, int) and n > 0 for n in sizes)
    if not ok or (not allow_empty and len(sizes) == 0):
        rule = "a tuple of positive ints" + ("" if allow_empty else " (at least one)")
        raise ValueError(f"`{fn}`: `{arg}` must be {rule}; got {sizes!r}.")
    return tuple(int(n) for n in sizes)


class NeuronSpec:
    """The LIF settings shared by every spiking layer of a small model, checked on construction.

    Attributes: ``beta``, ``threshold``, ``reset``, ``surrogate``, ``decay_input``,
    ``readout_beta``, ``remat`` as given (``readout_beta`` defaults to ``beta``); ``trainable``:
    the LIF leaves exposed as ``nnx.Param``, one value per neuron (``"beta"`` with ``learn_beta``,
    ``"threshold"`` with ``learn_threshold``). The readout's decay is trainable with
    ``learn_beta``.
    """

    def __init__(
        self,
        fn: str,
        *,
        beta: float,
        threshold: float,
        reset: str,
        surrogate: Any,
        decay_input: bool,
        learn_beta: bool,
        learn_threshold: bool,
        readout_beta: float | None,
        remat: bool | int,
    ):
        check_range(fn, "beta", beta, low=0.0, high=1.0)
        check_range(fn, "threshold", threshold, low=0.0, low_open=True)
        check_choice(fn, "reset", reset, ("subtract", "zero", "none"))
        readout_beta = beta if readout_beta is None else readout_beta
        check_range(fn, "readout_beta", readout_beta, low=0.0, high=1.0)
        self.beta, self.threshold, self.reset = float(beta), float(threshold), reset
        self.surrogate = _surrogate(fn, surrogate)
        check_remat(fn, remat)
        self.decay_input, self.readout_beta, self.remat = bool(decay_input), readout_beta, remat
        self.trainable = tuple(
            name for name, on in (("beta", learn_beta), ("threshold", learn_threshold)) if on
        )

    def lif(self, n: int) -> Spiking:
        """A layer of ``n`` LIF neurons with these settings."""
        neuron = LIF(
            beta=jnp.full((n,), self.beta),
            threshold=jnp.full((n,), self.threshold),
            reset=self.reset,
            surrogate=self.surrogate,
            decay_input=self.decay_input,
        )
        return Spiking(neuron, trainable=self.trainable, remat=self.remat)

    def li(self, n: int) -> Spiking:
        """The leaky-integrator readout of ``n`` neurons (decay ``readout_beta``)."""
        neuron = LI(beta=jnp.full((n,), float(self.readout_beta)), decay_input=self.decay_input)
        return Spiking(neuron, trainable=("beta",) if "beta" in self.trainable else ())


def _check_common(
    fn: str,
    positive: dict[str, Any],
    hidden: Any,
    dropout: Any,
    dtype: Any,
    neuron: dict[str, Any],
) -> tuple[tuple[int, ...], NeuronSpec]:
    """The checks both small models share: positive ints, hidden sizes, the dropout rate, the
    dtype and the LIF settings (see `NeuronSpec`)."""
    check_positive_ints(fn, **positive)
    hidden = _sizes(fn, "hidden", hidden, allow_empty=True)
    if isinstance(dropout, bool) or not isinstance(dropout, int | float):
        raise TypeError(f"`{fn}`: `dropout` must be a float in [0, 1); got {dropout!r}.")
    check_range(fn, "dropout", dropout, low=0.0, high=1.0, high_open=True)
    jnp.dtype(dtype)
    return hidden, NeuronSpec(fn, **neuron)


def check_lif_mlp(
    *, in_features: int, hidden: Any, num_classes: int, T: int, dropout: Any, dtype: Any, **neuron
) -> tuple[tuple[int, ...], NeuronSpec]:
    """Check the arguments of `LIFMLP` (``neuron``: its LIF settings, ``beta`` to
    ``remat``); return the hidden sizes and the LIF settings."""
    positive = dict(in_features=in_features, num_classes=num_classes, T=T)
    return _check_common("LIFMLP", positive, hidden, dropout, dtype, neuron)


def check_conv_snn(
    *,
    in_channels: int,
    channels: Any,
    num_classes: int,
    image_size: Any,
    kernel: int,
    pool: int,
    hidden: Any,
    T: int,
    dropout: Any,
    dtype: Any,
    **neuron,
) -> tuple[tuple[int, ...], tuple[int, int], tuple[int, ...], NeuronSpec]:
    """Check the arguments of `ConvSNN` (``neuron``: its LIF settings); return the
    convolution channels, the frame size ``(H, W)``, the hidden sizes and the LIF settings."""
    fn = "ConvSNN"
    positive = dict(in_channels=in_channels, num_classes=num_classes, kernel=kernel, pool=pool, T=T)
    hidden, spec = _check_common(fn, positive, hidden, dropout, dtype, neuron)
    channels = _sizes(fn, "channels", channels, allow_empty=False)
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    size = _sizes(fn, "image_size", size, allow_empty=False)
    if len(size) != 2:
        raise ValueError(f"`{fn}`: `image_size` must be an int or (H, W); got {image_size!r}.")
    h, w = size
    for block in range(1, len(channels) + 1):
        h, w = h // pool, w // pool
        if h < 1 or w < 1:
            raise ValueError(
                f"`{fn}`: `image_size` {size} is too small for {len(channels)} pooling steps "
                f"of {pool}; got a {h}×{w} map after block {block}."
            )
    return channels, size, hidden, spec
