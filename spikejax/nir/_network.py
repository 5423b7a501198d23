"""``load``: a NIR graph as an ordinary spikejax NNX model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float

from spikejax.layers import Spiking, TimeFolded
from spikejax.nir._graph import back_edges, components, sources_of
from spikejax.nir._layers import Conv, Flatten, Pool, Scale, Threshold
from spikejax.nir._loop import STATELESS, Loop
from spikejax.nir._params import LoadError, check_dt, delay_steps, neuron_of, node_error
from spikejax.nir._read import NEURONS, GraphRecord, NodeRecord, read_graph
from spikejax.nir._shapes import conv_geometry, flatten_dims, out_shape, pool_geometry

__all__ = ["NIRNetwork", "load"]


def _key(name: str, taken: set[str]) -> str:
    """A node name as an attribute path segment (no dots), unique."""
    key = re.sub(r"[^0-9A-Za-z_]", "_", name) or "_"
    base, k = key, 1
    while key in taken:
        key, k = f"{base}_{k}", k + 1
    taken.add(key)
    return key


def _linear(node: NodeRecord) -> TimeFolded:
    weight = np.asarray(node.params["weight"], np.float32)
    use_bias = node.type == "Affine"
    layer = nnx.Linear(weight.shape[1], weight.shape[0], use_bias=use_bias, rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.asarray(weight.T)
    if use_bias:
        bias = np.broadcast_to(np.asarray(node.params["bias"], np.float32), (weight.shape[0],))
        layer.bias[...] = jnp.asarray(bias)
    return TimeFolded(layer)


def _stateless_arrays(node: NodeRecord, shape: tuple[int, ...]) -> dict[str, Array]:
    """A stateless node's parameters for `Loop`, broadcast to its shape."""
    if node.type in ("Affine", "Linear"):
        weight = np.asarray(node.params["weight"], np.float32)
        arrays = {"weight": jnp.asarray(weight)}
        if node.type == "Affine":
            bias = np.broadcast_to(np.asarray(node.params["bias"], np.float32), weight.shape[:1])
            arrays["bias"] = jnp.asarray(bias)
        return arrays
    name = "scale" if node.type == "Scale" else "threshold"
    return {name: jnp.asarray(np.broadcast_to(np.asarray(node.params[name], np.float32), shape))}


