"""``trace(model, example_input) -> Graph``: the network as it executes, from one abstract call."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.extend.core as jex
from flax import nnx

from spikejax.graph._intercept import intercept
from spikejax.graph._nodes import Graph
from spikejax.graph._walk import UnclassifiedError, Variable, Walk

__all__ = ["Traced", "evaluator", "path_str", "trace", "traced"]

_CONTROL_FLOW = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerBoolConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
)


def path_str(path: Any) -> str:
    """A pytree or NNX path as a dotted string, e.g. ``blocks.0.fc.kernel``: the names of graph
    nodes and of the leaves of ``nnx.state(model)`` everywhere in spikejax.

    Example:
        >>> from flax import nnx
        >>> from spikejax import graph
        >>> net = nnx.Sequential(nnx.Linear(1, 1, rngs=nnx.Rngs(0)))
        >>> [graph.path_str(p) for p, _ in nnx.iter_modules(net)]
        ['layers.0', 'layers', '']
    """
    parts = []
    for key in path:
        for attr in ("key", "name", "idx"):
            if hasattr(key, attr):
                key = getattr(key, attr)
                break
        parts.append(str(key))
    return ".".join(parts)


def _is_variable(x: Any) -> bool:
    return isinstance(x, nnx.Variable)


@dataclasses.dataclass(frozen=True)
class Traced:
    """A graph with the jaxpr it was read from, to evaluate selected tensors of a real run."""

    graph: Graph
    closed: Any  # the ClosedJaxpr of (state leaves, x) -> (outputs, state leaves after the call)
    node_vars: dict[str, dict[str, Any]]
    treedef: Any  # of the model's state leaves
    out_tree: Any  # of the model's output
    n_out: int  # number of output leaves (the rest of the jaxpr's outputs are the new state)


def _check_input(fn: str, x: Any) -> jax.ShapeDtypeStruct:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(
            f"`{fn}`: `example_input` must be an array or jax.ShapeDtypeStruct; got "
            f"{type(x).__name__}."
        )
    if len(x.shape) < 2:
        raise ValueError(
            f"`{fn}`: `example_input` must have a batch axis: time-major [T, B, *features], or "
            f"[B, *features] for a static input; got shape {tuple(x.shape)}."
        )
    return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype)


def traced(
    model: nnx.Module, example_input: Any, *, fn: str = "trace", call_kwargs: dict | None = None
) -> Traced:
    """`trace`, keeping the jaxpr (for `spikejax.graph.record`)."""
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    x = _check_input(fn, example_input)
    graphdef, state = nnx.split(model)
    leaves, treedef = jax.tree_util.tree_flatten(state)
    typed = jax.tree_util.tree_flatten_with_path(state, is_leaf=_is_variable)[0]
    abstract = [jax.ShapeDtypeStruct(tuple(v.shape), v.dtype) for v in leaves]
    out_tree: list[Any] = []

    def run(values: list, x: Any) -> Any:
        module = nnx.merge(graphdef, jax.tree_util.tree_unflatten(treedef, values))
        session.paths.update({id(m): path_str(p) for p, m in nnx.iter_modules(module)})
        out = module(x, **(call_kwargs or {}))
        flat, tree = jax.tree_util.tree_flatten(out)
        out_tree.append(tree)
        # The state after the call (batch statistics, random counters) is an output too, so that
        # evaluating the jaxpr updates a model exactly as calling it does.
        return flat + jax.tree_util.tree_leaves(nnx.state(module))

    with intercept(model, {}) as session:
        try:
            closed = jax.make_jaxpr(run)(abstract, x)
        except _CONTROL_FLOW as error:
            raise ValueError(
                f"`{fn}`: {_where(session, error)} uses Python control flow on a traced value "
                f"(an `if`, `int()` or `bool()` of an array) with an example input of shape "
                f"{x.shape}; a network graph must not depend on the data: use jnp.where or "
                "jax.lax.cond, or make the value static."
            ) from error
        except Exception as error:
            raise ValueError(
                f"`{fn}`: calling the model failed in {_where(session, error)} with an example "
                f"input of shape {x.shape} and dtype {x.dtype}: {type(error).__name__}: {error}"
            ) from error
    variables = {}
    for var, (path, variable) in zip(closed.jaxpr.invars[: len(leaves)], typed, strict=True):
        trainable = isinstance(variable, nnx.Param)
        variables[var] = Variable(path_str(path), trainable, math.prod(variable.shape))
    n_out = out_tree[0].num_leaves
    x_var = closed.jaxpr.invars[len(leaves)]
    walk = Walk(closed.jaxpr, closed.jaxpr.outvars[:n_out], session.calls, variables, x_var)
    try:
        walk.run()
    except UnclassifiedError as error:
        raise ValueError(str(error).replace("`trace`", f"`{fn}`", 1)) from None
    nodes = walk.nodes()
    names = {i: node.name for i, node in enumerate(nodes)}
    graph = Graph(
        nodes=nodes,
        input_shape=tuple(x.shape),
        output_shapes=tuple(tuple(v.aval.shape) for v in closed.jaxpr.outvars[:n_out]),
        outputs=walk.outputs(names),
        T=walk.T,
        batch=walk.B if walk.T is not None else None,
        params=sum(v.size for v in variables.values() if v.trainable),
    )
    return Traced(graph, closed, walk.vars_of(), treedef, out_tree[0], n_out)


def _where(session: Any, error: BaseException) -> str:
    index = session.failed_in.get(id(error))
    if index is None:
        return "the model's own code"
    call = session.calls[index]
    return f"module `{call.path or '<root>'}` ({type(call.module).__name__})"


def trace(model: nnx.Module, example_input: Any) -> Graph:
    """The network ``model`` as it executes on ``example_input``: a `Graph`.

    The call runs abstractly (``jax.make_jaxpr`` on shapes: no weights are copied and nothing is
    computed). Every module call and every operation it emits is seen: ``nnx.Linear``,
    ``nnx.Conv``, normalisation, dropout and `spikejax.layers.Spiking` calls become nodes
    named by their path in ``nnx.state(model)``; the operations of modules' own code become
    pooling (``reduce_window`` of ``nnx.max_pool``/``nnx.avg_pool``, global means), reshape
    (flatten), residual join (``add``, SEW's AND), activation (``relu``, ...) and readout (a
    reduction over time) nodes; layout operations (time folding, transposes, casts) pass data
    through. Edges follow the data, so skip connections are edges of their own; a recurrent
    neuron has a self-edge. MACs per sample and step are counted from the products and
    convolutions each node executes (`spikejax.graph.costs`). A layer that executes nothing
    on this call (dropout in evaluation mode) is not a node.

    Args:
        model: any NNX module (a model of `spikejax.models` or the user's own).
        example_input: an array or ``jax.ShapeDtypeStruct`` of the model's input, time-major
            ``[T, B, *features]`` (or ``[B, *features]`` for a static input). Time-major and
            time-folded tensors are told apart by their leading sizes, so choose a batch size
            ``B >= 2`` different from ``T`` (with ``B = 1``, ``[T, 1, 1, C]`` could be either).

    Returns:
        The `Graph`; ``print(graph)`` shows a per-layer table.

    Raises:
        ValueError: the call fails (names the module and the example's shape), branches in
            Python on a traced value, or a module's own code computes something no node kind
            describes (declare it with `spikejax.graph.AbstractNode`).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> class Net(nnx.Module):
        ...     def __init__(self, rngs):
        ...         self.fc = layers.TimeFolded(nnx.Linear(4, 3, rngs=rngs))
        ...         self.lif = layers.Spiking(sj.neurons.LIF(beta=0.9))
        ...     def __call__(self, x):
        ...         return self.lif(self.fc(x)).sum(0)
        >>> graph = sj.graph.trace(Net(nnx.Rngs(0)), jnp.ones((5, 2, 4)))
        >>> [(n.name, n.kind, n.inputs, n.macs) for n in graph]
        [('fc.module', 'linear', ('input',), 12), ('lif', 'neuron', ('fc.module',), 0),
         ('sum', 'readout', ('lif',), 0)]
        >>> graph["fc.module"].params, graph["lif"].param_paths
        (15, ('lif.params.beta', 'lif.params.threshold'))
    """
    return traced(model, example_input).graph


def evaluator(t: Traced, wanted: list[Any]) -> Callable[..., tuple[Any, list, list]]:
    """``(state leaves, x) -> (outputs, state leaves after the call, values of wanted vars)``: the
    traced jaxpr, also returning the values of ``wanted`` variables."""
    closed = t.closed
    outs = list(closed.jaxpr.outvars)
    run = jex.jaxpr_as_fun(
        jex.ClosedJaxpr(closed.jaxpr.replace(outvars=outs + wanted), closed.consts)
    )

    def evaluate(leaves: list, x: Any) -> tuple[Any, list, list]:
        values = run(*leaves, x)
        output = jax.tree_util.tree_unflatten(t.out_tree, values[: t.n_out])
        return output, list(values[t.n_out : len(outs)]), list(values[len(outs) :])

    return evaluate
