"""Current-based leaky integrate-and-fire neuron (a synaptic current feeding a leaky membrane)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

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
from spikejax.neurons._lif import decay_from_tau, leaky_drive
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["CubaLI", "CubaLIF", "CubaLIFState"]


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
    i_t &= \alpha\, i_{t-1} + w_\text{in}\, x_t
        &&\text{(synaptic current)}\\
    h_t &= \beta\, v_{t-1} + r\, i_t + (1 - \beta)\, v_\text{leak}
        &&\text{(integrate the new current)}\\
    s_t &= \Theta(h_t - \theta)
        &&\text{(fire; } \Theta(0) = 1\text{, or 0 with strict)}\\
    v_t &= h_t - s_t\theta \,|\, h_t(1 - s_t) + s_t v_\text{reset} \,|\, h_t
        &&\text{(reset: subtract | zero | none)}
    \end{aligned}
    $$

    ``w_in``, ``r``, ``v_leak``, ``v_reset`` and ``strict`` default to off (``w_in = r = 1``,
    ``v_leak = v_reset = 0``, ``Θ(0) = 1``, computed without the extra terms). With decays
    ``1 - dt/τ``, ``w_in = (dt/τ_syn)·w_in'`` and ``r = (dt/τ_mem)·R`` this is NIR's ``CubaLIF``
    by forward Euler, the membrane integrating the new current (`spikejax.nir`).

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
        w_in: input weight ``w_in`` of the current; scalar or per neuron; ``None``: 1.
        r: resistance ``r`` from current to membrane; scalar or per neuron; ``None``: 1.
        v_leak: resting potential ``v_leak``; scalar or per neuron; ``None``: 0.
        v_reset: the membrane after a hard reset (``reset="zero"`` only); ``None``: 0.
        strict: fire only above the threshold, ``s = 1[h > θ]`` (default false: ``h >= θ``).

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
    w_in: Float[Array, "..."] | None = None
    r: Float[Array, "..."] | None = None
    v_leak: Float[Array, "..."] | None = None
    v_reset: Float[Array, "..."] | None = None
    strict: bool = static(False)

    def __post_init__(self):
        for name in ("alpha", "beta", "threshold"):
            value = as_param("CubaLIF", name, getattr(self, name), self.bounds[name])
            object.__setattr__(self, name, value)
        for name in ("w_in", "r", "v_leak", "v_reset"):
            object.__setattr__(self, name, optional_param("CubaLIF", name, getattr(self, name)))
        object.__setattr__(self, "reset", as_reset("CubaLIF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("CubaLIF", self.surrogate))
        check_v_reset("CubaLIF", self.reset, self.v_reset, self.strict)

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
        i = current(self.alpha, state.i, x, self.w_in)
        beta = like(self.beta, x)
        h = beta * state.v + leaky_drive(i, beta, False, self.r, self.v_leak)
        v, s = fire(
            h,
            like(self.threshold, x),
            self.reset,
            self.surrogate,
            self.detach_reset,
            strict=self.strict,
            v_reset=None if self.v_reset is None else like(self.v_reset, x),
        )
        return CubaLIFState(i, v), s


def current(
    alpha: Any, i: Float[Array, "..."], x: Float[Array, "..."], w_in: Any
) -> Float[Array, "..."]:
    """The synaptic current of a step: ``α i + w_in x`` (see `CubaLIF`)."""
    if w_in is not None:
        x = like(w_in, x) * x
    return like(alpha, x) * i + x


class CubaLI(AbstractNeuron):
    r"""Current-based leaky integrator: `CubaLIF`'s current and membrane, never spiking.

    One step, in implementation order:

    $$
    \begin{aligned}
    i_t &= \alpha\, i_{t-1} + w_\text{in}\, x_t
        &&\text{(synaptic current)}\\
    v_t &= \beta\, v_{t-1} + r\, i_t + (1 - \beta)\, v_\text{leak}
        &&\text{(membrane; the output)}
    \end{aligned}
    $$

    The output of each step is the membrane ``v_t`` (``spiking = False``). ``w_in``, ``r`` and
    ``v_leak`` default to off (``w_in = r = 1``, ``v_leak = 0``). With the parameters of
    `CubaLIF`'s NIR form this is NIR's ``CubaLI`` by forward Euler (`spikejax.nir`).

    Reference: Neftci, Mostafa & Zenke, "Surrogate gradient learning in spiking neural networks",
    *IEEE Signal Processing Magazine* 36(6) (2019), without the spike.

    Args:
        alpha: synaptic current decay per step, in ``[0, 1]``; scalar or per neuron.
        beta: membrane decay per step, in ``[0, 1]``; scalar or per neuron.
        w_in: input weight of the current; ``None``: 1.
        r: resistance from current to membrane; ``None``: 1.
        v_leak: resting potential; ``None``: 0.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.CubaLI(alpha=0.5, beta=0.5)
        >>> state, v = neuron.step(neuron.init_state((1,)), jnp.array([1.0]))
        >>> state, v = neuron.step(state, jnp.array([0.0]))
        >>> state.i, v                          # i = 0.5; v = 0.5·1 + 0.5
        (Array([0.5], dtype=float32), Array([1.], dtype=float32))
    """

    spiking: ClassVar[bool] = False
    bounds: ClassVar[Mapping[str, Interval]] = {"alpha": UNIT, "beta": UNIT}

    alpha: Float[Array, "..."]
    beta: Float[Array, "..."]
    w_in: Float[Array, "..."] | None = None
    r: Float[Array, "..."] | None = None
    v_leak: Float[Array, "..."] | None = None

    def __post_init__(self):
        for name in ("alpha", "beta"):
            value = as_param("CubaLI", name, getattr(self, name), self.bounds[name])
            object.__setattr__(self, name, value)
        for name in ("w_in", "r", "v_leak"):
            object.__setattr__(self, name, optional_param("CubaLI", name, getattr(self, name)))

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> CubaLIFState:
        return CubaLIFState(i=jnp.zeros(shape, dtype), v=jnp.zeros(shape, dtype))

    def step(
        self, state: CubaLIFState, x: Float[Array, "..."]
    ) -> tuple[CubaLIFState, Float[Array, "..."]]:
        i = current(self.alpha, state.i, x, self.w_in)
        beta = like(self.beta, x)
        v = beta * state.v + leaky_drive(i, beta, False, self.r, self.v_leak)
        return CubaLIFState(i, v), v
