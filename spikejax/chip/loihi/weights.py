"""Loihi effective weights: sign mode, 8-bit clip and truncation to ``num_weight_bits``."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax.chip._checks import as_int
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile

__all__ = ["effective_weights"]


def effective_weights(
    weights: Int[Array, "post pre"] | Any,
    num_weight_bits: int | Int[Array, ""] = 8,
    *,
    profile: LoihiProfile = LOIHI,
) -> Int[Array, "post pre"]:
    """The weights a Loihi Dense actually uses (Lava ``clip_weights`` + ``truncate_weights``).

    With ``b = profile.weight_bits`` (8), for the whole matrix ``W``:

    1. sign mode: ``exc`` if ``min(W) >= 0``, else ``inh`` if ``max(W) <= 0``, else ``mixed``;
    2. ``m = -W`` in ``inh`` mode, else ``m = W``;
    3. ``m = clip(m, 0, 2**b - 1)`` (``exc``/``inh``) or ``clip(m, -2**b, 2**b - 1)`` (``mixed``);
    4. ``drop = b - num_weight_bits + (1 if mixed else 0)``; ``m = (m >> drop) << drop``;
    5. ``W_eff = -m`` in ``inh`` mode, else ``m``.

    So mixed 8-bit weights are even (103 -> 102, -5 -> -6) and inhibitory magnitudes round toward
    zero. Works on traced arrays (the mode is selected elementwise).

    Args:
        weights: raw integer weights, layout (post, pre); values beyond 8 bits are clipped by the
            rule above (vendor semantics), but must fit int32.
        num_weight_bits: precision after truncation, ``1..b``.
        profile: the Loihi profile.

    Returns:
        int32 effective weights of the same shape.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax.chip import loihi
        >>> loihi.effective_weights(jnp.array([[103, -5, 91]], jnp.int32))
        Array([[102, -6, 90]], dtype=int32)
        >>> loihi.effective_weights(jnp.array([[-103, -5, 0]], jnp.int32), 6)
        Array([[-100,   -4,    0]], dtype=int32)
    """
    fn = "loihi.effective_weights"
    w = as_int(fn, "weights", weights)
    if w.ndim != 2:
        raise ValueError(f"`{fn}`: `weights` must be a matrix (post, pre); got shape {w.shape}.")
    nwb = as_int(fn, "num_weight_bits", num_weight_bits, low=1, high=profile.weight_bits)
    if nwb.ndim != 0:
        raise ValueError(f"`{fn}`: `num_weight_bits` must be a scalar; got shape {nwb.shape}.")
    if w.size == 0:
        return w
    exc = jnp.min(w) >= 0
    inh = ~exc & (jnp.max(w) <= 0)
    mixed = ~exc & ~inh
    m = jnp.where(inh, -w, w)
    low = jnp.where(mixed, jnp.int32(profile.weight_min_mixed), jnp.int32(0))
    m = jnp.clip(m, low, profile.weight_max)
    drop = profile.weight_bits - nwb + mixed.astype(jnp.int32)
    m = jnp.left_shift(jnp.right_shift(m, drop), drop)
    return jnp.where(inh, -m, m)
