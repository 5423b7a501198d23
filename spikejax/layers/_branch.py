"""One branch for all members of a ``vmap``: the device-side choices of the event-driven layers
stay choices when a population of models is vectorised."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

__all__ = ["shared_branch"]


@jax.custom_batching.custom_vmap
def shared_branch(index: Int[Array, ""]) -> Int[Array, ""]:
    """``index``, the branch a ``lax.switch`` takes; under ``vmap``, the smallest over the
    batch, the same for every member.

    A ``lax.switch`` (or ``lax.cond``) on a batched index becomes a select: every branch runs
    for every member. With the index shared it stays a conditional, and only one branch runs.
    This is correct where the branches are ordered from the most general to the most
    specialised, each computing what the ones above it compute for every input they accept:
    branch 0 the dense product, higher ones the event paths for ever fewer events. The member
    that needs the most general branch then decides for all, and every member's result is its
    own up to float rounding.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from spikejax.layers._branch import shared_branch
        >>> jax.vmap(shared_branch)(jnp.array([2, 1, 2])).tolist()
        [1, 1, 1]
    """
    return index


@shared_branch.def_vmap
def _smallest_over_batch(axis_size, in_batched, index):
    del axis_size
    if in_batched[0]:
        # Called again: under nested vmaps the outer levels reduce their own batch axes.
        index = shared_branch(jnp.min(index, axis=0))
    return index, False
