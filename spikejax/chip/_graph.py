"""The float networks a chip runs: a chain of ``nnx.Linear → Spiking`` layers, read from a model.

A supported network is a multilayer perceptron: ``Linear → Spiking(neuron)`` repeated, every
hidden neuron spiking (`LIF`, `IF`,
`CubaLIF`), the last one spiking or a leaky-integrator readout
(`LI`). `describe` lists its layers in order with the state paths
of their leaves, from a model's network graph (`spikejax.graph.trace`: the layers in the
order they run, neuron classes and static settings exact) or from a bare ``nnx.state`` (layers in
the natural order of their paths, neuron kinds inferred from the leaf names, static settings
unknown).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax import graph as trace_graph
from spikejax.graph import path_str

__all__ = ["KINDS", "LayerSpec", "describe", "flat_state", "path_str"]

#: Neuron kinds a chip can run, with the leaf names of each.
KINDS = {
    "lif": ("beta", "threshold"),
    "if": ("threshold",),
    "cuba": ("alpha", "beta", "threshold"),
    "li": ("beta",),
}
_NAMES = {"LIF": "lif", "IF": "if", "CubaLIF": "cuba", "LI": "li"}


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One ``Linear → Spiking`` layer of a float network.

    Attributes:
        kind: ``"lif"``, ``"if"``, ``"cuba"`` or ``"li"``.
        kernel: state path of the Linear kernel ``(n_in, n_out)``.
        bias: state path of the Linear bias, or ``None`` without bias.
        leaves: ``(leaf name, state path)`` of every neuron leaf, e.g. ``("beta", "...beta")``.
        n_in, n_out: the layer's sizes.
        reset: the float neuron's reset mode, ``None`` when unknown (read from a bare state).
        decay_input: the neuron scales its input by ``1 - beta``; ``None`` when unknown.
    """

    kind: str
    kernel: str
    bias: str | None
    leaves: tuple[tuple[str, str], ...]
    n_in: int
    n_out: int
    reset: str | None = None
    decay_input: bool | None = None

    def leaf(self, name: str) -> str | None:
        """The state path of neuron leaf ``name`` (``None`` if the neuron has none)."""
        return dict(self.leaves).get(name)


def _is_variable(x: Any) -> bool:
    return isinstance(x, nnx.Variable)


def flat_state(state: Any) -> dict[str, Any]:
    """``{dotted path: array}`` of every leaf of an ``nnx.State`` (variables unwrapped)."""
    leaves = jax.tree_util.tree_flatten_with_path(state, is_leaf=_is_variable)[0]
    return {
        path_str(path): (v.get_value() if isinstance(v, nnx.Variable) else v) for path, v in leaves
    }


def _natural(path: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"\.", path))


# ------------------------------------------------------------------------------- from a module


def _probe(model: nnx.Module, fn: str) -> trace_graph.Graph:
    """The model's graph: traced on its declared per-sample input shape when it has one (the
    zoo's ``image_shape``), else on ``[T=2, B=3, n_in]`` for the input size of one of its Linear
    layers (the first that the model accepts)."""
    shape = getattr(model, "image_shape", None)
    if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape):
        dtype = getattr(model, "dtype", jnp.float32)
        return trace_graph.trace(model, jax.ShapeDtypeStruct((2, 3, *shape), dtype))
    sizes = sorted({m.in_features for _, m in nnx.iter_modules(model) if isinstance(m, nnx.Linear)})
    errors = []
    for n in sizes:
        try:
            return trace_graph.trace(model, jax.ShapeDtypeStruct((2, 3, n), jnp.float32))
        except ValueError as error:
            errors.append(f"[2, 3, {n}]: {error}")
    raise ValueError(
        f"`{fn}`: `model` must be a chain of nnx.Linear and spikejax.layers.Spiking layers that "
        "runs on time-major input [T, B, features]; it has no nnx.Linear layer"
        + ("" if not errors else " whose input size it accepts: " + "; ".join(errors))
        + "."
    )


