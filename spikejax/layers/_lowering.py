"""Reference lowering: layers that compute fast in a backend-specific way emit their reference
operations instead, for tools that read a model's operations (`spikejax.graph.trace`)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

__all__ = ["lowering_is_reference", "reference_lowering"]

_REFERENCE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "spikejax_reference_lowering", default=False
)


@contextlib.contextmanager
def reference_lowering() -> Iterator[None]:
    """Inside this context every spikejax layer emits its reference operations, whatever its
    ``lowering``: `Conv` calls ``nnx.Conv`` (``lax.conv_general_dilated``), `max_pool` is
    ``lax.reduce_window``.

    Tools that read the operations a model executes, rather than run it fast, trace models inside
    it: `spikejax.graph.trace` does, so that a convolution is a ``conv`` node with its geometry
    on every backend. Values agree with the fast lowerings up to float rounding. It acts when a
    function is traced: JAX's caches do not see it, so trace a fresh function inside it (a
    function already jit-compiled outside keeps its lowering).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> conv = layers.Conv(1, 2, (3, 3), lowering="im2col", rngs=nnx.Rngs(0))
        >>> with layers.reference_lowering():
        ...     jaxpr = jax.make_jaxpr(conv)(jnp.ones((1, 5, 5, 1)))
        >>> "conv_general_dilated" in str(jaxpr)
        True
    """
    token = _REFERENCE.set(True)
    try:
        yield
    finally:
        _REFERENCE.reset(token)


def lowering_is_reference() -> bool:
    """Whether a call traced now is inside `reference_lowering`."""
    return _REFERENCE.get()
