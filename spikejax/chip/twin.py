"""Straight-through values of the chip twins: the chip's integer with a differentiable float.

A `Twin` pairs the exact integer ``q`` a chip computes with a float ``f`` whose value is
``q * unit`` and whose gradient is that of the same operation on real numbers. The chip
arithmetics (`spikejax.chip.loihi.arithmetic`, `spikejax.chip.xylo.arithmetic`) run
on Twins to give `spikejax.chip.ste.chip_forward` the chip's forward with a float backward.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

__all__ = ["Twin", "straight_through"]


class Twin(NamedTuple):
    """A chip integer ``q`` (int32) with its float value ``f == q * unit`` (float32) that carries
    the gradient of the computation on real numbers."""

    q: Int[Array, "..."]
    f: Float[Array, "..."]


def straight_through(q: Int[Array, "..."], f: Float[Array, "..."], unit: float) -> Twin:
    """``Twin(q, q * unit)`` whose float part has the gradient of ``f`` (``f - stop_gradient(f)``
    adds exactly zero to the value)."""
    value = q.astype(jnp.float32) * jnp.float32(unit)
    return Twin(q, value + (f - jax.lax.stop_gradient(f)))