def _from_graph(
    graph: trace_graph.Graph, fn: str, chip: str = "a chip"
) -> list[tuple[str, str, dict[str, Any]]]:
    """``Linear → Spiking`` pairs in call order, each fed by the one before."""
    nodes = []
    previous = "input"
    for node in graph:
        if node.kind == "readout" and nodes and nodes[-1][0] == "spiking":
            continue  # a reduction over time after the last layer: the host reads the outputs
        if node.kind not in ("linear", "neuron"):
            raise ValueError(
                f"`{fn}`: the network must be a chain of nnx.Linear and spikejax.layers.Spiking "
                f"layers to run on {chip}; module `{node.path or node.name}` is a {node.kind} "
                f"({node.op}), which no layer of {chip} maps."
            )
        if node.inputs != (previous,):
            raise ValueError(
                f"`{fn}`: every layer must take the output of the one called before it; "
                f"`{node.name}` takes {list(node.inputs)}, not [{previous!r}]."
            )
        previous = node.name
        if node.kind == "linear":
            nodes.append(("linear", node.path, {"bias": bool(node.attrs["use_bias"])}))
            continue
        kind = _NAMES.get(node.op)
        if kind is None:
            raise ValueError(
                f"`{fn}`: the neuron of {node.path!r} must be one of {tuple(_NAMES)} to run on a "
                f"chip; got {node.op}."
            )
        settings = node.attrs["settings"]
        if settings.get("v_init", 0.0) != 0.0:  # the chips start every membrane at 0
            raise ValueError(
                f"`{fn}`: the neuron of {node.path!r} must start at rest (v_init = 0) to run on a "
                f"chip; got v_init = {settings['v_init']}."
            )
        info = {
            "kind": kind,
            "reset": settings.get("reset"),
            "decay_input": bool(settings.get("decay_input", False)),
            "prefix": f"{node.path}.params." if node.path else "params.",
        }
        nodes.append(("spiking", node.path, info))
    return nodes


# --------------------------------------------------------------------------------- from a state


