"""Output shapes of NIR nodes (features only, no batch) and the geometry of convolutions."""

from __future__ import annotations

import numpy as np

from spikejax.nir._params import node_error
from spikejax.nir._read import NodeRecord

__all__ = ["conv_geometry", "flatten_dims", "out_shape", "pool_geometry"]


def _per_axis(value, n: int) -> tuple[int, ...]:
    array = np.asarray(value).reshape(-1)
    if array.size == 1:
        return (int(array[0]),) * n
    return tuple(int(v) for v in array)


def conv_geometry(node: NodeRecord, in_shape: tuple[int, ...], origin: str) -> dict:
    """Stride, dilation, ``(lo, hi)`` padding per axis, groups and output shape of a convolution
    fed ``in_shape = (C, *spatial)``."""
    weight = np.asarray(node.params["weight"])
    n = 1 if node.type == "Conv1d" else 2
    if weight.ndim != n + 2:
        raise node_error(origin, node, f"`weight` must have {n + 2} axes; got {weight.shape}.")
    groups = int(np.asarray(node.params["groups"]))
    c_out, c_in_g, *kernel = weight.shape
    if len(in_shape) != n + 1 or in_shape[0] != c_in_g * groups:
        raise node_error(
            origin,
            node,
            f"takes input (C={c_in_g * groups}, {n} spatial axes) for `weight` {weight.shape} "
            f"and groups={groups}; got {in_shape}.",
        )
    stride = _per_axis(node.params["stride"], n)
    dilation = _per_axis(node.params["dilation"], n)
    padding_raw = node.params["padding"]
    spatial = in_shape[1:]
    pads = []
    for axis in range(n):
        k_eff = dilation[axis] * (kernel[axis] - 1) + 1
        if isinstance(padding_raw, str):
            if padding_raw == "valid":
                pads.append((0, 0))
            elif padding_raw == "same":
                out = -(-spatial[axis] // stride[axis])
                total = max((out - 1) * stride[axis] + k_eff - spatial[axis], 0)
                pads.append((total // 2, total - total // 2))
            else:
                raise node_error(
                    origin, node, f"`padding` must be 'same', 'valid' or ints; got {padding_raw!r}."
                )
        else:
            p = _per_axis(padding_raw, n)[axis]
            pads.append((p, p))
    out_spatial = tuple(
        (spatial[a] + pads[a][0] + pads[a][1] - (dilation[a] * (kernel[a] - 1) + 1)) // stride[a]
        + 1
        for a in range(n)
    )
    if min(out_spatial) < 1:
        raise node_error(origin, node, f"gives an empty output {out_spatial} for input {in_shape}.")
    bias = np.asarray(node.params["bias"])
    if bias.size not in (1, c_out):
        raise node_error(origin, node, f"`bias` must have {c_out} entries; got {bias.shape}.")
    return {
        "stride": stride,
        "dilation": dilation,
        "padding": tuple(pads),
        "groups": groups,
        "out": (c_out, *out_spatial),
    }


def pool_geometry(node: NodeRecord, in_shape: tuple[int, ...], origin: str) -> dict:
    if len(in_shape) != 3:
        raise node_error(origin, node, f"takes input (C, H, W); got {in_shape}.")
    kernel = _per_axis(node.params["kernel_size"], 2)
    stride = _per_axis(node.params["stride"], 2)
    padding = _per_axis(node.params["padding"], 2)
    out = tuple((in_shape[1 + a] + 2 * padding[a] - kernel[a]) // stride[a] + 1 for a in range(2))
    if min(out) < 1:
        raise node_error(origin, node, f"gives an empty output {out} for input {in_shape}.")
    return {"kernel": kernel, "stride": stride, "padding": padding, "out": (in_shape[0], *out)}


def flatten_dims(node: NodeRecord, in_shape: tuple[int, ...], origin: str) -> tuple[int, int]:
    """``start_dim, end_dim`` made non-negative over the feature axes (NIR's dims exclude the
    batch)."""
    n = len(in_shape)
    start, end = int(np.asarray(node.params["start_dim"])), int(np.asarray(node.params["end_dim"]))
    start, end = start + n if start < 0 else start, end + n if end < 0 else end
    if not 0 <= start <= end < n:
        raise node_error(
            origin,
            node,
            f"start_dim/end_dim {node.params['start_dim']}/{node.params['end_dim']} do not "
            f"select axes of the input {in_shape}.",
        )
    return start, end


def _elementwise(node: NodeRecord, name: str, in_shape, origin) -> tuple[int, ...]:
    shape = np.asarray(node.params[name]).shape
    try:
        full = np.broadcast_shapes(shape, in_shape)
    except ValueError:
        full = None
    if full != tuple(in_shape):
        raise node_error(
            origin, node, f"parameter {name!r} of shape {shape} does not fit the input {in_shape}."
        )
    return tuple(in_shape)


def _declared(node: NodeRecord, name: str, actual: tuple[int, ...], origin: str) -> None:
    """A shape the node declares (NIR's optional ``input_shape``/``input_type``) must be the one
    it receives."""
    declared = node.params.get(name)
    if declared is None or np.asarray(declared).size == 0:
        return
    declared = tuple(int(v) for v in np.asarray(declared).reshape(-1))
    if declared != actual:
        raise node_error(origin, node, f"declares {name} {declared} but receives {actual}.")


def out_shape(node: NodeRecord, in_shape: tuple[int, ...], origin: str) -> tuple[int, ...]:
    """The feature shape of a node's output for an input of feature shape ``in_shape``."""
    kind, p = node.type, node.params
    if kind in ("Affine", "Linear"):
        weight = np.asarray(p["weight"])
        if weight.ndim != 2 or not in_shape or in_shape[-1] != weight.shape[1]:
            raise node_error(
                origin,
                node,
                f"`weight` {weight.shape} takes inputs (..., {weight.shape[-1]}); got {in_shape}.",
            )
        if kind == "Affine" and np.asarray(p["bias"]).shape not in ((weight.shape[0],), (1,), ()):
            raise node_error(
                origin,
                node,
                f"`bias` must have shape ({weight.shape[0]},); got {np.asarray(p['bias']).shape}.",
            )
        return (*in_shape[:-1], weight.shape[0])
    if kind in ("Conv1d", "Conv2d"):
        _declared(node, "input_shape", tuple(in_shape[1:]), origin)
        return conv_geometry(node, in_shape, origin)["out"]
    if kind in ("SumPool2d", "AvgPool2d"):
        return pool_geometry(node, in_shape, origin)["out"]
    if kind == "Flatten":
        _declared(node, "input_type", tuple(in_shape), origin)
        start, end = flatten_dims(node, in_shape, origin)
        merged = int(np.prod(in_shape[start : end + 1]))
        return (*in_shape[:start], merged, *in_shape[end + 1 :])
    names = {"Scale": "scale", "Threshold": "threshold", "Delay": "delay"}
    if kind in names:
        return _elementwise(node, names[kind], in_shape, origin)
    for name in ("tau", "tau_mem", "r", "v_threshold", "v_leak", "v_reset", "tau_syn", "w_in"):
        if name in p:
            _elementwise(node, name, in_shape, origin)
    return tuple(in_shape)
