"""The synaptic layers of a network graph (their geometry) and the reductions that run on the
device: per step and sample, the sum of every layer input, its extremes, and its synaptic event
count; the sum of every spike tensor.

A recurrent spiking node (`spikejax.neurons.Recurrent`: ``x'_t = x_t + s_{t-1} W``) holds a
synaptic layer of its own, the feedback product: an all-to-all linear layer whose input is the
node's own spikes one step late (zero at the first step)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array

from spikejax.graph import SYNAPTIC, Node, Recording, record

__all__ = [
    "Attention",
    "Conv",
    "Layer",
    "Linear",
    "delayed",
    "input_shape",
    "layers_of",
    "run_stats",
    "stats_of",
]

# ------------------------------------------------------------------------------ geometry


@dataclasses.dataclass(frozen=True)
class Conv:
    """A convolution's geometry: what its event count needs (``fan_out = C_out / groups``)."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str | tuple[tuple[int, int], ...]
    input_dilation: tuple[int, ...]
    kernel_dilation: tuple[int, ...]
    fan_out: int  # C_out / groups


@dataclasses.dataclass(frozen=True)
class Linear:
    """A linear layer: every input reaches ``fan_out = out_features`` outputs."""

    fan_out: int


@dataclasses.dataclass(frozen=True)
class Attention:
    """The two products of a spiking self-attention block: their order and the value width."""

    order: str
    d_v: int


@dataclasses.dataclass(frozen=True)
class Layer:
    """A recorded synaptic layer: its key, geometry and whether its input has a time axis.

    ``feedback`` names the recurrent spiking node whose delayed spikes are this layer's input (its
    key is then ``"<node>.recurrent"``); ``macs`` are its dense MACs per sample and step.
    """

    name: str
    geometry: Conv | Linear | Attention
    static: bool  # the input has no time axis (a first layer run once on a static image)
    feedback: str | None = None
    macs: int = 0

    @property
    def kind(self) -> str:
        """``"conv"``, ``"linear"``, ``"attention"`` or ``"recurrent"``."""
        if self.feedback is not None:
            return "recurrent"
        return {Conv: "conv", Linear: "linear", Attention: "attention"}[type(self.geometry)]


def _geometry(node: Node) -> Conv | Linear | Attention:
    a = node.attrs
    if node.kind == "conv":
        return Conv(
            kernel=tuple(a["kernel"]),
            strides=tuple(a["strides"]),
            padding=tuple(tuple(p) for p in a["padding"]),
            input_dilation=tuple(a["input_dilation"]),
            kernel_dilation=tuple(a["kernel_dilation"]),
            fan_out=a["out_channels"] // a["groups"],
        )
    if node.kind == "linear":
        return Linear(a["out_features"])
    return Attention(a["order"], node.in_shapes[-1][-1])


def layers_of(fn: str, recording: Recording) -> tuple[Layer, ...]:
    """Every synaptic node of the recording's graph in call order, with the geometry its event
    count needs.

    A node whose recorded input has no time axis (a first convolution run once on a static image)
    is static; a classifier on time-mean features is recorded before the mean (see
    `spikejax.graph.Recording`) and counted per step.
    """
    graph = recording.graph
    nodes = graph.synaptic
    if not nodes:
        raise ValueError(
            f"`{fn}`: `model` must have at least one synaptic layer (nnx.Linear, nnx.Conv, or a "
            "spikejax.graph.AbstractNode of kind 'attention'); its graph has none: "
            f"{[n.name for n in graph]}."
        )
    for node in nodes:
        if node.kind == "attention" and (
            node.attrs.get("order") not in ("qk_v", "q_kv") or len(node.in_shapes) != 3
        ):
            raise ValueError(
                f"`{fn}`: attention node `{node.name}` must declare attrs order='qk_v' or "
                f"'q_kv' and take (Q, K, V); got attrs {dict(node.attrs)} and "
                f"{len(node.in_shapes)} inputs."
            )
    macs = dict(recording.macs)
    layers = []
    for n in graph:
        if n.recurrent:
            # The feedback weight is (n, n) over the node's last axis: every spike reaches n taps.
            width = int(n.out_shape[-1])
            layers.append(Layer(f"{n.name}.recurrent", Linear(width), False, n.name, int(n.macs)))
        elif n.kind in SYNAPTIC:
            timed = len(recording.synapse_inputs[n.name].shape) > len(n.in_shapes[0])
            layers.append(Layer(n.name, _geometry(n), n.static and not timed, None, macs[n.name]))
    return tuple(layers)


