"""Keep trained neuron parameters valid: project them after an update, check them on load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jax
import numpy as np
from flax import nnx

from spikejax.layers._spiking import Spiking, leaf_name
from spikejax.neurons import Interval, leaf_bounds

__all__ = ["check_params", "project_params"]


def _is_variable(x: Any) -> bool:
    return isinstance(x, nnx.Variable)


def _layers(model: Any) -> Iterator[tuple[str, Spiking]]:
    """Every `Spiking` layer of ``model`` (itself included) with its dotted path."""
    if isinstance(model, Spiking):
        yield "", model
        return
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`model` must be an nnx.Module; got {type(model).__name__}.")
    for path, node in nnx.iter_graph(model):
        if isinstance(node, Spiking):
            yield ".".join(str(p) for p in path), node


def _leaves(layer: Spiking) -> Iterator[tuple[str, nnx.Variable, Interval]]:
    """``(name, variable, interval)`` for every neuron leaf of ``layer``."""
    bounds = leaf_bounds(layer.params, is_leaf=_is_variable)
    pairs = jax.tree_util.tree_leaves_with_path(layer.params, is_leaf=_is_variable)
    intervals = jax.tree_util.tree_leaves(bounds, is_leaf=lambda x: isinstance(x, Interval))
    for (path, variable), interval in zip(pairs, intervals, strict=True):
        yield leaf_name(path), variable, interval


def project_params(model: nnx.Module) -> None:
    """Put every trainable neuron parameter of ``model`` back onto its valid interval, in place.

    For each `Spiking` layer in ``model`` (or ``model`` itself), every leaf held as
    ``nnx.Param`` is replaced by ``interval.project(value)``, where ``interval`` is the one its
    neuron class declares in ``bounds`` (see `spikejax.neurons.Interval`): decays are
    clipped to ``[0, 1]``, thresholds to at least ``finfo(dtype).tiny`` so that ``θ > 0`` holds;
    unbounded leaves (PLIF's ``w``, recurrent weights) and values already inside are unchanged
    bit for bit. Pure array operations: jit-compatible, no host synchronisation.

    Call it after every optimizer update; spikejax's own training step does.

    Example:
        >>> import optax, spikejax as sj
        >>> from flax import nnx
        >>> layer = sj.layers.Spiking(sj.neurons.LIF(beta=0.9), trainable=("beta", "threshold"))
        >>> optimizer = nnx.Optimizer(layer, optax.sgd(1.0), wrt=nnx.Param)
        >>> def loss(layer):
        ...     return 2.0 * layer.params.threshold[...] - 0.5 * layer.params.beta[...]
        >>> _ = optimizer.update(layer, nnx.grad(loss)(layer))  # β = 1.4, θ = -1: invalid
        >>> sj.layers.project_params(layer)
        >>> float(layer.params.beta[...]), float(layer.params.threshold[...]) > 0
        (1.0, True)
    """
    for _, layer in _layers(model):
        for _, variable, interval in _leaves(layer):
            if isinstance(variable, nnx.Param):
                variable[...] = interval.project(variable[...])


def check_params(model: nnx.Module, *, fn: str = "check_params", where: str = "model") -> None:
    """Raise ``ValueError`` unless every neuron parameter of ``model`` lies in its valid interval.

    Every leaf of every `Spiking` layer (trainable or fixed) is checked against the
    interval its neuron class declares (and for being finite). The message names ``fn``, the
    leaf's path (``where`` + layer path + ``params`` + leaf), the interval and up to three bad
    values. Concrete values only (outside ``jit``); used where checkpoints are loaded.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> layer = sj.layers.Spiking(sj.neurons.LIF(beta=0.9), trainable=("beta",))
        >>> layer.params.beta[...] = jnp.float32(1.5)
        >>> sj.layers.check_params(layer)
        Traceback (most recent call last):
        ValueError: `check_params`: `model.params.beta` must lie in [0.0, 1.0]; got [1.5].
    """
    for path, layer in _layers(model):
        prefix = ".".join(p for p in (where, path, "params") if p)
        for name, variable, interval in _leaves(layer):
            interval.check(fn, f"{prefix}.{name}", np.asarray(variable[...]))
