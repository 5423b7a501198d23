r"""Homeostasis for unsupervised STDP layers: adaptive thresholds and weight normalisation.

Winner-take-all STDP (Diehl & Cook 2015) needs two counterweights, otherwise a few neurons win
every input and their weights saturate:

* `adaptive_threshold`: each spike raises its neuron's threshold by ``increment``; between
  spikes the threshold relaxes to ``rest`` with time constant ``tau``. Over a window of ``T``
  steps and a batch of ``B`` samples the change is

  $$
  Δθ_j = \text{increment} \cdot \frac{1}{B}\sum_{b,t} s_{bj}(t)
         - \bigl(1 - e^{-T\,dt/τ}\bigr)\,(θ_j - \text{rest}).
  $$

  Like the rules it emits ``-Δθ`` (a descent direction), so that ``optax.sgd(1.0)`` after it
  applies ``Δθ`` exactly. The threshold must be a trainable per-neuron parameter
  (``Spiking(LIF(threshold=jnp.ones(n)), trainable=("threshold",))``).
* `normalize_weights`: after the optimiser, rescales each postsynaptic neuron's incoming
  weights to sum to ``total`` (Diehl & Cook's ``78`` for 784 inputs): the emitted update takes the
  weights to ``total · w' / Σ_i w'_i`` with ``w' = w + u``, summing over every kernel axis but
  the last (the output one). A neuron whose incoming weights sum to zero has nothing to scale;
  its weights are ``w'``.
* `clip_weights`: after the optimiser, keeps the weights in ``[w_min, w_max]``: the update
  becomes ``clip(w + u) - w`` (hard bounds for additive STDP).

The last two must come last in a chain (they read the final update) and leave every other leaf
unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from spikejax.plasticity._checks import check_number
from spikejax.plasticity._synapses import Activity, Synapses, leaf_path

__all__ = ["adaptive_threshold", "clip_weights", "normalize_weights"]


def _paths(fn: str, params: Sequence[str] | Synapses) -> tuple[str, ...]:
    if isinstance(params, Synapses):
        return tuple(params)
    if isinstance(params, str) or not isinstance(params, Sequence) or not params:
        raise ValueError(
            f"`{fn}`: `params` must be Synapses or a non-empty sequence of parameter paths; got "
            f"{params!r}."
        )
    return tuple(params)


def _check_present(fn: str, wanted: Sequence[str], params: Any) -> None:
    present = {leaf_path(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)}
    missing = sorted(set(wanted) - present)
    if missing:
        raise ValueError(
            f"`{fn}`: parameters {missing} must be leaves of `params`; its leaves are "
            f"{sorted(present)}."
        )


class _Empty(NamedTuple):
    pass


def _projection(fn, paths, project) -> optax.GradientTransformationExtraArgs:
    def init(params):
        _check_present(fn, paths, params)
        return _Empty()

    def update(updates, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError(f"`{fn}`: `params` must be given to update (the current weights).")
        values = {leaf_path(p): v for p, v in jax.tree_util.tree_leaves_with_path(params)}

        def emit(p, u):
            path = leaf_path(p)
            if path not in paths:
                return u
            w = values[path]
            return (project(w + u) - w).astype(u.dtype)

        return jax.tree_util.tree_map_with_path(emit, updates), state

    return optax.GradientTransformationExtraArgs(init, update)


def normalize_weights(
    params: Sequence[str] | Synapses, *, total: float
) -> optax.GradientTransformationExtraArgs:
    """Rescale each neuron's incoming weights to sum to ``total`` (module docstring).

    Example:
        >>> import jax, jax.numpy as jnp, optax, spikejax as sj
        >>> w = {"fc": {"kernel": jnp.array([[1.0, 2.0], [3.0, 2.0]])}}
        >>> tx = sj.plasticity.normalize_weights(["fc.kernel"], total=1.0)
        >>> u, _ = tx.update(jax.tree.map(jnp.zeros_like, w), tx.init(w), w)
        >>> optax.apply_updates(w, u)["fc"]["kernel"]
        Array([[0.25, 0.5 ],
               [0.75, 0.5 ]], dtype=float32)
    """
    fn = "normalize_weights"
    paths = _paths(fn, params)
    check_number(fn, "total", total)

    def project(w):
        axes = tuple(range(w.ndim - 1))
        sums = jnp.sum(w, axis=axes, keepdims=True)
        safe = jnp.where(sums == 0, 1.0, sums)
        return jnp.where(sums == 0, w, w * (total / safe))

    return _projection(fn, paths, project)


def clip_weights(
    params: Sequence[str] | Synapses, *, w_min: float, w_max: float
) -> optax.GradientTransformationExtraArgs:
    """Keep the named weights in ``[w_min, w_max]`` after the update (module docstring)."""
    fn = "clip_weights"
    paths = _paths(fn, params)
    for name, value in (("w_min", w_min), ("w_max", w_max)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"`{fn}`: `{name}` must be a finite number; got {value!r}.")
    if not w_min < w_max:
        raise ValueError(f"`{fn}`: `w_min` must be < `w_max`; got {w_min!r} and {w_max!r}.")
    return _projection(fn, paths, lambda w: jnp.clip(w, w_min, w_max))


def adaptive_threshold(
    synapses: Synapses,
    *,
    increment: float = 0.05,
    tau: float = 1e4,
    rest: float = 1.0,
    dt: float = 1.0,
) -> optax.GradientTransformationExtraArgs:
    """Diehl & Cook's adaptive threshold of every postsynaptic neuron node of ``synapses``
    (module docstring); ``update(grads, state, params, *, activity)``.

    The threshold of the neuron node ``<post>`` is its parameter ``<post>.params.threshold``
    (``<post>.params.neuron.threshold`` for a ``Recurrent`` neuron).
    """
    fn = "adaptive_threshold"
    if not isinstance(synapses, Synapses):
        raise TypeError(
            f"`{fn}`: `synapses` must come from spikejax.plasticity.synapses; got "
            f"{type(synapses).__name__}."
        )
    for name, value in (("tau", tau), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"`{fn}`: `{name}` must be a time constant > 0; got {value!r}.")
    for name, value in (("increment", increment), ("rest", rest)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"`{fn}`: `{name}` must be a finite number; got {value!r}.")

    def thresholds(params) -> dict[str, str]:
        """``{threshold path: kernel path}``: each postsynaptic node's one ``threshold`` leaf
        (``<post>.params.threshold``, or deeper for a wrapped neuron such as ``Recurrent``)."""
        paths = [leaf_path(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
        out = {}
        for kernel in synapses:
            post = synapses[kernel].post
            found = [
                p for p in paths if p.startswith(f"{post}.params.") and p.endswith(".threshold")
            ]
            if len(found) != 1:
                raise ValueError(
                    f"`{fn}`: the neurons `{post}` driven by `{kernel}` must have one trainable "
                    f"threshold in `params` (`{post}.params.threshold`, per neuron); found "
                    f"{found}. Make it trainable: Spiking(neuron, trainable=('threshold',))."
                )
            out[found[0]] = kernel
        return out

    def init(params):
        thresholds(params)
        return _Empty()

    def update(updates, state, params=None, *, activity=None, **extra):
        del extra
        if params is None or not isinstance(activity, Activity):
            raise ValueError(f"`{fn}`: update needs `params` and `activity=` (an Activity).")
        values = {leaf_path(p): v for p, v in jax.tree_util.tree_leaves_with_path(params)}
        chosen = thresholds(params)

        def emit(p, u):
            path = leaf_path(p)
            if path not in chosen:
                return u
            kernel = chosen[path]
            if kernel not in activity.post:
                raise ValueError(
                    f"`{fn}`: threshold `{path}` has no recorded traces: `activity` lacks "
                    f"`{kernel}`."
                )
            spikes = activity.post[kernel]
            theta = values[path]
            T, B = spikes.shape[0], spikes.shape[1]
            count = jnp.sum(spikes.astype(theta.dtype), axis=(0, 1)) / B
            count = count.reshape(count.shape[-theta.ndim :]) if theta.ndim else jnp.mean(count)
            relax = 1.0 - math.exp(-T * dt / tau)
            change = increment * count - relax * (theta - rest)
            return (-change).astype(u.dtype)

        return jax.tree_util.tree_map_with_path(emit, updates), state

    return optax.GradientTransformationExtraArgs(init, update)
