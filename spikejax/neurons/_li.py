"""Leaky integrator: a non-spiking membrane readout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._pytree import static
from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._common import as_param, like, optional_param
from spikejax.neurons._interval import UNIT, Interval
from spikejax.neurons._lif import decay_from_tau, leaky_drive

__all__ = ["LI", "LIState"]


class LIState(NamedTuple):
    """State of `LI`. ``v``: membrane potential (input units)."""

    v: Float[Array, "..."]


class LI(AbstractNeuron):
    r"""Leaky integrator: a membrane that never spikes, used as a readout layer.

    One step (``x`` is the input of this step; time is in steps):

    $$
    \begin{aligned}
    v_t &= \beta\, v_{t-1} + r\, x_t + (1 - \beta)\, v_\text{leak}
        &&\text{(decay\_input=False)}\\
    v_t &= \beta\, v_{t-1} + (1 - \beta)\, r\, x_t + (1 - \beta)\, v_\text{leak}
        &&\text{(decay\_input=True)}
    \end{aligned}
    $$

    ``r`` and ``v_leak`` default to off (``r = 1``, ``v_leak = 0``, computed without the extra
    terms). With ``β = 1 - dt/τ`` and ``r = (dt/τ)·R`` this is NIR's ``LI`` by forward Euler;
    with ``β = 1``, ``decay_input=False`` it is NIR's integrator ``I`` (``v ← v + r x`` per step).

    The output of each step is the membrane ``v_t`` itself (``spiking = False``); readouts such as
    the maximum or mean over time are applied to it afterwards.

    Reference: Cramer, Stradmann, Schemmel & Zenke, "The Heidelberg spiking data sets for the
    systematic evaluation of spiking neural networks", *IEEE TNNLS* 33(7) (2022), the non-spiking
    readout.

    Args:
        beta: membrane decay per step, in ``[0, 1]``; scalar or per neuron.
        decay_input: scale the input by ``1 - β`` (default false).
        r: input resistance ``r``; scalar or per neuron; ``None``: 1.
        v_leak: resting potential ``v_leak``; scalar or per neuron; ``None``: 0.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> li = sj.neurons.LI(beta=0.5)
        >>> state, v = li.step(li.init_state((2,)), jnp.array([1.0, 2.0]))
        >>> state, v = li.step(state, jnp.array([1.0, 0.0]))
        >>> v
        Array([1.5, 1. ], dtype=float32)
    """

    spiking: ClassVar[bool] = False
    bounds: ClassVar[Mapping[str, Interval]] = {"beta": UNIT}

    beta: Float[Array, "..."]
    decay_input: bool = static(False)
    r: Float[Array, "..."] | None = None
    v_leak: Float[Array, "..."] | None = None

    def __post_init__(self):
        object.__setattr__(self, "beta", as_param("LI", "beta", self.beta, self.bounds["beta"]))
        for name in ("r", "v_leak"):
            object.__setattr__(self, name, optional_param("LI", name, getattr(self, name)))

    @classmethod
    def from_tau(
        cls, tau: Any, dt: Any = 1.0, *, discretization: str = "exact", **kwargs: Any
    ) -> LI:
        """``β`` from the time constant: ``exp(-dt/τ)`` or, with ``"euler"``, ``1 - dt/τ``."""
        return cls(beta=decay_from_tau("LI.from_tau", tau, dt, discretization), **kwargs)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> LIState:
        return LIState(v=jnp.zeros(shape, dtype))

    def step(self, state: LIState, x: Float[Array, "..."]) -> tuple[LIState, Float[Array, "..."]]:
        beta = like(self.beta, x)
        v = beta * state.v + leaky_drive(x, beta, self.decay_input, self.r, self.v_leak)
        return LIState(v), v
