"""Current-based leaky integrate-and-fire neuron (a synaptic current feeding a leaky membrane)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._pytree import static
from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._common import Reset, as_param, as_reset, as_surrogate, fire, like
from spikejax.neurons._interval import POSITIVE, UNIT, Interval
from spikejax.neurons._lif import decay_from_tau
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["CubaLIF", "CubaLIFState"]


class CubaLIFState(NamedTuple):
    """State of `CubaLIF`. ``i``: synaptic current (threshold units per step); ``v``:
    membrane potential (threshold units)."""

    i: Float[Array, "..."]
    v: Float[Array, "..."]


class CubaLIF(AbstractNeuron):
    r"""Current-based leaky integrate-and-fire neuron: input → leaky current → leaky membrane.

    One step, in implementation order (``x`` is the input of this step, in threshold units per step;
    time is in steps):

    $$
    \begin{aligned}
    i_t &= \alpha\, i_{t-1} + x_t                     &&\text{(synaptic current)}\\
    h_t &= \beta\, v_{t-1} + i_t                      &&\text{(integrate the new current)}\\
    s_t &= \Theta(h_t - \theta)                       &&\text{(fire; } \Theta(0) = 1\text{)}\\
    v_t &= h_t - s_t\theta \,|\, h_t(1 - s_t) \,|\, h_t &&\text{(reset: subtract | zero | none)}
    \end{aligned}
    $$

    Only the membrane is reset; the current keeps decaying. In the reset, ``s`` is
    ``stop_gradient(s)`` when ``detach_reset`` is true. This is the order of snnTorch's
    ``Synaptic``; Norse's ``LIFCell`` integrates the previous step's current instead (the input
    arrives one step later).

    Reference: Neftci, Mostafa & Zenke, "Surrogate gradient learning in spiking neural networks",
    *IEEE Signal Processing Magazine* 36(6) (2019).

    Args:
        alpha: synaptic current decay per step, in ``[0, 1]``; scalar or per neuron.
        beta: membrane decay per step, in ``[0, 1]``; scalar or per neuron.
        threshold: firing threshold ``θ > 0``; scalar or per neuron.
        reset: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``).
        detach_reset: no gradient through the reset term (default true).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.CubaLIF(alpha=0.5, beta=0.5)
        >>> state = neuron.init_state((2,))
        >>> state, s = neuron.step(state, jnp.array([0.5, 1.0]))
        >>> s, state.i, state.v
        (Array([0., 1.], dtype=float32), Array([0.5, 1. ], dtype=float32),
         Array([0.5, 0. ], dtype=float32))
    """

    bounds: ClassVar[Mapping[str, Interval]] = {"alpha": UNIT, "beta": UNIT, "threshold": POSITIVE}

    alpha: Float[Array, "..."]
    beta: Float[Array, "..."]
    threshold: Float[Array, "..."] = 1.0
    reset: Reset = static(Reset.SUBTRACT)
    surrogate: AbstractSurrogate = static(ATan())
    detach_reset: bool = static(True)

    def __post_init__(self):
        for name in ("alpha", "beta", "threshold"):
            value = as_param("CubaLIF", name, getattr(self, name), self.bounds[name])
            object.__setattr__(self, name, value)
        object.__setattr__(self, "reset", as_reset("CubaLIF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("CubaLIF", self.surrogate))

    @classmethod
    def from_tau(
        cls,
        tau_syn: Any,
        tau_mem: Any,
        dt: Any = 1.0,
        *,
        discretization: str = "exact",
        **kwargs: Any,
    ) -> CubaLIF:
        """``α`` and ``β`` from the synaptic and membrane time constants (same units as ``dt``):
        ``exp(-dt/τ)`` or, with ``"euler"``, ``1 - dt/τ``."""
        fn = "CubaLIF.from_tau"
        alpha = decay_from_tau(fn, tau_syn, dt, discretization, name="tau_syn")
        beta = decay_from_tau(fn, tau_mem, dt, discretization, name="tau_mem")
        return cls(alpha=alpha, beta=beta, **kwargs)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> CubaLIFState:
        return CubaLIFState(i=jnp.zeros(shape, dtype), v=jnp.zeros(shape, dtype))

    def step(
        self, state: CubaLIFState, x: Float[Array, "..."]
    ) -> tuple[CubaLIFState, Float[Array, "..."]]:
        i = like(self.alpha, x) * state.i + x
        h = like(self.beta, x) * state.v + i
        v, s = fire(h, like(self.threshold, x), self.reset, self.surrogate, self.detach_reset)
        return CubaLIFState(i, v), s
