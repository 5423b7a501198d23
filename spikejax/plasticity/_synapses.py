"""Which synapses of a model are plastic, and the spike trains on both of their sides.

`synapses` reads the network graph (`spikejax.graph.trace`) once: every linear or
convolution node whose output drives a spiking neuron node (directly, or through a normalisation
or dropout node) is a synapse whose kernel a local rule can change; the rule needs the tensor
entering the node (presynaptic) and the spikes of that neuron node (postsynaptic). `record`
runs the model and returns exactly those tensors, as an `Activity` keyed by the kernel's
parameter path, which a rule's ``update`` takes as its ``activity`` argument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array

from spikejax._pytree import pytree_dataclass
from spikejax.graph import Graph, Node, path_str, trace
from spikejax.graph import record as graph_record

__all__ = ["Activity", "Synapse", "Synapses", "leaf_path", "record", "synapses"]

# Nodes between a synapse and its neuron that keep one value per postsynaptic neuron.
_PASS_THROUGH = ("norm", "dropout")


@dataclasses.dataclass(frozen=True)
class Synapse:
    """One plastic synapse: a kernel, the node it belongs to and the neuron node it drives.

    Attributes:
        param: the kernel's path in ``nnx.state(model)``, e.g. ``"blocks.0.fc.kernel"``.
        node: the synaptic node (linear or convolution).
        post: the spiking neuron node whose spikes are postsynaptic.
        kind: ``"linear"`` or ``"conv"``.
        pre_shape: one time step of the presynaptic tensor, ``[B, *features]``.
        post_shape: one time step of the postsynaptic spikes, ``[B, *neurons]``.
        kernel_shape: the kernel's shape.
        apply: ``apply(kernel, x) -> y``: the node's operation without its bias on a batch of
            steps ``x`` ``[N, *features]`` (linear in ``kernel`` and in ``x``); a rule correlates
            pre- and postsynaptic terms through its transpose.
    """

    param: str
    node: str
    post: str
    kind: str
    pre_shape: tuple[int, ...]
    post_shape: tuple[int, ...]
    kernel_shape: tuple[int, ...]
    apply: Callable[[Array, Array], Array] = dataclasses.field(compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class Synapses:
    """The plastic synapses of a model, by kernel path (what `synapses` returns).

    Attributes:
        items: ``{kernel path: Synapse}`` in call order.
        T: time steps of the example the graph was traced on.
    """

    items: Mapping[str, Synapse]
    T: int

    def __getitem__(self, param: str) -> Synapse:
        return self.items[param]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, param: object) -> bool:
        return param in self.items


@pytree_dataclass
class Activity:
    """Pre- and postsynaptic spike trains of each plastic synapse, by kernel path.

    Attributes:
        pre: ``{kernel path: [T, B, *features]}``: the tensor entering the synaptic node.
        post: ``{kernel path: [T, B, *neurons]}``: the spikes of its postsynaptic neuron node.
    """

    pre: dict[str, Array]
    post: dict[str, Array]


def leaf_path(path: Any) -> str:
    """The dotted path of a parameter leaf, e.g. ``"blocks.0.fc.kernel"``, for a key path of
    ``nnx.state(model)`` (whose leaves end in ``.value``) or of its pure dict."""
    text = path_str(path)
    return text[: -len(".value")] if text.endswith(".value") else text


def _post_neuron(graph: Graph, node: Node) -> Node | None:
    """The spiking neuron node that ``node`` drives through value-preserving nodes, if any."""
    current = node
    while True:
        consumers = [n for n in graph if current.name in n.inputs]
        if len(consumers) != 1:
            return None
        nxt = consumers[0]
        if nxt.kind == "neuron":
            ok = nxt.attrs.get("spiking") and nxt.out_shape == node.out_shape
            return nxt if ok else None
        if nxt.kind not in _PASS_THROUGH or nxt.out_shape != node.out_shape:
            return None
        current = nxt


def _module_apply(module: nnx.Module, name: str) -> Callable[[Array, Array], Array]:
    """``apply(kernel, x)``: ``module`` with ``kernel`` as its parameter ``name`` and every other
    parameter (the bias) zero."""
    graphdef, state = nnx.split(module)
    pure = nnx.to_pure_dict(state)
    params = nnx.to_pure_dict(nnx.state(module, nnx.Param))

    def apply(kernel: Array, x: Array) -> Array:
        values = dict(pure)
        for key, value in params.items():
            if key != name:
                values[key] = jnp.zeros_like(value)
        values[name] = kernel
        copy = nnx.State(state)
        nnx.replace_by_pure_dict(copy, values)
        return nnx.merge(graphdef, copy)(x)

    return apply


def synapses(model: nnx.Module, example: Array, *, params: Sequence[str] | None = None) -> Synapses:
    """The plastic synapses of ``model``, found in its graph traced on ``example``.

    Args:
        model: any spikejax/NNX model whose synaptic nodes (linear, convolution) drive spiking
            neurons.
        example: a time-major input ``[T, B, ...]`` of the shape the rules will see (the traces
            held by a rule's state have this batch size).
        params: kernel paths to make plastic, e.g. ``("blocks.0.fc.kernel",)``; default: every
            kernel of a synapse that drives spiking neurons.

    Raises:
        ValueError: ``params`` is empty, or names a parameter that has no pre- and postsynaptic
            spikes to record (not a kernel of a linear or convolution node, or one whose node
            does not drive spiking neurons); the message names the path.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
        >>> syn = sj.plasticity.synapses(net, jnp.zeros((4, 2, 64)))
        >>> list(syn), syn["blocks.0.fc.kernel"].post
        (['blocks.0.fc.kernel'], 'blocks.0.sn')
    """
    fn = "plasticity.synapses"
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    if params is not None and (isinstance(params, str) or len(params) == 0):
        raise ValueError(
            f"`{fn}`: `params` must be a non-empty sequence of kernel paths (or None for all); "
            f"got {params!r}."
        )
    graph = trace(model, example)
    if graph.T is None:
        raise ValueError(f"`{fn}`: `model` must have spiking neurons; its graph has none.")
    modules = {path_str(p): m for p, m in nnx.iter_modules(model)}
    shapes = {
        leaf_path(p): tuple(v.shape)
        for p, v in jax.tree_util.tree_leaves_with_path(nnx.state(model, nnx.Param))
    }
    found: dict[str, Synapse] = {}
    why: dict[str, str] = {}
    for node in graph.of_kind("linear", "conv"):
        kernels = [p for p in node.param_paths if p.endswith(".kernel") and p in shapes]
        if node.path is None or len(kernels) != 1:
            continue
        post = _post_neuron(graph, node)
        if post is None or node.static:
            why[kernels[0]] = (
                f"its node `{node.name}` does not drive spiking neurons over time steps"
            )
            continue
        found[kernels[0]] = Synapse(
            param=kernels[0],
            node=node.name,
            post=post.name,
            kind=node.kind,
            pre_shape=tuple(node.in_shapes[0][1:]),
            post_shape=tuple(post.out_shape[1:]),
            kernel_shape=shapes[kernels[0]],
            apply=_module_apply(modules[node.path], kernels[0].rsplit(".", 1)[1]),
        )
    if params is None:
        if not found:
            raise ValueError(
                f"`{fn}`: `model` must have a linear or convolution node driving spiking "
                "neurons; it has none."
            )
        return Synapses(found, graph.T)
    chosen = {}
    for path in params:
        if path not in found:
            reason = why.get(path, "it is not the kernel of a linear or convolution node")
            raise ValueError(
                f"`{fn}`: parameter `{path}` has no recorded pre- and postsynaptic spikes: "
                f"{reason}. Plastic kernels of this model: {sorted(found)}."
            )
        chosen[path] = found[path]
    return Synapses(chosen, graph.T)


def record(model: nnx.Module, xs: Array, synapses: Synapses, **kwargs: Any) -> tuple[Any, Activity]:
    """Run ``model(xs, **kwargs)`` and return ``(output, activity)`` for ``synapses``.

    The same computation as calling the model (`spikejax.graph.record`); works eagerly and
    inside ``jit``/``grad``.
    """
    if not isinstance(synapses, Synapses):
        raise TypeError(
            f"`plasticity.record`: `synapses` must come from spikejax.plasticity.synapses; got "
            f"{type(synapses).__name__}."
        )
    out, rec = graph_record(model, xs, **kwargs)
    return out, activity(rec, synapses)


def activity(recording: Any, synapses: Synapses) -> Activity:
    """The `Activity` of ``synapses`` read from a `spikejax.graph.Recording`."""
    pre, post = {}, {}
    for path, syn in synapses.items.items():
        if syn.node not in recording.synapse_inputs or syn.post not in recording.spikes:
            raise ValueError(
                f"`plasticity.activity`: parameter `{path}` has no recorded traces: the recording "
                f"lacks node `{syn.node}` or `{syn.post}`."
            )
        pre[path] = recording.synapse_inputs[syn.node]
        post[path] = recording.spikes[syn.post]
    return Activity(pre, post)
