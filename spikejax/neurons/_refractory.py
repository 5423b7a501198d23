"""Leaky integrate-and-fire neuron with an absolute refractory period, on the public API only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float, Int

import spikejax.surrogate as surrogates

# Written against the public API only, as a user's own neuron would be (the names below are bound
# in spikejax.neurons before this module is imported there).
from spikejax.neurons import AbstractNeuron, Interval, Reset, as_param, like, reset_membrane, static

__all__ = ["RefractoryLIF", "RefractoryLIFState"]


class RefractoryLIFState(NamedTuple):
    """State of `RefractoryLIF`. ``v``: membrane potential (threshold units); ``count``:
    refractory steps still to come (``int32``, 0 when the neuron may integrate and fire)."""

    v: Float[Array, "..."]
    count: Int[Array, "..."]


class RefractoryLIF(AbstractNeuron):
    r"""Leaky integrate-and-fire neuron that is silent for ``refractory`` steps after each spike.

    One step, in implementation order (``x`` is the input current of this step, in threshold units
    per step; time is in steps; ``R`` is ``refractory``; ``n`` is ``count``):

    $$
    \begin{aligned}
    q_t &= \mathbb{1}[n_{t-1} > 0]                    &&\text{(refractory this step?)}\\
    h_t &= (1 - q_t)\,(\beta\, v_{t-1} + x_t) + q_t\, v_{t-1}
        &&\text{(integrate, or hold)}\\
    s_t &= (1 - q_t)\,\Theta(h_t - \theta)            &&\text{(fire; } \Theta(0) = 1\text{)}\\
    v_t &= h_t(1 - s_t) \,|\, h_t - s_t\theta \,|\, h_t
        &&\text{(reset: zero | subtract | none)}\\
    n_t &= R \text{ if } s_t = 1 \text{ else } \max(n_{t-1} - 1, 0) &&\text{(count down)}
    \end{aligned}
    $$

    So after a spike at step ``t`` the steps ``t+1 … t+R`` are refractory: the input is ignored,
    the membrane is held at its value after the reset (no leak; 0 with the default hard reset,
    the absolute refractoriness of Gerstner et al.) and no spike can occur; integration resumes at
    step ``t+R+1``. ``R = 0`` is `LIF` without ``decay_input``. The countdown uses the
    forward spike decision ``Θ(h_t - θ)``; ``count`` carries no gradient. In the reset, ``s`` is
    ``stop_gradient(s)`` when ``detach_reset`` is true.

    ``refractory`` is static: a whole number of steps that fixes the compiled loop's logic, not a
    quantity to train.

    Reference: Gerstner, Kistler, Naud & Paninski, *Neuronal Dynamics* (2014), ch. 1.3.1
    (leaky integrate-and-fire with absolute refractoriness, discretised).

    Args:
        beta: membrane decay per step, in ``[0, 1]``; scalar or per neuron.
        threshold: firing threshold ``θ > 0``; scalar or per neuron.
        refractory: refractory period ``R`` in steps, an ``int >= 0`` (default 2).
        reset: ``"zero"`` (default), ``"subtract"`` or ``"none"``.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``).
        detach_reset: no gradient through the reset term (default true).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.RefractoryLIF(beta=1.0, refractory=2)
        >>> xs = jnp.full((7, 1), 0.6)
        >>> _, s = sj.unroll(neuron, neuron.init_state((1,)), xs)
        >>> s[:, 0]                                  # fires, silent 2 steps, integrates 2 steps
        Array([0., 1., 0., 0., 0., 1., 0.], dtype=float32)
    """

    bounds: ClassVar[Mapping[str, Interval]] = {
        "beta": Interval(0.0, 1.0),
        "threshold": Interval(0.0, None, low_open=True),
    }

    beta: Float[Array, "..."]
    threshold: Float[Array, "..."] = 1.0
    refractory: int = static(2)
    reset: Reset = static(Reset.ZERO)
    surrogate: surrogates.AbstractSurrogate = static(surrogates.ATan())
    detach_reset: bool = static(True)

    def __post_init__(self):
        fn = "RefractoryLIF"
        for name in ("beta", "threshold"):
            object.__setattr__(
                self, name, as_param(fn, name, getattr(self, name), self.bounds[name])
            )
        refractory = self.refractory
        if isinstance(refractory, bool) or not isinstance(refractory, int) or refractory < 0:
            raise ValueError(
                f"`{fn}`: `refractory` must be an int >= 0 (steps); got {refractory!r}."
            )
        try:
            object.__setattr__(self, "reset", Reset(self.reset))
        except ValueError:
            names = tuple(r.value for r in Reset)
            raise ValueError(
                f"`{fn}`: `reset` must be one of {names}; got {self.reset!r}."
            ) from None
        if not isinstance(self.surrogate, surrogates.AbstractSurrogate):
            raise TypeError(
                f"`{fn}`: `surrogate` must be an instance of spikejax.surrogate.AbstractSurrogate; "
                f"got {self.surrogate!r}."
            )

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> RefractoryLIFState:
        return RefractoryLIFState(v=jnp.zeros(shape, dtype), count=jnp.zeros(shape, jnp.int32))

    def step(
        self, state: RefractoryLIFState, x: Float[Array, "..."]
    ) -> tuple[RefractoryLIFState, Float[Array, "..."]]:
        v, count = state
        refractory = count > 0
        h = jnp.where(refractory, v, like(self.beta, x) * v + x)
        threshold = like(self.threshold, x)
        open_ = (~refractory).astype(x.dtype)
        s = open_ * surrogates.spike(h - threshold, self.surrogate)
        v = reset_membrane(h, s, threshold, self.reset, self.detach_reset)
        fired = (h - threshold >= 0) & ~refractory
        count = jnp.where(fired, jnp.int32(self.refractory), jnp.maximum(count - 1, 0))
        return RefractoryLIFState(v, count), s