class NIRNetwork(nnx.Module):
    """A NIR graph as a spikejax model: time-major ``[T, B, *input_shape]`` in, per-step outputs
    ``[T, B, *output_shape]`` out (a dict by Output node name when the graph has several), in
    NIR's own (channels-first) shapes. Made by `spikejax.nir.load`.

    Every node is a layer under ``layers`` named after it: ``nnx.Linear`` (Affine/Linear,
    time-folded), `Conv`, `Pool`,
    `Flatten`, `Scale`,
    `Threshold`, or a `spikejax.layers.Spiking` layer of a neuron
    (LIF, LI, IF, I as ``LI(β = 1)``, CubaLIF, CubaLI) or of a `Delay`; the
    members of a cycle form one ``Spiking`` layer of a `Loop`. A node with
    several incoming edges sums them. So the model traces (`spikejax.graph.trace`), trains,
    streams (`spikejax.run`) and exports back (`spikejax.nir.export`) like any other.

    Attributes:
        input_shapes, output_shapes: feature shapes of the Input and Output nodes by name.
        dt: the time step the graph was discretised at (seconds).
        types: the NIR type of every node by name.
    """

    def __init__(
        self,
        graph: GraphRecord,
        *,
        dt: float,
        discretization: str,
    ):
        origin = graph.origin
        nodes = graph.nodes
        names = list(nodes)
        for a, b in graph.edges:
            for end in (a, b):
                if end not in nodes:
                    raise LoadError(
                        f"`spikejax.nir.load`: {origin}: the edge ({a!r}, {b!r}) names {end!r}, "
                        f"which is not a node; the nodes are {', '.join(names)}."
                    )
        sources = sources_of(names, graph.edges)
        inputs = [n for n in names if nodes[n].type == "Input"]
        outputs = [n for n in names if nodes[n].type == "Output"]
        if not inputs or not outputs:
            raise LoadError(
                f"`spikejax.nir.load`: {origin}: a graph needs Input and Output nodes; got "
                f"inputs {inputs} and outputs {outputs}."
            )
        for n in names:
            node = nodes[n]
            if node.type == "Input" and sources[n]:
                raise node_error(origin, node, f"takes no incoming edges; got {sources[n]}.")
            if node.type != "Input" and not sources[n]:
                raise node_error(origin, node, "has no incoming edge: nothing would run it.")
        self._check_cycles(graph, names)
        shapes: dict[str, tuple[int, ...]] = {
            n: tuple(int(v) for v in np.asarray(nodes[n].params["shape"]).reshape(-1))
            for n in inputs
        }
        taken: set[str] = set()
        keys = {n: _key(n, taken) for n in names}
        layers: dict[str, Any] = {}
        plan = []
        for members in components(names, graph.edges):
            if members[0] in inputs:
                continue
            cyclic = len(members) > 1 or (members[0], members[0]) in graph.edges
            if cyclic:
                layer, entry_sources, exit_name = self._loop(
                    graph, members, sources, shapes, dt, discretization
                )
                layers[keys[exit_name]] = layer
                plan.append((keys[exit_name], tuple(keys[s] for s in entry_sources), exit_name))
                continue
            (name,) = members
            node = nodes[name]
            in_shape = self._fan_in(graph, name, sources[name], shapes)
            try:
                shapes[name] = out_shape(node, in_shape, origin)
            except LoadError as error:
                raise LoadError(f"{error} (fed by {', '.join(map(repr, sources[name]))})") from None
            if node.type == "Output":
                declared = node.params.get("shape")
                if (
                    declared is not None
                    and np.asarray(declared).size
                    and tuple(int(v) for v in np.asarray(declared).reshape(-1)) != shapes[name]
                ):
                    raise node_error(
                        origin,
                        node,
                        f"declares shape {tuple(np.asarray(declared).reshape(-1))} but "
                        f"receives {shapes[name]} from {', '.join(map(repr, sources[name]))}.",
                    )
                plan.append((keys[name], tuple(keys[s] for s in sources[name]), name))
                continue
            layers[keys[name]] = self._layer(
                node, in_shape, shapes[name], dt, discretization, origin
            )
            plan.append((keys[name], tuple(keys[s] for s in sources[name]), name))
        self.layers = nnx.Dict(layers)
        self.plan = tuple(plan)
        self.input_keys = tuple(keys[n] for n in inputs)
        self.output_keys = tuple(keys[n] for n in outputs)
        # static attributes are hashable (tuples of pairs), read through the properties below
        self.input_shape_pairs = tuple((n, shapes[n]) for n in inputs)
        self.output_shape_pairs = tuple((n, shapes[n]) for n in outputs)
        self.names = tuple((keys[n], n) for n in names)
        self.type_pairs = tuple((n, nodes[n].type) for n in names)
        self.dt = float(dt)
        self.discretization = discretization

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return dict(self.input_shape_pairs)

    @property
    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        return dict(self.output_shape_pairs)

    @property
    def types(self) -> dict[str, str]:
        return dict(self.type_pairs)

    # ------------------------------------------------------------------------------ checks

    @staticmethod
    def _check_cycles(graph: GraphRecord, names: list[str]) -> None:
        """Every cycle passes through a neuron: the graph without neurons has no cycle."""
        keep = [n for n in names if graph.nodes[n].type not in NEURONS]
        inside = set(keep)
        edges = [(a, b) for a, b in graph.edges if a in inside and b in inside]
        for members in components(keep, edges):
            if len(members) > 1 or (members[0], members[0]) in edges:
                raise LoadError(
                    f"`spikejax.nir.load`: {graph.origin}: the cycle through "
                    f"{', '.join(map(repr, members))} has no neuron in it (LIF, LI, IF, I, "
                    "CubaLIF, CubaLI): its value at a step would depend on itself."
                )

    @staticmethod
    def _fan_in(graph, name, srcs, shapes) -> tuple[int, ...]:
        first = srcs[0]
        for other in srcs[1:]:
            if shapes[other] != shapes[first]:
                raise node_error(
                    graph.origin,
                    graph.nodes[name],
                    f"sums inputs of different shapes: {first!r} gives {shapes[first]}, "
                    f"{other!r} gives {shapes[other]}.",
                )
        return shapes[first]

    # ------------------------------------------------------------------------------ layers

    @staticmethod
    def _layer(node, in_shape, shape, dt, discretization, origin) -> nnx.Module:
        kind = node.type
        if kind in ("Affine", "Linear"):
            return _linear(node)
        if kind in ("Conv1d", "Conv2d"):
            g = conv_geometry(node, in_shape, origin)
            bias = np.asarray(node.params["bias"], np.float32)
            bias = np.broadcast_to(bias, g["out"][:1]) if bias.size else None
            return Conv(
                node.params["weight"],
                bias,
                stride=g["stride"],
                padding=g["padding"],
                dilation=g["dilation"],
                groups=g["groups"],
            )
        if kind in ("SumPool2d", "AvgPool2d"):
            g = pool_geometry(node, in_shape, origin)
            mode = "sum" if kind == "SumPool2d" else "avg"
            return Pool(mode, g["kernel"], g["stride"], g["padding"])
        if kind == "Flatten":
            return Flatten(*flatten_dims(node, in_shape, origin))
        if kind == "Scale":
            return Scale(np.broadcast_to(np.asarray(node.params["scale"], np.float32), shape))
        if kind == "Threshold":
            theta = np.broadcast_to(np.asarray(node.params["threshold"], np.float32), shape)
            return Threshold(theta)
        if kind == "Delay":
            return Spiking(delay_steps(node, shape, dt, origin))
        return Spiking(neuron_of(node, shape, dt, discretization, origin))

    def _loop(self, graph, members, sources, shapes, dt, discretization):
        origin, nodes = graph.origin, graph.nodes
        inside = set(members)
        entries = sorted({m for m in members for s in sources[m] if s not in inside})
        exits = sorted({a for a, b in graph.edges if a in inside and b not in inside})
        if len(entries) != 1 or len(exits) != 1:
            raise LoadError(
                f"`spikejax.nir.load`: {origin}: the cycle through {', '.join(map(repr, members))} "
                f"must be entered at one node and left from one node; it is entered at "
                f"{entries} and left from {exits}."
            )
        entry, exit_name = entries[0], exits[0]
        order, backs = back_edges(members, graph.edges, entry)
        outside = [s for s in sources[entry] if s not in inside]
        in_shape = self._fan_in(graph, entry, outside, shapes)
        # shapes along the forward edges; back edges are checked once every member is known
        for name in order:
            node = nodes[name]
            if node.type not in (*STATELESS, *NEURONS, "Delay"):
                raise node_error(
                    origin,
                    node,
                    f"cannot run inside a cycle; the types that can are "
                    f"{', '.join((*STATELESS, *NEURONS, 'Delay'))}.",
                )
            fwd = [s for s in sources[name] if (s, name) not in backs]
            if name == entry:
                fwd = [s for s in fwd if s in inside]
                src_shape = in_shape
            else:
                src_shape = None
            for s in fwd:
                if src_shape is not None and shapes[s] != src_shape:
                    raise node_error(
                        origin,
                        node,
                        f"sums inputs of different shapes: {shapes[s]} from {s!r} and {src_shape}.",
                    )
                src_shape = shapes[s]
            shapes[name] = out_shape(node, src_shape, origin)
        for a, b in backs:
            fed = shapes[b] if nodes[b].type not in ("Affine", "Linear") else None
            if fed is not None and shapes[a] != fed:
                raise node_error(
                    origin, nodes[b], f"receives {shapes[a]} from {a!r} but runs on {fed}."
                )
        parts, plan = {}, []
        for name in order:
            node = nodes[name]
            src_shape = shapes[name]
            if node.type in NEURONS:
                parts[name] = neuron_of(node, shapes[name], dt, discretization, origin)
            elif node.type == "Delay":
                parts[name] = delay_steps(node, shapes[name], dt, origin)
            else:
                parts[name] = _stateless_arrays(node, src_shape)
            srcs = tuple((s, (s, name) in backs) for s in sources[name] if s in inside)
            plan.append((name, node.type, srcs))
        loop = Loop(
            nodes=parts,
            plan=tuple(plan),
            entry=entry,
            exit=exit_name,
            shapes=tuple((n, shapes[n]) for n in order),
        )
        return Spiking(loop), outside, exit_name

    # ------------------------------------------------------------------------------- call

    def __call__(
        self, xs: Float[Array, "time batch ..."] | Mapping[str, Array]
    ) -> Array | dict[str, Array]:
        """``xs``: ``[T, B, *input_shape]`` (a dict by Input name for several inputs)."""
        names = dict(self.names)
        if isinstance(xs, Mapping):
            given = {k: xs[names[k]] for k in self.input_keys if names[k] in xs}
            if len(given) != len(self.input_keys) or len(xs) != len(given):
                raise ValueError(
                    f"`NIRNetwork`: `xs` must map every Input node "
                    f"{[names[k] for k in self.input_keys]} to an array; got keys {list(xs)}."
                )
        else:
            if len(self.input_keys) != 1:
                raise ValueError(
                    f"`NIRNetwork`: the graph has the inputs "
                    f"{[names[k] for k in self.input_keys]}: pass a dict of arrays."
                )
            given = {self.input_keys[0]: xs}
        values: dict[str, Array] = {}
        for key, array in given.items():
            want = self.input_shapes[names[key]]
            if not hasattr(array, "shape") or tuple(array.shape[2:]) != want or array.ndim < 3:
                raise ValueError(
                    f"`NIRNetwork`: input {names[key]!r} must be time-major [T, B, "
                    f"{', '.join(map(str, want))}]; got shape {getattr(array, 'shape', None)}."
                )
            values[key] = array
        for key, srcs, _ in self.plan:
            total = values[srcs[0]]
            for s in srcs[1:]:
                total = total + values[s]
            values[key] = self.layers[key](total) if key in self.layers else total
        if len(self.output_keys) == 1:
            return values[self.output_keys[0]]
        return {names[k]: values[k] for k in self.output_keys}


