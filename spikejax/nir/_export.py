"""``export``: a spikejax model as a NIR graph, read from its network graph."""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from flax import nnx

from spikejax.graph import path_str, trace
from spikejax.layers import SeqBatchNorm, Spiking
from spikejax.neurons import Recurrent
from spikejax.nir._delay import Delay
from spikejax.nir._layers import Scale, Threshold
from spikejax.nir._loop import Loop
from spikejax.nir._network import NIRNetwork
from spikejax.nir._neurons_out import ExportError, neuron_nodes
from spikejax.nir._params import check_dt

__all__ = ["ExportError", "export", "write"]


def _fail(name: str, message: str) -> ExportError:
    return ExportError(f"`spikejax.nir.export`: node {name!r}: {message}")


def _np(x: Any) -> np.ndarray:
    return np.asarray(jax.device_get(x[...] if isinstance(x, nnx.Variable) else x))


def _symmetric(name: str, padding: Any) -> tuple[int, ...]:
    pads = tuple(tuple(int(v) for v in p) for p in padding)
    if any(lo != hi for lo, hi in pads):
        raise _fail(name, f"asymmetric padding {pads} has no NIR form (NIR pads both sides alike).")
    return tuple(lo for lo, _ in pads)


class _Exporter:
    def __init__(self, model: nnx.Module, example_input: Any, dt: float, discretization: str):
        import nir

        self.nir = nir
        self.graph = trace(model, example_input)
        if self.graph.T is None or len(self.graph.input_shape) < 3:
            raise ValueError(
                "`spikejax.nir.export`: `example_input` must be time-major [T, B, *features] "
                f"feeding spiking layers; got shape {self.graph.input_shape}."
            )
        self.modules = {path_str(p): m for p, m in nnx.iter_modules(model)}
        self.dt, self.discretization = dt, discretization
        self.is_nir = isinstance(model, NIRNetwork)
        self.original = dict(model.names) if self.is_nir else {}
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.out: dict[str, list[str]] = {}  # graph node -> the NIR nodes whose sum it is
        self.perm: dict[str, np.ndarray | None] = {}  # graph node -> NIR index -> spikejax index

    # -------------------------------------------------------------------------- helpers

    def nir_name(self, name: str) -> str:
        if self.is_nir and name.startswith("layers."):
            return self.original.get(name.split(".")[1], name)
        return name

    def channels_last(self, shape: tuple[int, ...]) -> bool:
        return not self.is_nir and len(shape) >= 2

    def to_nir(self, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """A per-element array over a spikejax tensor of feature shape ``shape``, in NIR layout."""
        full = np.broadcast_to(array, shape)
        return np.moveaxis(full, -1, 0) if self.channels_last(shape) else np.array(full)

    def nir_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[-1], *shape[:-1]) if self.channels_last(shape) else tuple(shape)

    def add(self, node: Any, name: str, sources: list[str]) -> str:
        key = self.nir_name(name)
        self.nodes[key] = node
        for s in sources:
            self.edges += [(src, key) for src in self.out[s]]
        return key

    def source_perm(self, node: Any) -> np.ndarray | None:
        perms = {id(self.perm.get(s)): self.perm.get(s) for s in node.inputs}
        if len(perms) > 1:
            raise _fail(node.name, "sums flattened tensors laid out differently.")
        return next(iter(perms.values()))

    # ---------------------------------------------------------------------------- nodes

    def run(self) -> Any:
        g = self.graph
        feat = tuple(g.input_shape[2:])
        self.nodes["input"] = self.nir.Input(input_type={"input": np.array(self.nir_shape(feat))})
        self.out["input"], self.perm["input"] = ["input"], None
        for node in g.nodes:
            self.node(node)
        for k, name in enumerate(g.outputs):
            if self.perm.get(name) is not None:
                raise _fail(
                    name,
                    "the model's output is a flattened channels-last tensor, whose order NIR "
                    "(channels first) cannot keep; end the model with a linear layer or a neuron.",
                )
            key = "output" if len(g.outputs) == 1 else f"output_{k}"
            shape = self.nir_shape(tuple(g.output_shapes[k][2:]))
            self.nodes[key] = self.nir.Output(output_type={"output": np.array(shape)})
            self.edges += [(src, key) for src in self.out[name]]
        return self.nir.NIRGraph(nodes=self.nodes, edges=self.edges, type_check=False)

    def node(self, node: Any) -> None:
        name, kind = node.name, node.kind
        if node.static:
            raise _fail(name, "runs once on a static input; NIR graphs run every step.")
        in_shape = tuple(node.in_shapes[0][2:]) if node.in_shapes else ()
        perm = self.source_perm(node)
        self.perm[name] = perm if kind in ("neuron", "join", "op", "activation") else None
        if kind == "join" and node.op == "add":
            self.out[name] = [k for s in node.inputs for k in self.out[s]]
            return
        if kind == "norm":
            return self.norm(node)
        module = self.modules.get(node.path) if node.path is not None else None
        if kind == "linear":
            return self.linear(node, module, in_shape, perm)
        if kind == "conv":
            return self.conv(node, module, in_shape)
        if kind == "pool":
            return self.pool(node, in_shape)
        if kind == "reshape":
            return self.reshape(node, in_shape)
        if kind == "neuron" and isinstance(module, Spiking):
            return self.neuron(node, module.neuron, in_shape, perm)
        if isinstance(module, Scale | Threshold):
            array = _np(module.scale if isinstance(module, Scale) else module.threshold)
            array = self.permuted(self.to_nir(array, in_shape), perm)
            item = (
                self.nir.Scale(scale=array)
                if isinstance(module, Scale)
                else self.nir.Threshold(threshold=array)
            )
            self.out[name] = [self.add(item, name, list(node.inputs))]
            return
        raise _fail(
            name,
            f"{kind} ({node.op}) has no exact NIR form; NIR runs affine and convolution layers, "
            "sum/average pooling (max-pooling of spikes), flatten, residual additions, scale, "
            "threshold, delays and IF/LIF/LI/CubaLIF/CubaLI neurons, every step. A readout over "
            "time or a normalisation that is not after a convolution or linear layer stays "
            "outside the exported graph.",
        )

    @staticmethod
    def permuted(array: np.ndarray, perm: np.ndarray | None) -> np.ndarray:
        return array if perm is None else array.reshape(-1)[perm]

    def linear(self, node, module, in_shape, perm) -> None:
        if len(in_shape) != 1:
            raise _fail(node.name, f"a linear layer on {in_shape} (not a vector) has no NIR form.")
        kernel = _np(module.kernel)
        if perm is not None:
            kernel = kernel[perm]
        weight = np.ascontiguousarray(kernel.T)
        if module.bias is not None:
            item = self.nir.Affine(weight=weight, bias=_np(module.bias))
        else:
            item = self.nir.Linear(weight=weight)
        self.out[node.name] = [self.add(item, node.name, list(node.inputs))]

    def conv(self, node, module, in_shape) -> None:
        a = node.attrs
        if any(d != 1 for d in a["input_dilation"]):
            raise _fail(node.name, "a transposed (input-dilated) convolution has no NIR form.")
        kernel = _np(module.kernel)
        n = kernel.ndim - 2
        weight = np.ascontiguousarray(np.transpose(kernel, (n + 1, n, *range(n))))
        if module.bias is not None:
            bias = _np(module.bias)
        else:
            bias = np.zeros(weight.shape[0], weight.dtype)
        padding = _symmetric(node.name, a["padding"])
        spatial = tuple(int(s) for s in in_shape[:-1])
        args = {
            "weight": weight,
            "stride": tuple(a["strides"]),
            "padding": padding,
            "dilation": tuple(a["kernel_dilation"]),
            "groups": int(a["groups"]),
            "bias": bias,
        }
        if n == 1:
            args = {k: (v[0] if isinstance(v, tuple) else v) for k, v in args.items()}
            item = self.nir.Conv1d(input_shape=spatial[0], **args)
        elif n == 2:
            item = self.nir.Conv2d(input_shape=spatial, **args)
        else:
            raise _fail(node.name, f"a {n}-d convolution has no NIR form (Conv1d and Conv2d only).")
        key = self.add(item, node.name, list(node.inputs))
        self.out[node.name] = [key]
        self.conv_of = getattr(self, "conv_of", {})
        self.conv_of[node.name] = key

    def norm(self, node) -> None:
        """Batch normalisation in evaluation mode, folded into the convolution or linear layer
        feeding it (its only consumer): ``W' = W·γ/σ``, ``b' = (b − μ)·γ/σ + β``."""
        module = self.modules.get(node.path)
        bn = module.norm if isinstance(module, SeqBatchNorm) else module
        source = node.inputs[0] if len(node.inputs) == 1 else None
        key = self.out.get(source, [None])[0] if source else None
        consumers = [n for n in self.graph.nodes if source in n.inputs]
        target = self.nodes.get(key) if key else None
        foldable = (
            isinstance(bn, nnx.BatchNorm)
            and bool(bn.use_running_average)
            and len(consumers) == 1
            and isinstance(target, self.nir.Conv2d | self.nir.Conv1d | self.nir.Affine)
        )
        if not foldable:
            raise _fail(
                node.name,
                "normalisation has an exact NIR form only in evaluation mode (model.eval()), "
                "right after a convolution or linear layer that feeds nothing else (it is folded "
                "into its weights).",
            )
        scale = _np(bn.scale) if bn.scale is not None else 1.0
        shift = _np(bn.bias) if bn.bias is not None else 0.0
        gain = scale / np.sqrt(_np(bn.var).astype(np.float64) + bn.epsilon)
        offset = shift - _np(bn.mean) * gain
        weight = np.asarray(target.weight, np.float64)
        target.weight = (weight * gain.reshape((-1,) + (1,) * (weight.ndim - 1))).astype(np.float32)
        target.bias = (np.asarray(target.bias, np.float64) * gain + offset).astype(np.float32)
        self.out[node.name] = [key]
        self.perm[node.name] = self.perm.get(source)

    def pool(self, node, in_shape) -> None:
        a = node.attrs
        if node.op not in ("sum_pool", "avg_pool", "max_pool") or len(a.get("window", ())) != 2:
            raise _fail(node.name, f"{node.op} has no NIR form (2-d sum/average pooling only).")
        args = {
            "kernel_size": np.array(a["window"]),
            "stride": np.array(a["strides"]),
            "padding": np.array(_symmetric(node.name, a["padding"])),
        }
        if node.op == "avg_pool":
            key = self.add(self.nir.AvgPool2d(**args), node.name, list(node.inputs))
        elif node.op == "sum_pool":
            key = self.add(self.nir.SumPool2d(**args), node.name, list(node.inputs))
        else:
            if not node.binary_input:
                raise _fail(node.name, "max-pooling of non-spike values has no NIR form.")
            # The maximum of 0/1 values is 1 exactly when their sum exceeds 0.
            key = self.add(self.nir.SumPool2d(**args), node.name + ".sum", list(node.inputs))
            c = in_shape[-1]
            out = self.nir_shape(tuple(node.out_shape[2:])) if node.out_shape else (c,)
            threshold = self.nir.Threshold(threshold=np.zeros(out, np.float32))
            self.nodes[self.nir_name(node.name)] = threshold
            self.edges.append((key, self.nir_name(node.name)))
            key = self.nir_name(node.name)
        self.out[node.name] = [key]

    def reshape(self, node, in_shape) -> None:
        src, dst = tuple(node.attrs["from"]), tuple(node.attrs["to"])
        if self.channels_last(src):
            if len(dst) != 1:
                raise _fail(node.name, f"a reshape {src} → {dst} has no NIR form.")
            spatial = np.arange(int(np.prod(src))).reshape(src)
            perm = np.moveaxis(spatial, -1, 0).reshape(-1)
            item = self.nir.Flatten(
                input_type={"input": np.array(self.nir_shape(src))}, start_dim=0, end_dim=-1
            )
            self.out[node.name] = [self.add(item, node.name, list(node.inputs))]
            self.perm[node.name] = None if np.all(perm == np.arange(perm.size)) else perm
            return
        start = 0
        while start < min(len(src), len(dst)) and src[start] == dst[start]:
            start += 1
        end = len(src) - 1
        shift = len(dst) - len(src)
        while end > start and end + shift > start and src[end] == dst[end + shift]:
            end -= 1
        if (*src[:start], int(np.prod(src[start : end + 1])), *src[end + 1 :]) != dst:
            raise _fail(node.name, f"a reshape {src} → {dst} has no NIR form (Flatten only).")
        item = self.nir.Flatten(input_type={"input": np.array(src)}, start_dim=start, end_dim=end)
        self.out[node.name] = [self.add(item, node.name, list(node.inputs))]
        self.perm[node.name] = None

    def neuron(self, node, neuron, in_shape, perm) -> None:
        name = node.name
        if isinstance(neuron, Loop):
            return self.loop(node, neuron)
        if isinstance(neuron, Delay):
            steps = self.permuted(self.to_nir(_np(neuron.steps), in_shape), perm)
            item = self.nir.Delay(delay=steps.astype(np.float64) * self.dt)
            self.out[name] = [self.add(item, name, list(node.inputs))]
            return
        inner = neuron.neuron if isinstance(neuron, Recurrent) else neuron
        item = neuron_nodes(name, inner, in_shape, self.dt, self.discretization)
        fields = ("tau", "r", "v_leak", "v_threshold", "v_reset", "tau_syn", "tau_mem", "w_in")
        for field in fields:
            if hasattr(item, field):
                value = self.to_nir(getattr(item, field), in_shape)
                setattr(item, field, self.permuted(value, perm))
        item.__post_init__()
        key = self.add(item, name, list(node.inputs))
        if isinstance(neuron, Recurrent):
            weight = _np(neuron.weight)
            if perm is not None:
                weight = weight[np.ix_(perm, perm)]
            rec = self.nir_name(name) + ".rec"
            self.nodes[rec] = self.nir.Linear(weight=np.ascontiguousarray(weight.T))
            self.edges += [(key, rec), (rec, key)]
        self.out[name] = [key]

    def loop(self, node, loop: Loop) -> None:
        shapes = dict(loop.shapes)
        keys = {}
        for member, kind, _ in loop.plan:
            part = loop.nodes[member]
            if isinstance(part, Delay):
                item = self.nir.Delay(delay=_np(part.steps).astype(np.float64) * self.dt)
            elif kind in ("Affine", "Linear", "Scale", "Threshold"):
                arrays = {k: _np(v) for k, v in part.items()}
                item = getattr(self.nir, kind)(**arrays)
            else:
                item = neuron_nodes(member, part, shapes[member], self.dt, self.discretization)
            keys[member] = member
            self.nodes[member] = item
        for member, _, sources in loop.plan:
            self.edges += [(keys[s], keys[member]) for s, _ in sources]
        self.edges += [(src, keys[loop.entry]) for s in node.inputs for src in self.out[s]]
        self.out[node.name] = [keys[loop.exit]]


