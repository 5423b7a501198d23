"""Pieces shared by the Loihi and Xylo quantizers: leaf plans, scale choice, rounding."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from spikejax.chip._fold import Folded, fold
from spikejax.chip._graph import LayerSpec
from spikejax.chip._model import ChipLayer, LeafFormat

__all__ = [
    "LayerPlan",
    "LeafPlan",
    "choose_exponent",
    "dash_plan",
    "folded_plans",
    "gains",
    "layer_floats",
    "linear_plan",
    "loihi_decay_plan",
    "reference",
    "worst_input",
]


@dataclasses.dataclass
class LeafPlan:
    """A leaf's float value, its format and its rounded integers (before any range check)."""

    path: str
    fmt: LeafFormat
    value: np.ndarray
    q: np.ndarray


@dataclasses.dataclass
class LayerPlan:
    """A quantized layer: its static settings and its leaf plans."""

    layer: ChipLayer
    leaves: list[LeafPlan]


def reference(w: np.ndarray, method: str, percentile: float) -> float:
    """The weight magnitude mapped to the largest integer weight: ``max |w|`` or a percentile
    of ``|w|`` (1.0 for an all-zero matrix)."""
    a = np.abs(w).ravel()
    ref = float(a.max()) if method == "max" else float(np.percentile(a, percentile))
    if ref == 0.0:
        ref = float(a.max())
    return ref if ref > 0.0 else 1.0


def choose_exponent(
    w_ref: float, top: int, extra: int, e_min: int, e_max: int, target: float
) -> tuple[int, float]:
    """The exponent ``e`` and membrane scale ``S`` of a layer.

    ``fill(e) = top * 2**(e + extra) / w_ref`` is the scale at which weights of magnitude
    ``w_ref`` map to ``top`` integer units with exponent ``e``. Returns the largest ``e`` with
    ``fill(e) <= target`` and ``S = fill(e)`` (the weights use their whole range); when even
    ``fill(e_min)`` exceeds ``target``, ``(e_min, target)`` (the weights use part of it). Without
    a cap (``target = inf``) the exponent is ``max(e_min, 0)``.
    """

    def fill(e: int) -> float:
        return top * 2.0 ** (e + extra) / w_ref

    if not math.isfinite(target):
        e = min(max(e_min, 0), e_max)
        return e, fill(e)
    for e in range(e_max, e_min - 1, -1):
        if fill(e) <= target:
            return e, fill(e)
    return e_min, target


def gains(
    spec: LayerSpec, floats: dict[str, np.ndarray], layer: int, unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(g, g_in)`` per output channel: ``g`` the factor between a presynaptic event and the
    float drive of a neuron (``1 - beta`` with ``decay_input``, a folded average pool's
    ``1 / count``, ``unit`` (the float value of one input event) on the first layer), ``g_in``
    that of a constant drive such as the bias (``1 - beta`` with ``decay_input``, else 1)."""
    channels = spec.out_shape[-1]
    g = np.ones((channels,), np.float64)
    if spec.decay_input and "beta" in floats:
        beta = floats["beta"]
        if beta.shape not in ((), (channels,)):
            raise ValueError(
                f"`quantize`: `{spec.leaf('beta')}` must be a scalar or one value per channel "
                f"({channels},) for a layer with decay_input (the chip's weights are shared "
                f"per channel); got shape {beta.shape}."
            )
        g = g * (1.0 - np.broadcast_to(beta, g.shape))
    g_in = g.copy()
    g = g * spec.conn.pool_scale * (unit if layer == 0 else 1.0)
    return g, g_in


def layer_floats(
    spec: LayerSpec, flat: dict[str, Any], layer: int, unit: float
) -> tuple[Folded, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``(folded, f, g, g_in)`` of a layer: its folded kernel and bias (`fold`), its
    neuron leaves (by leaf name) in float64, and its `gains`."""
    folded = fold(spec, flat)
    f = {name: np.asarray(flat[path], np.float64) for name, path in spec.leaves}
    g, g_in = gains(spec, f, layer, unit)
    return folded, f, g, g_in


def folded_plans(layer: int, folded: Folded) -> list[LeafPlan]:
    """The leaves a folded batch norm absorbs: formats that decode to their own values."""
    plans = []
    for path, value in folded.folded:
        fmt = LeafFormat("folded", layer, "linear", 0, 0, origin=as_scale(value))
        plans.append(LeafPlan(path, fmt, value, np.zeros(np.shape(value), np.int64)))
    return plans


def worst_input(w: np.ndarray, spec: LayerSpec, c_max: int) -> float:
    """The largest sum of weight magnitudes into one neuron, times the largest presynaptic
    count (a folded sum pool adds ``count`` presynaptic neurons per weight)."""
    per_out = np.sum(np.abs(w).reshape((-1, w.shape[-1])), axis=0)
    return float(np.max(per_out, initial=0.0)) * c_max * spec.conn.pool_count


def as_scale(s: np.ndarray) -> float | tuple[float, ...]:
    """A float when every entry is equal, else a tuple (one per output neuron)."""
    s = np.asarray(s, np.float64).ravel()
    return float(s[0]) if np.all(s == s[0]) else tuple(float(v) for v in s)


def linear_plan(
    path: str,
    name: str,
    layer: int,
    x: np.ndarray,
    scale: Any,
    low: int,
    high: int,
    step: int = 1,
    origin: Any = 0.0,
) -> LeafPlan:
    """``q = step * round((x - origin) / (scale * step))`` with ``x = q * scale + origin``."""
    fmt = LeafFormat(
        name, layer, "linear", low, high, scale=as_scale(scale), step=step, origin=as_scale(origin)
    )
    return LeafPlan(path, fmt, np.asarray(x, np.float64), fmt.encode(x))


def loihi_decay_plan(
    path: str, name: str, layer: int, x: np.ndarray, *, offset: int, bits: int
) -> LeafPlan:
    """``q = round(2**bits * (1 - x)) - offset`` with ``x = 1 - (q + offset) / 2**bits``."""
    fmt = LeafFormat(name, layer, "loihi_decay", 0, (1 << bits) - 1, offset=offset, decay_bits=bits)
    return LeafPlan(path, fmt, np.asarray(x, np.float64), fmt.encode(x))


def dash_plan(path: str, name: str, layer: int, x: np.ndarray, *, high: int) -> LeafPlan:
    """The nearest ``1 - 2**-q`` over ``q = 0..high`` (Xylo bit-shift decays)."""
    fmt = LeafFormat(name, layer, "dash", 0, high)
    return LeafPlan(path, fmt, np.asarray(x, np.float64), fmt.encode(x))


def dash_value(x: np.ndarray, high: int) -> np.ndarray:
    """The decay ``1 - 2**-q`` that `dash_plan` picks for ``x``."""
    grid = 1.0 - np.exp2(-np.arange(high + 1, dtype=np.float64))
    return grid[np.argmin(np.abs(np.asarray(x, np.float64)[..., None] - grid), axis=-1)]
