"""From a model's jaxpr to graph nodes: attribute every operation to the module call that emitted
it, classify the operations written in modules' own code, and follow the data between them."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from spikejax.graph import _ops as ops
from spikejax.graph._intercept import Call, argument_position, call_indices
from spikejax.graph._kinds import is_recurrent, module_spec
from spikejax.graph._layout import Layouts
from spikejax.graph._nodes import FrozenDict, Node, freeze
from spikejax.graph._protocol import AbstractNode
from spikejax.layers import TimeFolded

__all__ = ["Walk", "Variable"]

INPUT = -1  # the producer id of the model's input


@dataclasses.dataclass(frozen=True)
class Variable:
    """One leaf of ``nnx.state(model)``: its path, whether it is trainable, and its size."""

    path: str
    trainable: bool
    size: int


@dataclasses.dataclass
class _Build:
    id: int
    prefix: str | None  # the container's path for an operation of its own code; None: a module
    kind: str
    op: str
    path: str | None
    attrs: dict[str, Any]
    declared_macs: int | None = None
    inputs: list[int] = dataclasses.field(default_factory=list)
    in_vars: list[Any] = dataclasses.field(default_factory=list)
    out_vars: list[Any] = dataclasses.field(default_factory=list)
    macs_total: int = 0
    param_paths: set[str] = dataclasses.field(default_factory=set)
    binary_input: bool = True
    recurrent: bool = False
    positions: dict[Any, int] = dataclasses.field(default_factory=dict)  # input var -> argument


class UnclassifiedError(ValueError):
    """An operation in a module's own code that no node kind describes."""


