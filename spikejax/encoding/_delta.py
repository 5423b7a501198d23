"""Delta (send-on-delta) coding of a time series: events when the signal moves by a threshold."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax.encoding._common import as_real, broadcast_param, check_array, compute_dtype

__all__ = ["delta"]


def delta(
    xs: Float[Array, "time ..."],
    threshold: Any,
    *,
    split: bool = False,
) -> Float[Array, "time ..."] | Float[Array, "time ... 2"]:
    r"""Send-on-delta encoding: signed counts of threshold crossings of a time series.

    Each channel keeps a reference level ``r``, initially the first sample. At every later step the
    number of whole thresholds the signal has moved away from the reference is emitted, and the
    reference moves by that many thresholds:

    $$
    r_0 = x_0, \qquad n_0 = 0, \qquad
    n_t = \operatorname{trunc}\!\Big(\frac{x_t - r_{t-1}}{\theta}\Big), \qquad
    r_t = r_{t-1} + n_t\,\theta \qquad (t \ge 1).
    $$

    ``n_t`` is a signed integer: positive for upward (ON) crossings, negative for downward (OFF)
    ones. A jump of several thresholds in one step gives ``|n_t| > 1``; nothing is clipped.
    Consequently the signal is recovered to within one threshold from its first sample and the
    events, ``|x_t - (x_0 + θ Σ_{s≤t} n_s)| < θ`` (up to floating-point rounding).

    The recursion runs under ``lax.scan`` in at least float32 (bfloat16 input is widened for it);
    the output is cast back to the dtype of ``xs`` (counts up to 256 are exact in bfloat16). It has
    no gradient with respect to ``xs``.

    Args:
        xs: time-major signal ``[T, *shape]``, floating, ``T >= 1``.
        threshold: ``θ > 0``; a scalar or an array broadcastable to ``xs.shape[1:]`` (one threshold
            per channel). Checked when concrete.
        split: if true, return ON and OFF counts separately on a new trailing axis of size 2:
            ``[..., 0] = max(n, 0)`` and ``[..., 1] = max(-n, 0)``.

    Returns:
        ``n`` of shape ``[T, *shape]`` (``[T, *shape, 2]`` with ``split``) in the dtype of
        ``xs``; ``n[0]`` is zero.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import encoding
        >>> encoding.delta(jnp.array([0.0, 0.5, 1.2, 3.1, 1.0]), 1.0)
        Array([ 0.,  0.,  1.,  2., -2.], dtype=float32)
    """
    fn = "delta"
    check_array(fn, "xs", xs)
    if xs.ndim == 0 or xs.shape[0] == 0:
        raise ValueError(
            f"`{fn}`: `xs` must be time-major [T, *shape] with T >= 1; got shape {tuple(xs.shape)}."
        )
    if not isinstance(split, bool):
        raise TypeError(f"`{fn}`: `split` must be a bool; got {split!r}.")
    ct = compute_dtype(xs.dtype)
    threshold = as_real(fn, "threshold", threshold, low=0.0, low_open=True)
    theta = broadcast_param(fn, "threshold", threshold, xs.shape[1:], ct)
    xc = xs.astype(ct)

    def step(ref, x):
        n = jnp.trunc((x - ref) / theta)
        return ref + n * theta, n

    _, n = jax.lax.scan(step, xc[0], xc[1:])
    n = jnp.concatenate([jnp.zeros_like(xc[:1]), n])
    if split:
        n = jnp.stack([jnp.maximum(n, 0), jnp.maximum(-n, 0)], axis=-1)
    return n.astype(xs.dtype)
