"""``ann_to_snn``: a trained ReLU network, read through its graph, as a spiking network."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax import graph as network
from spikejax._errors import check_choice, check_floating
from spikejax.convert._calibrate import clip_levels
from spikejax.convert._fold import fold_batchnorm
from spikejax.convert._network import ConvertedSNN, Step
from spikejax.layers import Spiking, TimeFolded
from spikejax.neurons import IF, LI

__all__ = ["METHODS", "ann_to_snn"]

METHODS = ("max", "percentile", "qcfs")
SUPPORTED = (
    "nnx.Linear, nnx.Conv, batch norm after either (folded), ReLU or QCFS activations, average "
    "pooling (windowed or global mean), flatten/reshape, residual additions"
)


def _check(fn: str, ann: Any, x: Any, method: str, percentile: float, T: int, v_init: float):
    if not isinstance(ann, nnx.Module):
        raise TypeError(f"`{fn}`: `ann` must be an nnx.Module; got {type(ann).__name__}.")
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(
            f"`{fn}`: `calibration_inputs` must be an array [N, *input_shape]; got "
            f"{type(x).__name__}."
        )
    check_floating(fn, "calibration_inputs", x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"`{fn}`: `calibration_inputs` must be a non-empty batch [N, *input_shape]; got shape "
            f"{tuple(x.shape)}."
        )
    check_choice(fn, "method", method, METHODS)
    if isinstance(percentile, bool) or not isinstance(percentile, int | float):
        raise TypeError(f"`{fn}`: `percentile` must be a number in (0, 100]; got {percentile!r}.")
    if not 0 < percentile <= 100:
        raise ValueError(f"`{fn}`: `percentile` must be a number in (0, 100]; got {percentile!r}.")
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"`{fn}`: `T` must be an int >= 1; got {T!r}.")
    if isinstance(v_init, bool) or not isinstance(v_init, int | float) or not 0 <= v_init < 1:
        raise ValueError(f"`{fn}`: `v_init` must be a number in [0, 1); got {v_init!r}.")


def _modules(model: nnx.Module) -> dict[str, nnx.Module]:
    return {".".join(str(p) for p in path): m for path, m in nnx.iter_modules(model)}


def _unsupported(fn: str, node: network.Node, why: str = "") -> ValueError:
    where = f"module `{node.path}`" if node.path is not None else f"`{node.name}`"
    return ValueError(
        f"`{fn}`: {where} is a {node.kind} ({node.op}){why}, which has no exact conversion; "
        f"supported: {SUPPORTED}."
    )


class _Builder:
    """Walks the ANN's graph in call order and writes the SNN's layers and program."""

    def __init__(self, fn: str, ann: nnx.Module, graph: network.Graph, clips: dict, v_init: float):
        self.fn, self.graph, self.clips, self.v_init = fn, graph, clips, v_init
        self.modules = _modules(ann)
        self.layers: list[nnx.Module] = []
        self.program: list[Step] = []
        self.value = {"input": "input"}  # ANN node -> SNN value
        self.scale = {"input": 1.0}  # SNN value = ANN value / scale
        self.pending: dict[str, nnx.Module] = {}  # ANN node -> synaptic SNN layer, BN foldable
        self.consumers: dict[str, int] = {}
        for node in graph:
            for source in node.inputs:
                self.consumers[source] = self.consumers.get(source, 0) + 1

    def emit(self, op: str, name: str, sources: tuple[str, ...], argument: Any) -> str:
        self.program.append((op, name, sources, argument))
        return name

    def layer(self, name: str, source: str, module: nnx.Module) -> str:
        self.layers.append(module)
        return self.emit("layer", name, (source,), len(self.layers) - 1)

    def in_units(self, node: network.Node, source: str) -> str:
        """The SNN value of ``source`` rescaled to the ANN's units."""
        value, scale = self.value[source], self.scale[self.value[source]]
        if scale == 1.0:
            return value
        name = self.emit("scale", f"{node.name}:{value}:scaled", (value,), scale)
        self.scale[name] = 1.0
        return name

    def run(self) -> str:
        for node in self.graph:
            handler = getattr(self, f"on_{node.kind}", None)
            if handler is None:
                raise _unsupported(self.fn, node)
            handler(node)
        outputs = self.graph.outputs
        if len(outputs) != 1 or self.graph[outputs[0]].kind not in ("linear", "conv"):
            raise ValueError(
                f"`{self.fn}`: the ANN must return the output of a Linear or Conv layer (its "
                f"logits), which the readout accumulates; its outputs come from {list(outputs)}."
            )
        last = outputs[0]
        readout = Spiking(LI(beta=1.0))
        return self.layer(f"{last}:readout", self.value[last], readout)

    # ---------------------------------------------------------------------------- kinds

    def on_linear(self, node: network.Node) -> None:
        source = node.inputs[0]
        module = self.modules[node.path]
        value, scale = self.value[source], self.scale[self.value[source]]
        kernel = np.asarray(module.kernel[...], np.float64) * scale  # spikes carry `scale`
        bias = None if module.bias is None else np.asarray(module.bias[...], np.float64)
        if isinstance(module, nnx.Linear):
            new = nnx.Linear(
                module.in_features, module.out_features, use_bias=True, rngs=nnx.Rngs(0)
            )
        else:
            a = node.attrs
            new = nnx.Conv(
                a["in_channels"],
                a["out_channels"],
                a["kernel"],
                strides=a["strides"],
                padding=a["padding"],
                input_dilation=a["input_dilation"],
                kernel_dilation=a["kernel_dilation"],
                feature_group_count=a["groups"],
                use_bias=True,
                rngs=nnx.Rngs(0),
            )
        self._set(new, kernel, np.zeros(kernel.shape[-1]) if bias is None else bias)
        self.pending[node.name] = new
        self.value[node.name] = self.layer(node.name, value, TimeFolded(new))
        self.scale[self.value[node.name]] = 1.0

    on_conv = on_linear

    @staticmethod
    def _set(module: nnx.Module, kernel: np.ndarray, bias: np.ndarray) -> None:
        module.kernel[...] = jnp.asarray(kernel, jnp.float32)
        module.bias[...] = jnp.asarray(bias, jnp.float32)

    def on_norm(self, node: network.Node) -> None:
        source = node.inputs[0] if len(node.inputs) == 1 else None
        bn = self.modules.get(node.path)
        if source not in self.pending or self.consumers.get(source) != 1:
            raise _unsupported(self.fn, node, " not directly after a Linear or Conv layer")
        if not isinstance(bn, nnx.BatchNorm):
            raise _unsupported(self.fn, node, " (only nnx.BatchNorm folds)")
        target = self.pending.pop(source)
        kernel, bias = fold_batchnorm(
            np.asarray(target.kernel[...]),
            np.asarray(target.bias[...]),
            scale=None if bn.scale is None else np.asarray(bn.scale[...]),
            offset=None if bn.bias is None else np.asarray(bn.bias[...]),
            mean=np.asarray(bn.mean[...]),
            var=np.asarray(bn.var[...]),
            epsilon=float(bn.epsilon),
        )
        self._set(target, kernel, bias)
        self.value[node.name] = self.value[source]

    def on_activation(self, node: network.Node) -> None:
        if node.op not in ("relu", "QCFS"):
            raise _unsupported(self.fn, node, " (a non-ReLU activation)")
        current = self.in_units(node, node.inputs[0])
        clip = self.clips[node.name]
        neuron = IF(threshold=clip, reset="subtract", v_init=self.v_init)
        name = self.layer(node.name, current, Spiking(neuron))
        self.value[node.name] = name
        self.scale[name] = clip

    def on_pool(self, node: network.Node) -> None:
        source = self.value[node.inputs[0]]
        if node.op == "avg_pool":
            pool = functools.partial(
                average_pool,
                window=tuple(node.attrs["window"]),
                strides=tuple(node.attrs["strides"]),
                padding=tuple(node.attrs["padding"]),
            )
        elif node.op == "global_mean":
            pool = functools.partial(jnp.mean, axis=node.attrs["axes"])
        else:
            why = " (max pooling has no exact conversion: use average pooling)"
            raise _unsupported(self.fn, node, why)
        name = self.layer(node.name, source, TimeFolded(pool))
        self.value[node.name] = name
        self.scale[name] = self.scale[source]

    def on_reshape(self, node: network.Node) -> None:
        source = self.value[node.inputs[0]]
        name = self.emit("reshape", node.name, (source,), tuple(node.attrs["to"]))
        self.value[node.name] = name
        self.scale[name] = self.scale[source]

    def on_join(self, node: network.Node) -> None:
        if node.op != "add" or len(node.inputs) != 2:
            raise _unsupported(self.fn, node, " (only residual additions convert)")
        a, b = (self.value[s] for s in node.inputs)
        if self.scale[a] == self.scale[b]:
            name = self.emit("add", node.name, (a, b), None)
            self.scale[name] = self.scale[a]
        else:
            a, b = (self.in_units(node, s) for s in node.inputs)
            name = self.emit("add", node.name, (a, b), None)
            self.scale[name] = 1.0
        self.value[node.name] = name


