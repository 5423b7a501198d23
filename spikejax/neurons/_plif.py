"""Parametric leaky integrate-and-fire neuron (learnable membrane time constant)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._pytree import static
from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._common import Reset, as_param, as_reset, as_surrogate, fire, like
from spikejax.neurons._interval import POSITIVE, Interval
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["PLIF", "PLIFState"]


class PLIFState(NamedTuple):
    """State of `PLIF`. ``v``: membrane potential (threshold units)."""

    v: Float[Array, "..."]


class PLIF(AbstractNeuron):
    r"""Leaky integrate-and-fire neuron whose leak ``k = σ(w) = 1/τ`` is learned through ``w``.

    One step, in implementation order (``x`` is the input current of this step, in threshold units
    per step; time is in steps; ``σ`` is the logistic sigmoid):

    $$
    \begin{aligned}
    k &= \sigma(w)                                    &&\text{(leak per step, in (0, 1))}\\
    h_t &= v_{t-1} + k\,(x_t - v_{t-1})               &&\text{(integrate; decay\_input=True)}\\
    h_t &= (1 - k)\, v_{t-1} + x_t                    &&\text{(integrate; decay\_input=False)}\\
    s_t &= \Theta(h_t - \theta)                       &&\text{(fire; } \Theta(0) = 1\text{)}\\
    v_t &= h_t - s_t\theta \,|\, h_t(1 - s_t) \,|\, h_t &&\text{(reset: subtract | zero | none)}
    \end{aligned}
    $$

    The default hard reset to 0 and ``decay_input=True`` are SpikingJelly's ``ParametricLIFNode``
    with ``v_reset=0``. In the reset, ``s`` is ``stop_gradient(s)`` when ``detach_reset`` is true.

    Reference: Fang, Yu, Chen, Masquelier, Huang & Tian, "Incorporating learnable membrane time
    constant to enhance learning of spiking neural networks", *ICCV* 2021.

    Args:
        w: leak parameter, any finite real (``k = σ(w)``); scalar or per neuron.
        threshold: firing threshold ``θ > 0``; scalar or per neuron.
        reset: ``"zero"`` (default), ``"subtract"`` or ``"none"``.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``).
        detach_reset: no gradient through the reset term (default true).
        decay_input: scale the input by ``k`` (default true).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.PLIF.from_tau(2.0)            # w = 0, k = 1/2
        >>> state, s = neuron.step(neuron.init_state((3,)), jnp.array([1.0, 2.0, 3.0]))
        >>> s, state.v
        (Array([0., 1., 1.], dtype=float32), Array([0.5, 0. , 0. ], dtype=float32))
    """

    trainable: ClassVar[tuple[str, ...]] = ("w",)
    bounds: ClassVar[Mapping[str, Interval]] = {"threshold": POSITIVE}

    w: Float[Array, "..."]
    threshold: Float[Array, "..."] = 1.0
    reset: Reset = static(Reset.ZERO)
    surrogate: AbstractSurrogate = static(ATan())
    detach_reset: bool = static(True)
    decay_input: bool = static(True)

    def __post_init__(self):
        object.__setattr__(self, "w", as_param("PLIF", "w", self.w))
        threshold = as_param("PLIF", "threshold", self.threshold, self.bounds["threshold"])
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "reset", as_reset("PLIF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("PLIF", self.surrogate))

    @classmethod
    def from_tau(cls, tau0: Any, **kwargs: Any) -> PLIF:
        """Start from a time constant ``τ0 > 1`` (steps): ``w = -log(τ0 - 1)``, so ``k = 1/τ0``."""
        tau0 = as_param("PLIF.from_tau", "tau0", tau0, Interval(1.0, None, low_open=True))
        return cls(w=-jnp.log(tau0 - 1), **kwargs)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> PLIFState:
        return PLIFState(v=jnp.zeros(shape, dtype))

    def step(
        self, state: PLIFState, x: Float[Array, "..."]
    ) -> tuple[PLIFState, Float[Array, "..."]]:
        k = jax.nn.sigmoid(like(self.w, x))
        if self.decay_input:
            h = state.v + k * (x - state.v)
        else:
            h = (1 - k) * state.v + x
        v, s = fire(h, like(self.threshold, x), self.reset, self.surrogate, self.detach_reset)
        return PLIFState(v), s
