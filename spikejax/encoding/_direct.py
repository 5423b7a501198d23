"""Direct coding: the analog input itself, repeated at every time step."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax.encoding._common import check_array, check_num_steps

__all__ = ["direct"]


def direct(x: Float[Array, "..."], num_steps: int) -> Float[Array, "time ..."]:
    """Repeat ``x`` along a new leading time axis: ``out[t] = x`` for every ``t``.

    The usual input of directly trained deep SNNs: the first layer turns the constant analog input
    into spikes. The result is a broadcast (no copy is materialised until an operation needs one);
    its gradient with respect to ``x`` is the sum over time of the incoming cotangent.

    Args:
        x: analog input, floating, any shape.
        num_steps: number of time steps ``T >= 1``.

    Returns:
        Shape ``[num_steps, *x.shape]``, in the dtype of ``x``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import encoding
        >>> encoding.direct(jnp.array([0.25, 1.5]), 2)
        Array([[0.25, 1.5 ],
               [0.25, 1.5 ]], dtype=float32)
    """
    check_array("direct", "x", x)
    check_num_steps("direct", num_steps)
    return jnp.broadcast_to(x, (num_steps, *x.shape))
