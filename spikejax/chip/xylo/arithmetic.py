"""Xylo's integer arithmetic, written once: ordered saturating accumulation and the neuron update.

Every Xylo path runs these functions: the trace replay (`spikejax.chip.xylo.run`), the
batched emulator (`spikejax.chip.xylo.layer.xylo_layer`, behind `spikejax.chip.emulate`)
and the straight-through twin (`spikejax.chip.ste.chip_forward`). `evolve` is generic
over a *numerics* object: `IntegerNumerics` (int32 arrays, the chip) or
`TwinNumerics` (``Twin`` values: the chip's integers with a float value ``q * unit`` that
carries the gradient of the real-valued operation). Widths and caps come from the
`XyloProfile`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from spikejax.chip.intmath import check_int32, saturate, sequential_sat_add
from spikejax.chip.twin import Twin, straight_through
from spikejax.chip.xylo.profile import XyloProfile
from spikejax.surrogate import AbstractSurrogate, spike

__all__ = [
    "IntegerNumerics",
    "NeuronConstants",
    "TwinNumerics",
    "accumulate",
    "dash_delta",
    "evolve",
    "exact_sum",
    "ordered_add",
]


def dash_delta(x: Int[Array, "..."], dash: Int[Array, "..."]) -> Int[Array, "..."]:
    """Xylo bit-shift decay step: ``x >> dash``, except 1 when ``x > 0`` and ``x >> dash == 0``.

    The decayed state is ``x - dash_delta(x, dash)``: positive states lose
    ``max(x >> dash, 1)``, negative states ``-(x >> dash) = ceil(|x| / 2**dash)``, zero stays zero.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax.chip.xylo import arithmetic
        >>> x = jnp.array([3, 1, 0, -1, -9], jnp.int32)
        >>> arithmetic.dash_delta(x, jnp.full((5,), 2, jnp.int32))
        Array([ 1,  1,  0, -1, -3], dtype=int32)
    """
    check_int32("dash_delta", "x", x)
    check_int32("dash_delta", "dash", dash)
    d = jnp.right_shift(x, jnp.broadcast_to(dash, x.shape))
    return jnp.where((x > 0) & (d == 0), jnp.ones_like(d), d)


def accumulate(
    acc: Int[Array, "*batch post syn"],
    counts: Int[Array, "*batch pre"],
    weights: Int[Array, "pre post syn"],
    *,
    bits: int = 16,
) -> Int[Array, "*batch post syn"]:
    """Per-source sequential saturating accumulation, sources in ascending order.

    ``for i in 0..pre-1: acc = clip(acc + counts[i] * weights[i], lo, hi)`` over the signed
    ``bits`` range: the ``counts[i]`` same-sign events of one source equal one saturating add of
    their sum, but different sources saturate one after the other (not ``clip(acc + sum)``).
    """
    batch = counts.shape[:-1]
    w = jnp.reshape(weights, (1,) * len(batch) + weights.shape)
    inc = counts[..., None, None] * w
    return sequential_sat_add(acc, inc, axis=len(batch), bits=bits)


def ordered_add(
    acc: Int[Array, "batch n"], counts: Int[Array, "batch src"], w: Int[Array, "src n"], bits: int
) -> tuple[Int[Array, "batch n"], Int[Array, ""]]:
    """`accumulate` as a loop over the sources (vectorized over batch and neurons) that
    also counts the source adds whose unclipped result left the signed ``bits`` range."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def body(i, carry):
        acc, clipped = carry
        total = acc + counts[:, i][:, None] * w[i][None, :]
        clipped = clipped + ((total > hi) | (total < lo)).astype(jnp.int32)
        return jnp.clip(total, lo, hi), clipped

    acc, clipped = jax.lax.fori_loop(0, counts.shape[1], body, (acc, jnp.zeros_like(acc)))
    return acc, jnp.sum(clipped)


def exact_sum(
    counts: Int[Array, "time batch src"], w: Int[Array, "src n"]
) -> Float[Array, "time batch n"]:
    """``counts @ w`` for counts and weights of at most 256 in magnitude (exact in bfloat16),
    accumulated in float32: exact while the true value stays below ``2**24`` in magnitude;
    beyond, a float32 value of nearly that size, far past any rail, which is all a rail check
    needs."""
    return jnp.matmul(
        counts.astype(jnp.bfloat16), w.astype(jnp.bfloat16), preferred_element_type=jnp.float32
    )


class NeuronConstants(NamedTuple):
    """Per-neuron constants of `evolve`, broadcast to the state: ``dash_syn`` (with a
    synapse axis), ``dash_mem``, ``bias``, ``threshold``."""

    dash_syn: Any
    dash_mem: Any
    bias: Any
    threshold: Any


