"""The chip layers of a traced network: synapses (dense, conv, pooling relay) ending in neurons.

`layers_from_graph` walks a network graph (`spikejax.graph.trace`) in call order and
groups its nodes into chip layers, each ``synaptic node [→ batch norm] → Spiking``:

* ``nnx.Linear`` (dense) and ``nnx.Conv`` (convolution with shared weights; no input dilation);
* a batch norm right after the synaptic node (``SeqBatchNorm``, ``nnx.BatchNorm``): folded into
  the weights and the bias with its running statistics (the evaluation-mode network);
* a sum or average pool (window equal to its strides, no padding) before a synaptic node:
  folded into it (`Synapse` ``pool``);
* a max pool of binary spikes: a relay layer of OR neurons (``kind="or"``), exact for spikes;
* a flatten before a Linear: the Linear reads the presynaptic neurons row-major;
* ``Recurrent`` spiking neurons: the layer gets a recurrent Dense (``rec_kernel``);
* dropout: the identity at inference;
* a time reduction (``readout``) after the last layer: read by the host.

Anything else (a residual join, attention, a norm elsewhere, a max pool of real values, a pool
after a synaptic node, ...) is refused with an error naming the module, its kind and the chip.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from flax import nnx

from spikejax.chip._graph import KINDS, LayerSpec, check_leaf_shapes
from spikejax.chip.connectivity import Synapse

__all__ = ["layers_from_graph"]

_NAMES = {"LIF": "lif", "IF": "if", "CubaLIF": "cuba", "LI": "li"}
_NORMS = ("SeqBatchNorm", "BatchNorm")


def module_at(model: nnx.Module, path: str | None) -> Any:
    """The submodule of ``model`` at a dotted state path (``"blocks.0.bn"``)."""
    obj: Any = model
    for part in (path or "").split(".") if path else ():
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _refuse(fn: str, chip: str, node, reason: str) -> ValueError:
    return ValueError(
        f"`{fn}`: module `{node.path or node.name}` is a {node.kind} ({node.op}), which no layer "
        f"of {chip} maps: {reason}."
    )


def _sample(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(d) for d in shape[2:])  # [T, B, *sample]


def _pool_fold(fn: str, chip: str, node) -> tuple[tuple, tuple, float]:
    a = node.attrs
    window, strides = tuple(a["window"]), tuple(a["strides"])
    if window != strides or any(p != (0, 0) for p in a["padding"]):
        raise _refuse(
            fn,
            chip,
            node,
            "a sum or average pool folds into the next layer's synapses only with its window "
            f"equal to its strides and no padding; got window {window}, strides {strides}, "
            f"padding {a['padding']}",
        )
    scale = 1.0 / a["count"] if node.op == "avg_pool" else 1.0
    return window, strides, scale


def _synapse(fn: str, chip: str, node, in_shape, pool) -> Synapse:
    out_shape = _sample(node.out_shape)
    window = None if pool is None else pool[:2]
    scale = 1.0 if pool is None else pool[2]
    if node.kind == "linear":
        return Synapse("dense", in_shape, out_shape, window, scale)
    a = node.attrs
    if any(d != 1 for d in a["input_dilation"]):
        raise _refuse(fn, chip, node, "a convolution with input dilation has no chip synapse")
    return Synapse(
        "conv",
        in_shape,
        out_shape,
        window,
        scale,
        kernel=tuple(a["kernel"]),
        strides=tuple(a["strides"]),
        padding=tuple(tuple(p) for p in a["padding"]),
        dilation=tuple(a["kernel_dilation"]),
        groups=int(a["groups"]),
    )


def _neuron(fn: str, chip: str, model: nnx.Module, node) -> tuple[str, dict, str, str | None]:
    """``(kind, settings, leaf prefix, recurrent weight path)`` of a neuron node."""
    prefix = f"{node.path}.params." if node.path else "params."
    name, settings, rec = node.op, dict(node.attrs["settings"]), None
    if name == "Recurrent":
        inner = module_at(model, node.path).params.neuron
        name = type(inner).__name__
        settings = {
            k: getattr(getattr(inner, k), "value", getattr(inner, k))
            for k in ("reset", "decay_input", "v_init")
            if hasattr(type(inner), "__dataclass_fields__")
            and k in type(inner).__dataclass_fields__
        }
        rec, prefix = f"{prefix}weight", f"{prefix}neuron."
    kind = _NAMES.get(name)
    if kind is None:
        raise _refuse(
            fn,
            chip,
            node,
            f"its neuron must be one of {tuple(_NAMES)} (or Recurrent of one); got {name}",
        )
    if settings.get("v_init", 0.0) != 0.0:  # the chips start every membrane at 0
        raise ValueError(
            f"`{fn}`: the neuron of {node.path!r} must start at rest (v_init = 0) to run on "
            f"{chip}; got v_init = {settings['v_init']}."
        )
    return kind, settings, prefix, rec


def layers_from_graph(graph, model: nnx.Module, fn: str, chip: str) -> tuple[LayerSpec, ...]:
    """The chip layers of a traced network, in call order (see the module docstring)."""
    from spikejax.chip._graph import flat_state

    flat = flat_state(nnx.state(model))
    shape = _sample(graph.input_shape)
    previous, pool, pending = "input", None, None
    specs: list[LayerSpec] = []
    for node in graph:
        if node.kind == "readout" and pending is None and pool is None and specs:
            if specs[-1].kind != "or" and all(n.kind == "readout" for n in _after(graph, node)):
                continue  # a reduction over time after the last layer: the host reads it
        if node.inputs != (previous,):
            if node.kind == "join":
                raise _refuse(fn, chip, node, _JOIN)
            raise ValueError(
                f"`{fn}`: every layer must take the output of the one called before it to run "
                f"on {chip}; `{node.name}` ({node.kind}) takes {list(node.inputs)}, not "
                f"[{previous!r}]."
            )
        previous = node.name
        if node.kind == "dropout":
            continue
        if node.kind == "reshape" and node.op == "flatten" and pending is None:
            continue  # the next Linear reads the presynaptic neurons row-major
        if node.kind == "pool" and node.op in ("sum_pool", "avg_pool") and pending is None:
            if pool is not None:
                raise _refuse(fn, chip, node, "two pools in a row do not fold into one synapse")
            pool = _pool_fold(fn, chip, node)
            continue
        if node.kind == "pool" and node.op == "max_pool" and pending is None and pool is None:
            if not node.binary_input:
                raise _refuse(
                    fn, chip, node, "max pooling is an OR of spikes only on binary inputs"
                )
            a = node.attrs
            syn = Synapse(
                "pool",
                shape,
                _sample(node.out_shape),
                kernel=tuple(a["window"]),
                strides=tuple(a["strides"]),
                padding=tuple(tuple(p) for p in a["padding"]),
            )
            specs.append(
                LayerSpec("or", None, None, (), syn.n_in, syn.n_out, synapse=syn, path=node.name)
            )
            shape = syn.out_shape
            continue
        if node.kind in ("linear", "conv") and pending is None:
            syn = _synapse(fn, chip, node, shape, pool)
            n_pre = math.prod(syn.pooled_shape)
            if node.kind == "linear" and n_pre != node.attrs["in_features"]:
                raise _refuse(fn, chip, node, f"its {n_pre} inputs do not match in_features")
            prefix = f"{node.path}." if node.path else ""
            bias = f"{prefix}bias" if node.attrs["use_bias"] else None
            pending = {"syn": syn, "kernel": f"{prefix}kernel", "bias": bias, "norm": None}
            pool = None
            continue
        if node.kind == "norm" and node.op in _NORMS and pending is not None:
            if pending["norm"] is not None:
                raise _refuse(fn, chip, node, "a second norm after one synaptic layer")
            pending["norm"], pending["eps"] = _norm(model, node)
            continue
        if node.kind == "neuron" and pending is not None:
            kind, settings, prefix, rec = _neuron(fn, chip, model, node)
            syn = pending["syn"]
            specs.append(
                LayerSpec(
                    kind,
                    pending["kernel"],
                    pending["bias"],
                    tuple((name, f"{prefix}{name}") for name in KINDS[kind]),
                    syn.n_in,
                    syn.n_out,
                    settings.get("reset"),
                    bool(settings.get("decay_input", False)),
                    synapse=None if _plain(syn) else syn,
                    norm=pending["norm"],
                    norm_eps=pending.get("eps", 0.0),
                    rec_kernel=rec,
                    path=node.path or node.name,
                )
            )
            pending, shape = None, syn.out_shape
            continue
        raise _refuse(fn, chip, node, _reason(node, pending, pool))
    if pending is not None or pool is not None or not specs:
        raise ValueError(
            f"`{fn}`: the network must end with a Spiking layer after its last synaptic layer "
            f"or pool to run on {chip}; got layers {[s.path for s in specs]}."
        )
    for spec in specs:
        check_leaf_shapes(fn, spec, flat)
    for spec in specs[:-1]:
        if spec.kind == "li":
            raise ValueError(
                f"`{fn}`: only the last layer may be a non-spiking LI readout; `{spec.path}` is LI."
            )
    return tuple(specs)


_JOIN = (
    "a residual join (e.g. SEW ADD of two spike trains) would be two synaptic inputs with the "
    "same weights into the next layer, but on the chip every synaptic stage adds one step of "
    "delay, so the skip path arrives earlier than the branch; deployment does not insert the "
    "delay-matching relays this needs, so joins are not supported"
)


def _plain(syn: Synapse) -> bool:
    """A dense synapse on a flat input: the MLP layer every chip runs as a matrix."""
    return syn.op == "dense" and syn.pool is None and len(syn.in_shape) == 1


def _after(graph, node) -> list:
    names = [n.name for n in graph]
    return list(graph.nodes[names.index(node.name) + 1 :])


def _reason(node, pending, pool) -> str:
    if node.kind == "join":
        return _JOIN
    if pending is not None:
        return "only a batch norm may come between a synaptic layer and its neurons"
    if pool is not None:
        return "a folded pool must be followed by a Linear or Conv layer"
    if node.kind == "norm":
        return "a norm folds into the weights only right after a Linear or Conv layer"
    if node.kind == "neuron":
        return "spiking neurons must follow a Linear or Conv layer"
    return "no chip layer computes it"


def _norm(model: nnx.Module, node) -> tuple[tuple[tuple[str, str], ...], float]:
    module = module_at(model, node.path)
    bn = module.norm if node.op == "SeqBatchNorm" else module
    base = f"{node.path}.norm." if node.op == "SeqBatchNorm" else f"{node.path}."
    paths = tuple((name, f"{base}{name}") for name in ("scale", "bias", "mean", "var"))
    return paths, float(np.float64(bn.epsilon))