def average_pool(x: jax.Array, *, window, strides, padding) -> jax.Array:
    """Average pooling of channels-last ``[N, *spatial, C]``: window sums over the spatial axes
    divided by the window size (padding counts as zeros, as ``nnx.avg_pool`` does)."""
    dims = (1, *window, 1)
    sums = jax.lax.reduce_window(
        x, jnp.zeros((), x.dtype), jax.lax.add, dims, (1, *strides, 1), ((0, 0), *padding, (0, 0))
    )
    return sums / jnp.asarray(math.prod(window), x.dtype)


def ann_to_snn(
    ann: nnx.Module,
    calibration_inputs: Any,
    *,
    method: str = "percentile",
    percentile: float = 99.99,
    T: int = 32,
    v_init: float = 0.5,
    batch_size: int = 256,
) -> ConvertedSNN:
    r"""Convert a trained ReLU network into a spiking network of soft-reset IF neurons.

    The ANN is read through its network graph (`spikejax.graph.trace`, in evaluation mode).
    Each ReLU (or `QCFS`) becomes a layer of IF neurons with reset by
    subtraction and threshold ``θ_l = λ_l``, the layer's clipping level: with ``method="max"`` the
    largest activation on ``calibration_inputs``, with ``"percentile"`` the ``percentile``-th
    percentile of its positive activations (robust normalisation), with ``"qcfs"`` the trained
    ``λ`` of each QCFS activation. A layer's spikes stand for ``λ_l`` each, so the next layer's
    weights are multiplied by ``λ_l`` (threshold balancing, equivalent to weight normalisation):
    with a constant input current ``z`` an IF neuron fires ``⌊T·z/λ⌋`` times in ``T`` steps
    (``⌊T·z/λ + v_init⌋`` with ``v(0) = v_init·λ``), i.e. it outputs ``λ·clip(z/λ, 0, 1)`` on
    average. Batch norm after a Linear or Conv layer is folded into it exactly
    (`spikejax.convert.fold_batchnorm`); average pooling, global means, flatten and residual
    additions carry over (an addition of spike tensors of different ``λ`` adds them in the ANN's
    units). The last layer's output, the logits, is accumulated by a non-spiking readout
    (``LI(beta=1)``). The input is presented unchanged at every step (analog, direct encoding).

    Args:
        ann: an NNX ReLU network on static inputs ``[B, *input_shape]`` returning logits.
        calibration_inputs: ``[N, *input_shape]`` float samples (e.g. a slice of the training
            set) for the clipping levels; not used by ``method="qcfs"`` beyond a shape check.
        method: ``"max"``, ``"percentile"`` or ``"qcfs"``.
        percentile: in ``(0, 100]``, for ``method="percentile"`` (99.99 by default; 99.9 in
            Rueckauer et al. 2017).
        T: time steps for a static input.
        v_init: initial membrane as a fraction of the threshold, in ``[0, 1)``: ``1/2``
            (default; rounds instead of flooring, as QCFS's conversion prescribes) or 0.
        batch_size: calibration batch size.

    Returns:
        A `ConvertedSNN` returning the readout membrane ``[T, B, K]``.

    Raises:
        ValueError: a node without an exact conversion (max pooling, non-ReLU activations,
            batch norm not after a Linear/Conv, ...) names its module and lists what is
            supported; ``method="qcfs"`` with a ReLU in the network; bad arguments.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import convert
        >>> class MLP(nnx.Module):
        ...     def __init__(self, rngs):
        ...         self.fc1, self.fc2 = nnx.Linear(4, 8, rngs=rngs), nnx.Linear(8, 3, rngs=rngs)
        ...     def __call__(self, x):
        ...         return self.fc2(jax.nn.relu(self.fc1(x)))
        >>> ann, x = MLP(nnx.Rngs(0)), jax.random.uniform(jax.random.key(0), (64, 4))
        >>> snn = convert.ann_to_snn(ann, x, method="max", T=256)
        >>> logits = snn(x[:4])[-1] / 256                     # the readout's running mean
        >>> bool(jnp.max(jnp.abs(logits - ann(x[:4]))) < 0.05)
        True
    """
    fn = "ann_to_snn"
    x = calibration_inputs
    if isinstance(x, np.ndarray):
        x = jnp.asarray(x)
    _check(fn, ann, x, method, percentile, T, v_init)
    ann = nnx.clone(ann)
    ann.eval()
    example = jax.ShapeDtypeStruct((min(int(x.shape[0]), batch_size), *x.shape[1:]), x.dtype)
    graph = network.trace(ann, example)
    if graph.T is not None:
        raise ValueError(
            f"`{fn}`: `ann` must be a network without spiking neurons; its graph has neuron nodes "
            f"{[n.name for n in graph.of_kind('neuron')]}."
        )
    activations = graph.of_kind("activation")
    if method == "qcfs":
        relu = [n.name for n in activations if n.op != "QCFS"]
        if relu:
            raise ValueError(
                f"`{fn}`: `method='qcfs'` needs every activation to be a spikejax.convert.QCFS; "
                f"{relu} are not."
            )
        modules = _modules(ann)
        clips = {n.name: float(modules[n.path].clip[...]) for n in activations}
    else:
        clips = clip_levels(fn, ann, x, activations, method, percentile, batch_size)
    builder = _Builder(fn, ann, graph, clips, float(v_init))
    builder.run()
    return ConvertedSNN(builder.layers, builder.program, T=T, input_shape=x.shape[1:])
