"""``Spiking``: an NNX layer that holds a neuron's parameters and runs it over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float

from spikejax._stream import carried_state, finish
from spikejax._unroll import check_backend, check_positive_int, check_remat, unroll
from spikejax.neurons import AbstractNeuron

__all__ = ["Fixed", "Spiking", "leaf_name"]

TimeMajor = Float[Array, "time ..."]  # [T, *batch, *neurons]


class Fixed(nnx.Variable):
    """A neuron parameter that is held fixed during training.

    ``nnx.state(model, nnx.Param)`` leaves it out (no gradient, no optimizer state), while
    ``nnx.state(model)`` keeps it, so a chip target still sees and quantizes it.
    """


def leaf_name(path: tuple[Any, ...]) -> str:
    """The dotted name of a neuron leaf from its key path, e.g. ``"neuron.beta"``."""
    parts = []
    for key in path:
        if isinstance(key, jax.tree_util.GetAttrKey):
            parts.append(key.name)
        elif isinstance(key, jax.tree_util.SequenceKey):
            parts.append(str(key.idx))
        elif isinstance(key, jax.tree_util.DictKey):
            parts.append(str(key.key))
        else:
            parts.append(str(key))
    return ".".join(parts)


def _is_variable(x: Any) -> bool:
    return isinstance(x, nnx.Variable)


class Spiking(nnx.Module):
    """A layer of spiking neurons: the parameters of ``neuron`` as NNX variables, run by ``unroll``.

    The neuron's array leaves are stored under ``params`` in the neuron's own tree structure:
    leaves named in ``trainable`` as ``nnx.Param``, every other leaf as `Fixed`. The static
    parts of the neuron (reset mode, surrogate, ...) stay in the tree definition; they are never
    variables. So ``nnx.state(model, nnx.Param)`` holds exactly the trainable numbers and
    ``nnx.state(model)`` every number of the neuron.

    Each call rebuilds the neuron from the current variable values, starts it from rest,
    ``neuron.init_state(xs.shape[1:], xs.dtype)``, and runs `spikejax.unroll` over the
    leading time axis. Nothing is carried from one call to the next: there is no hidden state to
    reset.

    **Training keeps parameters valid only with a projection.** A gradient step may move a
    trainable leaf out of the interval its neuron class declares (``bounds``: a decay ``β``
    outside ``[0, 1]``, a threshold ``θ <= 0``); nothing in the forward pass repairs that. A
    training loop of one's own therefore calls `spikejax.layers.project_params` after each
    update, inside the jitted step::

        @nnx.jit
        def train_step(model, optimizer, xs, ys):
            grads = nnx.grad(loss_fn)(model, xs, ys)
            optimizer.update(model, grads)
            sj.layers.project_params(model)   # every trainable β back in [0, 1], θ > 0

    ``spikejax.train`` does this in its own step, and refuses a checkpoint whose neuron
    parameters are out of range (`spikejax.layers.check_params`).

    Args:
        neuron: any spikejax neuron (an instance of ``spikejax.neurons.AbstractNeuron``). Its
            parameters may be scalars or per-neuron arrays.
        trainable: names of the leaves to train. Default: the neuron class's ``trainable``
            attribute. Leaves of nested neurons are named by their dotted path, e.g.
            ``"neuron.beta"``.
        remat: checkpointed BPTT, passed to `spikejax.unroll`.
        unroll: scan steps unrolled per loop iteration, passed to `spikejax.unroll`.
        backend: ``"auto"``, ``"scan"``, ``"scan_vjp"`` or ``"pallas"``, passed to
            `spikejax.unroll`.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> layer = layers.Spiking(sj.neurons.LIF(beta=jnp.full((2,), 0.9)), trainable=("beta",))
        >>> layer(jnp.full((4, 1, 2), 0.4))[:, 0, 0]          # [T, batch, neurons]
        Array([0., 0., 1., 0.], dtype=float32)
        >>> sorted(nnx.state(layer, nnx.Param)["params"].keys())
        ['beta']
        >>> sorted(nnx.state(layer)["params"].keys())
        ['beta', 'threshold']
    """

    def __init__(
        self,
        neuron: AbstractNeuron,
        *,
        trainable: Sequence[str] | None = None,
        remat: bool | int = False,
        unroll: int = 1,
        backend: str = "auto",
    ):
        if not isinstance(neuron, AbstractNeuron):
            raise TypeError(
                "`Spiking`: `neuron` must be a spikejax neuron (an instance of "
                f"spikejax.neurons.AbstractNeuron); got {neuron!r}."
            )
        if trainable is None:
            trainable = neuron.trainable
        if isinstance(trainable, str) or not isinstance(trainable, Sequence):
            raise TypeError(
                "`Spiking`: `trainable` must be a tuple of leaf names, e.g. ('beta',); "
                f"got {trainable!r}."
            )
        for name in trainable:
            if not isinstance(name, str):
                raise TypeError(
                    f"`Spiking`: `trainable` must contain leaf names (str); got {name!r}."
                )
        check_remat("Spiking", remat)
        check_positive_int("Spiking", "unroll", unroll)
        check_backend("Spiking", backend)

        paths_leaves, treedef = jax.tree_util.tree_flatten_with_path(neuron)
        names = [leaf_name(path) for path, _ in paths_leaves]
        unknown = [name for name in trainable if name not in names]
        if unknown:
            raise ValueError(
                f"`Spiking`: `trainable` must name leaves of {type(neuron).__name__}, one of "
                f"{tuple(names)}; got unknown {tuple(unknown)}."
            )
        variables = []
        for name, (_, leaf) in zip(names, paths_leaves, strict=True):
            if not isinstance(leaf, jax.Array | np.ndarray | np.generic):
                raise TypeError(
                    f"`Spiking`: every leaf of `neuron` must be an array; leaf `{name}` is "
                    f"{leaf!r}."
                )
            leaf = jnp.asarray(leaf)
            if name in trainable:
                if not jnp.issubdtype(leaf.dtype, jnp.floating):
                    raise TypeError(
                        f"`Spiking`: trainable leaf `{name}` must have a floating dtype; "
                        f"got {leaf.dtype}."
                    )
                variables.append(nnx.Param(leaf))
            else:
                variables.append(Fixed(leaf))
        self.params = nnx.data(jax.tree_util.tree_unflatten(treedef, variables))
        self.trainable = tuple(trainable)
        self.remat = remat
        self.unroll = unroll
        self.backend = backend

    @property
    def neuron(self) -> AbstractNeuron:
        """The neuron with the current values of the variables (a plain pytree, no variables)."""
        return jax.tree_util.tree_map(lambda v: v[...], self.params, is_leaf=_is_variable)

    def __call__(self, xs: TimeMajor) -> TimeMajor:
        """Run the neuron over ``xs`` (time-major ``[T, *batch, *neurons]``): from rest, or, inside
        `spikejax.run`, from this layer's entry of the state given there (its final state
        is handed back to ``run``; the layer itself keeps nothing).

        Returns:
            The neuron's outputs (spikes or readout) for every step, ``[T, *batch, *neurons]``.
        """
        if not hasattr(xs, "shape") or not hasattr(xs, "dtype"):
            raise TypeError(
                f"`Spiking`: `xs` must be an array [T, *batch, *neurons]; got {type(xs).__name__}."
            )
        neuron = self.neuron
        if xs.ndim >= 1 and xs.shape[0] >= 1 and jnp.issubdtype(xs.dtype, jnp.floating):
            _check_step(neuron, xs)
        streaming, state0 = carried_state(self, tuple(xs.shape[1:]), xs.dtype)
        if state0 is None:
            state0 = neuron.init_state(tuple(xs.shape[1:]), xs.dtype)
        final, outputs = unroll(
            neuron, state0, xs, remat=self.remat, unroll=self.unroll, backend=self.backend
        )
        if streaming:
            finish(self, final)
        return outputs


def _check_step(neuron: AbstractNeuron, xs: Any) -> None:
    """Trace one step abstractly, so that a shape mismatch between ``xs`` and the neuron's
    parameters is reported by name instead of from deep inside ``lax.scan``."""
    abstract = jax.tree_util.tree_map(
        lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype), neuron
    )
    x = jax.ShapeDtypeStruct(tuple(xs.shape[1:]), xs.dtype)

    def one_step(neuron, x):
        return neuron.step(neuron.init_state(x.shape, x.dtype), x)

    try:
        jax.eval_shape(one_step, abstract, x)
    except (ValueError, TypeError) as error:
        shapes = ", ".join(
            f"{leaf_name(path)} {tuple(leaf.shape)}"
            for path, leaf in jax.tree_util.tree_leaves_with_path(neuron)
        )
        raise ValueError(
            f"`Spiking`: `xs` must be time-major [T, *batch, *neurons] with a step shape that the "
            f"neuron's parameters ({shapes}) broadcast against; got shape {tuple(xs.shape)} "
            f"({error})."
        ) from error
