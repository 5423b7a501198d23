"""Leaky integrate-and-fire neuron."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._errors import check_choice
from spikejax._pytree import static
from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._common import (
    Reset,
    as_param,
    as_reset,
    as_surrogate,
    check_v_reset,
    fire,
    like,
    optional_param,
)
from spikejax.neurons._interval import POSITIVE, UNIT, Interval
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["LIF", "LIFState", "decay_from_tau", "leaky_drive"]


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
    h_t &= \beta\, v_{t-1} + r\, x_t + (1 - \beta)\, v_\text{leak}
        &&\text{(integrate; } \texttt{decay\_input=False}\text{)}\\
    h_t &= \beta\, v_{t-1} + (1 - \beta)\, r\, x_t + (1 - \beta)\, v_\text{leak}
        &&\text{(integrate; } \texttt{decay\_input=True}\text{)}\\
    s_t &= \Theta(h_t - \theta)
        &&\text{(fire; } \Theta(0) = 1\text{, or } \Theta(0) = 0 \text{ with strict)}\\
    v_t &= h_t - s_t\theta \;\big|\; h_t(1 - s_t) + s_t v_\text{reset} \;\big|\; h_t
        &&\text{(reset: subtract | zero | none)}
    \end{aligned}
    $$

    The options ``r`` (input resistance), ``v_leak`` (resting potential), ``v_reset`` and
    ``strict`` default to off: ``r = 1``, ``v_leak = 0``, ``v_reset = 0`` and ``Θ(0) = 1``,
    computed without the extra terms (no leaf is stored for an option that is off). With
    ``β = 1 - dt/τ``, ``r = (dt/τ)·R`` and all four options this is NIR's ``LIF``
    ``τ v̇ = (v_leak - v) + R·I`` integrated by forward Euler (``β = exp(-dt/τ)``,
    ``r = (1 - β)·R``: the exact-exponential step for an input held over the step), spiking
    when ``v > θ`` (`spikejax.nir`).

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
        r: input resistance ``r`` (gain of the input); scalar or per neuron; ``None``: 1.
        v_leak: resting potential ``v_leak``; scalar or per neuron; ``None``: 0.
        v_reset: the membrane after a hard reset (``reset="zero"`` only); ``None``: 0.
        strict: fire only above the threshold, ``s = 1[h > θ]`` (default false: ``h >= θ``).

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
    r: Float[Array, "..."] | None = None
    v_leak: Float[Array, "..."] | None = None
    v_reset: Float[Array, "..."] | None = None
    strict: bool = static(False)

    def __post_init__(self):
        for name in ("beta", "threshold"):
            object.__setattr__(
                self, name, as_param("LIF", name, getattr(self, name), self.bounds[name])
            )
        for name in ("r", "v_leak", "v_reset"):
            object.__setattr__(self, name, optional_param("LIF", name, getattr(self, name)))
        object.__setattr__(self, "reset", as_reset("LIF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("LIF", self.surrogate))
        check_v_reset("LIF", self.reset, self.v_reset, self.strict)

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
        h = beta * state.v + leaky_drive(x, beta, self.decay_input, self.r, self.v_leak)
        v, s = fire(
            h,
            like(self.threshold, x),
            self.reset,
            self.surrogate,
            self.detach_reset,
            strict=self.strict,
            v_reset=None if self.v_reset is None else like(self.v_reset, x),
        )
        return LIFState(v), s


def leaky_drive(
    x: Float[Array, "..."], beta: Float[Array, "..."], decay_input: bool, r: Any, v_leak: Any
) -> Float[Array, "..."]:
    """What a leaky membrane adds to ``β·v`` in one step: ``[(1 - β)] r x + (1 - β) v_leak``.

    The input ``x`` scaled by ``r`` (when given) and by ``1 - β`` (with ``decay_input``), plus the
    leak towards ``v_leak`` (when given). Shared by `LIF`, `LI`
    and `CubaLIF`'s membrane.
    """
    if r is not None:
        x = like(r, x) * x
    drive = (1 - beta) * x if decay_input else x
    if v_leak is not None:
        drive = drive + (1 - beta) * like(v_leak, x)
    return drive
