"""Adaptive leaky integrate-and-fire neuron (threshold adaptation, LSNN)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._pytree import static
from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._common import Reset, as_param, as_reset, as_surrogate, fire, like
from spikejax.neurons._interval import NON_NEGATIVE, POSITIVE, UNIT, Interval
from spikejax.neurons._lif import decay_from_tau
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["ALIF", "ALIFState"]


class ALIFState(NamedTuple):
    """State of `ALIF`. ``v``: membrane potential (threshold units); ``a``: adaptation, a
    low-pass filtered spike train (dimensionless, in ``[0, 1]`` when started at 0)."""

    v: Float[Array, "..."]
    a: Float[Array, "..."]


class ALIF(AbstractNeuron):
    r"""Leaky integrate-and-fire neuron with an adaptive threshold that rises after each spike.

    One step, in implementation order (``x`` is the input current of this step, in threshold units
    per step; time is in steps):

    $$
    \begin{aligned}
    h_t &= \beta\, v_{t-1} + x_t                        &&\text{(integrate)}\\
    \theta_t &= \theta + \gamma\, a_{t-1}                &&\text{(adaptive threshold)}\\
    s_t &= \Theta(h_t - \theta_t)                       &&\text{(fire; } \Theta(0) = 1\text{)}\\
    v_t &= h_t - s_t\theta_t \,|\, h_t(1 - s_t) \,|\, h_t &&\text{(reset: subtract|zero|none)}\\
    a_t &= \rho\, a_{t-1} + (1 - \rho)\, s_t            &&\text{(adapt)}
    \end{aligned}
    $$

    In the reset, ``s`` is ``stop_gradient(s)`` when ``detach_reset`` is true; the adaptation always
    uses ``s`` with its surrogate gradient.

    Reference: Bellec, Salaj, Subramoney, Legenstein & Maass, "Long short-term memory and
    learning-to-learn in networks of spiking neurons", *NeurIPS* 2018 (LSNN; their ``β`` is ``γ``
    here and their ``b`` is ``a``).

    Args:
        beta: membrane decay per step, in ``[0, 1]``; scalar or per neuron.
        rho: adaptation decay per step, in ``[0, 1]``; scalar or per neuron.
        gamma: adaptation strength ``γ >= 0`` (threshold units); scalar or per neuron.
        threshold: baseline threshold ``θ > 0``; scalar or per neuron.
        reset: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``).
        detach_reset: no gradient through the reset term (default true).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.ALIF(beta=1.0, rho=0.5, gamma=1.0)
        >>> state = neuron.init_state((1,))
        >>> state, s1 = neuron.step(state, jnp.array([1.0]))   # θ_1 = 1: fires, a = 0.5
        >>> state, s2 = neuron.step(state, jnp.array([1.0]))   # θ_2 = 1.5: silent
        >>> s1, s2, state.v, state.a
        (Array([1.], dtype=float32), Array([0.], dtype=float32), Array([1.], dtype=float32),
         Array([0.25], dtype=float32))
    """

    bounds: ClassVar[Mapping[str, Interval]] = {
        "beta": UNIT,
        "rho": UNIT,
        "gamma": NON_NEGATIVE,
        "threshold": POSITIVE,
    }

    beta: Float[Array, "..."]
    rho: Float[Array, "..."]
    gamma: Float[Array, "..."] = 1.8
    threshold: Float[Array, "..."] = 1.0
    reset: Reset = static(Reset.SUBTRACT)
    surrogate: AbstractSurrogate = static(ATan())
    detach_reset: bool = static(True)

    def __post_init__(self):
        for name in ("beta", "rho", "gamma", "threshold"):
            object.__setattr__(
                self, name, as_param("ALIF", name, getattr(self, name), self.bounds[name])
            )
        object.__setattr__(self, "reset", as_reset("ALIF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("ALIF", self.surrogate))

    @classmethod
    def from_tau(
        cls,
        tau_mem: Any,
        tau_adapt: Any,
        dt: Any = 1.0,
        *,
        discretization: str = "exact",
        **kwargs: Any,
    ) -> ALIF:
        """``β`` and ``ρ`` from the membrane and adaptation time constants (same units as ``dt``):
        ``exp(-dt/τ)`` or, with ``"euler"``, ``1 - dt/τ``."""
        fn = "ALIF.from_tau"
        beta = decay_from_tau(fn, tau_mem, dt, discretization, name="tau_mem")
        rho = decay_from_tau(fn, tau_adapt, dt, discretization, name="tau_adapt")
        return cls(beta=beta, rho=rho, **kwargs)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> ALIFState:
        return ALIFState(v=jnp.zeros(shape, dtype), a=jnp.zeros(shape, dtype))

    def step(
        self, state: ALIFState, x: Float[Array, "..."]
    ) -> tuple[ALIFState, Float[Array, "..."]]:
        h = like(self.beta, x) * state.v + x
        theta = like(self.threshold, x) + like(self.gamma, x) * state.a
        v, s = fire(h, theta, self.reset, self.surrogate, self.detach_reset)
        rho = like(self.rho, x)
        a = rho * state.a + (1 - rho) * s
        return ALIFState(v, a), s