@dataclasses.dataclass(frozen=True)
class IntegerNumerics:
    """The chip's numerics: int32 arrays, every operation exact."""

    p: XyloProfile

    def value(self, x):
        return x

    def decrement(self, x, dash):
        return dash_delta(x, dash)

    def add(self, a, b):
        return a + b

    def sub(self, a, b):
        return a - b

    def sum_synapses(self, isyn):
        return isyn.sum(-1)

    def saturate(self, x):
        y = saturate(x, self.p.state_bits)
        return y, y != x

    def fire(self, vmem, threshold, cap: int):
        above = vmem >= threshold
        q = jnp.floor_divide(vmem, threshold)
        return jnp.where(above, jnp.minimum(q, cap), jnp.zeros_like(q)), above & (q > cap)

    def reset(self, vmem, n, threshold):
        return vmem - n * threshold


@dataclasses.dataclass(frozen=True)
class TwinNumerics:
    """Straight-through numerics: exact integers, float values ``q * unit``, and the gradients
    of the real-valued operations: ``x (1 - factor)`` for a decay step (``factor`` the float
    decay of the leaf), identity through saturations, the ``surrogate`` derivative of
    ``vmem - threshold`` (float units) for the spike count, and ``vmem - n threshold`` with ``n``
    held constant for the reset.

    Attributes:
        p: the Xylo profile.
        unit: float value of one integer state unit (``1 / v_scale``).
        surrogate: spike derivative.
    """

    p: XyloProfile
    unit: float
    surrogate: AbstractSurrogate

    def value(self, x: Twin):
        return x.q

    def decrement(self, x: Twin, dash: Twin) -> Twin:
        return straight_through(dash_delta(x.q, dash.q), x.f * (1 - dash.f), self.unit)

    def add(self, a: Twin, b: Twin) -> Twin:
        return straight_through(a.q + b.q, a.f + b.f, self.unit)

    def sub(self, a: Twin, b: Twin) -> Twin:
        return straight_through(a.q - b.q, a.f - b.f, self.unit)

    def sum_synapses(self, isyn: Twin) -> Twin:
        return straight_through(isyn.q.sum(-1), isyn.f.sum(-1), self.unit)

    def saturate(self, x: Twin):
        y, hit = IntegerNumerics(self.p).saturate(x.q)
        return straight_through(y, x.f, self.unit), hit

    def fire(self, vmem: Twin, threshold: Twin, cap: int):
        n, capped = IntegerNumerics(self.p).fire(vmem.q, threshold.q, cap)
        return straight_through(n, spike(vmem.f - threshold.f, self.surrogate), 1.0), capped

    def reset(self, vmem: Twin, n: Twin, threshold: Twin) -> Twin:
        q = vmem.q - n.q * threshold.q
        f = vmem.f - jax.lax.stop_gradient(n.f) * threshold.f
        return straight_through(q, f, self.unit)


def evolve(num, c: NeuronConstants, isyn, vmem, *, cap: int):
    """Neuron evolution after this step's events were added, with ``sat`` the saturation to
    ``p.state_bits`` (int16), in order:

    1. ``isyn_k = isyn_k - dash_delta(isyn_k, dash_syn_k)`` for every synapse k;
    2. ``dv = sat(-dash_delta(vmem, dash_mem) + sum_k isyn_k)``;
    3. ``dv = sat(dv + bias)``;
    4. ``vmem = sat(vmem + dv)``;
    5. ``n = min(vmem // threshold, cap)`` if ``vmem >= threshold``, else 0;
    6. ``vmem = vmem - n * threshold``.

    ``isyn`` has a trailing synapse axis; ``num`` supplies the operations
    (`IntegerNumerics` or `TwinNumerics`), ``c`` the constants in its value type.

    Returns:
        ``(isyn, vmem, n, flags)`` with boolean ``flags = (dv_saturated, dv_bias_saturated,
        vmem_saturated, capped)``.
    """
    isyn = num.sub(isyn, num.decrement(isyn, c.dash_syn))
    dv, sat1 = num.saturate(num.sub(num.sum_synapses(isyn), num.decrement(vmem, c.dash_mem)))
    dv, sat2 = num.saturate(num.add(dv, c.bias))
    vmem, sat3 = num.saturate(num.add(vmem, dv))
    n, capped = num.fire(vmem, c.threshold, cap)
    return isyn, num.reset(vmem, n, c.threshold), n, (sat1, sat2, sat3, capped)
