"""Reading jaxpr operations: MACs of products and convolutions, and what an operation written in
a module's own code is (pooling, reshape, residual join, readout, activation)."""

from __future__ import annotations

import math
from typing import Any

import jax.extend.core as jex

from spikejax.graph import costs

__all__ = [
    "ACTIVATIONS",
    "BINARY_KEEPING",
    "JOINS",
    "LAYOUT",
    "call_name",
    "conv_eqns",
    "conv_geometry",
    "eqn_macs",
    "is_literal",
    "literal_value",
    "primal_op",
]

# Calls with a custom derivative: their parameters hold the primal computation (``call_jaxpr``),
# which is what they compute; the derivative rule only says how it is differentiated.
_CUSTOM_CALLS = frozenset({"custom_vjp_call", "custom_jvp_call"})

#: Operations that move or retype values without changing them.
LAYOUT = frozenset(
    {
        "reshape",
        "transpose",
        "broadcast_in_dim",
        "squeeze",
        "expand_dims",
        "convert_element_type",
        "copy",
        "copy_p",
        "slice",
        "dynamic_slice",
        "rev",
        "pad",
    }
)
#: Elementwise operations of two tensors that join two branches of a network.
JOINS = frozenset({"add", "sub", "mul", "div", "max", "min", "and", "or", "xor"})
#: Joins that keep spike tensors binary.
BINARY_KEEPING = frozenset({"mul", "max", "min", "and", "or"})
#: Activation functions recognised by name (``jax.nn`` wraps them in named calls).
ACTIVATIONS = frozenset(
    {
        "relu",
        "relu6",
        "sigmoid",
        "tanh",
        "logistic",
        "gelu",
        "silu",
        "swish",
        "elu",
        "leaky_relu",
        "softplus",
        "hard_tanh",
        "softmax",
        "log_softmax",
    }
)


def is_literal(v: Any) -> bool:
    return isinstance(v, jex.Literal)


def literal_value(v: Any) -> float | None:
    """The value of a scalar literal operand, else ``None``."""
    if not is_literal(v):
        return None
    try:
        return float(v.val)
    except (TypeError, ValueError):
        return None


def call_name(eqn: Any) -> str:
    """The name of a named call (``jax.nn.relu`` is a ``custom_jvp_call`` around a ``jit`` named
    ``relu``); else the primitive's name."""
    name = eqn.params.get("name")
    if name is not None:
        return str(name)
    inner = eqn.params.get("call_jaxpr")
    if inner is not None:
        eqns = getattr(inner, "jaxpr", inner).eqns
        if len(eqns) == 1:
            return call_name(eqns[0])
    return eqn.primitive.name


def primal_op(eqn: Any) -> Any:
    """The one operation a custom-derivative call computes (e.g. `spikejax.layers.max_pool`'s
    ``reduce_window`` with a faster gradient), else ``eqn`` itself."""
    if eqn.primitive.name in _CUSTOM_CALLS:
        inner = getattr(eqn.params["call_jaxpr"], "jaxpr", eqn.params["call_jaxpr"])
        if len(inner.eqns) == 1:
            return primal_op(inner.eqns[0])
    return eqn


def conv_eqns(eqn: Any) -> list[Any]:
    """The ``conv_general_dilated`` operations ``eqn`` is or computes inside a custom-derivative
    call or a branch (e.g. `spikejax.layers.Conv` with XLA's convolution as value and its own
    gradient; `spikejax.layers.EventConv`, whose dense branch is XLA's convolution)."""
    if eqn.primitive.name == "conv_general_dilated":
        return [eqn]
    if eqn.primitive.name in _CUSTOM_CALLS or eqn.primitive.name == "cond":
        inner = jex.jaxprs_in_params(eqn.params)
        return [c for sub in inner for e in sub.eqns for c in conv_eqns(e)]
    return []


def conv_geometry(eqn: Any) -> dict[str, Any]:
    """A ``conv_general_dilated`` operation's geometry in spatial order (no batch/feature axes)."""
    p = eqn.params
    numbers = p["dimension_numbers"]
    rhs = eqn.invars[1].aval.shape
    out = eqn.outvars[0].aval.shape
    groups = int(p["feature_group_count"])
    return {
        "kernel": tuple(int(rhs[i]) for i in numbers.rhs_spec[2:]),
        "strides": tuple(int(s) for s in p["window_strides"]),
        "padding": tuple((int(lo), int(hi)) for lo, hi in p["padding"]),
        "input_dilation": tuple(int(d) for d in p["lhs_dilation"]),
        "kernel_dilation": tuple(int(d) for d in p["rhs_dilation"]),
        "groups": groups,
        "in_channels": int(rhs[numbers.rhs_spec[1]]) * groups,
        "out_channels": int(rhs[numbers.rhs_spec[0]]),
        "out_spatial": tuple(int(out[i]) for i in numbers.out_spec[2:]),
        "batch": int(out[numbers.out_spec[0]]),
    }


def _dot_macs(eqn: Any) -> int:
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = eqn.params["dimension_numbers"]
    lhs, rhs = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
    batch = math.prod(lhs[i] for i in lhs_batch)
    k = math.prod(lhs[i] for i in lhs_contract)
    m = math.prod(d for i, d in enumerate(lhs) if i not in (*lhs_contract, *lhs_batch))
    n = math.prod(d for i, d in enumerate(rhs) if i not in (*rhs_contract, *rhs_batch))
    return costs.matmul_macs(batch, m, k, n)


def eqn_macs(eqn: Any) -> int:
    """MACs of one operation, nested calls and loops included (a loop body counts per trip)."""
    name = eqn.primitive.name
    if name == "dot_general":
        return _dot_macs(eqn)
    if name == "conv_general_dilated":
        g = conv_geometry(eqn)
        per_sample = costs.conv_macs(
            g["out_spatial"], g["kernel"], g["in_channels"], g["out_channels"], g["groups"]
        )
        return g["batch"] * per_sample
    parts = [sum(eqn_macs(inner) for inner in sub.eqns) for sub in jex.jaxprs_in_params(eqn.params)]
    if name == "cond":  # one branch runs: count the dearest
        return max(parts, default=0)
    trips = int(eqn.params.get("length", 1)) if name == "scan" else 1
    return trips * sum(parts)
