"""Time folding: run stateless layers on ``[T*B, ...]`` so that time is just more batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flax import nnx
from jaxtyping import Array, Shaped

__all__ = ["TimeFolded", "fold", "unfold"]

TimeMajor = Shaped[Array, "time batch ..."]
Folded = Shaped[Array, "..."]  # [time*batch, ...]


def _check_array(fn: str, arg: str, x: Any) -> None:
    if not hasattr(x, "shape") or not hasattr(x, "dtype") or not hasattr(x, "reshape"):
        raise TypeError(f"`{fn}`: `{arg}` must be an array; got {type(x).__name__}.")


def fold(xs: TimeMajor) -> Folded:
    """Merge the time and batch axes, time-major: ``[T, B, *rest] -> [T*B, *rest]``.

    Row ``t*B + b`` of the result is ``xs[t, b]``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import layers
        >>> layers.fold(jnp.zeros((4, 2, 3))).shape
        (8, 3)
    """
    _check_array("fold", "xs", xs)
    if xs.ndim < 2:
        raise ValueError(
            f"`fold`: `xs` must have at least two axes [T, B, ...]; got shape {tuple(xs.shape)}."
        )
    return xs.reshape((xs.shape[0] * xs.shape[1], *xs.shape[2:]))


def unfold(y: Folded, T: int) -> TimeMajor:
    """Split the leading axis back into time and batch: ``[T*B, *rest] -> [T, B, *rest]``.

    The inverse of `fold`: ``unfold(fold(xs), xs.shape[0])`` equals ``xs``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import layers
        >>> layers.unfold(jnp.zeros((8, 3)), 4).shape
        (4, 2, 3)
    """
    _check_array("unfold", "y", y)
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"`unfold`: `T` must be a positive int; got {T!r}.")
    if y.ndim < 1:
        raise ValueError("`unfold`: `y` must have a leading T*B axis; got a scalar.")
    if y.shape[0] % T:
        raise ValueError(
            f"`unfold`: `y` must have a leading axis divisible by T={T} (T*B); "
            f"got shape {tuple(y.shape)}."
        )
    return y.reshape((T, y.shape[0] // T, *y.shape[1:]))


class TimeFolded(nnx.Module):
    """Apply a stateless layer to every time step at once: ``unfold(module(fold(xs)), T)``.

    ``module`` is any callable that treats the leading axis as batch and keeps it, e.g.
    ``nnx.Linear``, ``nnx.Conv`` or a pooling function; it is called once on ``[T*B, ...]``, so
    large matrix products stay batched over time instead of running inside the time loop.

    Args:
        module: the layer (an NNX module, whose variables become part of this module's state, or a
            plain function).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> fc = layers.TimeFolded(nnx.Linear(3, 5, rngs=nnx.Rngs(0)))
        >>> fc(jnp.ones((4, 2, 3))).shape                    # [T, B, features]
        (4, 2, 5)
    """

    def __init__(self, module: Callable[[Folded], Folded]):
        if not callable(module):
            raise TypeError(f"`TimeFolded`: `module` must be callable; got {module!r}.")
        self.module = module

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        """``xs``: ``[T, B, *rest]``. Returns ``[T, B, *rest_out]``."""
        _check_array("TimeFolded", "xs", xs)
        if xs.ndim < 2:
            raise ValueError(
                "`TimeFolded`: `xs` must have at least two axes [T, B, ...]; "
                f"got shape {tuple(xs.shape)}."
            )
        T, B = xs.shape[0], xs.shape[1]
        y = self.module(fold(xs))
        _check_array("TimeFolded", "module(fold(xs))", y)
        if y.ndim < 1 or y.shape[0] != T * B:
            raise ValueError(
                "`TimeFolded`: `module` must keep the leading (T*B) axis of its input; got output "
                f"shape {tuple(y.shape)} for input shape {(T * B, *xs.shape[2:])}."
            )
        return unfold(y, T)
