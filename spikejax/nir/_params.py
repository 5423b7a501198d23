"""From NIR parameters to spikejax neurons and layers at a time step ``dt``, and their shapes.

Discretisation (``spikejax/specs``' convention of the reference importers): forward Euler at
``dt`` by default, ``v ← v + dt/τ·(v_leak − v + R·x)``, or the exact exponential step for an
input held over the step, ``β = exp(−dt/τ)``. Both are written as the spikejax neuron
``h = β v + g x + (1 − β) v_leak`` with the input gain ``g = (1 − β)·R`` (``dt/τ·R`` for Euler),
computed in float64 and rounded once to float32. IF and I integrate per step (``v ← v + R x``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikejax.neurons import IF, LI, LIF, AbstractNeuron, CubaLI, CubaLIF
from spikejax.nir._delay import Delay
from spikejax.nir._read import NodeRecord

__all__ = ["LoadError", "check_dt", "delay_steps", "neuron_of", "node_error"]


class LoadError(ValueError):
    """A NIR graph that spikejax cannot run as written (named node, parameter and reason)."""


def check_dt(fn: str, dt: Any, discretization: str) -> None:
    """``dt`` a finite number > 0 (seconds) and ``discretization`` ``"euler"`` or ``"exact"``."""
    if isinstance(dt, bool) or not isinstance(dt, int | float | np.floating) or not dt > 0:
        raise ValueError(
            f"`spikejax.nir.{fn}`: `dt` must be a positive number (seconds); got {dt!r}."
        )
    if not np.isfinite(dt):
        raise ValueError(f"`spikejax.nir.{fn}`: `dt` must be finite; got {dt!r}.")
    if discretization not in ("euler", "exact"):
        raise ValueError(
            f"`spikejax.nir.{fn}`: `discretization` must be 'euler' or 'exact'; got "
            f"{discretization!r}."
        )


def node_error(origin: str, node: NodeRecord, message: str) -> LoadError:
    return LoadError(f"`spikejax.nir.load`: {origin}: node {node.name!r} ({node.type}): {message}")


def _f64(node: NodeRecord, name: str, shape: tuple[int, ...], origin: str) -> np.ndarray:
    value = np.asarray(node.params[name], np.float64)
    try:
        full = np.broadcast_to(value, shape)
    except ValueError:
        raise node_error(
            origin,
            node,
            f"parameter {name!r} of shape {value.shape} does not broadcast to the node's shape "
            f"{shape}.",
        ) from None
    if not np.all(np.isfinite(full)):
        raise node_error(origin, node, f"parameter {name!r} must be finite; got {value}.")
    return np.array(full)


def _decay(tau: np.ndarray, dt: float, discretization: str, node, name, origin) -> np.ndarray:
    if np.any(tau <= 0):
        raise node_error(origin, node, f"{name!r} must be > 0; got min {tau.min()}.")
    if discretization == "exact":
        return np.exp(-dt / tau)
    if np.any(tau < dt):
        raise node_error(
            origin,
            node,
            f"forward Euler needs {name} >= dt = {dt} (a decay 1 - dt/{name} in [0, 1]); got "
            f"min {name} = {tau.min()}; load with discretization='exact' for this graph.",
        )
    return 1.0 - dt / tau


def _opt(values: np.ndarray, off: float) -> Any:
    """A float32 leaf, or ``None`` when every element rounds to the value that means 'off'."""
    values = np.asarray(values, np.float32)
    return None if np.all(values == off) else values


def neuron_of(
    node: NodeRecord, shape: tuple[int, ...], dt: float, discretization: str, origin: str
) -> AbstractNeuron:
    """The spikejax neuron of a NIR neuron node whose input has feature shape ``shape``."""

    def p(name: str) -> np.ndarray:
        return _f64(node, name, shape, origin)

    kind = node.type
    try:
        if kind in ("IF", "I"):
            r = p("r")
            if kind == "I":
                return LI(beta=np.ones(shape, np.float32), r=_opt(r, 1.0))
            v_reset = p("v_reset") if "v_reset" in node.params else np.zeros(shape)
            return IF(
                threshold=np.asarray(p("v_threshold"), np.float32),
                reset="zero",
                r=_opt(r, 1.0),
                v_reset=_opt(v_reset, 0.0),
                strict=True,
            )
        if kind in ("LIF", "LI"):
            beta = _decay(p("tau"), dt, discretization, node, "tau", origin)
            gain = (1.0 - beta) * p("r")
            common = {"beta": np.asarray(beta, np.float32), "r": _opt(gain, 1.0)}
            common["v_leak"] = _opt(p("v_leak"), 0.0)
            if kind == "LI":
                return LI(**common)
            v_reset = p("v_reset") if "v_reset" in node.params else np.zeros(shape)
            return LIF(
                threshold=np.asarray(p("v_threshold"), np.float32),
                reset="zero",
                v_reset=_opt(v_reset, 0.0),
                strict=True,
                **common,
            )
        alpha = _decay(p("tau_syn"), dt, discretization, node, "tau_syn", origin)
        beta = _decay(p("tau_mem"), dt, discretization, node, "tau_mem", origin)
        common = {
            "alpha": np.asarray(alpha, np.float32),
            "beta": np.asarray(beta, np.float32),
            "w_in": _opt((1.0 - alpha) * p("w_in"), 1.0),
            "r": _opt((1.0 - beta) * p("r"), 1.0),
            "v_leak": _opt(p("v_leak"), 0.0),
        }
        if kind == "CubaLI":
            return CubaLI(**common)
        v_reset = p("v_reset") if "v_reset" in node.params else np.zeros(shape)
        return CubaLIF(
            threshold=np.asarray(p("v_threshold"), np.float32),
            reset="zero",
            v_reset=_opt(v_reset, 0.0),
            strict=True,
            **common,
        )
    except (TypeError, ValueError) as error:
        if isinstance(error, LoadError):
            raise
        raise node_error(origin, node, str(error)) from None


def delay_steps(node: NodeRecord, shape: tuple[int, ...], dt: float, origin: str) -> Delay:
    """NIR ``Delay`` (seconds) as whole steps ``round(delay/dt)``; a delay that is not a whole
    number of steps (off by more than 1e-3 of a step) is refused rather than rounded."""
    seconds = _f64(node, "delay", shape, origin)
    steps = seconds / dt
    whole = np.round(steps)
    if np.any(seconds < 0) or np.any(np.abs(steps - whole) > 1e-3):
        raise node_error(
            origin,
            node,
            f"`delay` must be non-negative whole multiples of dt = {dt} s; got "
            f"{seconds.ravel()[:8]} s.",
        )
    return Delay(steps=whole.astype(np.int32))