class Walk(Layouts):
    """One pass over a model's jaxpr (see the module docstring)."""

    def __init__(
        self,
        jaxpr: Any,
        out_vars: list[Any],
        calls: list[Call],
        variables: dict[Any, Variable],
        x_var: Any,
    ):
        self.jaxpr = jaxpr
        self.out_vars = out_vars  # the model's outputs (the jaxpr also returns the new state)
        self.calls = calls
        self.variables = variables
        self.specs = [module_spec(c.module, c.path) for c in calls]
        self.declared = [isinstance(c.module, AbstractNode) for c in calls]
        self.builds: list[_Build] = []
        self.by_call: dict[int, _Build] = {}
        self.src: dict[Any, int] = {x_var: INPUT}  # activation var -> producing node id
        self.produced: dict[Any, int] = {}  # var -> node whose own operation made it
        self.binary: dict[Any, bool] = {x_var: False}
        self.params: dict[Any, frozenset[str]] = {
            v: frozenset({p.path}) for v, p in variables.items()
        }
        self.T, self.B = self._time_and_batch(x_var)
        self.lay: dict[Any, str] = {}
        shape = tuple(x_var.aval.shape)
        self.lay[x_var] = "tb" if "tb" in self.candidates(shape) else self.candidates(shape)[-1]

    # ------------------------------------------------------------------------------- layouts

    def _time_and_batch(self, x_var: Any) -> tuple[int | None, int]:
        for call, spec in zip(self.calls, self.specs, strict=True):
            time_major = isinstance(call.module, TimeFolded) or (
                spec is not None and spec[0].kind == "neuron"
            )
            if time_major and call.in_shapes and call.in_shapes[0]:
                shape = call.in_shapes[0]
                if len(shape) >= 2:
                    return int(shape[0]), int(shape[1])
        return None, int(x_var.aval.shape[0])

    # ------------------------------------------------------------------------------ the walk

    def _new(self, prefix: str | None, kind: str, op: str, path: str | None, attrs: dict) -> _Build:
        build = _Build(len(self.builds), prefix, kind, op, path, dict(attrs))
        self.builds.append(build)
        return build

    def _owner(self, eqn: Any) -> tuple[int | None, int | None]:
        """(innermost node call, innermost call) an operation was emitted in."""
        indices = call_indices(eqn.source_info.name_stack)
        node = None
        for k in indices:  # a known layer owns all it calls; a declared node leaves children be
            if self.specs[k] is not None:
                node = k
                if not self.declared[k]:
                    break
        return node, (indices[-1] if indices else None)

    def _consume(self, build: _Build | None, var: Any) -> None:
        """``var`` is read by ``build`` (None: by the model's output or a glue operation)."""
        producer = self.src.get(var)
        if producer is None or producer == INPUT:
            return
        if self.produced.get(var) == producer and (build is None or build.id != producer):
            outs = self.builds[producer].out_vars
            if var not in outs:
                outs.append(var)

    def _add_input(self, build: _Build, var: Any) -> None:
        producer = self.src[var]
        if producer == build.id or var in build.in_vars:
            return
        build.inputs.append(producer)
        build.in_vars.append(var)
        build.binary_input &= self.binary[var]

    def run(self) -> None:
        for eqn in self.jaxpr.eqns:
            derived = [v for v in eqn.invars if not ops.is_literal(v) and v in self.src]
            params = frozenset().union(
                *(self.params[v] for v in eqn.invars if not ops.is_literal(v) and v in self.params)
            )
            node_call, call = self._owner(eqn)
            for v in derived:
                owner = self.by_call.get(node_call) if node_call is not None else None
                self._consume(owner, v)
            if not derived:
                for out in eqn.outvars:
                    if params:
                        self.params[out] = params
                continue
            self._propagate(eqn, derived)
            if node_call is not None:
                self._in_node(eqn, node_call, derived, params)
            else:
                self._glue(eqn, call, derived, params)
        for v in self.out_vars:
            if not ops.is_literal(v):
                self._consume(None, v)

    def _in_node(self, eqn: Any, k: int, derived: list, params: frozenset) -> None:
        build = self.by_call.get(k)
        if build is None:
            spec, op = self.specs[k]
            path = self.calls[k].path
            build = self._new(None, spec.kind, op, path, spec.attrs)
            build.declared_macs = spec.macs
            build.recurrent = spec.kind == "neuron" and is_recurrent(build.attrs)
            self.by_call[k] = build
        for v in derived:
            self._add_input(build, v)
        position = argument_position(eqn.source_info.name_stack)
        if (
            position is not None
            and eqn.primitive.name == "copy"
            and self.src[derived[0]] != build.id
        ):
            build.positions[derived[0]] = position
        build.param_paths |= params
        build.macs_total += ops.eqn_macs(eqn)
        for conv in ops.conv_eqns(eqn) if build.kind == "conv" else ():
            geometry = ops.conv_geometry(conv)
            del geometry["batch"]
            build.attrs.update(geometry)
        spikes = build.kind == "neuron" and bool(build.attrs.get("spiking"))
        for out in eqn.outvars:
            self.src[out] = build.id
            self.produced[out] = build.id
            self.binary[out] = spikes

    # ------------------------------------------------------------------ module's own code

    def _container(self, call: int | None) -> tuple[str, str]:
        if call is None:
            return "", "the model"
        c = self.calls[call]
        return c.path or "", f"module `{c.path or '<root>'}` ({type(c.module).__name__})"

    def _glue(self, eqn: Any, call: int | None, derived: list, params: frozenset) -> None:
        prim = eqn.primitive.name
        prefix, who = self._container(call)
        if params or ops.eqn_macs(eqn):
            what = f"its variables {sorted(params)}" if params else "a product of activations"
            raise UnclassifiedError(
                f"`trace`: {who} computes `{prim}` with {what} in its own code, which no node "
                "kind describes; make it a layer the tracer knows (nnx.Linear, nnx.Conv, "
                "spikejax.layers, ...) or subclass spikejax.graph.AbstractNode and implement "
                "`graph_node()` to declare its node."
            )
        kind, op, attrs = self._classify(eqn, derived)
        if kind is None:
            self._pass_through(eqn, derived)
            return
        build = self._new(prefix, kind, op, None, attrs)
        for v in derived:
            self._add_input(build, v)
        out = eqn.outvars[0]
        self.src[out] = self.produced[out] = build.id
        build.out_vars.append(out)
        self.binary[out] = self._binary_out(kind, op, build.binary_input)

    def _classify(self, eqn: Any, derived: list) -> tuple[str | None, str, dict]:
        if ops.primal_op(eqn).primitive.name.startswith("reduce_window"):
            eqn = ops.primal_op(eqn)  # a pooling with its own gradient (spikejax.layers.max_pool)
        prim = eqn.primitive.name
        shape = tuple(derived[0].aval.shape)
        if prim.startswith("reduce_window") and len(derived) == 1:
            lead = {"tb": 2, "folded": 1, "b": 1}.get(self.layout_of(derived[0]), 0)
            window = tuple(int(w) for w in eqn.params["window_dimensions"])
            strides = tuple(int(s) for s in eqn.params["window_strides"])
            padding = tuple((int(a), int(b)) for a, b in eqn.params["padding"])
            stop = len(window)
            if window[-1] == 1 and strides[-1] == 1 and padding[-1] == (0, 0):
                stop -= 1  # channels-last: the window covers the spatial axes only
            op = {"reduce_window_max": "max_pool", "reduce_window_min": "min_pool"}.get(
                prim, "sum_pool"
            )
            attrs = {
                "window": window[lead:stop],
                "strides": strides[lead:stop],
                "padding": padding[lead:stop],
                "count": math.prod(window),
            }
            return "pool", op, attrs
        if prim in ("reduce_sum", "reduce_max", "reduce_min", "argmax") and len(derived) == 1:
            axes = tuple(int(a) for a in eqn.params["axes"])
            count = math.prod(shape[a] for a in axes)
            op = {"reduce_sum": "sum", "reduce_max": "max", "reduce_min": "min"}.get(prim, prim)
            if self.layout_of(derived[0]) == "tb" and 0 in axes:
                return "readout", op, {"axes": axes, "count": count}
            return "pool", f"global_{op}", {"axes": axes, "count": count}
        if prim == "reshape" and len(derived) == 1:
            before, after = self.features(derived[0]), self.features(eqn.outvars[0])
            if before == after:
                return None, "", {}
            op = "flatten" if len(after) == 1 and len(before) > 1 else "reshape"
            return "reshape", op, {"from": before, "to": after}
        name = ops.call_name(eqn)
        if len(derived) == 1 and (name in ops.ACTIVATIONS or prim in ops.ACTIVATIONS):
            return "activation", name if name in ops.ACTIVATIONS else prim, {}
        if prim == "max" and len(derived) == 1:
            other = [v for v in eqn.invars if v is not derived[0]]
            if other and ops.literal_value(other[0]) == 0.0:
                return "activation", "relu", {}
        if len(derived) >= 2 or (len(derived) == 1 and eqn.invars.count(derived[0]) == 2):
            return ("join" if prim in ops.JOINS else "op"), prim, {}
        return None, "", {}

    def _pass_through(self, eqn: Any, derived: list) -> None:
        """An operation that keeps the data where it was: edges and binariness pass through."""
        v = derived[0]
        prim = eqn.primitive.name
        keeps = prim in ops.LAYOUT or prim == "stop_gradient"
        if prim == "sub" and ops.literal_value(eqn.invars[0]) == 1.0:
            keeps = True  # NOT of a spike tensor
        producer = self.src[v]
        if prim == "div" and producer != INPUT and self.produced.get(v) == producer:
            build = self.builds[producer]
            other = ops.literal_value(eqn.invars[1])
            if build.op in ("sum", "sum_pool", "global_sum") and other == build.attrs["count"]:
                build.op = {"sum": "mean", "sum_pool": "avg_pool"}.get(build.op, "global_mean")
        for out in eqn.outvars:
            self.src[out] = producer
            self.binary[out] = keeps and self.binary[v]

    @staticmethod
    def _binary_out(kind: str, op: str, binary_in: bool) -> bool:
        if kind == "join":
            return binary_in and op in ops.BINARY_KEEPING
        if kind == "pool":
            return binary_in and op in ("max_pool", "min_pool", "global_max", "global_min")
        if kind == "activation":
            return binary_in and op == "relu"
        return kind == "reshape" and binary_in

    # ------------------------------------------------------------------------------ results

    def nodes(self) -> tuple[Node, ...]:
        names = self._names()
        order = {v.path: i for i, v in enumerate(self.variables.values())}
        sizes = {v.path: v.size for v in self.variables.values() if v.trainable}
        nodes = []
        for build in self.builds:
            if build.positions:  # a declared node: inputs in argument order
                pairs = sorted(
                    zip(build.inputs, build.in_vars, strict=True),
                    key=lambda p: build.positions.get(p[1], len(build.positions)),
                )
                build.inputs, build.in_vars = [p[0] for p in pairs], [p[1] for p in pairs]
            lay = self.layout_of(build.in_vars[0]) if build.in_vars else "?"
            static = self.T is not None and lay == "b"
            runs = self.B if lay == "b" or self.T is None else self.T * self.B
            macs = build.declared_macs
            if macs is None:
                macs = build.macs_total // runs if runs else build.macs_total
            out = build.out_vars[0] if build.out_vars else None
            paths = tuple(sorted(build.param_paths, key=order.__getitem__))
            binary = build.binary_input and bool(build.in_vars)
            nodes.append(
                Node(
                    name=names[build.id],
                    kind=build.kind,
                    op=build.op,
                    path=build.path,
                    inputs=tuple("input" if i == INPUT else names[i] for i in build.inputs),
                    in_shapes=tuple(self.unfolded(v) for v in build.in_vars),
                    out_shape=self.unfolded(out) if build.out_vars else (),
                    static=static,
                    binary_input=binary,
                    params=sum(sizes.get(p, 0) for p in paths),
                    param_paths=paths,
                    macs=int(macs),
                    attrs=_public(build.attrs),
                    recurrent=build.recurrent,
                )
            )
        return tuple(nodes)

    def _names(self) -> dict[int, str]:
        seen: dict[str, int] = {}
        names = {}
        for build in self.builds:
            if build.prefix is None:
                base = build.path or "<root>"
            else:
                base = f"{build.prefix}.{build.op}" if build.prefix else build.op
            count = seen.get(base, 0)
            seen[base] = count + 1
            names[build.id] = base if count == 0 else f"{base}_{count}"
        return names

    def outputs(self, names: dict[int, str]) -> tuple[str, ...]:
        found = []
        for v in self.out_vars:
            producer = self.src.get(v) if not ops.is_literal(v) else None
            if producer is not None:
                found.append("input" if producer == INPUT else names[producer])
        return tuple(found)

    def vars_of(self) -> dict[str, dict[str, Any]]:
        """The jaxpr variables behind every node: ``{"in": [...], "out": var | None}``."""
        names = self._names()
        return {
            names[b.id]: {"in": list(b.in_vars), "out": b.out_vars[0] if b.out_vars else None}
            for b in self.builds
        }


def _public(attrs: dict[str, Any]) -> FrozenDict:
    return freeze({k: v for k, v in attrs.items() if k != "neuron_class"})
