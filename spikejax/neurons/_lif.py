"""Leaky integrate-and-fire neuron."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._errors import check_choice
from spikejax._pytree import static
from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._common import Reset, as_param, as_reset, as_surrogate, fire, like
from spikejax.neurons._interval import POSITIVE, UNIT, Interval
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["LIF", "LIFState", "decay_from_tau"]


class LIFState(NamedTuple):
    """State of `LIF`. ``v``: membrane potential (threshold units)."""

    v: Float[Array, "..."]


def decay_from_tau(
    fn: str, tau: Any, dt: Any, discretization: str, *, name: str = "tau"
) -> Float[Array, "..."]:
    """Per-step decay of a leaky variable with time constant ``tau`` sampled every ``dt``.

    ``"exact"``: ``exp(-dt/τ)`` (the exact solution of ``τ dv/dt = -v`` over one step; snnTorch,
    Norse). ``"euler"``: ``1 - dt/τ`` (forward Euler; SpikingJelly's ``1 - 1/τ`` for ``dt = 1``),
    which must lie in [0, 1], i.e. ``τ >= dt``. ``name`` is the argument named in errors.
    """
    check_choice(fn, "discretization", discretization, ("exact", "euler"))
    tau = as_param(fn, name, tau, POSITIVE)
    dt = as_param(fn, "dt", dt, POSITIVE)
    if discretization == "exact":
        return jnp.exp(-dt / tau)
    return as_param(fn, f"1 - dt/{name}", 1.0 - dt / tau, UNIT)


class LIF(AbstractNeuron):
    r"""Leaky integrate-and-fire neuron.

    One step, in implementation order (``x`` is the input current of this step, in threshold units
    per step; time is in steps):

    $$
    \begin{aligned}
    h_t &= \beta\, v_{t-1} + x_t
        &&\text{(integrate; } \texttt{decay\_input=False}\text{)}\\
    h_t &= \beta\, v_{t-1} + (1 - \beta)\, x_t
        &&\text{(integrate; } \texttt{decay\_input=True}\text{)}\\
    s_t &= \Theta(h_t - \theta)
        &&\text{(fire; } \Theta(0) = 1\text{)}\\
    v_t &= h_t - s_t\theta \;\big|\; h_t(1 - s_t) \;\big|\; h_t
        &&\text{(reset: subtract | zero | none)}
    \end{aligned}
    $$

    ``decay_input=False`` is snnTorch's ``Leaky`` form (``v = βv + x``, applied before the fire
    decision). ``decay_input=True`` is SpikingJelly's ``LIFNode(decay_input=True, v_reset=0)``:
    ``H = V + (X - V)/τ`` with ``β = 1 - 1/τ``. In the reset, ``s`` is ``stop_gradient(s)`` when
    ``detach_reset`` is true.

    Reference: Gerstner, Kistler, Naud & Paninski, *Neuronal Dynamics* (2014), ch. 1.3
    (discretised).

    Args:
        beta: membrane decay per step, in ``[0, 1]``; scalar or per neuron.
        threshold: firing threshold ``θ > 0``; scalar or per neuron.
        reset: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``).
        detach_reset: no gradient through the reset term (default true).
        decay_input: scale the input by ``1 - β`` (default false).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> lif = sj.neurons.LIF(beta=0.5)
        >>> state, s = lif.step(lif.init_state((3,)), jnp.array([0.5, 1.0, 2.0]))
        >>> s, state.v
        (Array([0., 1., 1.], dtype=float32), Array([0.5, 0. , 1. ], dtype=float32))
    """

    bounds: ClassVar[Mapping[str, Interval]] = {"beta": UNIT, "threshold": POSITIVE}

    beta: Float[Array, "..."]
    threshold: Float[Array, "..."] = 1.0
    reset: Reset = static(Reset.SUBTRACT)
    surrogate: AbstractSurrogate = static(ATan())
    detach_reset: bool = static(True)
    decay_input: bool = static(False)

    def __post_init__(self):
        for name in ("beta", "threshold"):
            object.__setattr__(
                self, name, as_param("LIF", name, getattr(self, name), self.bounds[name])
            )
        object.__setattr__(self, "reset", as_reset("LIF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("LIF", self.surrogate))

    @classmethod
    def from_tau(
        cls, tau: Any, dt: Any = 1.0, *, discretization: str = "exact", **kwargs: Any
    ) -> LIF:
        """``β`` from the membrane time constant: ``exp(-dt/τ)``; ``1 - dt/τ`` with ``"euler"``."""
        return cls(beta=decay_from_tau("LIF.from_tau", tau, dt, discretization), **kwargs)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> LIFState:
        return LIFState(v=jnp.zeros(shape, dtype))

    def step(self, state: LIFState, x: Float[Array, "..."]) -> tuple[LIFState, Float[Array, "..."]]:
        beta = like(self.beta, x)
        drive = (1 - beta) * x if self.decay_input else x
        h = beta * state.v + drive
        v, s = fire(h, like(self.threshold, x), self.reset, self.surrogate, self.detach_reset)
        return LIFState(v), s
