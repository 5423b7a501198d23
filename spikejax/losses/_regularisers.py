"""Firing-rate regularisers on hidden spikes ``[T, batch, *neurons]``."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from spikejax._errors import check_time_major
from spikejax.neurons import Interval, as_param

__all__ = ["rate_l2", "rate_lower", "rate_upper"]


def _check_spikes(fn: str, spikes: Any) -> None:
    check_time_major(fn, "spikes", spikes)
    if spikes.ndim < 3:
        raise ValueError(
            f"`{fn}`: `spikes` must be [T, batch, *neurons] with at least one neuron axis; "
            f"got shape {tuple(spikes.shape)}."
        )


def _rate_param(
    fn: str, arg: str, value: Any, rates: Float[Array, "batch ..."], *, scalar: bool
) -> Float[Array, "batch ..."]:
    """A rate in ``[0, 1]`` (per step; not a count) in the dtype of ``rates``: a 0-d array with
    ``scalar``, else broadcast to the shape of ``rates`` (scalar or per neuron)."""
    array = as_param(fn, arg, value, Interval(0.0, 1.0))
    neurons = tuple(rates.shape[1:])
    if scalar and array.ndim != 0:
        raise ValueError(f"`{fn}`: `{arg}` must be a scalar; got shape {tuple(array.shape)}.")
    try:
        ok = np.broadcast_shapes(array.shape, neurons) == neurons
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"`{fn}`: `{arg}` must be a scalar or broadcastable to the neuron shape {neurons}; "
            f"got shape {tuple(array.shape)}."
        )
    if scalar:
        return array.astype(rates.dtype)
    return jnp.broadcast_to(array.astype(rates.dtype), rates.shape)


def rate_l2(spikes: Float[Array, "time batch *neurons"], target: Any) -> Float[Array, ""]:
    r"""Mean squared deviation of every neuron's firing rate from a target rate (per sample).

    $$
    r_{b,i} = \frac{1}{T} \sum_t s_{t,b,i}, \qquad
    L = \frac{1}{B\,N} \sum_{b,i} \big(r_{b,i} - \nu_i\big)^2,
    $$

    with rates per sample ``b`` and neuron ``i`` (``N`` neurons: all axes after batch).

    Args:
        spikes: hidden spikes ``[T, batch, *neurons]``, floating.
        target: target rate ``ν`` in spikes per step, in ``[0, 1]``; a scalar or an array
            broadcastable to the neuron shape ``spikes.shape[2:]``.

    Returns:
        The scalar penalty, in the dtype of ``spikes``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import losses
        >>> spikes = jnp.array([[[1.0, 0.0]], [[1.0, 0.0]]])   # rates (1, 0)
        >>> losses.rate_l2(spikes, 0.5)                        # (0.25 + 0.25) / 2
        Array(0.25, dtype=float32)
    """
    fn = "rate_l2"
    _check_spikes(fn, spikes)
    rates = jnp.mean(spikes, axis=0)
    return jnp.mean(jnp.square(rates - _rate_param(fn, "target", target, rates, scalar=False)))


def rate_lower(spikes: Float[Array, "time batch *neurons"], min_rate: Any) -> Float[Array, ""]:
    r"""Per-neuron lower bound on the firing rate: a squared hinge below ``min_rate``.

    $$
    r_{b,i} = \frac{1}{T} \sum_t s_{t,b,i}, \qquad
    L = \frac{1}{B\,N} \sum_{b,i} \big[\nu_\text{lower} - r_{b,i}\big]_+^2 .
    $$

    This is the per-neuron lower-threshold regulariser of Zenke & Vogels (Neural Computation 33,
    2021), written for rates instead of spike counts: with their count threshold ``θ`` and
    ``ν_lower = θ / T`` the penalty here is theirs divided by ``T²`` (before their strength
    factor ``λ``, which you multiply by yourself). It revives silent neurons without pushing
    active ones.

    Args:
        spikes: hidden spikes ``[T, batch, *neurons]``, floating.
        min_rate: ``ν_lower`` in spikes per step, in ``[0, 1]``; a scalar or an array broadcastable
            to the neuron shape ``spikes.shape[2:]``.

    Returns:
        The scalar penalty, in the dtype of ``spikes``.
    """
    fn = "rate_lower"
    _check_spikes(fn, spikes)
    rates = jnp.mean(spikes, axis=0)
    low = _rate_param(fn, "min_rate", min_rate, rates, scalar=False)
    return jnp.mean(jnp.square(jnp.maximum(low - rates, 0)))


def rate_upper(spikes: Float[Array, "time batch *neurons"], max_rate: Any) -> Float[Array, ""]:
    r"""Population upper bound on the firing rate: a squared hinge on each sample's mean rate.

    $$
    \bar r_b = \frac{1}{N} \sum_i \frac{1}{T} \sum_t s_{t,b,i}, \qquad
    L = \frac{1}{B} \sum_b \big[\bar r_b - \nu_\text{upper}\big]_+^2 .
    $$

    This is the population-level upper-threshold regulariser of Zenke & Vogels (Neural Computation
    33, 2021) with exponent 2, written for rates instead of spike counts: with their count
    threshold ``θ`` and ``ν_upper = θ / T`` the penalty here is theirs divided by ``T²`` (before
    their strength factor ``λ``). The population is every neuron of one sample (all axes after
    batch); individual neurons may exceed the bound as long as the population mean does not.

    Args:
        spikes: hidden spikes ``[T, batch, *neurons]``, floating.
        max_rate: ``ν_upper`` in spikes per step, a scalar in ``[0, 1]``.

    Returns:
        The scalar penalty, in the dtype of ``spikes``.
    """
    fn = "rate_upper"
    _check_spikes(fn, spikes)
    rates = jnp.mean(spikes, axis=0)
    high = _rate_param(fn, "max_rate", max_rate, rates, scalar=True)
    population = jnp.mean(rates.reshape(rates.shape[0], -1), axis=1)
    return jnp.mean(jnp.square(jnp.maximum(population - high, 0)))
