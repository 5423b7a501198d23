"""Streaming: ``init_state(model, batch_shape)`` and ``run(model, chunk, state) -> (out, state)``.

A model's neuron states are an explicit pytree, ``{layer path: neuron state}``, never hidden in
the modules. ``run`` hands each `spikejax.layers.Spiking` layer its entry while the model
is called and collects the state each one ends in; layers read it through
`carried_state`, which is ``None`` outside ``run`` (a plain call starts from rest).
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Any

import jax
from flax import nnx

__all__ = ["carried_state", "finish", "init_state", "run"]


class _Session:
    def __init__(self, model: nnx.Module, state: Mapping[str, Any] | None, fn: str):
        self.fn = fn
        self.paths = {id(m): ".".join(str(p) for p in path) for path, m in nnx.iter_modules(model)}
        self.state = None if state is None else dict(state)
        self.final: dict[str, Any] = {}
        self.shapes: dict[str, tuple[tuple[int, ...], Any]] = {}

    def enter(self, layer: nnx.Module, shape: tuple[int, ...], dtype: Any) -> Any:
        path = self.paths.get(id(layer))
        if path is None:
            raise ValueError(
                f"`{self.fn}`: every spiking layer must be part of `model`'s module tree; a "
                f"{type(layer).__name__} outside it was called."
            )
        if path in self.final or path in self.shapes:
            raise ValueError(
                f"`{self.fn}`: spiking layer `{path}` runs twice in one call; streaming needs one "
                "state per layer and call."
            )
        self.shapes[path] = (shape, dtype)
        if self.state is None:
            return None
        if path not in self.state:
            raise ValueError(
                f"`{self.fn}`: `state` must hold an entry for spiking layer `{path}`; it has "
                f"{sorted(self.state)}. Build it with spikejax.init_state(model, batch_shape)."
            )
        entry = self.state[path]
        self._check_entry(layer, path, entry, shape, dtype)
        return entry

    def _check_entry(self, layer: nnx.Module, path: str, entry: Any, shape, dtype) -> None:
        """The entry must have the structure, shapes and dtypes of the layer's resting state
        for these steps (a state of another model or batch shape is refused by leaf)."""
        from spikejax.layers import Spiking  # the layers import this module

        if not isinstance(layer, Spiking):
            return
        neuron = layer.neuron
        want = jax.eval_shape(lambda: neuron.init_state(shape, dtype))
        hint = "build it with spikejax.init_state(model, batch_shape) for this model and input"
        if jax.tree_util.tree_structure(entry) != jax.tree_util.tree_structure(want):
            raise ValueError(
                f"`{self.fn}`: `state['{path}']` must be a {type(want).__name__} of layer `{path}` "
                f"({type(neuron).__name__}); got {type(entry).__name__}; {hint}."
            )
        got_leaves = jax.tree_util.tree_leaves_with_path(entry)
        for (key, leaf), expected in zip(got_leaves, jax.tree_util.tree_leaves(want), strict=True):
            got = (tuple(getattr(leaf, "shape", ())), getattr(leaf, "dtype", None))
            if got != (tuple(expected.shape), expected.dtype):
                name = f"state['{path}']{jax.tree_util.keystr(key)}"
                raise ValueError(
                    f"`{self.fn}`: `{name}` has shape {got[0]} ({got[1]}), but layer `{path}` "
                    f"({type(neuron).__name__}) runs on steps that need {tuple(expected.shape)} "
                    f"({expected.dtype}); {hint}."
                )

    def leave(self, layer: nnx.Module, final: Any) -> None:
        self.final[self.paths[id(layer)]] = final


_ACTIVE: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
    "spikejax_stream", default=None
)


def carried_state(layer: nnx.Module, shape: tuple[int, ...], dtype: Any) -> tuple[bool, Any]:
    """For a spiking layer about to run on steps of ``shape``/``dtype``: ``(streaming, state0)``.

    ``streaming`` is false outside `run` (the layer starts from rest and keeps nothing);
    inside, ``state0`` is the layer's entry of the state given to ``run`` (``None`` while
    `init_state` probes the model), and the layer must report its final state with
    `finish`."""
    session = _ACTIVE.get()
    if session is None:
        return False, None
    return True, session.enter(layer, tuple(shape), dtype)


def finish(layer: nnx.Module, final: Any) -> None:
    """Report a spiking layer's state after its steps (inside `run`)."""
    session = _ACTIVE.get()
    if session is not None:
        session.leave(layer, final)


