"""Integrate-and-fire neuron (no leak)."""

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
from spikejax.neurons._interval import POSITIVE, Interval
from spikejax.surrogate import AbstractSurrogate, ATan

__all__ = ["IF", "IFState"]


class IFState(NamedTuple):
    """State of `IF`. ``v``: membrane potential (threshold units)."""

    v: Float[Array, "..."]


class IF(AbstractNeuron):
    r"""Integrate-and-fire neuron: a perfect integrator with a threshold.

    One step, in implementation order (``x`` is the input current of this step, in threshold units
    per step; time is in steps):

    $$
    \begin{aligned}
    v_0 &= v_\text{init}\,\theta                      &&\text{(initial state)}\\
    h_t &= v_{t-1} + r\, x_t                          &&\text{(integrate)}\\
    s_t &= \Theta(h_t - \theta)
        &&\text{(fire; } \Theta(0) = 1\text{, or 0 with strict)}\\
    v_t &= h_t - s_t\theta \,|\, h_t(1 - s_t) + s_t v_\text{reset} \,|\, h_t
        &&\text{(reset: subtract | zero | none)}
    \end{aligned}
    $$

    The options ``r``, ``v_reset`` and ``strict`` default to off (``r = 1``, ``v_reset = 0``,
    ``Θ(0) = 1``, computed without the extra terms). With all three this is NIR's ``IF``
    (``v̇ = R·I``, integrated per step as the reference importers do; `spikejax.nir`).

    In the reset, ``s`` is ``stop_gradient(s)`` when ``detach_reset`` is true. With the subtractive
    reset the spike count over ``T`` steps approximates ``Σ x / θ`` (the basis of ANN→SNN
    conversion).

    Reference: Burkitt, "A review of the integrate-and-fire neuron model: I. Homogeneous synaptic
    input", *Biological Cybernetics* 95 (2006), discretised.

    Args:
        threshold: firing threshold ``θ > 0``; scalar or per neuron.
        reset: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``).
        detach_reset: no gradient through the reset term (default true).
        v_init: the resting membrane as a fraction of the threshold, in ``[0, 1)`` (default 0);
            ``init_state`` starts every neuron at ``v_init·θ`` (``1/2`` in converted networks).
        r: input resistance ``r``; scalar or per neuron; ``None``: 1.
        v_reset: the membrane after a hard reset (``reset="zero"`` only); ``None``: 0.
        strict: fire only above the threshold, ``s = 1[h > θ]`` (default false: ``h >= θ``).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.IF()
        >>> state, s = neuron.step(neuron.init_state((3,)), jnp.array([0.5, 1.0, 2.0]))
        >>> s, state.v
        (Array([0., 1., 1.], dtype=float32), Array([0.5, 0. , 1. ], dtype=float32))
    """

    bounds: ClassVar[Mapping[str, Interval]] = {"threshold": POSITIVE}

    threshold: Float[Array, "..."] = 1.0
    reset: Reset = static(Reset.SUBTRACT)
    surrogate: AbstractSurrogate = static(ATan())
    detach_reset: bool = static(True)
    v_init: float = static(0.0)
    r: Float[Array, "..."] | None = None
    v_reset: Float[Array, "..."] | None = None
    strict: bool = static(False)

    def __post_init__(self):
        v_init = self.v_init
        if isinstance(v_init, bool) or not isinstance(v_init, int | float) or not 0 <= v_init < 1:
            raise ValueError(f"`IF`: `v_init` must be a number in [0, 1); got {v_init!r}.")
        object.__setattr__(self, "v_init", float(v_init))
        threshold = as_param("IF", "threshold", self.threshold, self.bounds["threshold"])
        object.__setattr__(self, "threshold", threshold)
        object.__setattr__(self, "reset", as_reset("IF", self.reset))
        object.__setattr__(self, "surrogate", as_surrogate("IF", self.surrogate))
        for name in ("r", "v_reset"):
            object.__setattr__(self, name, optional_param("IF", name, getattr(self, name)))
        check_v_reset("IF", self.reset, self.v_reset, self.strict)

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> IFState:
        if self.v_init == 0:
            return IFState(v=jnp.zeros(shape, dtype))
        v0 = self.v_init * jnp.broadcast_to(self.threshold.astype(dtype), shape)
        return IFState(v=v0.astype(dtype))

    def step(self, state: IFState, x: Float[Array, "..."]) -> tuple[IFState, Float[Array, "..."]]:
        h = state.v + (x if self.r is None else like(self.r, x) * x)
        v, s = fire(
            h,
            like(self.threshold, x),
            self.reset,
            self.surrogate,
            self.detach_reset,
            strict=self.strict,
            v_reset=None if self.v_reset is None else like(self.v_reset, x),
        )
        return IFState(v), s
