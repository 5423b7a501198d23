"""The computation every STDP rule shares: traces, the weight change of one synapse over one
window, and the rules' constants (the equations are in `spikejax.plasticity._rules`)."""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

from spikejax.plasticity._checks import check_number
from spikejax.plasticity._synapses import Synapse

__all__ = ["DEPENDENCES", "Constants", "Traces", "check_constants", "weight_change"]

DEPENDENCES = ("additive", "multiplicative")


class Traces(NamedTuple):
    """The four traces of one synapse after a window: ``r1``, ``r2`` presynaptic ``[B, *features]``
    (time constants ``τ_+``, ``τ_x``), ``o1``, ``o2`` postsynaptic ``[B, *neurons]`` (``τ_-``,
    ``τ_y``)."""

    r1: Array
    r2: Array
    o1: Array
    o2: Array


@dataclasses.dataclass(frozen=True)
class Constants:
    """The constants of a rule (time constants in steps of ``dt``)."""

    a2_plus: float
    a2_minus: float
    a3_plus: float
    a3_minus: float
    tau_plus: float
    tau_minus: float
    tau_x: float
    tau_y: float
    tau_e: float | None
    dependence: str
    w_min: float | None
    w_max: float | None
    dt: float

    def decay(self, tau: float) -> float:
        return math.exp(-self.dt / tau)


def check_constants(fn: str, c: Constants) -> None:
    for name in ("tau_plus", "tau_minus", "tau_x", "tau_y", "dt"):
        check_number(fn, name, getattr(c, name), positive=True)
    if c.tau_e is not None:
        check_number(fn, "tau_e", c.tau_e, positive=True)
    for name in ("a2_plus", "a2_minus", "a3_plus", "a3_minus"):
        check_number(fn, name, getattr(c, name))
    if c.dependence not in DEPENDENCES:
        raise ValueError(
            f"`{fn}`: `dependence` must be one of {DEPENDENCES}; got {c.dependence!r}."
        )
    for name in ("w_min", "w_max"):
        if getattr(c, name) is not None:
            check_number(fn, name, getattr(c, name))
    if c.dependence == "multiplicative" and (c.w_min is None or c.w_max is None):
        raise ValueError(
            f"`{fn}`: dependence='multiplicative' needs both bounds `w_min` and `w_max`; got "
            f"w_min={c.w_min!r}, w_max={c.w_max!r}."
        )
    if c.w_min is not None and c.w_max is not None and not c.w_min < c.w_max:
        raise ValueError(
            f"`{fn}`: `w_min` must be < `w_max`; got w_min={c.w_min!r}, w_max={c.w_max!r}."
        )


def _scan_trace(spikes: Array, x0: Array, decay: float) -> tuple[Array, Array, Array]:
    """``(x_t for every t, x_t⁻ for every t, final x)`` of one trace."""

    def step(x, s):
        before = decay * x
        x = before + s
        return x, (x, before)

    final, (after, before) = jax.lax.scan(step, x0, spikes)
    return after, before, final


def _correlate(syn: Synapse, kernel: Array, pre: Array, post: Array) -> Array:
    """``Σ_n pre_n ⊗ post_n`` in the kernel's layout (the transpose of ``syn.apply``)."""
    n = pre.shape[0] * pre.shape[1]
    pre = pre.reshape((n, *pre.shape[2:]))
    post = post.reshape((n, *post.shape[2:]))
    _, transpose = jax.vjp(lambda k: syn.apply(k, pre), kernel)
    return transpose(post.astype(kernel.dtype))[0]


def weight_change(
    syn: Synapse,
    c: Constants,
    kernel: Array,
    pre: Array,
    post: Array,
    start: Traces,
    reward: Array | None,
) -> tuple[Array, Traces]:
    """``(Δw, traces at the end)`` of one synapse over one window (module docstring)."""
    dtype = kernel.dtype
    pre, post = pre.astype(dtype), post.astype(dtype)
    T, B = pre.shape[0], pre.shape[1]
    r1, _, r1_end = _scan_trace(pre, start.r1, c.decay(c.tau_plus))
    _, o1_before, o1_end = _scan_trace(post, start.o1, c.decay(c.tau_minus))
    _, r2_before, r2_end = _scan_trace(pre, start.r2, c.decay(c.tau_x))
    _, o2_before, o2_end = _scan_trace(post, start.o2, c.decay(c.tau_y))
    ltp_post = post * (c.a2_plus + c.a3_plus * o2_before)
    ltd_pre = pre * (c.a2_minus + c.a3_minus * r2_before)
    ltd_post = o1_before
    if reward is not None:
        ages = jnp.arange(T - 1, -1, -1, dtype=dtype)
        gain = jnp.exp(-ages * c.dt / c.tau_e)[:, None] * reward.astype(dtype)[None, :]
        gain = gain.reshape((T, B) + (1,) * (post.ndim - 2))
        ltp_post, ltd_post = ltp_post * gain, ltd_post * gain
    ltp = _correlate(syn, kernel, r1, ltp_post)
    ltd = _correlate(syn, kernel, ltd_pre, ltd_post)
    if c.dependence == "multiplicative":
        f_plus, f_minus = c.w_max - kernel, kernel - c.w_min
    else:
        f_plus = 1.0 if c.w_max is None else (kernel < c.w_max).astype(dtype)
        f_minus = 1.0 if c.w_min is None else (kernel > c.w_min).astype(dtype)
    dw = (f_plus * ltp - f_minus * ltd) / B
    return dw, Traces(r1_end, r2_end, o1_end, o2_end)
