"""The valid interval of every leaf of a neuron, from the ``bounds`` its classes declare."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from spikejax.neurons._base import AbstractNeuron
from spikejax.neurons._interval import UNBOUNDED, Interval

__all__ = ["leaf_bounds"]


def _child(obj: Any, key: Any) -> Any:
    if isinstance(key, jax.tree_util.GetAttrKey):
        return getattr(obj, key.name)
    if isinstance(key, jax.tree_util.SequenceKey):
        return obj[key.idx]
    if isinstance(key, jax.tree_util.DictKey):
        return obj[key.key]
    return None  # a node with custom keys: no neuron field below it


def _interval_of(neuron: AbstractNeuron, path: tuple[Any, ...]) -> Interval:
    """The interval of the field of the innermost neuron on ``path`` that holds the leaf."""
    interval, obj = UNBOUNDED, neuron
    for key in path:
        if isinstance(obj, AbstractNeuron) and isinstance(key, jax.tree_util.GetAttrKey):
            interval = type(obj).bounds.get(key.name, UNBOUNDED)
        obj = _child(obj, key)
    return interval


def leaf_bounds(neuron: AbstractNeuron, *, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """A tree like ``neuron`` with the `Interval` of each leaf in its
    place.

    A leaf's interval is ``bounds[field]`` of the innermost neuron whose field holds it (so the
    leaves of a wrapped neuron, e.g. ``Recurrent(LIF(...)).neuron.beta``, get the wrapped class's
    intervals); a leaf whose field is not in ``bounds`` gets the unbounded interval (any finite
    real). ``is_leaf`` is passed to the flattening, e.g. to treat ``nnx.Variable`` holders as
    leaves.

    Example:
        >>> import spikejax as sj
        >>> bounds = sj.neurons.leaf_bounds(sj.neurons.LIF(beta=0.9))
        >>> str(bounds.beta), str(bounds.threshold)
        ('[0.0, 1.0]', '(0.0, inf]')
    """
    if not isinstance(neuron, AbstractNeuron):
        raise TypeError(
            f"`leaf_bounds`: `neuron` must be a spikejax neuron (AbstractNeuron); got {neuron!r}."
        )
    paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(neuron, is_leaf=is_leaf)
    intervals = [_interval_of(neuron, path) for path, _ in paths_leaves]
    return jax.tree_util.tree_unflatten(treedef, intervals)