def _call(model: nnx.Module, xs: Any, session: _Session, kwargs: dict) -> Any:
    token = _ACTIVE.set(session)
    try:
        return model(xs, **kwargs)
    finally:
        _ACTIVE.reset(token)


def init_state(model: nnx.Module, batch_shape: tuple[int, ...], dtype: Any = None, **kwargs):
    """The resting neuron states of ``model`` for inputs whose time steps have ``batch_shape``.

    Args:
        model: any NNX model whose neurons run in `spikejax.layers.Spiking` layers.
        batch_shape: the shape of one time step of the input, ``[B, *features]`` (the input's
            shape without its time axis).
        dtype: the input's dtype (default float32).
        **kwargs: passed to the model call (e.g. ``per_step=True``).

    Returns:
        ``{layer path: neuron state}``: each layer's ``neuron.init_state(shape, dtype)`` for the
        step shape and dtype its own input has (found by an abstract call of the model on one
        step), exactly what a plain call starts from.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
        >>> state = sj.init_state(net, (2, 64))
        >>> {path: s.v.shape for path, s in state.items()}
        {'blocks.0.sn': (2, 8), 'head.li': (2, 10)}
        >>> xs = jnp.ones((6, 2, 64))
        >>> a, state = sj.run(net, xs[:4], state)         # the stream in two chunks ...
        >>> b, state = sj.run(net, xs[4:], state)
        >>> bool(jnp.all(jnp.concatenate([a, b]) == net(xs)))   # ... equals one full run
        True
    """
    fn = "init_state"
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    shape = tuple(batch_shape)
    if not shape or not all(isinstance(d, int) and d >= 1 for d in shape):
        raise ValueError(
            f"`{fn}`: `batch_shape` must be the shape of one time step [B, *features] of positive "
            f"ints; got {batch_shape!r}."
        )
    x = jax.ShapeDtypeStruct((1, *shape), dtype or jax.numpy.float32)
    graphdef, variables = nnx.split(model)
    sessions = []

    def probe(variables, x):  # on a copy: a training-mode call may update batch statistics
        copy = nnx.merge(graphdef, variables)
        sessions.append(_Session(copy, None, fn))
        _call(copy, x, sessions[0], kwargs)

    jax.eval_shape(probe, variables, x)
    session = sessions[0]
    layers = {".".join(str(p) for p in path): m for path, m in nnx.iter_modules(model)}
    if not session.shapes:
        raise ValueError(f"`{fn}`: `model` must have at least one spiking layer; it ran none.")
    return {
        path: layers[path].neuron.init_state(step, step_dtype)
        for path, (step, step_dtype) in session.shapes.items()
    }


def run(model: nnx.Module, xs: Any, state: Mapping[str, Any], **kwargs) -> tuple[Any, dict]:
    """Run ``model`` on the time steps ``xs`` starting from ``state``; return the outputs and the
    state after the last step.

    Chunks of a sequence run one after another with the state carried equal one run over the
    whole sequence, bit for bit, as long as the model treats time steps independently outside
    its neurons (time-folded layers, batch norm in evaluation mode) and returns per-step outputs,
    and the backend computes a time step's products the same whatever the number of steps folded
    with it: XLA's library matrix products and convolutions do; on the CPU, products with only a
    few input features (below about 8) use small loops that may round a row differently (by one
    unit in the last place) for another row count.
    ``model(xs)`` equals ``run(model, xs, init_state(model, xs.shape[1:]))[0]``.

    Args:
        model: the model.
        xs: a chunk of time-major input ``[T_chunk, B, *features]`` (``T_chunk >= 1``).
        state: from `init_state` or a previous ``run``.
        **kwargs: passed to the model call.

    Returns:
        ``(outputs, state)``; ``state`` has the keys and structure of the given one.
    """
    fn = "run"
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    if not isinstance(state, Mapping):
        raise TypeError(
            f"`{fn}`: `state` must be the mapping from spikejax.init_state; got "
            f"{type(state).__name__}."
        )
    shape = getattr(xs, "shape", None)
    if shape is None or len(shape) < 1 or shape[0] < 1:
        raise ValueError(
            f"`{fn}`: `xs` must be a chunk of at least one time step [T_chunk >= 1, B, ...]; got "
            f"{'shape ' + str(tuple(shape)) if shape is not None else type(xs).__name__}."
        )
    session = _Session(model, state, fn)
    out = _call(model, xs, session, kwargs)
    unused = sorted(set(state) - set(session.final))
    if unused:
        raise ValueError(
            f"`{fn}`: `state` has entries {unused} for layers that did not run; it must come from "
            "spikejax.init_state of this model."
        )
    return out, session.final
