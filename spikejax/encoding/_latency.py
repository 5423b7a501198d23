"""Latency (time-to-first-spike) coding: each input spikes at most once, brighter inputs earlier."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._errors import check_choice, check_range
from spikejax.encoding._common import (
    as_real,
    check_array,
    check_num_steps,
    compute_dtype,
)

__all__ = ["latency"]


def latency(
    x: Float[Array, "..."],
    num_steps: int,
    *,
    method: str = "linear",
    tau: Any = None,
    threshold: Any = 0.01,
    normalize: bool = False,
) -> Float[Array, "time ..."]:
    r"""Encode intensities ``x`` in ``[0, 1]`` as the time of a single spike.

    Every entry emits at most one spike, at step ``n`` (``0 <= n <= num_steps - 1``); larger ``x``
    spikes earlier (or at the same step). Entries that do not fire are all-zero along time.

    ``method="linear"``:

    $$
    n = \operatorname{round}\big((1 - x)\,(T - 1)\big) \quad\text{if } x \ge \theta,
    \qquad\text{no spike if } x < \theta,
    $$

    so ``x = 1`` fires at step 0 and, when ``θ = 0``, ``x = 0`` fires at step ``T - 1``.
    ``tau`` and ``normalize`` do not apply and must be left at their defaults.

    ``method="log"`` (the charging time of an RC circuit with time constant ``τ`` driven by a
    constant input ``x`` towards threshold ``θ``, as in snnTorch's ``spikegen.latency``):

    $$
    t = \tau \ln\frac{x}{x - \theta} \quad\text{if } x > \theta,
    \qquad\text{no spike if } x \le \theta,
    $$

    in time steps. Without ``normalize``, ``n = round(t)``, and an entry with ``n > T - 1`` emits
    no spike: its spike time lies beyond the window. This is the model (the input is too weak to
    reach threshold within ``num_steps`` steps), not a clip to the last step.

    With ``normalize=True``, ``n = round(t / t_max · (T - 1))`` where ``t_max`` is the largest
    ``t`` over **all** firing entries of ``x``: the latest-firing entry lands exactly on step
    ``T - 1`` and every firing entry spikes within the window. The scale is shared by every entry
    of ``x``, batch entries included; to normalise each sample on its own, apply the encoder per
    sample with ``jax.vmap``. (snnTorch's ``normalize`` instead divides by the constant time of
    ``x = θ + 10⁻⁷``.)

    ``round`` rounds half to even (``jnp.round``). Spike times are computed in at least float32.
    The output has no gradient with respect to ``x``.

    Args:
        x: intensities in ``[0, 1]``, floating. Checked when concrete.
        num_steps: number of time steps ``T >= 1``.
        method: ``"linear"`` (default) or ``"log"``.
        tau: RC time constant ``τ > 0`` in steps, a scalar, for ``"log"`` only (default 1).
        threshold: a scalar ``θ``: the smallest intensity that fires (``"linear"``, ``θ`` in
            ``[0, 1]``) or the level that ``x`` must exceed (``"log"``, ``θ`` in ``(0, 1]``).
            Default 0.01.
        normalize: for ``"log"`` only; see above.

    Returns:
        Spikes (0 or 1) of shape ``[num_steps, *x.shape]`` in the dtype of ``x``, at most one per
        entry.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import encoding
        >>> encoding.latency(jnp.array([1.0, 0.5, 0.0]), 3)
        Array([[1., 0., 0.],
               [0., 1., 0.],
               [0., 0., 0.]], dtype=float32)
    """
    fn = "latency"
    check_array(fn, "x", x)
    check_num_steps(fn, num_steps)
    check_choice(fn, "method", method, ("linear", "log"))
    if not isinstance(normalize, bool):
        raise TypeError(f"`{fn}`: `normalize` must be a bool; got {normalize!r}.")
    check_range(fn, "x", x, low=0.0, high=1.0)
    ct = compute_dtype(x.dtype)
    xc = x.astype(ct)
    last = num_steps - 1
    if method == "linear":
        if tau is not None:
            raise ValueError(
                f"`{fn}`: `tau` must be None for method='linear' (it applies to 'log'); "
                f"got {tau!r}."
            )
        if normalize:
            raise ValueError(
                f"`{fn}`: `normalize` must be False for method='linear' (it applies to 'log'); "
                f"got {normalize!r}."
            )
        theta = as_real(fn, "threshold", threshold, low=0.0, high=1.0, scalar=True).astype(ct)
        fires = xc >= theta
        steps = jnp.round((1 - xc) * last)
    else:
        tau = as_real(fn, "tau", 1.0 if tau is None else tau, low=0.0, low_open=True, scalar=True)
        theta = as_real(fn, "threshold", threshold, low=0.0, high=1.0, low_open=True, scalar=True)
        tau, theta = tau.astype(ct), theta.astype(ct)
        fires = xc > theta
        # Non-firing entries get a harmless stand-in so that no inf/NaN is ever formed.
        x_safe = jnp.where(fires, xc, theta + 1)
        t = tau * jnp.log(x_safe / (x_safe - theta))
        if normalize:
            t_max = jnp.max(jnp.where(fires, t, 0), initial=0)
            t_max = jnp.where(t_max > 0, t_max, 1)
            t = t / t_max * last
        steps = jnp.round(t)
    fires = fires & (steps <= last)
    index = jnp.where(fires, steps, -1).astype(jnp.int32)
    time = jnp.arange(num_steps, dtype=jnp.int32).reshape((num_steps,) + (1,) * x.ndim)
    return (time == index[None]).astype(x.dtype)
