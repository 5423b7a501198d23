"""Frozen dataclasses that are JAX pytrees: the one implementation behind
`spikejax.neurons.AbstractNeuron` subclasses and the chip parameter records.

A field is a pytree leaf unless declared with `static`. Leaves are numbers the optimizer or a
chip may change (decays, thresholds, weights); static fields are discrete choices (reset mode,
surrogate) that select code paths and must be hashable.

``__post_init__`` runs when a user constructs an object, never when JAX rebuilds one during a
transformation: unflattening bypasses ``__init__``. Constructors are therefore the boundary where
concrete parameter values are checked (see `spikejax._errors`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import jax

__all__ = ["pytree_dataclass", "static"]

T = TypeVar("T")


def static(default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """Declare a dataclass field static: part of the tree definition, not an array leaf.

    For discrete choices that select code paths (a reset mode, a surrogate, a flag, a step count);
    the value must be hashable. ``default`` is the field's default; other keyword arguments go to
    `dataclasses.field`. Exported as `spikejax.neurons.static`.

    Example:
        >>> import jax, jax.numpy as jnp, spikejax as sj
        >>> class Gate(sj.neurons.AbstractNeuron):
        ...     gain: jax.Array
        ...     mode: str = sj.neurons.static("hard")
        ...     def init_state(self, shape, dtype=jnp.float32):
        ...         return ()
        ...     def step(self, state, x):
        ...         return state, self.gain * x
        >>> jax.tree_util.tree_leaves(Gate(gain=jnp.float32(2.0)))
        [Array(2., dtype=float32)]
    """
    return dataclasses.field(default=default, metadata={"static": True}, **kwargs)


def pytree_dataclass(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen dataclass registered as a pytree with keyed leaves."""
    cls = dataclasses.dataclass(frozen=True, eq=False, repr=True)(cls)
    fields = dataclasses.fields(cls)
    data_names = tuple(f.name for f in fields if not f.metadata.get("static", False))
    meta_names = tuple(f.name for f in fields if f.metadata.get("static", False))

    def flatten_with_keys(obj):
        children = tuple((jax.tree_util.GetAttrKey(n), getattr(obj, n)) for n in data_names)
        return children, tuple(getattr(obj, n) for n in meta_names)

    def flatten(obj):
        return tuple(getattr(obj, n) for n in data_names), tuple(
            getattr(obj, n) for n in meta_names
        )

    def unflatten(meta, children):
        obj = object.__new__(cls)
        for name, value in zip(data_names, children, strict=True):
            object.__setattr__(obj, name, value)
        for name, value in zip(meta_names, meta, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls
