"""Checks and pieces shared by the losses."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, Int

from spikejax._errors import is_concrete
from spikejax.neurons import Interval, as_param

__all__ = ["check_labels", "cross_entropy", "scalar_param"]


def check_labels(fn: str, labels: Any, logits_shape: tuple[int, ...]) -> None:
    """Integer labels ``[*batch]`` for logits ``[*batch, classes]``; in range when concrete."""
    if not hasattr(labels, "shape") or not hasattr(labels, "dtype"):
        raise TypeError(f"`{fn}`: `labels` must be an integer array; got {type(labels).__name__}.")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"`{fn}`: `labels` must have an integer dtype; got {labels.dtype}.")
    batch, classes = tuple(logits_shape[:-1]), logits_shape[-1]
    if tuple(labels.shape) != batch:
        raise ValueError(
            f"`{fn}`: `labels` must have the batch shape {batch} of the outputs "
            f"(outputs [..., *batch, classes] with shape {tuple(logits_shape)}); "
            f"got {tuple(labels.shape)}."
        )
    if is_concrete(labels):
        values = np.asarray(labels)
        bad = values[(values < 0) | (values >= classes)]
        if bad.size:
            raise ValueError(
                f"`{fn}`: `labels` must lie in [0, {classes - 1}] ({classes} classes on the last "
                f"axis of the outputs); got {bad.ravel()[:3].tolist()}."
            )


def cross_entropy(
    logits: Float[Array, "*batch classes"], labels: Int[Array, "*batch"]
) -> Float[Array, ""]:
    """Softmax cross-entropy ``-log softmax(logits)[label]``, averaged over all batch entries."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def scalar_param(
    fn: str,
    arg: str,
    value: Any,
    dtype: Any,
    *,
    low: float | None = None,
    high: float | None = None,
) -> Float[Array, ""]:
    """A scalar hyperparameter as a 0-d array of ``dtype``; finite and in range when concrete."""
    array = as_param(fn, arg, value, Interval(low, high))
    if array.ndim != 0:
        raise ValueError(f"`{fn}`: `{arg}` must be a scalar; got shape {tuple(array.shape)}.")
    return array.astype(dtype)
