"""From spikejax neurons to NIR neuron nodes at a time step ``dt``: the inverse of
`spikejax.nir._params`.

A neuron ``h = β v + g x + (1 − β) v_leak`` (``g = r``, or ``(1 − β) r`` with ``decay_input``) is
NIR's ``τ v̇ = (v_leak − v) + R·I`` with ``τ = dt/(1 − β)`` (Euler; ``−dt/ln β`` exact) and
``R = g/(1 − β)``, so that loading at the same ``dt`` gives back ``β`` and ``g``. A neuron firing
at ``h ≥ θ`` is written with the threshold ``θ'`` = the float32 number just below ``θ``: for
float32 membranes ``h > θ'`` exactly when ``h ≥ θ``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikejax.neurons import IF, LI, LIF, AbstractNeuron, CubaLI, CubaLIF, Reset

__all__ = ["ExportError", "neuron_nodes"]


class ExportError(ValueError):
    """A model node that has no exact NIR form (named, with the reason)."""


def _fail(name: str, message: str) -> ExportError:
    return ExportError(f"`spikejax.nir.export`: node {name!r}: {message}")


def _full(value: Any, shape: tuple[int, ...], default: float) -> np.ndarray:
    if value is None:
        return np.full(shape, default, np.float64)
    return np.array(np.broadcast_to(np.asarray(value, np.float64), shape))


def _threshold(neuron: Any, shape: tuple[int, ...]) -> np.ndarray:
    theta = np.broadcast_to(np.asarray(neuron.threshold, np.float32), shape)
    if neuron.strict:
        return np.array(theta)
    return np.nextafter(theta, np.float32(-np.inf)).astype(np.float32)


def _tau(name: str, decay: np.ndarray, dt: float, discretization: str, what: str) -> np.ndarray:
    if np.any(decay >= 1) or (discretization == "exact" and np.any(decay <= 0)):
        raise _fail(
            name,
            f"the decay {what} must lie in {'(0, 1)' if discretization == 'exact' else '[0, 1)'} "
            f"for a NIR time constant with discretization={discretization!r}; got "
            f"[{decay.min()}, {decay.max()}].",
        )
    return dt / (1.0 - decay) if discretization == "euler" else -dt / np.log(decay)


def _reset(name: str, neuron: Any, shape: tuple[int, ...]) -> np.ndarray:
    if neuron.reset is not Reset.ZERO:
        raise _fail(
            name,
            f"{type(neuron).__name__} with reset={neuron.reset.value!r} has no NIR form: NIR "
            "neurons reset to v_reset; use reset='zero' (with v_reset) to export.",
        )
    return _full(neuron.v_reset, shape, 0.0)


def neuron_nodes(
    name: str, neuron: AbstractNeuron, shape: tuple[int, ...], dt: float, discretization: str
) -> Any:
    """The NIR node of a spikejax neuron on feature shape ``shape`` (spikejax's layout)."""
    import nir

    f32 = np.float32
    if isinstance(neuron, IF):
        if neuron.v_init != 0:
            raise _fail(name, f"IF with v_init={neuron.v_init} has no NIR form (NIR starts at 0).")
        return nir.IF(
            r=_full(neuron.r, shape, 1.0).astype(f32),
            v_threshold=_threshold(neuron, shape),
            v_reset=_reset(name, neuron, shape).astype(f32),
        )
    if isinstance(neuron, LIF | LI):
        beta = _full(neuron.beta, shape, 0.0)
        gain = _full(neuron.r, shape, 1.0) * ((1.0 - beta) if neuron.decay_input else 1.0)
        v_leak = _full(neuron.v_leak, shape, 0.0)
        if np.all(beta == 1.0):
            if isinstance(neuron, LI):
                return nir.I(r=gain.astype(f32))
            return nir.IF(
                r=gain.astype(f32),
                v_threshold=_threshold(neuron, shape),
                v_reset=_reset(name, neuron, shape).astype(f32),
            )
        tau = _tau(name, beta, dt, discretization, "β")
        common = {"tau": tau, "r": gain / (1.0 - beta), "v_leak": v_leak}
        if isinstance(neuron, LI):
            return nir.LI(**common)
        return nir.LIF(
            **common,
            v_threshold=_threshold(neuron, shape),
            v_reset=_reset(name, neuron, shape),
        )
    if isinstance(neuron, CubaLIF | CubaLI):
        alpha, beta = _full(neuron.alpha, shape, 0.0), _full(neuron.beta, shape, 0.0)
        common = {
            "tau_syn": _tau(name, alpha, dt, discretization, "α"),
            "tau_mem": _tau(name, beta, dt, discretization, "β"),
            "w_in": _full(neuron.w_in, shape, 1.0) / (1.0 - alpha),
            "r": _full(neuron.r, shape, 1.0) / (1.0 - beta),
            "v_leak": _full(neuron.v_leak, shape, 0.0),
        }
        if isinstance(neuron, CubaLI):
            return nir.CubaLI(**common)
        return nir.CubaLIF(
            **common,
            v_threshold=_threshold(neuron, shape),
            v_reset=_reset(name, neuron, shape),
        )
    raise _fail(
        name,
        f"the neuron {type(neuron).__name__} has no exact NIR form; the exported neurons are "
        "IF, LIF, LI, CubaLIF, CubaLI, Recurrent of those, spikejax.nir.Delay and "
        "spikejax.nir.Loop.",
    )
