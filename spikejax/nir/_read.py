"""Reading a NIR graph (an ``nir.NIRGraph`` or an HDF5 file) into plain, checked node records.

A file is read with ``h5py`` as numbers and strings only: nothing in it is imported or executed.
Every node of the graph becomes a `NodeRecord` or is refused by name: an unknown type lists
the supported ones, a missing parameter names the node, its type and the parameter.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["NEURONS", "PARAMS", "GraphRecord", "NodeRecord", "read_graph"]

#: Every NIR node type the loader runs, with its required and optional parameters.
PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Input": (("shape",), ()),
    "Output": ((), ("shape",)),
    "Affine": (("weight", "bias"), ()),
    "Linear": (("weight",), ()),
    "Scale": (("scale",), ()),
    "Threshold": (("threshold",), ()),
    "Conv1d": (("weight", "stride", "padding", "dilation", "groups", "bias"), ("input_shape",)),
    "Conv2d": (("weight", "stride", "padding", "dilation", "groups", "bias"), ("input_shape",)),
    "SumPool2d": (("kernel_size", "stride", "padding"), ()),
    "AvgPool2d": (("kernel_size", "stride", "padding"), ()),
    "Flatten": (("start_dim", "end_dim"), ("input_type",)),
    "Delay": (("delay",), ()),
    "LIF": (("tau", "r", "v_leak", "v_threshold"), ("v_reset",)),
    "LI": (("tau", "r", "v_leak"), ()),
    "IF": (("r", "v_threshold"), ("v_reset",)),
    "I": (("r",), ()),
    "CubaLIF": (("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "w_in"), ("v_reset",)),
    "CubaLI": (("tau_syn", "tau_mem", "r", "v_leak", "w_in"), ()),
}
#: The stateful node types: a cycle of the graph must pass through one of them.
NEURONS = ("LIF", "LI", "IF", "I", "CubaLIF", "CubaLI")


@dataclasses.dataclass(frozen=True)
class NodeRecord:
    """One node: its NIR type and parameters (numpy arrays, ints or strings; absent optional
    parameters are missing from ``params``)."""

    name: str
    type: str
    params: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class GraphRecord:
    """A whole graph: its nodes by name, its ``(source, target)`` edges, and where it came from
    (``"the graph"`` or ``"file '<path>'"``, for error messages)."""

    nodes: Mapping[str, NodeRecord]
    edges: tuple[tuple[str, str], ...]
    origin: str


def _fail(origin: str, message: str) -> ValueError:
    return ValueError(f"`spikejax.nir.load`: {origin}: {message}")


def _value(value: Any) -> Any:
    """An HDF5 or NIR value as a number, a string or a numpy array (never an object array)."""
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, str | int | float | np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype == object or array.dtype.kind in "SU":
            if array.ndim == 0:
                item = array.item()
                return item.decode("utf8") if isinstance(item, bytes) else str(item)
            raise TypeError(f"an array of strings or objects ({array.dtype})")
        return value if isinstance(value, str) else array
    if isinstance(value, tuple | list):
        return np.asarray(value)
    if value is None:
        return None
    raise TypeError(f"a value of type {type(value).__name__}")


def _record(origin: str, name: str, kind: str, raw: Mapping[str, Any]) -> NodeRecord:
    if kind == "NIRGraph":
        raise _fail(
            origin,
            f"node {name!r} is a nested NIRGraph; spikejax.nir.load runs flat graphs: "
            "connect the subgraph's nodes into the outer graph.",
        )
    if kind not in PARAMS:
        raise _fail(
            origin,
            f"node {name!r} has the unknown type {kind!r}; the supported types are "
            f"{', '.join(PARAMS)}.",
        )
    required, optional = PARAMS[kind]
    missing = [p for p in required if raw.get(p) is None]
    if missing:
        raise _fail(origin, f"node {name!r} ({kind}) lacks the parameter(s) {', '.join(missing)}.")
    params = {}
    for p in (*required, *optional):
        if raw.get(p) is None:
            continue
        try:
            params[p] = _value(raw[p])
        except TypeError as error:
            raise _fail(
                origin, f"node {name!r} ({kind}): parameter {p!r} must be numeric; got {error}."
            ) from None
        if isinstance(params[p], str) and p != "padding":  # only a padding may be text
            raise _fail(
                origin,
                f"node {name!r} ({kind}): parameter {p!r} must be numeric; got text "
                f"{params[p][:60]!r}.",
            )
        if isinstance(params[p], np.ndarray) and params[p].dtype.kind not in "biuf":
            raise _fail(
                origin,
                f"node {name!r} ({kind}): parameter {p!r} must be numeric; got dtype "
                f"{params[p].dtype}.",
            )
    return NodeRecord(name, kind, params)


def _from_object(graph: Any) -> GraphRecord:
    origin = "the graph"
    nodes = {}
    for name, node in graph.nodes.items():
        kind = type(node).__name__
        raw = dict(vars(node))
        if kind == "Input":
            raw["shape"] = node.input_type.get("input")
        elif kind == "Output":
            raw["shape"] = node.output_type.get("output")
        elif kind == "Flatten":
            raw["input_type"] = (node.input_type or {}).get("input")
        nodes[name] = _record(origin, name, kind, raw)
    edges = tuple((str(a), str(b)) for a, b in graph.edges)
    return GraphRecord(nodes, edges, origin)


def _read_group(group: Any) -> dict[str, Any]:
    import h5py

    out: dict[str, Any] = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _read_group(item)
        elif isinstance(item, h5py.Dataset):
            out[key] = item[()]
    return out


def _from_file(path: str | os.PathLike) -> GraphRecord:
    import h5py

    origin = f"file '{os.fspath(path)}'"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`spikejax.nir.load`: no NIR file at '{os.fspath(path)}'.")
    try:
        with h5py.File(path, "r") as f:
            if "node" not in f:
                raise _fail(origin, "not a NIR file: it has no 'node' group.")
            root = _read_group(f["node"])
    except OSError as error:
        raise _fail(origin, f"cannot be read as HDF5 ({error}).") from None
    if _value(root.get("type")) != "NIRGraph" or not isinstance(root.get("nodes"), dict):
        raise _fail(origin, "the root node must be a NIRGraph with a 'nodes' group.")
    nodes = {}
    for name, raw in root["nodes"].items():
        if not isinstance(raw, dict) or "type" not in raw:
            raise _fail(origin, f"node {name!r} has no 'type'.")
        nodes[name] = _record(origin, name, str(_value(raw["type"])), raw)
    edges_raw = root.get("edges")
    edges_array = np.asarray(edges_raw if edges_raw is not None else np.zeros((0, 2)))
    if edges_array.size and (edges_array.ndim != 2 or edges_array.shape[1] != 2):
        raise _fail(origin, f"'edges' must be pairs (n, 2); got shape {edges_array.shape}.")
    edges = tuple(
        (
            a.decode("utf8") if isinstance(a, bytes) else str(a),
            b.decode("utf8") if isinstance(b, bytes) else str(b),
        )
        for a, b in edges_array.reshape(-1, 2)
    )
    return GraphRecord(nodes, edges, origin)


def read_graph(path_or_graph: Any) -> GraphRecord:
    """A `GraphRecord` from an ``nir.NIRGraph`` or the path of a NIR (HDF5) file."""
    if isinstance(path_or_graph, str | os.PathLike):
        return _from_file(path_or_graph)
    if type(path_or_graph).__name__ == "NIRGraph" and hasattr(path_or_graph, "nodes"):
        return _from_object(path_or_graph)
    raise TypeError(
        "`spikejax.nir.load`: `path_or_graph` must be a nir.NIRGraph or the path of a NIR file; "
        f"got {type(path_or_graph).__name__}."
    )
