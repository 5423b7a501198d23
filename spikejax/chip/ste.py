"""Straight-through fine-tuning on the chip: an integer-exact forward with a float backward.

:func:`chip_forward` runs the float parameters through the chip: each leaf is rounded with the
formats of a :class:`~spikejax.chip.ChipModel`, and each layer's output is **exactly** the one of
:func:`spikejax.chip.emulate` on those integers (spikes, or the readout membrane in float units).
Its gradient is that of the layer's float twin, evaluated on the same presynaptic spikes (the
chip's): the chip's dynamics with real numbers (current ``i = a i + x``, membrane
``h = b v + i + c``, the chip's reset and delays) and a surrogate spike derivative; every rounded
leaf passes its gradient straight through (1 inside its legal range, 0 outside). Train the float
state with it (quantization-aware training on the chip's forward), then
:func:`spikejax.chip.requantize` it with the same formats: the chip reproduces the forward.

:func:`fake_quant` is the plain straight-through quantizer for QAT of a float model.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from spikejax.chip._emulate import _configs, _normalize
from spikejax.chip._graph import flat_state
from spikejax.chip._layers_loihi import loihi_layer
from spikejax.chip._layers_xylo import xylo_layer
from spikejax.chip._model import ChipLayer, ChipModel, LeafFormat
from spikejax.chip._profiles import LOIHI, XYLO
from spikejax.surrogate import AbstractSurrogate, ATan, spike

__all__ = ["chip_forward", "fake_quant", "fake_quantize"]


@jax.custom_vjp
def _ste_round(x, low, high):
    return jnp.clip(jnp.round(x), low, high)


def _ste_round_fwd(x, low, high):
    return _ste_round(x, low, high), (x, low, high)


def _ste_round_bwd(res, g):
    x, low, high = res
    inside = (x >= low - 0.5) & (x <= high + 0.5)
    return g * inside.astype(g.dtype), jnp.zeros_like(low), jnp.zeros_like(high)


_ste_round.defvjp(_ste_round_fwd, _ste_round_bwd)


def fake_quant(x: Float[Array, "..."], bits: int, scale: Any) -> Float[Array, "..."]:
    """``clip(round(x / scale), -2**(bits-1), 2**(bits-1) - 1) * scale`` with a straight-through
    gradient: 1 where ``x / scale`` rounds into the range, 0 where it is clipped.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from spikejax.chip.ste import fake_quant
        >>> x = jnp.array([0.26, -3.0, 0.74])
        >>> fake_quant(x, 4, 0.25), jax.grad(lambda x: fake_quant(x, 2, 0.25).sum())(x)
        (Array([ 0.25, -2.  ,  0.75], dtype=float32), Array([1., 0., 0.], dtype=float32))
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
        raise ValueError(f"`fake_quant`: `bits` must be an int >= 1; got {bits!r}.")
    x = jnp.asarray(x)
    s = jax.lax.stop_gradient(jnp.broadcast_to(jnp.asarray(scale, x.dtype), x.shape))
    low = jnp.full(x.shape, -(2 ** (bits - 1)), x.dtype)
    high = jnp.full(x.shape, 2 ** (bits - 1) - 1, x.dtype)
    return _ste_round(x / s, low, high) * s


def _hat(fmt: LeafFormat, x: Float[Array, "..."]) -> Float[Array, "..."]:
    """The float value the chip represents for ``x``, with a straight-through gradient."""
    q = jnp.clip(fmt.encode(x, jnp), fmt.low, fmt.high)
    value = _decode(fmt, q, x.dtype)
    inside = (q == fmt.encode(x, jnp)).astype(x.dtype)
    return inside * (x + jax.lax.stop_gradient(value - x)) + (1 - inside) * jax.lax.stop_gradient(
        value
    )


def _decode(fmt: LeafFormat, q, dtype):
    qf = q.astype(dtype)
    if fmt.code == "linear":
        return qf * jnp.asarray(fmt.scale_array(q.shape), dtype)
    if fmt.code == "loihi_decay":
        return 1 - (qf + fmt.offset) / (1 << fmt.decay_bits)
    return 1 - jnp.exp2(-qf)


