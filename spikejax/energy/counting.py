"""Synaptic-operation counts of a real forward pass, per layer.

Any model is read through its network graph (`spikejax.graph.trace`): the synaptic nodes
(convolutions, linear layers, attention products) with their dense MACs per sample and step, and
`spikejax.graph.record` gives the tensor feeding each of them in a real forward pass. From
that recording, per layer ``l``:

* ``fr_l``: the mean of the input over time, batch, channels and space (spikes per input neuron
  per step; for integer inputs such as SEW-ADD residual streams, the mean value);
* ``SOPs_l``, per sample: with ``count="rate"`` ``fr_l · T · MACs_l`` (uniform fan-out, the papers'
  convention); with ``count="events"`` the exact synaptic events, every input value times the
  number of output taps it reaches: for a convolution, the input convolved with a kernel of ones
  (stride, padding and dilation of the layer: a border input reaches fewer taps), times
  ``C_out / groups``; for a linear layer, the sum of its inputs times ``out_features``; for the
  attention products, ``N·(ΣQ + ΣV)`` for ``(Q Kᵀ) V`` (a query spike reaches ``N`` keys, a value
  spike ``N`` rows of the attention map) and ``d_v·(ΣK + ΣQ)`` for ``Q (Kᵀ V)``; for the
  feedback product of a recurrent spiking layer of ``n`` neurons (``s_{t-1} W``), the layer's
  spikes of steps ``0 … T−2`` times ``n``.

The first layer reads a real-valued input and is charged as MACs, once (``first_layer="once"``) or
at every step (``"per_step"``). With ``nonbinary="as_macs"``, a layer whose input is not spiking
(more than two distinct values, or values outside ``[0, 1]``) is charged ``T · MACs`` as MACs.
Counting is independent of the hardware; `spikejax.energy.report` prices it.

Everything per layer is reduced inside one ``jit`` (per time step and sample, in float32, where
sums of spikes are exact); one transfer brings the partial sums to the host, which finishes in
float64.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np
from flax import nnx
from jaxtyping import Array

from spikejax._errors import check_choice
from spikejax.energy._layers import (
    Conv,
    Layer,
    Linear,
    input_shape,
    layers_of,
    run_stats,
    stats_of,
)
from spikejax.graph import Recording, record

__all__ = [
    "COUNTS",
    "FIRST_LAYER",
    "NONBINARY",
    "LayerCount",
    "OpCounts",
    "count_ops",
    "count_recording",
]

COUNTS = ("rate", "events")
NONBINARY = ("as_spikes", "as_macs")
FIRST_LAYER = ("once", "per_step")


@dataclasses.dataclass(frozen=True)
class LayerCount:
    """The operations of one synaptic layer, per sample.

    Attributes:
        name: the layer's key in the recording (dotted path in the model).
        kind: ``"conv"``, ``"linear"``, ``"attention"`` (both products of one SSA block) or
            ``"recurrent"`` (the feedback product of a recurrent spiking layer, named
            ``"<node>.recurrent"``, fed by the layer's own spikes one step late).
        role: ``"first"`` (the real-valued input layer), ``"hidden"`` or ``"head"`` (the last
            layer, the classifier).
        macs: dense MACs per step (``first_layer_macs`` replaces the first layer's).
        fr: mean of the layer's input (spikes per input neuron per step).
        sops: synaptic operations over all steps (rate or events, see the module docstring);
            for the first layer, whose input is real-valued, for information only.
        binary: the input has at most two distinct values, all within ``[0, 1]``.
        op: what the layer is charged as: ``"mac"`` or ``"ac"``.
        ops: the number of charged operations: ``macs × runs`` for ``"mac"``, ``sops`` for
            ``"ac"``.
        runs: how often the layer's MACs are charged (1 or ``T``; 0 for ``"ac"``).
    """

    name: str
    kind: str
    role: str
    macs: int
    fr: float
    sops: float
    binary: bool
    op: str
    ops: float
    runs: int


@dataclasses.dataclass(frozen=True)
class OpCounts:
    """Per-layer operation counts of one forward pass, per sample (mean over the batch).

    Attributes:
        layers: one `LayerCount` per counted layer, in forward order.
        T: time steps of the pass.
        batch: samples the counts are averaged over.
        count, nonbinary, first_layer: the counting rules used.
        spikes: spikes of all recorded spiking neurons over all steps.
        neuron_steps: spiking neurons × steps (neuron updates).
    """

    layers: tuple[LayerCount, ...]
    T: int
    batch: int
    count: str
    nonbinary: str
    first_layer: str
    spikes: float
    neuron_steps: float

    @property
    def nonbinary_layers(self) -> tuple[str, ...]:
        """Names of the layers whose input is not spiking (see `LayerCount.binary`)."""
        return tuple(layer.name for layer in self.layers if not layer.binary)

    @property
    def sops(self) -> float:
        """Synaptic operations charged as accumulates, summed over layers."""
        return math.fsum(layer.ops for layer in self.layers if layer.op == "ac")

    @property
    def charged_macs(self) -> float:
        """Operations charged as MACs (first layer, and non-spiking layers with ``as_macs``)."""
        return math.fsum(layer.ops for layer in self.layers if layer.op == "mac")

    @property
    def dense_macs(self) -> int:
        """Dense MACs of one step of all counted layers (the ANN of the same architecture)."""
        return sum(layer.macs for layer in self.layers)


# --------------------------------------------------------------------------------- host side


def _check_options(fn, count, nonbinary, first_layer, first_layer_macs, include_head) -> None:
    check_choice(fn, "count", count, COUNTS)
    check_choice(fn, "nonbinary", nonbinary, NONBINARY)
    if first_layer is not None:
        check_choice(fn, "first_layer", first_layer, FIRST_LAYER)
    if first_layer_macs is not None and (
        isinstance(first_layer_macs, bool)
        or not isinstance(first_layer_macs, int | np.integer)
        or first_layer_macs < 0
    ):
        raise ValueError(
            f"`{fn}`: `first_layer_macs` must be None or an int >= 0; got {first_layer_macs!r}."
        )
    if not isinstance(include_head, bool):
        raise TypeError(f"`{fn}`: `include_head` must be a bool; got {include_head!r}.")


def _events(layer: Layer, stats: dict[str, np.ndarray], shape: tuple[int, ...]) -> float:
    g = layer.geometry
    if isinstance(g, Conv):
        return math.fsum(stats["events"].ravel()) * g.fan_out
    if isinstance(g, Linear):
        return math.fsum(stats["sum"].ravel()) * g.fan_out
    total = {k: math.fsum(stats[k].ravel()) for k in ("q", "k", "v")}
    if g.order == "qk_v":
        return shape[-2] * (total["q"] + total["v"])
    return g.d_v * (total["k"] + total["q"])


def _finish(
    fn: str,
    layers: tuple[Layer, ...],
    recording: Recording,
    stats: tuple[dict, dict],
    *,
    count: str,
    nonbinary: str,
    first_layer: str | None,
    first_layer_macs: int | None,
    include_head: bool,
) -> OpCounts:
    per_layer, per_spikes = jax.device_get(stats)
    shapes = {layer.name: input_shape(layer, recording) for layer in layers}
    timed = [shapes[layer.name] for layer in layers if not layer.static]
    T = timed[0][0] if timed else 1
    # First and head are the first and last feedforward layers; feedback layers are hidden.
    forward = [layer.name for layer in layers if layer.feedback is None]
    first = next(layer for layer in layers if layer.feedback is None)
    batch = shapes[first.name][0 if first.static else 1]
    if first_layer is None:
        first_layer = "once" if first.static else "per_step"
    rows = []
    for layer in layers:
        role = "hidden"
        if layer.name == forward[-1]:
            role = "head"
        if layer.name == forward[0]:
            role = "first"
        if role == "head" and not include_head:
            continue
        s = {k: np.asarray(v, np.float64) for k, v in per_layer[layer.name].items()}
        shape = shapes[layer.name]
        steps = 1 if layer.static else shape[0]
        n = layer.macs if role != "first" or first_layer_macs is None else first_layer_macs
        fr = math.fsum(s["sum"].ravel()) / math.prod(shape)
        binary = bool(s["two"]) and float(s["lo"]) >= 0.0 and float(s["hi"]) <= 1.0
        if count == "rate":
            sops = fr * steps * n
        else:
            sops = _events(layer, s, shape) / batch
        if role == "first":
            runs = T if first_layer == "per_step" else 1
        elif nonbinary == "as_macs" and not binary:
            runs = steps
        else:
            runs = 0
        op, ops = ("mac", float(n * runs)) if runs else ("ac", sops)
        rows.append(
            LayerCount(layer.name, layer.kind, role, int(n), fr, sops, binary, op, ops, runs)
        )
    spikes = math.fsum(math.fsum(np.asarray(v, np.float64).ravel()) for v in per_spikes.values())
    neuron_steps = sum(
        s.shape[0] * math.prod(s.shape[2:]) for s in recording.spikes.values()
    )  # per sample
    return OpCounts(
        layers=tuple(rows),
        T=int(T),
        batch=int(batch),
        count=count,
        nonbinary=nonbinary,
        first_layer=first_layer,
        spikes=spikes / batch,
        neuron_steps=float(neuron_steps),
    )


def count_ops(
    model: nnx.Module,
    x: Array,
    *,
    count: str = "rate",
    nonbinary: str = "as_spikes",
    first_layer: str | None = None,
    first_layer_macs: int | None = None,
    include_head: bool = True,
) -> OpCounts:
    """Run ``model`` on the batch ``x`` and count the operations of every synaptic layer.

    The model runs as it is (call ``model.eval()`` first for inference statistics) and is not
    changed: batch-norm statistics a training-mode pass would update are discarded.

    Args:
        model: any NNX model whose graph (`spikejax.graph.trace`) has a synaptic layer.
        x: its input batch.
        count: ``"rate"`` (``fr · T · MACs``) or ``"events"`` (exact synaptic events).
        nonbinary: ``"as_spikes"`` (a non-spiking input counts with its mean value) or
            ``"as_macs"`` (its layer is charged ``T · MACs`` as MACs).
        first_layer: ``"once"`` or ``"per_step"``; default: ``"once"`` when the first layer sees a
            static input without a time axis (SEW ImageNet stem), else ``"per_step"``; this
            equals ``spikejax.models.info(name).first_layer`` for zoo models.
        first_layer_macs: replaces the first layer's MACs per run (to reproduce printed numbers).
        include_head: count the last layer (the classifier).

    Returns:
        The counts per sample (`OpCounts`).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import energy, models
        >>> net = models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,), T=2)
        >>> counts = energy.count_ops(net, jnp.ones((2, 3, 64)))
        >>> [(c.name, c.role, c.macs, c.op, c.ops) for c in counts.layers][0]
        ('blocks.0.fc', 'first', 512, 'mac', 1024.0)
    """
    fn = "count_ops"
    _check_options(fn, count, nonbinary, first_layer, first_layer_macs, include_head)
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    graphdef, state = nnx.split(model)
    abstract = jax.eval_shape(lambda s, x: record(nnx.merge(graphdef, s), x)[1], state, x)
    layers = layers_of(fn, abstract)
    stats = run_stats(graphdef, state, x, layers=layers)
    return _finish(
        fn,
        layers,
        abstract,
        stats,
        count=count,
        nonbinary=nonbinary,
        first_layer=first_layer,
        first_layer_macs=first_layer_macs,
        include_head=include_head,
    )


def count_recording(
    model: nnx.Module,
    recording: Recording,
    *,
    count: str = "rate",
    nonbinary: str = "as_spikes",
    first_layer: str | None = None,
    first_layer_macs: int | None = None,
    include_head: bool = True,
) -> OpCounts:
    """Count the operations of a recorded forward pass (see `count_ops` for the rules).

    Args:
        model: the model that was recorded.
        recording: from `spikejax.graph.record` of ``model``, with concrete arrays (its
            graph gives the geometry of each layer).
        count, nonbinary, first_layer, first_layer_macs, include_head: as in `count_ops`.
    """
    fn = "count_recording"
    _check_options(fn, count, nonbinary, first_layer, first_layer_macs, include_head)
    if not isinstance(recording, Recording):
        raise TypeError(
            f"`{fn}`: `recording` must be a spikejax.graph.Recording; got "
            f"{type(recording).__name__}."
        )
    if not isinstance(model, nnx.Module):
        raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
    layers = layers_of(fn, recording)
    stats = stats_of(recording.synapse_inputs, recording.spikes, layers=layers)
    return _finish(
        fn,
        layers,
        recording,
        stats,
        count=count,
        nonbinary=nonbinary,
        first_layer=first_layer,
        first_layer_macs=first_layer_macs,
        include_head=include_head,
    )
