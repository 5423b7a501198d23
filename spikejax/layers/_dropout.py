"""``SeqDropout``: dropout with one mask per sample, shared by every time step."""

from __future__ import annotations

from typing import Any

from flax import nnx
from jaxtyping import Array, Float

from spikejax._errors import check_floating, check_range

__all__ = ["SeqDropout"]

TimeMajor = Float[Array, "time batch ..."]


class SeqDropout(nnx.Module):
    r"""Dropout whose mask is drawn once per sample and reused at every time step.

    For ``x`` of shape ``[T, B, ...]`` one mask ``m`` of shape ``[B, ...]`` is drawn with
    ``P(m = 1) = 1 - rate`` and

    $$
    y_t = \frac{m \odot x_t}{1 - \text{rate}} \qquad \text{for every } t,
    $$

    so a dropped unit stays silent for the whole sequence (per-step masks would let a spiking
    network average the noise away over time). In evaluation mode (``deterministic=True``, or after
    ``model.eval()``) the input is returned unchanged.

    Args:
        rate: probability of dropping a unit, in ``[0, 1)``.
        rngs: NNX random streams; the ``"dropout"`` stream is used (or ``"default"``).
        deterministic: evaluation mode at construction.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> drop = layers.SeqDropout(0.5, rngs=nnx.Rngs(0))
        >>> y = drop(jnp.ones((3, 1, 4)))                  # [T, B, features]
        >>> bool((y[0] == y[1]).all() and (y[1] == y[2]).all())
        True
        >>> drop.eval()
        >>> drop(jnp.ones((3, 1, 4)))[0, 0]
        Array([1., 1., 1., 1.], dtype=float32)
    """

    def __init__(self, rate: float, *, rngs: nnx.Rngs, deterministic: bool = False):
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise TypeError(f"`SeqDropout`: `rate` must be a float in [0, 1); got {rate!r}.")
        check_range("SeqDropout", "rate", rate, low=0.0, high=1.0, high_open=True)
        if not isinstance(rngs, nnx.Rngs | nnx.RngStream):
            raise TypeError(f"`SeqDropout`: `rngs` must be an nnx.Rngs; got {rngs!r}.")
        if not isinstance(deterministic, bool):
            raise TypeError(f"`SeqDropout`: `deterministic` must be a bool; got {deterministic!r}.")
        self.dropout = nnx.Dropout(
            float(rate), broadcast_dims=(0,), deterministic=deterministic, rngs=rngs
        )

    def __call__(self, x: TimeMajor, *, deterministic: bool | None = None) -> TimeMajor:
        """Apply the shared mask to ``x`` (``[T, B, ...]``).

        Args:
            x: the time-major sequence.
            deterministic: overrides the module's mode for this call.
        """
        _check_sequence(x)
        return self.dropout(x, deterministic=deterministic)


def _check_sequence(x: Any) -> None:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"`SeqDropout`: `x` must be an array [T, B, ...]; got {type(x).__name__}.")
    check_floating("SeqDropout", "x", x)
    if x.ndim < 2:
        raise ValueError(
            f"`SeqDropout`: `x` must be time-major with at least two axes [T, B, ...]; "
            f"got shape {tuple(x.shape)}."
        )
