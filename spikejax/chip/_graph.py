"""The float networks a chip runs: synaptic layers and spiking neurons, read from a model.

From a module, the layers are read from its network graph (`spikejax.chip._graph_layers`:
dense and convolutional synapses, folded batch norms and sum/average pools, max pools of spikes
as OR relays, flatten, recurrent neurons). From a bare ``nnx.State`` only a multilayer
perceptron can be read: ``Linear → Spiking(neuron)`` repeated, every
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
from spikejax.chip.connectivity import Synapse, dense
from spikejax.graph import path_str

__all__ = ["KINDS", "LayerSpec", "check_leaf_shapes", "describe", "flat_state", "path_str"]

#: Neuron kinds a chip can run, with the leaf names of each.
KINDS = {
    "lif": ("beta", "threshold"),
    "if": ("threshold",),
    "cuba": ("alpha", "beta", "threshold"),
    "li": ("beta",),
}


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
    kernel: str | None
    bias: str | None
    leaves: tuple[tuple[str, str], ...]
    n_in: int
    n_out: int
    reset: str | None = None
    decay_input: bool | None = None
    synapse: Synapse | None = None
    norm: tuple[tuple[str, str], ...] | None = None
    norm_eps: float = 0.0
    rec_kernel: str | None = None
    path: str = ""

    def leaf(self, name: str) -> str | None:
        """The state path of neuron leaf ``name`` (``None`` if the neuron has none)."""
        return dict(self.leaves).get(name)

    @property
    def conn(self) -> Synapse:
        """The layer's connectivity (a dense one for a plain ``Linear`` layer)."""
        return self.synapse if self.synapse is not None else dense(self.n_in, self.n_out)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Per-sample shape of the layer's neurons (channels last)."""
        return self.conn.out_shape

    @property
    def in_shape(self) -> tuple[int, ...]:
        """Per-sample shape of the layer's presynaptic neurons (channels last)."""
        return self.conn.in_shape

    @property
    def name(self) -> str:
        """The layer's name in messages: its neurons' module path, else its kernel's."""
        return self.path or (self.kernel or "").removesuffix(".kernel") or "<root>"


def check_leaf_shapes(fn: str, spec: LayerSpec, flat: dict[str, Any]) -> None:
    """Raise unless every neuron and norm leaf of ``spec`` is in ``flat`` and holds a scalar,
    one value per channel or one per neuron, and the bias one per channel."""
    shape = spec.out_shape
    allowed = {(), (shape[-1],), shape, (spec.n_out,)}
    paths = [path for _, path in spec.leaves] + [path for _, path in spec.norm or ()]
    paths += [spec.bias] if spec.bias is not None else []
    for path in paths:
        if path not in flat:
            raise ValueError(f"`{fn}`: the state must hold the leaf `{path}`; it is missing.")
        got = np.shape(flat[path])
        if got not in allowed:
            raise ValueError(
                f"`{fn}`: `{path}` must be a scalar or have shape ({shape[-1]},) (one per "
                f"channel) or {shape} (one per neuron of `{spec.name}`); got {got}."
            )
    if spec.rec_kernel is not None:
        got = np.shape(flat[spec.rec_kernel])
        if got != (spec.n_out, spec.n_out):
            raise ValueError(
                f"`{fn}`: `{spec.rec_kernel}` must have shape ({spec.n_out}, {spec.n_out}); "
                f"got {got}."
            )


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
        from spikejax.chip._graph_layers import layers_from_graph

        return layers_from_graph(graph, model, fn, chip)
    elif isinstance(model, nnx.State):
        flat = flat_state(model)
        nodes = _from_state(flat)
    else:
        raise TypeError(
            f"`{fn}`: `model` must be an nnx.Module or its nnx.state; got {type(model).__name__}."
        )
    return _chain(nodes, flat, fn)