class _Static(NamedTuple):
    chip: str
    index: int
    n_layers: int
    config: Any
    layer: ChipLayer
    formats: tuple[LeafFormat, ...]
    gains: tuple[tuple[str, tuple[float, ...]], ...]
    surrogate: AbstractSurrogate


def _ints(static: _Static, leaves: dict[str, Any]) -> dict[str, Any]:
    n = static.layer.spec.n_out
    params = {}
    for fmt in static.formats:
        q = jnp.clip(fmt.encode(leaves[fmt.name], jnp), fmt.low, fmt.high)
        params[_normalize(fmt.name)] = q
    params |= {_normalize(k): jnp.asarray(v, jnp.int32) for k, v in static.layer.constants}
    return {k: (v if k == "weights" else jnp.broadcast_to(v, (n,))) for k, v in params.items()}


def _layer_input(static: _Static, x):
    """The events a layer receives (Xylo: capped input, or the previous layer one step late)."""
    if static.chip == "loihi":
        return x
    if static.index == 0:
        return jnp.minimum(x, XYLO.input_cap)
    return jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]])


def _int_forward(static: _Static, leaves, x):
    xi = _layer_input(static, x.astype(jnp.int32))
    run = loihi_layer if static.chip == "loihi" else xylo_layer
    out, _ = run(static.config, _ints(static, leaves), xi)
    if static.layer.spec.kind == "li":
        return out.astype(jnp.float32) * jnp.float32(1.0 / static.layer.v_scale)
    return out.astype(jnp.float32)


def _twin(static: _Static, leaves, x):
    """The float twin of the chip layer (chip dynamics with real numbers, surrogate spikes)."""
    layer = static.layer
    n = layer.spec.n_out
    hats = {_normalize(f.name): _hat(f, leaves[f.name]) for f in static.formats}
    gains = {k: jnp.asarray(v, jnp.float32) for k, v in static.gains}
    loihi = static.chip == "loihi"
    consts = {}
    for name, value in layer.constants:
        fmt_code = {"du": ("loihi_decay", 1), "dv": ("loihi_decay", 0)}.get(_normalize(name))
        v = float(value)
        if _normalize(name) in ("dash_syn", "dash_mem"):
            v = 1.0 - 2.0**-v
        elif fmt_code is not None:
            v = 1.0 - (v + fmt_code[1]) / (1 << LOIHI.decay_bits)
        elif _normalize(name) in ("bias_mant", "bias"):
            v = 0.0
        consts[_normalize(name)] = jnp.float32(v)
    vals = {**consts, **hats}

    def per(name):
        return jnp.broadcast_to(jnp.asarray(vals[name], jnp.float32), (x.shape[1], n))

    w = vals["weights"] * jnp.broadcast_to(gains["weights"], vals["weights"].shape)
    bias_name = "bias_mant" if loihi else "bias"
    if bias_name in gains:
        c = vals[bias_name] * jnp.broadcast_to(gains[bias_name], (n,))
    else:
        c = jnp.zeros((n,), jnp.float32)
    xin = _layer_input(static, x.astype(jnp.float32))
    drive = jnp.matmul(xin, w, precision=jax.lax.Precision.HIGHEST)
    if loihi:
        a, b, drive = per("du"), per("dv"), jnp.concatenate([jnp.zeros_like(drive[:1]), drive[:-1]])
        in_gain = jnp.ones_like(a)
    else:
        a, b = per("dash_syn"), per("dash_mem")
        in_gain = a
    spiking = layer.spec.kind != "li"
    theta = per("vth" if loihi else "threshold") if spiking else None
    c = jnp.broadcast_to(c, (x.shape[1], n))

    def step(carry, x_t):
        i, v = carry
        i = a * i + in_gain * x_t
        h = b * v + i + c
        if not spiking:
            return (i, h), h
        s = spike(h - theta, static.surrogate)
        r = jax.lax.stop_gradient(s)
        v = h * (1 - r) if loihi else h - r * theta
        return (i, v), s

    zero = jnp.zeros((x.shape[1], n), jnp.float32)
    _, out = jax.lax.scan(step, (zero, zero), drive)
    return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _ste_layer(static: _Static, leaves, x):
    return _int_forward(static, leaves, x)


def _ste_layer_fwd(static, leaves, x):
    return _int_forward(static, leaves, x), (leaves, x)