def _from_state(flat: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    linear, spiking = {}, {}
    for path in flat:
        parts = path.split(".")
        if parts[-1] == "kernel":
            linear[".".join(parts[:-1])] = {"bias": ".".join([*parts[:-1], "bias"]) in flat}
        elif len(parts) >= 2 and parts[-2] == "params":
            spiking.setdefault(".".join(parts[:-2]), set()).add(parts[-1])
    nodes = [("linear", p, info) for p, info in linear.items()]
    for p, names in spiking.items():
        kind = next((k for k, v in KINDS.items() if set(v) == names), None)
        if kind is None:
            raise ValueError(
                f"`describe`: the neuron at {p!r} must have the leaves of one of "
                f"{ {k: v for k, v in KINDS.items()} }; got {sorted(names)}."
            )
        prefix = f"{p}." if p else ""
        nodes.append(
            (
                "spiking",
                p,
                {"kind": kind, "reset": None, "decay_input": None, "prefix": f"{prefix}params."},
            )
        )
    return sorted(nodes, key=lambda n: _natural(n[1]))


# ------------------------------------------------------------------------------------- describe


def _chain(nodes: list, flat: dict[str, Any], fn: str) -> tuple[LayerSpec, ...]:
    order = " → ".join(f"{kind}:{path or '<root>'}" for kind, path, _ in nodes)
    if (
        not nodes
        or len(nodes) % 2
        or any(node[0] != ("linear" if i % 2 == 0 else "spiking") for i, node in enumerate(nodes))
    ):
        raise ValueError(
            f"`{fn}`: the network must alternate nnx.Linear and Spiking layers, starting with a "
            f"Linear and ending with a Spiking layer; got [{order}] (pass the model itself when "
            "the layer order cannot be read from the state's keys)."
        )
    specs: list[LayerSpec] = []
    for i in range(0, len(nodes), 2):
        (_, lpath, linfo), (_, _, sinfo) = nodes[i], nodes[i + 1]
        lprefix = f"{lpath}." if lpath else ""
        kernel = f"{lprefix}kernel"
        k = np.shape(flat[kernel])
        if len(k) != 2:
            raise ValueError(f"`{fn}`: `{kernel}` must be a matrix (in, out); got shape {k}.")
        n_in, n_out = int(k[0]), int(k[1])
        if specs and specs[-1].n_out != n_in:
            raise ValueError(
                f"`{fn}`: `{kernel}` must take the {specs[-1].n_out} outputs of the previous layer "
                f"as inputs; got shape {k} (layer order [{order}])."
            )
        leaves = tuple((name, f"{sinfo['prefix']}{name}") for name in KINDS[sinfo["kind"]])
        for _, path in leaves:
            if path not in flat:
                raise ValueError(f"`{fn}`: the state must hold the leaf `{path}`; it is missing.")
            shape = np.shape(flat[path])
            if shape not in ((), (n_out,)):
                raise ValueError(
                    f"`{fn}`: `{path}` must be a scalar or have shape ({n_out},) (one per "
                    f"neuron of `{kernel}`); got {shape}."
                )
        bias = f"{lprefix}bias" if linfo["bias"] else None
        if bias is not None and np.shape(flat[bias]) != (n_out,):
            raise ValueError(
                f"`{fn}`: `{bias}` must have shape ({n_out},); got {np.shape(flat[bias])}."
            )
        specs.append(
            LayerSpec(
                sinfo["kind"],
                kernel,
                bias,
                leaves,
                n_in,
                n_out,
                sinfo["reset"],
                sinfo["decay_input"],
            )
        )
    for spec in specs[:-1]:
        if spec.kind == "li":
            raise ValueError(
                f"`{fn}`: only the last layer may be a non-spiking LI readout; the layer of "
                f"`{spec.kernel}` is LI."
            )
    return tuple(specs)


def describe(
    model: Any, *, fn: str = "describe", example_input: Any = None, chip: str = "a chip"
) -> tuple[LayerSpec, ...]:
    """The layers of a supported float network, in order.

    Args:
        model: an ``nnx.Module`` (layers in the order its network graph runs them; neuron
            classes, reset modes and ``decay_input`` are read from it) or its ``nnx.state``
            (layers in the natural order of their paths, e.g. ``blocks.0 < blocks.1 < head``;
            neuron kinds from the leaf names, reset and ``decay_input`` unknown).
        fn: function name used in error messages.
        example_input: the input the model's graph is traced on (an array or
            ``jax.ShapeDtypeStruct`` ``[T, B, n_in]``); default: ``[2, 3, n]`` for the input size
            ``n`` of one of its Linear layers that the model accepts.
        chip: the target named in the error for a node that no chip layer maps.

    Returns:
        One `LayerSpec` per ``Linear → Spiking`` pair.

    Example:
        >>> from flax import nnx
        >>> from spikejax.models import LIFMLP
        >>> from spikejax.chip._graph import describe
        >>> specs = describe(LIFMLP(64, (32,), 10, rngs=nnx.Rngs(0)))
        >>> [(s.kind, s.kernel, s.n_in, s.n_out) for s in specs]
        [('lif', 'blocks.0.fc.kernel', 64, 32), ('li', 'head.fc.kernel', 32, 10)]
    """
    if isinstance(model, nnx.Module):
        if example_input is None:
            graph = _probe(model, fn)
        else:
            graph = trace_graph.trace(model, example_input)
        nodes = _from_graph(graph, fn, chip)
        flat = flat_state(nnx.state(model))
    elif isinstance(model, nnx.State):
        flat = flat_state(model)
        nodes = _from_state(flat)
    else:
        raise TypeError(
            f"`{fn}`: `model` must be an nnx.Module or its nnx.state; got {type(model).__name__}."
        )
    return _chain(nodes, flat, fn)