def export(
    model: nnx.Module, example_input: Any, *, dt: float, discretization: str = "euler"
) -> Any:
    """The network ``model`` as a NIR graph (``nir.NIRGraph``), read from its network graph.

    Every node of `spikejax.graph.trace` is written in NIR's own (channels-first) layout or
    refused with an error naming it: ``nnx.Linear`` → ``Affine``/``Linear``; ``nnx.Conv`` →
    ``Conv1d``/``Conv2d`` (symmetric padding), followed by a batch norm in evaluation mode folded
    into its weights; sum/average pooling → ``SumPool2d``/``AvgPool2d``; max-pooling of spikes →
    ``SumPool2d`` then ``Threshold(0)`` (exact for 0/1 values); flatten → ``Flatten`` (a
    channels-last flatten is reordered, the next layer's weights permuted to match); residual
    additions → summed edges; neurons IF, LIF, LI (``I`` when ``β = 1``), CubaLIF, CubaLI with a
    hard reset (``reset="zero"``), `spikejax.neurons.Recurrent` of those (a ``Linear``
    back edge), `Delay`, `Loop`,
    `Scale` and `Threshold`. Neuron parameters are
    written for the time step ``dt`` so that `spikejax.nir.load` at the same ``dt`` and
    ``discretization`` gives back the same neuron (see `spikejax.nir`); a neuron that fires
    at ``v ≥ θ`` is written with the float32 threshold just below ``θ``, exact for float32
    membranes. Reset by subtraction, readouts over time, max-pooling of real values and other
    neurons (ALIF, PLIF, Izhikevich, refractory) have no exact NIR form and are refused.

    Args:
        model: a spikejax NNX model (e.g. of `spikejax.models`, or a loaded
            `NIRNetwork`).
        example_input: time-major ``[T, B, *features]`` (an array or ``jax.ShapeDtypeStruct``).
        dt: the time step in seconds (> 0) the neuron parameters are written for.
        discretization: ``"euler"`` (default) or ``"exact"``, as the reader will use it.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> from flax import nnx
        >>> class Net(nnx.Module):
        ...     def __init__(self):
        ...         self.fc = sj.layers.TimeFolded(nnx.Linear(3, 2, rngs=nnx.Rngs(0)))
        ...         self.lif = sj.layers.Spiking(sj.neurons.LIF(beta=0.9, reset="zero"))
        ...     def __call__(self, x):
        ...         return self.lif(self.fc(x))
        >>> graph = sj.nir.export(Net(), jnp.ones((4, 2, 3)), dt=1e-3)
        >>> sorted(graph.nodes), graph.edges
        (['fc.module', 'input', 'lif', 'output'], [('input', 'fc.module'), ('fc.module', 'lif'),
         ('lif', 'output')])
        >>> model = sj.nir.load(graph, dt=1e-3)           # the same spikes as Net()
    """
    check_dt("export", dt, discretization)
    return _Exporter(model, example_input, float(dt), discretization).run()


def write(
    path: str | os.PathLike, model: nnx.Module, example_input: Any, *, dt: float, **kwargs: Any
) -> Any:
    """`export` the model and write the graph to ``path`` (HDF5, ``nir.write``); returns
    the graph. ``kwargs`` go to `export`."""
    import nir

    graph = export(model, example_input, dt=dt, **kwargs)
    try:
        nir.write(path, graph)
    except OSError as error:
        raise OSError(f"`spikejax.nir.write`: cannot write '{os.fspath(path)}': {error}") from None
    return graph
