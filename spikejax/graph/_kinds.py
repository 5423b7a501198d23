"""Which module classes are nodes, and what each kind of node records about itself."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
from flax import nnx

from spikejax.graph._nodes import KINDS, NodeSpec
from spikejax.graph._protocol import AbstractNode
from spikejax.layers import SeqBatchNorm, SeqDropout, Spiking
from spikejax.neurons import AbstractNeuron, Recurrent

__all__ = ["module_spec", "neuron_attrs"]

_NORMS = (nnx.BatchNorm, nnx.LayerNorm, nnx.RMSNorm, nnx.GroupNorm, SeqBatchNorm)
_DROPOUTS = (nnx.Dropout, SeqDropout)


def _is_variable(x: Any) -> bool:
    return isinstance(x, nnx.Variable)


def neuron_attrs(layer: Spiking, path: str | None) -> dict[str, Any]:
    """A spiking layer's neuron: class, static settings and the state path of every leaf."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(layer.params, is_leaf=_is_variable)
    neuron = jax.tree_util.tree_unflatten(treedef, [None] * len(leaves))
    prefix = f"{path}.params" if path else "params"
    names = {}
    for leaf_path, _ in leaves:
        name = ".".join(str(getattr(k, "name", getattr(k, "idx", k))) for k in leaf_path)
        names[name] = f"{prefix}.{name}"
    settings = {}
    if dataclasses.is_dataclass(neuron):
        for field in dataclasses.fields(neuron):
            if field.metadata.get("static", False):
                value = getattr(neuron, field.name)
                settings[field.name] = getattr(value, "value", value)
    return {
        "neuron": type(neuron).__name__,
        "neuron_class": type(neuron),
        "spiking": bool(type(neuron).spiking),
        "leaves": names,
        "settings": settings,
    }


def module_spec(module: nnx.Module, path: str | None) -> tuple[NodeSpec, str] | None:
    """``(spec, op)`` for a module that is a node; ``None`` for a container."""
    if isinstance(module, AbstractNode):
        spec = module.graph_node()
        if not isinstance(spec, NodeSpec) or spec.kind not in KINDS:
            raise TypeError(
                f"`trace`: `{type(module).__name__}.graph_node()` must return a "
                f"spikejax.graph.NodeSpec whose kind is one of {KINDS}; got {spec!r}."
            )
        return spec, type(module).__name__
    if isinstance(module, nnx.Linear):
        attrs = {
            "in_features": module.in_features,
            "out_features": module.out_features,
            "use_bias": module.bias is not None,
        }
        return NodeSpec("linear", attrs), "Linear"
    if isinstance(module, nnx.Conv):
        attrs = {"use_bias": module.bias is not None}
        return NodeSpec("conv", attrs), type(module).__name__
    if isinstance(module, _NORMS):
        return NodeSpec("norm"), type(module).__name__
    if isinstance(module, _DROPOUTS):
        inner = module.dropout if isinstance(module, SeqDropout) else module
        return NodeSpec("dropout", {"rate": float(inner.rate)}), type(module).__name__
    if isinstance(module, Spiking):
        attrs = neuron_attrs(module, path)
        return NodeSpec("neuron", attrs), attrs["neuron"]
    return None


def is_recurrent(attrs: dict[str, Any]) -> bool:
    """A neuron node whose neuron feeds its spikes back (``spikejax.neurons.Recurrent``)."""
    cls = attrs.get("neuron_class")
    return isinstance(cls, type) and issubclass(cls, AbstractNeuron) and issubclass(cls, Recurrent)
