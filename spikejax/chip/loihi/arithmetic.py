"""Loihi's integer arithmetic, written once: synapse accumulation and the CUBA-LIF update.

Every Loihi path runs these functions: the trace replay (`spikejax.chip.loihi.run`), the
batched emulator (`spikejax.chip.loihi.layer.loihi_layer`, behind
`spikejax.chip.emulate`) and the straight-through twin
(`spikejax.chip.ste.chip_forward`).
The update is generic over a *numerics* object that supplies the primitive operations:

* `IntegerNumerics`: int32 arrays, the chip itself;
* `TwinNumerics`: `Twin` values, a pair of the chip's integer ``q`` and a float
  ``f`` whose value is always ``q * unit`` and whose gradient is that of the operation on real
  numbers (straight-through rounding; spikes get a surrogate derivative).

Constants and widths come from the layer's `LoihiProfile`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Int

from spikejax.chip.connectivity import Synapse, apply, exact_apply
from spikejax.chip.intmath import check_int32, shift
from spikejax.chip.loihi.profile import LoihiProfile
from spikejax.chip.twin import Twin, straight_through
from spikejax.surrogate import AbstractSurrogate, spike

__all__ = [
    "IntegerNumerics",
    "LIFConstants",
    "TwinNumerics",
    "decay",
    "exact_matmul",
    "lif_constants",
    "lif_update",
    "synapse",
    "wrap_current",
]

_F32_EXACT = 1 << 24  # float32 represents every integer of smaller magnitude exactly


def decay(x: Int[Array, "..."], d: Int[Array, "..."], *, decay_bits: int = 12) -> Int[Array, "..."]:
    """``sign(x) * ((|x| * (2**decay_bits - d)) >> decay_bits)``: decay truncated toward zero.

    The product ``|x| * k`` (24-bit times 13-bit) may exceed int32, so it is split exactly:
    ``(|x| * k) >> b == (|x| >> b) * k + (((|x| & (2**b - 1)) * k) >> b)`` with ``b = decay_bits``
    and ``k = 2**b - d``. For ``0 <= k <= 2**b`` the first term is at most ``|x|`` and the product
    in the second below ``2**(2b)``, so the result is exact in int32 for every ``|x| < 2**31``
    (``b <= 15``).

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax.chip.loihi import arithmetic
        >>> arithmetic.decay(jnp.array([1000, -1000], jnp.int32), jnp.int32(2048))
        Array([ 500, -500], dtype=int32)
    """
    check_int32("loihi.decay", "x", x)
    check_int32("loihi.decay", "d", d)
    k = jnp.broadcast_to((1 << decay_bits) - d, x.shape)
    mag = jnp.abs(x)
    low = jnp.bitwise_and(mag, (1 << decay_bits) - 1)
    r = jnp.right_shift(mag, decay_bits) * k + jnp.right_shift(low * k, decay_bits)
    return jnp.where(x < 0, -r, r)


def wrap_current(
    u_pre: Int[Array, "..."], p: LoihiProfile
) -> tuple[Int[Array, "..."], Bool[Array, "..."]]:
    """Lava's wrap-around of the current, ``B = p.state_bound``: ``u_pre - 2B`` if ``u_pre > B``,
    ``u_pre + 2B`` if ``u_pre <= -B``, else ``u_pre``; also returns where it wrapped."""
    bound = p.state_bound
    high, low = u_pre > bound, u_pre <= -bound
    u = jnp.where(high, u_pre - 2 * bound, u_pre)
    return jnp.where(low, u_pre + 2 * bound, u), high | low


def exact_matmul(
    x: Int[Array, "rows n_in"], w: Int[Array, "n_in n_out"], bound: int, max_abs: int
) -> Int[Array, "rows n_out"]:
    """``x @ w`` exactly, for integer ``x`` and ``w`` with ``|x|, |w| <= max_abs``.

    Every partial sum is an integer of magnitude at most ``bound``; below ``2**24`` a float
    matmul with float32 accumulation is exact whatever the summation order. Operands of at most
    256 in magnitude have at most 8 significant bits and are exact in bfloat16 (the faster
    operand type); larger ones go as float32. Beyond ``2**24`` the product is an int32 matmul.
    """
    if bound < _F32_EXACT:
        dtype = jnp.bfloat16 if max_abs <= 256 else jnp.float32
        acc = jnp.matmul(
            x.astype(dtype),
            w.astype(dtype),
            preferred_element_type=jnp.float32,
            precision=jax.lax.Precision.HIGHEST,
        )
        return acc.astype(jnp.int32)
    return jnp.matmul(x.astype(jnp.int32), w, preferred_element_type=jnp.int32)


def synapse(
    x: Int[Array, "rows n_in"],
    w: Int[Array, "..."],
    weight_exp: int | Int[Array, ""],
    p: LoihiProfile,
    *,
    max_count: int = 1,
    conn: Synapse | None = None,
) -> Int[Array, "rows n_out"]:
    """The Dense stage: ``shift(acc, weight_exp)`` of the exact integer sum ``acc`` of weighted
    input counts (the shift follows the sum) for counts ``0 <= x <= max_count`` and weights
    within the profile's range. ``conn`` is the layer's connectivity
    (`Synapse`; default: dense, ``w`` of shape
    ``(n_in, n_out)``): a convolution or pooling window sums the same way, with shared weights."""
    w_max = max(-p.weight_min_mixed, p.weight_max)
    if conn is None:
        bound = w.shape[0] * max_count * w_max
        return shift(exact_matmul(x, w, bound, max(max_count, w_max)), weight_exp)
    return shift(exact_apply(conn, x, w, max_count, w_max), weight_exp)


class LIFConstants(NamedTuple):
    """Per-neuron constants of the update, broadcast to the state's shape: ``du`` and ``dv``
    with their offsets added, ``bias = bias_mant << bias_exp``, ``vth = vth << vth_shift``."""

    du: Any
    dv: Any
    bias: Any
    vth: Any


def lif_constants(
    p: LoihiProfile, shape: tuple[int, ...], du, dv, vth, bias_mant, bias_exp
) -> LIFConstants:
    """`LIFConstants` (int32, ``shape``) from the chip parameters of a layer."""

    def full(x):
        return jnp.broadcast_to(jnp.asarray(x, jnp.int32), shape)

    return LIFConstants(
        du=full(jnp.asarray(du, jnp.int32) + p.du_offset),
        dv=full(jnp.asarray(dv, jnp.int32) + p.dv_offset),
        bias=full(shift(jnp.asarray(bias_mant, jnp.int32), bias_exp)),
        vth=full(jnp.left_shift(jnp.asarray(vth, jnp.int32), p.vth_shift)),
    )


@dataclasses.dataclass(frozen=True)
class IntegerNumerics:
    """The chip's numerics: int32 arrays, every operation exact."""

    p: LoihiProfile

    def value(self, x):
        return x

    def constants(self, shape, du, dv, vth, bias_mant, bias_exp) -> LIFConstants:
        return lif_constants(self.p, shape, du, dv, vth, bias_mant, bias_exp)

    def synapse(self, x, w, weight_exp: int, max_count: int, conn: Synapse | None = None):
        return synapse(x, w, weight_exp, self.p, max_count=max_count, conn=conn)

    def decay(self, x, d):
        return decay(x, d, decay_bits=self.p.decay_bits)

    def input(self, a):
        return jnp.left_shift(a, self.p.act_shift)

    def add(self, a, b):
        return a + b

    def wrap(self, u_pre):
        return wrap_current(u_pre, self.p)

    def clip(self, v_pre):
        bound = self.p.state_bound
        v = jnp.clip(v_pre, -(bound - 1), bound - 1)
        return v, v != v_pre

    def fire(self, v, vth):
        return (v > vth).astype(jnp.int32)

    def reset(self, v, s):
        return jnp.where(s != 0, jnp.zeros_like(v), v)


