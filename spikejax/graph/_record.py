"""Recording a forward pass through the graph: what feeds every synaptic node, every spike
tensor, every residual join."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array

from spikejax._pytree import pytree_dataclass, static
from spikejax.graph._nodes import Graph
from spikejax.graph._trace import evaluator, traced

__all__ = ["Recording", "record"]


@pytree_dataclass
class Recording:
    """What one recorded forward pass saw, keyed by node name (see `spikejax.graph.Node`).

    Attributes:
        synapse_inputs: the tensor feeding each synaptic node (linear, convolution), time-major
            ``[T, B, ...]`` (a static input ``[B, ...]``); for an attention node its inputs
            ``Q, K, V`` concatenated along the last axis in float32 (e.g.
            ``[T, B, heads, N, d_q + d_k + d_v]``). A linear layer fed by the mean over time of
            a tensor (a classifier on time-averaged features) records that tensor before the
            mean, time-major: the layer commutes with the mean, and the per-step tensor is what a
            spiking implementation accumulates (the papers' convention).
        spikes: the output of every spiking neuron node, ``[T, B, ...]``; exactly 0 or 1.
        residuals: the output of every join node (residual additions, SEW's AND / IAND).
        outputs: the output of every node named in ``record(..., outputs=...)``, as computed.
        macs: static ``(name, MACs per sample and step)`` of the synaptic nodes, in call order.
        graph: static: the network graph the recording was read through.
    """

    synapse_inputs: dict[str, Array]
    spikes: dict[str, Array]
    residuals: dict[str, Array]
    outputs: dict[str, Array]
    macs: tuple[tuple[str, int], ...] = static(())
    graph: Graph | None = static(None)


def record(
    model: nnx.Module, x: Array, *, outputs: Sequence[str] = (), **kwargs: Any
) -> tuple[Any, Recording]:
    """Run ``model(x, **kwargs)`` and return ``(output, recording)``.

    ``outputs`` names further nodes whose outputs to keep (e.g. the activations of an ANN, for
    calibration); a name that is not a node of the graph is an error that lists the nodes.

    The model's call is traced into a graph (`spikejax.graph.trace`) and the traced
    computation is evaluated on the model's current values, returning the tensors of interest
    alongside the output: the same operations as calling the model, with the same results and the
    same state updates (batch statistics, random counters). Works eagerly and inside ``nnx.jit``,
    ``nnx.grad`` or ``nnx.eval_shape``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import graph, models
        >>> def run(frames):
        ...     return graph.record(models.create("sew_7bnet_dvs128", rngs=nnx.Rngs(0)), frames)
        >>> frames = jax.ShapeDtypeStruct((16, 1, 128, 128, 2), jnp.float32)
        >>> logits, rec = jax.eval_shape(run, frames)
        >>> logits.shape, rec.synapse_inputs["stem.conv"].shape, dict(rec.macs)["stem.conv"]
        ((1, 11), (16, 1, 128, 128, 2), 1048576)
        >>> rec.residuals["stages.0.6.add"].shape, len(rec.spikes)    # 7th block; 15 PLIF layers
        ((16, 1, 2, 2, 32), 15)
    """
    t = traced(model, x, fn="record", call_kwargs=kwargs)
    g = t.graph
    wanted: list[Any] = []
    slots: list[tuple[str, str, int]] = []  # (table, node name, how many vars)
    for node in g:
        io = t.node_vars[node.name]
        if node.kind == "attention":
            chosen = io["in"]
        elif node.kind == "linear" and _after_time_mean(g, node):
            chosen = t.node_vars[node.inputs[0]]["in"][:1]
        elif node.kind in ("linear", "conv"):
            chosen = io["in"][:1]
        elif node.kind == "neuron" and node.attrs.get("spiking") and io["out"] is not None:
            chosen = [io["out"]]
        elif node.kind == "join" and io["out"] is not None:
            chosen = [io["out"]]
        else:
            continue
        table = {"neuron": "spikes", "join": "residuals"}.get(node.kind, "synapse_inputs")
        slots.append((table, node.name, len(chosen)))
        wanted.extend(chosen)
    for name in outputs:
        if name not in t.node_vars or t.node_vars[name]["out"] is None:
            names = ", ".join(n.name for n in g)
            raise ValueError(
                f"`record`: `outputs` must name nodes of the model's graph with an output; got "
                f"{name!r}; the nodes are: {names}."
            )
        slots.append(("outputs", name, 1))
        wanted.append(t.node_vars[name]["out"])
    leaves = jax.tree_util.tree_leaves(nnx.state(model))
    output, new_state, values = evaluator(t, wanted)(leaves, x)
    nnx.update(model, jax.tree_util.tree_unflatten(t.treedef, new_state))
    tables: dict[str, dict[str, Any]] = {
        "synapse_inputs": {},
        "spikes": {},
        "residuals": {},
        "outputs": {},
    }
    position = 0
    for table, name, count in slots:
        got = [_time_major(v, g.T, g.batch) for v in values[position : position + count]]
        position += count
        attention = table == "synapse_inputs" and g[name].kind == "attention"
        tables[table][name] = _concatenated(got) if attention else got[0]
    macs = tuple((n.name, n.macs) for n in g.synaptic)
    return output, Recording(**tables, macs=macs, graph=g)


def _after_time_mean(g: Graph, node: Any) -> bool:
    """The node's one input is a mean over time (a readout node)."""
    if len(node.inputs) != 1 or node.inputs[0] == "input":
        return False
    source = g[node.inputs[0]]
    return source.kind == "readout" and source.op == "mean" and source.attrs["axes"] == (0,)


def _concatenated(parts: list[Array]) -> Array:
    """Attention inputs along their last axis, in float32 (sums of spikes stay exact)."""
    return jnp.concatenate([p.astype(jnp.float32) for p in parts], axis=-1)


def _time_major(value: Array, T: int | None, B: int | None) -> Array:
    """A time-folded ``[T·B, ...]`` tensor as ``[T, B, ...]``; others unchanged."""
    if T is None or value.ndim == 0:
        return value
    if value.ndim >= 2 and tuple(value.shape[:2]) == (T, B):
        return value
    if value.shape[0] == T * B:
        return value.reshape((T, B, *value.shape[1:]))
    return value
