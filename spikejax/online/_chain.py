"""The networks online learning runs on: a chain of ``nnx.Linear`` and ``Spiking`` layers.

Online methods run a model one time step at a time and keep, per layer, traces whose meaning
depends on the layer (a presynaptic trace for OTTT, eligibility vectors for e-prop). They read
the model's network graph (`spikejax.graph.trace`) and accept a model whose nodes form a
single chain ``input → … → output`` in which every node is a dense ``Linear`` layer or a
`spikejax.layers.Spiking` layer of element-wise neurons (each neuron's state depends only
on its own input current: no recurrent wrappers) with floating state of the step's shape. Any
other node is refused by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from spikejax.graph import trace
from spikejax.layers import SeqBatchNorm, Spiking

__all__ = ["Chain", "Link", "batch_norm_layers", "chain_of", "refuse_batch_statistics"]


@dataclasses.dataclass(frozen=True)
class Link:
    """One node of the chain.

    Attributes:
        path: the module's dotted path in the model (also its key in ``sj.init_state``).
        kind: ``"linear"`` or ``"neuron"``.
        feeds_neuron: for a linear node: the path of the spiking layer it feeds directly, or
            ``None`` (a memoryless readout or a linear layer followed by another linear one).
        op: the class name (``"Linear"``, ``"LIF"``, ...).
    """

    path: str
    kind: str
    op: str
    feeds_neuron: str | None = None


@dataclasses.dataclass(frozen=True)
class Chain:
    """The model's layers in call order, and the step shapes of its neuron layers."""

    links: tuple[Link, ...]

    @property
    def neurons(self) -> tuple[str, ...]:
        return tuple(link.path for link in self.links if link.kind == "neuron")


def modules_by_path(model: nnx.Module) -> dict[str, nnx.Module]:
    """Every submodule of ``model`` by its dotted path."""
    return {".".join(str(p) for p in path): m for path, m in nnx.iter_modules(model)}


def batch_norm_layers(model: nnx.Module) -> dict[str, tuple[str, bool]]:
    """Every batch-norm layer of ``model`` by dotted path (the outermost: a `SeqBatchNorm`, not the
    ``nnx.BatchNorm`` inside it): ``(class name, in training mode)``."""
    found = {}
    for path, module in modules_by_path(model).items():
        if isinstance(module, SeqBatchNorm):
            found[path] = (type(module).__name__, not module.norm.use_running_average)
        elif isinstance(module, nnx.BatchNorm):
            found[path] = (type(module).__name__, not module.use_running_average)
    return {
        path: v
        for path, v in found.items()
        if not any(path.startswith(other + ".") for other in found if other != path)
    }


def refuse_batch_statistics(fn: str, model: nnx.Module, what: str, *, training: bool) -> None:
    """``ValueError`` naming the first batch-norm layer of ``model`` that normalises with batch
    statistics: every one with ``training`` (the model will be trained in training mode),
    otherwise those in training mode now. ``what`` names the method in the message."""
    for path, (name, train_mode) in batch_norm_layers(model).items():
        if training or train_mode:
            raise ValueError(
                f"`{fn}`: layer `{path}` ({name}) normalises with batch statistics "
                f"{'when trained' if training else 'in training mode'}: its mean and variance "
                f"are taken over all T·B samples of a sequence, which {what} does not see at "
                "once (it runs the sequence step by step or in windows); remove the batch norm "
                "or train with gradient 'bptt'."
            )


def chain_of(fn: str, model: nnx.Module, example: Any) -> Chain:
    """Check that ``model`` is a chain of ``Linear`` and element-wise ``Spiking`` layers on the
    time-major ``example`` input, and return it; otherwise ``ValueError`` naming the first node
    that is not supported."""
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    refuse_batch_statistics(fn, model, "an online method", training=False)
    graph = trace(model, example)
    modules = modules_by_path(model)
    rule = (
        "online methods support a chain of nnx.Linear and Spiking layers of element-wise "
        "neurons (e.g. the zoo's lif_mlp without dropout)"
    )
    links: list[Link] = []
    previous = "input"
    for node in graph:
        module = modules.get(node.path) if node.path is not None else None
        if node.kind == "linear" and isinstance(module, nnx.Linear):
            kind = "linear"
        elif node.kind == "neuron" and isinstance(module, Spiking) and not node.recurrent:
            kind = "neuron"
        else:
            raise ValueError(
                f"`{fn}`: layer `{node.name}` ({node.op}, kind {node.kind!r}"
                f"{', recurrent' if node.recurrent else ''}) is not supported; {rule}."
            )
        if node.inputs != (previous,):
            raise ValueError(
                f"`{fn}`: layer `{node.name}` ({node.op}) reads {list(node.inputs)}, not only the "
                f"layer before it (`{previous}`); {rule} without skip connections."
            )
        if kind == "neuron":
            _check_neuron(fn, node.name, module, node.in_shapes[0][1:], example.dtype)
        links.append(Link(node.path, kind, node.op))
        previous = node.name
    if not any(link.kind == "neuron" for link in links):
        raise ValueError(f"`{fn}`: `model` must have at least one Spiking layer; it has none.")
    for i, link in enumerate(links):
        if link.kind == "linear" and i + 1 < len(links) and links[i + 1].kind == "neuron":
            links[i] = dataclasses.replace(link, feeds_neuron=links[i + 1].path)
    return Chain(tuple(links))


def _check_neuron(fn: str, name: str, layer: Spiking, step: tuple, dtype: Any) -> None:
    neuron = layer.neuron
    state = jax.eval_shape(lambda: neuron.init_state(tuple(step), dtype))
    for leaf in jax.tree_util.tree_leaves(state):
        if tuple(leaf.shape) != tuple(step) or not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise ValueError(
                f"`{fn}`: layer `{name}` ({type(neuron).__name__}) is not supported: online "
                f"methods need element-wise neurons whose state leaves are floating arrays of "
                f"the step shape {tuple(step)}; it has a leaf {leaf.dtype}{list(leaf.shape)}."
            )
