"""Rate coding: independent Bernoulli spikes with a per-step probability set by the input."""

from __future__ import annotations

import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from spikejax._errors import check_range
from spikejax.encoding._common import (
    as_real,
    broadcast_param,
    check_array,
    check_num_steps,
    compute_dtype,
)

__all__ = ["poisson"]


def poisson(
    x: Float[Array, "..."],
    num_steps: int,
    *,
    key: PRNGKeyArray,
    max_rate: float | Float[Array, "..."] = 1.0,
) -> Float[Array, "time ..."]:
    r"""Rate-code ``x`` as Bernoulli spike trains (the discrete-time Poisson process).

    Every entry spikes at every step independently with probability ``p = x · max_rate``:

    $$
    s_{t,i} = \mathbb{1}[u_{t,i} < x_i \cdot r_{\max}], \qquad u_{t,i} \sim U[0, 1)
    \text{ i.i.d.}
    $$

    so ``E[s_{t,i}] = x_i r_max`` and the spike count over ``num_steps`` steps is
    ``Binomial(num_steps, x_i r_max)``. ``x = 0`` never spikes; ``x · max_rate = 1`` spikes at every
    step. The comparison is made in at least float32 (a bfloat16 ``x`` is widened for it), so the
    probabilities are not coarsened by a low-precision uniform draw.

    The output has no useful gradient with respect to ``x`` (it is piecewise constant).

    Args:
        x: intensities in ``[0, 1]``, floating. Checked when concrete.
        num_steps: number of time steps ``T >= 1``.
        key: a ``jax.random`` key.
        max_rate: spike probability per step at ``x = 1``, in ``[0, 1]``; a scalar or an array
            broadcastable to ``x.shape``. Checked when concrete.

    Returns:
        Spikes (0 or 1) of shape ``[num_steps, *x.shape]`` in the dtype of ``x``.

    Example:
        >>> import jax.numpy as jnp, jax.random as jr
        >>> from spikejax import encoding
        >>> s = encoding.poisson(jnp.array([0.0, 1.0]), 3, key=jr.key(0))
        >>> s
        Array([[0., 1.],
               [0., 1.],
               [0., 1.]], dtype=float32)
    """
    fn = "poisson"
    check_array(fn, "x", x)
    check_num_steps(fn, num_steps)
    check_range(fn, "x", x, low=0.0, high=1.0)
    ct = compute_dtype(x.dtype)
    max_rate = as_real(fn, "max_rate", max_rate, low=0.0, high=1.0)
    p = x.astype(ct) * broadcast_param(fn, "max_rate", max_rate, x.shape, ct)
    shape = (num_steps, *x.shape)
    u = jr.uniform(key, shape, ct)
    return (u < jnp.broadcast_to(p, shape)).astype(x.dtype)