@dataclasses.dataclass(frozen=True)
class TwinNumerics:
    """Straight-through numerics: each operation computes the chip's integers exactly and the
    float value ``q * unit``; gradients are those of the real-valued operation: ``x * factor``
    for a decay (``factor`` the float decay of the leaf), identity through wraps, clips and
    shifts, the ``surrogate`` derivative of ``v - vth`` (float units) for a spike, and
    ``v (1 - s)`` with ``s`` held constant for the reset.

    Attributes:
        p: the Loihi profile.
        unit: float value of one integer state unit (``1 / v_scale``).
        surrogate: spike derivative.
    """

    p: LoihiProfile
    unit: float
    surrogate: AbstractSurrogate

    def value(self, x: Twin):
        return x.q

    def constants(self, shape, du: Twin, dv: Twin, vth: Twin, bias_mant: Twin, bias_exp: int):
        """The integer constants of `lif_constants`; each ``f`` is already the float
        value of the effective quantity (decay factor, threshold, bias in state units)."""
        c = lif_constants(self.p, shape, du.q, dv.q, vth.q, bias_mant.q, bias_exp)
        fs = (du.f, dv.f, bias_mant.f, vth.f)
        return LIFConstants(
            *(Twin(q, jnp.broadcast_to(f, shape)) for q, f in zip(c, fs, strict=True))
        )

    def synapse(
        self, x: Twin, w: Twin, weight_exp: int, max_count: int, conn: Synapse | None = None
    ) -> Twin:
        q = synapse(x.q, w.q, weight_exp, self.p, max_count=max_count, conn=conn)
        if conn is None:
            f = jnp.matmul(x.f, w.f, precision=jax.lax.Precision.HIGHEST)
        else:
            f = apply(conn, x.f, w.f, precision=jax.lax.Precision.HIGHEST)
        f = f * (2.0**weight_exp)
        return straight_through(q, f, self.unit)

    def decay(self, x: Twin, d: Twin) -> Twin:
        q = decay(x.q, d.q, decay_bits=self.p.decay_bits)
        return straight_through(q, x.f * d.f, self.unit)

    def input(self, a: Twin) -> Twin:
        k = self.p.act_shift
        return straight_through(jnp.left_shift(a.q, k), a.f * (2.0**k), self.unit)

    def add(self, a: Twin, b: Twin) -> Twin:
        return straight_through(a.q + b.q, a.f + b.f, self.unit)

    def wrap(self, u_pre: Twin):
        u, wrapped = wrap_current(u_pre.q, self.p)
        return straight_through(u, u_pre.f, self.unit), wrapped

    def clip(self, v_pre: Twin):
        v, clipped = IntegerNumerics(self.p).clip(v_pre.q)
        return straight_through(v, v_pre.f, self.unit), clipped

    def fire(self, v: Twin, vth: Twin) -> Twin:
        s = (v.q > vth.q).astype(jnp.int32)
        return straight_through(s, spike(v.f - vth.f, self.surrogate), 1.0)

    def reset(self, v: Twin, s: Twin) -> Twin:
        q = jnp.where(s.q != 0, jnp.zeros_like(v.q), v.q)
        return straight_through(q, v.f * (1 - jax.lax.stop_gradient(s.f)), self.unit)