def load(path_or_graph: Any, *, dt: float, discretization: str = "euler") -> NIRNetwork:
    """A NIR graph (an ``nir.NIRGraph`` or a NIR file's path) as a spikejax model.

    NIR's semantics are honoured as in NIR 1.0 and the reference importers: neurons spike when
    ``v > v_threshold`` (strict) and are reset to ``v_reset``; LIF, LI, CubaLIF and CubaLI are
    integrated at ``dt`` by forward Euler, ``v ← v + dt/τ·(v_leak − v + R·x)`` (CubaLIF's current
    first, its new value feeding the membrane), or by the exact exponential step with
    ``discretization="exact"``; IF and I integrate per step, ``v ← v + R·x``; values cross forward
    edges in the same step and back edges (those closing a cycle) a step later, starting from
    zeros; a node sums its incoming edges; ``Delay`` is ``delay/dt`` whole steps; parameters of
    shape ``(1,)`` are broadcast to the layer. Every node is run or refused with an error naming
    it: unknown types (the error lists the supported ones), missing parameters, shapes that do
    not fit between connected nodes (both named), a cycle without a neuron, an unreadable file
    (its path named). Reading a file reads numbers and strings only.

    Args:
        path_or_graph: an ``nir.NIRGraph`` or the path of a file written by ``nir.write``.
        dt: the time step in seconds (> 0).
        discretization: ``"euler"`` (default; the reference importers' convention) or
            ``"exact"``.

    Returns:
        A `NIRNetwork` running on ``[T, B, *input_shape]``.

    Example:
        >>> import numpy as np, nir, jax.numpy as jnp, spikejax as sj
        >>> graph = nir.NIRGraph.from_list(
        ...     nir.Affine(weight=np.eye(2, dtype=np.float32), bias=np.zeros(2, np.float32)),
        ...     nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)))
        >>> model = sj.nir.load(graph, dt=1e-3)
        >>> model(jnp.full((4, 1, 2), 0.6))[:, 0, 0]      # v: 0.6, 1.2 > 1 → spike, 0.6, 1.2
        Array([0., 1., 0., 1.], dtype=float32)
    """
    check_dt("load", dt, discretization)
    return NIRNetwork(read_graph(path_or_graph), dt=float(dt), discretization=discretization)