def input_shape(layer: Layer, recording: Recording) -> tuple[int, ...]:
    """The shape of the tensor feeding ``layer`` in ``recording`` (a feedback layer: its node's
    spikes)."""
    if layer.feedback is None:
        return tuple(recording.synapse_inputs[layer.name].shape)
    return tuple(recording.spikes[layer.feedback].shape)


def delayed(s: Array) -> Array:
    """``s`` one step late along time (axis 0), zero at the first step."""
    return jnp.concatenate([jnp.zeros_like(s[:1]), s[:-1]], axis=0)


# ------------------------------------------------------------------------ device reductions


def _window_sum(x: Array, g: Conv, lead: int) -> Array:
    """Σ over output positions of the input summed over each receptive field (ones kernel), per
    leading index (step, sample)."""
    spatial = "DHW"[-len(g.kernel) :]
    y = jnp.sum(x, axis=-1, keepdims=True).reshape((-1, *x.shape[lead:-1], 1))
    ones = jnp.ones((*g.kernel, 1, 1), jnp.float32)
    numbers = jax.lax.conv_dimension_numbers(
        y.shape, ones.shape, (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    )
    windows = jax.lax.conv_general_dilated(
        y,
        ones,
        g.strides,
        g.padding,
        lhs_dilation=g.input_dilation,
        rhs_dilation=g.kernel_dilation,
        dimension_numbers=numbers,
        precision=jax.lax.Precision.HIGHEST,
    )
    return jnp.sum(windows.reshape((*x.shape[:lead], -1)), axis=-1)


def _layer_stats(x: Array, layer: Layer) -> dict[str, Array]:
    x = x.astype(jnp.float32)
    lead = 1 if layer.static else 2
    lo, hi = jnp.min(x), jnp.max(x)
    stats = {
        "sum": jnp.sum(x, axis=tuple(range(lead, x.ndim))),
        "lo": lo,
        "hi": hi,
        "two": jnp.all((x == lo) | (x == hi)),
    }
    g = layer.geometry
    if isinstance(g, Conv):
        stats["events"] = _window_sum(x, g, lead)
    elif isinstance(g, Attention):
        d_qk = (x.shape[-1] - g.d_v) // 2
        parts = {"q": x[..., :d_qk], "k": x[..., d_qk : 2 * d_qk], "v": x[..., 2 * d_qk :]}
        for key, part in parts.items():
            stats[key] = jnp.sum(part, axis=tuple(range(lead, x.ndim)))
    return stats


def _stats(
    inputs: dict[str, Array], spikes: dict[str, Array], layers: tuple[Layer, ...]
) -> tuple[dict[str, dict[str, Array]], dict[str, Array]]:
    """Partial sums per step and sample of every layer input (and its event count, cheap next to
    the layer itself, so that one compilation serves both counting rules) and of every spike
    tensor."""

    def input_of(layer: Layer) -> Array:
        return inputs[layer.name] if layer.feedback is None else delayed(spikes[layer.feedback])

    per_layer = {layer.name: _layer_stats(input_of(layer), layer) for layer in layers}
    per_spikes = {
        name: jnp.sum(s.astype(jnp.float32), axis=tuple(range(2, s.ndim)))
        for name, s in spikes.items()
    }
    return per_layer, per_spikes


#: ``stats_of(inputs, spikes, layers=...)``: the reductions of a recording's arrays, compiled.
stats_of = jax.jit(_stats, static_argnames=("layers",))


@functools.partial(jax.jit, static_argnames=("graphdef", "layers"))
def run_stats(graphdef, state, x, *, layers):
    """Run the model ``merge(graphdef, state)`` on ``x`` under `record` and reduce, all in
    one compiled function."""
    _, recording = record(nnx.merge(graphdef, state), x)
    return _stats(recording.synapse_inputs, recording.spikes, layers)
