"""What a traced network is: nodes in call order, their edges, shapes, parameters and MACs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["KINDS", "SYNAPTIC", "FrozenDict", "Graph", "Node", "NodeSpec", "freeze"]

#: Every node kind the tracer produces.
KINDS = (
    "linear",
    "conv",
    "attention",
    "pool",
    "reshape",
    "norm",
    "neuron",
    "join",
    "activation",
    "dropout",
    "readout",
    "op",
)
#: Kinds whose input reaches the output through weights: the layers that cost synaptic operations.
SYNAPTIC = ("linear", "conv", "attention")


class FrozenDict(Mapping[str, Any]):
    """An immutable, hashable mapping: node attributes, so that a graph can be a static value."""

    def __init__(self, items: Mapping[str, Any] | None = None):
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items(), key=lambda kv: kv[0])))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenDict({self._items!r})"


def freeze(value: Any) -> Any:
    """Mappings as `FrozenDict` and lists as tuples, recursively."""
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """What a user-defined layer declares about itself (see `AbstractNode`).

    Attributes:
        kind: one of `KINDS`.
        attrs: anything a consumer needs to know (e.g. ``{"order": "qk_v"}``); plain values.
        macs: MACs per sample and step; ``None`` counts the matrix products and convolutions the
            layer executes with the shared rules of `spikejax.graph.costs`.
    """

    kind: str
    attrs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    macs: int | None = None


@dataclasses.dataclass(frozen=True)
class Node:
    """One operation of a traced network.

    Attributes:
        name: unique name: the module's dotted path in ``nnx.state(model)`` for a layer
            (``"blocks.0.fc"``), ``"<container>.<op>"`` for an operation written in a module's own
            code (``"stages.0.1.add"``, ``"flatten"``); a repeat gets ``_1``, ``_2``, ...
        kind: one of `KINDS`.
        op: the class (``"Linear"``, ``"LIF"``) or operation (``"max"``, ``"add"``, ``"flatten"``).
        path: the module's path in ``nnx.state(model)``; ``None`` for an operation of a module's
            own code.
        inputs: names of the nodes feeding this one, in order of use (``"input"``: the model's
            input).
        in_shapes: the shapes of those inputs, time-major (a time-folded ``[T·B, ...]`` tensor is
            given as ``[T, B, ...]``; a static one as ``[B, ...]``).
        out_shape: the shape of its output, likewise.
        static: the node runs once on a tensor without a time axis (e.g. a first convolution on a
            static image), not at every step.
        binary_input: every input is a spike tensor (0/1) by construction: produced by spiking
            neurons through operations that keep values binary (layout, max pooling, AND).
        params: number of trainable numbers (``nnx.Param``) the node reads.
        param_paths: paths in ``nnx.state(model)`` of every variable the node reads (parameters,
            fixed neuron leaves, batch statistics).
        macs: dense multiply-accumulates per sample and time step (per sample for a static node).
        attrs: kind-specific facts: convolution geometry, pooling window, neuron class, ...
        recurrent: the node feeds its own output back at the next step.
    """

    name: str
    kind: str
    op: str
    path: str | None
    inputs: tuple[str, ...]
    in_shapes: tuple[tuple[int, ...], ...]
    out_shape: tuple[int, ...]
    static: bool
    binary_input: bool
    params: int
    param_paths: tuple[str, ...]
    macs: int
    attrs: Mapping[str, Any]
    recurrent: bool = False


def _count(n: int) -> str:
    return f"{n:,}" if n else "–"


@dataclasses.dataclass(frozen=True)
class Graph:
    """A network as it executes: `Node` s in call order and the edges between them.

    ``print(graph)`` shows one row per node (name, kind, output shape, parameters, MACs per step,
    whether the input is binary), like ``torchinfo.summary``.

    Attributes:
        nodes: in call order.
        input_shape: the example input's shape.
        output_shapes: the model output's shapes (one per output array).
        outputs: the nodes producing the model's outputs.
        T, batch: time steps and batch size seen by the neurons (``None`` without neurons).
        params: trainable numbers of the whole model (``nnx.Param`` leaves of ``nnx.state``).
    """

    nodes: tuple[Node, ...]
    input_shape: tuple[int, ...]
    output_shapes: tuple[tuple[int, ...], ...]
    outputs: tuple[str, ...]
    T: int | None
    batch: int | None
    params: int

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        names = ", ".join(n.name for n in self.nodes)
        raise KeyError(f"`Graph`: no node named {name!r}; the nodes are: {names}.")

    def of_kind(self, *kinds: str) -> tuple[Node, ...]:
        """The nodes of the given kinds, in call order."""
        return tuple(n for n in self.nodes if n.kind in kinds)

    @property
    def synaptic(self) -> tuple[Node, ...]:
        """Linear, convolution and attention nodes: those that cost synaptic operations."""
        return self.of_kind(*SYNAPTIC)

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """``(source, target)`` pairs; a recurrent node has the edge ``(name, name)``."""
        pairs = [(src, n.name) for n in self.nodes for src in n.inputs]
        pairs += [(n.name, n.name) for n in self.nodes if n.recurrent]
        return tuple(pairs)

    @property
    def macs(self) -> int:
        """Dense MACs of all nodes per sample and step (static nodes counted once)."""
        return sum(n.macs for n in self.nodes)

    def table(self) -> str:
        """The per-layer summary that ``str(graph)`` returns."""
        header = ("node", "kind", "output", "params", "MACs/step", "input")
        rows = [header]
        for n in self.nodes:
            kind = n.kind if n.op in ("", n.kind) else f"{n.kind} ({n.op})"
            if n.recurrent:
                kind += " ↺"
            shape = "[" + ", ".join(map(str, n.out_shape)) + "]"
            where = "binary" if n.binary_input else "real"
            macs = _count(n.macs) + (" once" if n.static and n.macs else "")
            rows.append((n.name, kind, shape, _count(n.params), macs, where))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        right = (False, False, False, True, True, False)
        lines = []
        for i, row in enumerate(rows):
            cells = [
                c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        steps = f"T = {self.T}, batch = {self.batch}" if self.T else "no neurons"
        lines.append(
            f"{len(self.nodes)} nodes; {self.params:,} trainable parameters; "
            f"{self.macs:,} dense MACs per sample and step; input {list(self.input_shape)} "
            f"({steps})"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()