def lif_update(num, c: LIFConstants, u, v, a_in, *, current=None):
    """One CUBA-LIF update (Lava bit-accurate), integrate → fire → reset, with ``B =
    p.state_bound`` (2**23), ``decay`` truncating toward zero (`decay`):

    1. ``u_pre = decay(u, du + du_offset) + (a_in << act_shift)``;
    2. ``u = u_pre - 2B`` if ``u_pre > B``; ``u_pre + 2B`` if ``u_pre <= -B``; else ``u_pre``;
    3. ``v_pre = decay(v, dv + dv_offset) + u + (bias_mant << bias_exp)`` (the new ``u``);
    4. ``v = clip(v_pre, -(B - 1), B - 1)``;
    5. ``s = v > (vth << vth_shift)`` (strict);
    6. ``v = 0`` where ``s`` (``u`` is not reset).

    ``num`` supplies the operations (`IntegerNumerics` or `TwinNumerics`), ``c`` the
    constants in its value type. Lava's periodic reset (``LIFReset``) is applied by the caller
    before this update. With ``du + du_offset = 2**decay_bits`` the decay of ``u`` is exactly 0,
    so steps 1-2 depend only on ``a_in``: a caller may compute them for many steps at once and
    pass ``current = (u, wrapped)``.

    Returns:
        ``(u, v, s, wrapped, clipped)``: the new state, the spikes, and boolean flags where ``u``
        wrapped and ``v`` was clipped.
    """
    if current is None:
        u, wrapped = num.wrap(num.add(num.decay(u, c.du), num.input(a_in)))
    else:
        u, wrapped = current
    v_pre = num.add(num.add(num.decay(v, c.dv), u), c.bias)
    v, clipped = num.clip(v_pre)
    s = num.fire(v, c.vth)
    return u, num.reset(v, s), s, wrapped, clipped