def _ste_layer_bwd(static, res, g):
    leaves, x = res
    _, vjp = jax.vjp(functools.partial(_twin, static), leaves, x)
    return vjp(g)


_ste_layer.defvjp(_ste_layer_fwd, _ste_layer_bwd)


def _gains(chip_model: ChipModel, k: int) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """Float factors from a leaf's float value to the chip's float units (per output neuron)."""
    layer = chip_model.layers[k]
    n = layer.spec.n_out
    loihi = chip_model.chip == "loihi"
    out = []
    for _, fmt in chip_model.formats:
        name = _normalize(fmt.name)
        if fmt.layer != k or name not in ("weights", "bias_mant", "bias"):
            continue
        scale = np.broadcast_to(np.asarray(fmt.scale, np.float64), (n,))
        if name == "weights":
            unit = 2.0 ** (layer.weight_exp + (LOIHI.act_shift if loihi else 0))
        else:
            unit = 2.0**layer.bias_exp if loihi else 1.0
        out.append((name, tuple(float(u) for u in unit / (layer.v_scale * scale))))
    return tuple(out)


def chip_forward(
    params: Any,
    chip_model: ChipModel,
    inputs: Any,
    *,
    surrogate: AbstractSurrogate | None = None,
) -> Float[Array, "time *batch n_out"]:
    """The chip's outputs for float parameters: integer-exact forward, float-twin backward.

    Args:
        params: a float ``nnx.State`` with the tree structure of ``chip_model.state`` (e.g.
            :func:`spikejax.chip.dequantize` of it, or the float model's state); differentiable.
        chip_model: gives the formats, exponents, constants and the chip.
        inputs: input events ``[T, *batch, n_in]`` (as for :func:`spikejax.chip.emulate`; any
            integral dtype or float32 holding integers).
        surrogate: spike derivative of the twins (default ``ATan()``).

    Returns:
        float32 ``[T, *batch, n_out]``: equal, bit for bit, to
        ``outputs_to_float(m, emulate(m, inputs)[0])`` with
        ``m = requantize(params, chip_model, saturate=True)``.
    """
    fn = "chip_forward"
    if not isinstance(chip_model, ChipModel):
        raise TypeError(
            f"`{fn}`: `chip_model` must be a ChipModel; got {type(chip_model).__name__}."
        )
    surrogate = ATan() if surrogate is None else surrogate
    flat = flat_state(params)
    missing = [p for p, _ in chip_model.formats if p not in flat]
    if missing:
        raise ValueError(f"`{fn}`: `params` must hold the leaves {missing}; they are missing.")
    x = jnp.asarray(inputs)
    if x.ndim < 2 or x.shape[-1] != chip_model.sizes[0]:
        raise ValueError(
            f"`{fn}`: `inputs` must be [T, *batch, {chip_model.sizes[0]}]; got {tuple(x.shape)}."
        )
    shape = x.shape
    x = x.reshape((shape[0], -1, shape[-1])).astype(jnp.float32)
    configs = _configs(chip_model, exact=False)
    n = len(chip_model.layers)
    for k, layer in enumerate(chip_model.layers):
        pairs = [(p, f) for p, f in chip_model.formats if f.layer == k]
        static = _Static(
            chip_model.chip,
            k,
            n,
            configs[k],
            layer,
            tuple(f for _, f in pairs),
            _gains(chip_model, k),
            surrogate,
        )
        leaves = {f.name: jnp.asarray(flat[p], jnp.float32) for p, f in pairs}
        x = _ste_layer(static, leaves, x)
    return x.reshape((*shape[:-1], x.shape[-1]))


def fake_quantize(params: Any, chip_model: ChipModel) -> Any:
    """``params`` with every quantized leaf replaced by the float value the chip represents,
    with straight-through gradients (QAT of the float model with the chip's formats)."""
    from flax import nnx

    from spikejax.chip._graph import path_str

    formats = dict(chip_model.formats)

    def convert(path, leaf):
        name = path_str(path)
        if name not in formats:
            return leaf
        value = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
        new = _hat(formats[name], jnp.asarray(value, jnp.float32))
        return leaf.replace(new) if isinstance(leaf, nnx.Variable) else new

    return jax.tree_util.tree_map_with_path(
        convert, params, is_leaf=lambda x: isinstance(x, nnx.Variable)
    )
