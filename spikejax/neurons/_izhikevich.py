"""Izhikevich's two-variable spiking neuron, written against spikejax's public API only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

import spikejax.surrogate as surrogates

# Written against the public API only, as a user's own neuron would be (the names below are bound
# in spikejax.neurons before this module is imported there).
from spikejax.neurons import AbstractNeuron, Interval, as_param, like, static

__all__ = ["Izhikevich", "IzhikevichState"]


class IzhikevichState(NamedTuple):
    """State of `Izhikevich`. ``v``: membrane potential (mV); ``u``: recovery variable
    (mV/ms, the units of the input current)."""

    v: Float[Array, "..."]
    u: Float[Array, "..."]


class Izhikevich(AbstractNeuron):
    r"""Izhikevich's simple model: a quadratic membrane ``v`` with a slow recovery variable ``u``.

    One step, in implementation order: one explicit (forward) Euler step of length ``dt`` for both
    variables, each evaluated at the previous step's ``v, u``; then fire and reset (``x`` is the
    input current ``I`` of this step in the paper's units, mV/ms; ``v``, ``c`` and ``v_peak`` in
    mV; ``dt`` in ms):

    $$
    \begin{aligned}
    h_t &= v_{t-1} + dt\,\big(0.04\,(v_{t-1} + 62.5)^2 - 16.25 - u_{t-1} + x_t\big)
        &&\text{(integrate } v\text{)}\\
    w_t &= u_{t-1} + dt\,a\,(b\,v_{t-1} - u_{t-1})   &&\text{(integrate } u\text{)}\\
    s_t &= \Theta(h_t - v_{\text{peak}})              &&\text{(fire; } \Theta(0) = 1\text{)}\\
    v_t &= h_t + s_t\,(c - h_t)                  &&\text{(reset } v \leftarrow c\text{)}\\
    u_t &= w_t + s_t\,d                          &&\text{(reset } u \leftarrow u + d\text{)}
    \end{aligned}
    $$

    The quadratic is the paper's ``0.04 v² + 5 v + 140``, written in vertex form so that float32
    does not cancel terms of size ~100 near rest. In both reset lines ``s`` is
    ``stop_gradient(s)`` when ``detach_reset`` is true. The rest state of `init_state` is
    ``v = c, u = b·c`` (the paper's code starts at ``v = -65``, ``u = b·v``, which is this for the
    default ``c = -65``). The paper's own code splits each 1 ms step of ``v`` into two 0.5 ms
    halves for numerical stability; here there is one Euler step of ``dt`` (default 0.5 ms) per
    time step, for ``v`` and ``u`` alike.

    The defaults ``a, b, c, d = 0.02, 0.2, -65, 8`` are the paper's regular-spiking cortical
    neuron; e.g. ``(0.1, 0.2, -65, 2)`` is fast spiking and ``(0.02, 0.2, -50, 2)`` chattering.

    Reference: Izhikevich, "Simple model of spiking neurons", *IEEE Transactions on Neural
    Networks* 14(6) (2003).

    Args:
        a: time scale of ``u`` (1/ms), ``a > 0``; scalar or per neuron.
        b: sensitivity of ``u`` to ``v`` (1/ms · ms = dimensionless here), any real.
        c: reset potential of ``v`` (mV), any real below ``v_peak``.
        d: increment of ``u`` at a spike (mV/ms), any real.
        v_peak: spike cut-off (mV), default 30.
        dt: time step (ms), ``dt > 0``, default 0.5.
        surrogate: gradient of the spike (default ``ATan(alpha=2)``, on ``h - v_peak`` in mV).
        detach_reset: no gradient through the reset terms (default true).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> neuron = sj.neurons.Izhikevich()                   # regular spiking
        >>> xs = jnp.full((400, 1), 10.0)                      # 200 ms of I = 10
        >>> _, s = sj.unroll(neuron, neuron.init_state((1,)), xs)
        >>> int(s.sum()), int(jnp.argmax(s[:, 0]))             # spikes, first spike step
        (5, 7)
    """

    bounds: ClassVar[Mapping[str, Interval]] = {
        "a": Interval(0.0, None, low_open=True),
        "dt": Interval(0.0, None, low_open=True),
    }

    a: Float[Array, "..."] = 0.02
    b: Float[Array, "..."] = 0.2
    c: Float[Array, "..."] = -65.0
    d: Float[Array, "..."] = 8.0
    v_peak: Float[Array, "..."] = 30.0
    dt: Float[Array, "..."] = 0.5
    surrogate: surrogates.AbstractSurrogate = static(surrogates.ATan())
    detach_reset: bool = static(True)

    def __post_init__(self):
        for name in ("a", "b", "c", "d", "v_peak", "dt"):
            value = as_param(
                "Izhikevich", name, getattr(self, name), self.bounds.get(name, Interval())
            )
            object.__setattr__(self, name, value)
        if not isinstance(self.surrogate, surrogates.AbstractSurrogate):
            raise TypeError(
                "`Izhikevich`: `surrogate` must be an instance of "
                f"spikejax.surrogate.AbstractSurrogate; got {self.surrogate!r}."
            )
        if not isinstance(self.c, jax.core.Tracer) and not isinstance(self.v_peak, jax.core.Tracer):
            above = jnp.asarray(self.c) >= jnp.asarray(self.v_peak)
            if bool(jnp.any(above)):
                raise ValueError(
                    "`Izhikevich`: `c` must lie below `v_peak` (the reset below the spike "
                    f"cut-off); got c={self.c.tolist()} and v_peak={self.v_peak.tolist()}."
                )

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> IzhikevichState:
        zeros = jnp.zeros(shape, dtype)
        c = like(self.c, zeros)
        return IzhikevichState(v=c, u=like(self.b, zeros) * c)

    def step(
        self, state: IzhikevichState, x: Float[Array, "..."]
    ) -> tuple[IzhikevichState, Float[Array, "..."]]:
        v, u = state
        a, b, dt = like(self.a, x), like(self.b, x), like(self.dt, x)
        # 0.04 v² + 5 v + 140 in vertex form: no cancellation between terms of size ~100 near rest.
        q = v + 62.5
        h = v + dt * (0.04 * q * q - 16.25 - u + x)
        w = u + dt * a * (b * v - u)
        s = surrogates.spike(h - like(self.v_peak, x), self.surrogate)
        r = jax.lax.stop_gradient(s) if self.detach_reset else s
        v = h + r * (like(self.c, x) - h)
        u = w + r * like(self.d, x)
        return IzhikevichState(v, u), s
