"""Straight-through fine-tuning on the chip: an integer-exact forward with a float backward.

`chip_forward` runs the float parameters through the chip: each leaf is rounded with the
formats of a `ChipModel`, and every layer runs the chip's own integer
arithmetic (the functions of `spikejax.chip.loihi.arithmetic` and
`spikejax.chip.xylo.arithmetic` that the emulator runs) on straight-through values
(`Twin`): the forward is **exactly** `spikejax.chip.emulate` on
those integers (spikes, or the readout membrane in float units), and the gradient is that of the
same operations on real numbers (a decay multiplies by its float factor, wraps, clips and
saturations pass the gradient, spikes take a surrogate derivative, the reset holds the spike
constant); every rounded leaf passes its gradient straight through (1 inside its legal range, 0
outside). Train the float
state with it (quantization-aware training on the chip's forward), then
`spikejax.chip.requantize` it with the same formats: the chip reproduces the forward.

`fake_quant` is the plain straight-through quantizer for QAT of a float model.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax.chip._emulate import layer_configs, param_name
from spikejax.chip._graph import flat_state, path_str
from spikejax.chip._model import ChipLayer, ChipModel, LeafFormat
from spikejax.chip.connectivity import per_neuron
from spikejax.chip.loihi import arithmetic as loihi_arithmetic
from spikejax.chip.loihi.layer import loihi_layer
from spikejax.chip.twin import Twin
from spikejax.chip.xylo import arithmetic as xylo_arithmetic
from spikejax.chip.xylo.layer import xylo_layer
from spikejax.surrogate import AbstractSurrogate, ATan

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
        scale = jnp.asarray(fmt.scale_array(q.shape), dtype)
        return qf * scale + jnp.asarray(fmt.origin_array(q.shape), dtype)
    if fmt.code == "loihi_decay":
        return 1 - (qf + fmt.offset) / (1 << fmt.decay_bits)
    return 1 - jnp.exp2(-qf)


class _Static(NamedTuple):
    """Static description of one layer of the twin."""

    chip: str
    index: int
    config: Any
    layer: ChipLayer
    formats: tuple[LeafFormat, ...]
    numerics: Any


def _gain(static: _Static, name: str, fmt: LeafFormat, shape) -> Any:
    """Float factor from a leaf's float value to the chip quantity's float value (``q * unit``
    of the effective integer: the weight, the shifted bias, the shifted threshold)."""
    layer, p = static.layer, static.config.profile
    shift = 0
    if static.chip == "loihi" and name == "bias_mant":
        shift = layer.bias_exp
    elif static.chip == "loihi" and name == "vth":
        shift = p.vth_shift
    scale = jnp.asarray(fmt.scale_array(shape), jnp.float32)
    return jnp.float32(2.0**shift / layer.v_scale) / scale


def _constant(static: _Static, name: str, value: int) -> Twin:
    """A chip parameter that no leaf holds, as a straight-through value without gradient."""
    p, unit = static.config.profile, 1.0 / static.layer.v_scale
    q = jnp.asarray(value, jnp.int32)
    if name in ("du", "dv"):
        offset = p.du_offset if name == "du" else p.dv_offset
        f = 1.0 - (value + offset) / p.decay_unity
    elif name in ("dash_syn", "dash_mem"):
        f = 1.0 - 2.0**-value
    elif name == "vth":
        f = (value << p.vth_shift) * unit
    else:
        f = value * unit
    return Twin(q, jnp.asarray(f, jnp.float32))


def _twin_params(static: _Static, leaves: dict[str, Any]) -> dict[str, Twin]:
    """The layer's chip parameters as straight-through values: integers as in
    `requantize` (``saturate=True``), floats with the leaves' gradients."""
    out_shape = static.layer.spec.out_shape
    params = {}
    for fmt in static.formats:
        if fmt.name == "folded":  # absorbed by a folded batch norm: no chip parameter
            continue
        x = leaves[fmt.name]
        name = param_name(fmt.name)
        q = jnp.clip(fmt.encode(x, jnp), fmt.low, fmt.high)
        f = _hat(fmt, x)
        if fmt.code == "linear":
            origin = jnp.asarray(fmt.origin_array(x.shape), jnp.float32)
            f = (f - origin) * _gain(static, name, fmt, x.shape)
        params[name] = Twin(q, f)
    for name, value in static.layer.constants:
        params[param_name(name)] = _constant(static, param_name(name), value)
    zero = Twin(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32))
    params.setdefault("bias_mant" if static.chip == "loihi" else "bias", zero)

    def neurons(t: Twin) -> Twin:
        return Twin(*(per_neuron(a, out_shape) for a in t))

    return {k: (v if "weights" in k else neurons(v)) for k, v in params.items()}


def _layer_input(static: _Static, x: Twin) -> Twin:
    """The events a layer receives (Xylo: capped input, or the previous layer one step late)."""
    if static.chip == "loihi":
        return x
    if static.index == 0:
        cap = static.config.profile.input_cap
        return Twin(jnp.minimum(x.q, cap), jnp.minimum(x.f, cap))
    return jax.tree.map(lambda a: jnp.concatenate([jnp.zeros_like(a[:1]), a[:-1]]), x)


def _layer(static: _Static, leaves: dict[str, Any], x: Twin) -> Twin:
    run = loihi_layer if static.chip == "loihi" else xylo_layer
    out, _ = run(
        static.config, _twin_params(static, leaves), _layer_input(static, x), static.numerics
    )
    return out


def chip_forward(
    params: Any,
    chip_model: ChipModel,
    inputs: Any,
    *,
    surrogate: AbstractSurrogate | None = None,
    chip_units: bool = False,
) -> Float[Array, "time *batch n_out"]:
    """The chip's outputs for float parameters: integer-exact forward, straight-through backward.

    Every layer runs the chip's own arithmetic (`spikejax.chip.loihi.arithmetic`,
    `spikejax.chip.xylo.arithmetic`) with straight-through numerics: each value is the
    chip's integer ``q`` with a float ``q / v_scale`` (``v_scale``: chip membrane units per
    float unit of the layer), whose gradient is that of the same operation on real numbers;
    spikes take the ``surrogate`` derivative of ``v - threshold`` in float units.

    Args:
        params: a float ``nnx.State`` with the tree structure of ``chip_model.state`` (e.g.
            `spikejax.chip.dequantize` of it, or the float model's state); differentiable.
        chip_model: gives the formats, exponents, constants, the chip and its profile.
        inputs: input events ``[T, *batch, n_in]`` (as for `spikejax.chip.emulate`; any
            integral dtype or float32 holding integers).
        surrogate: spike derivative (default ``ATan()``).
        chip_units: return the outputs in the chip's integer units (the readout membrane
            before the division by ``v_scale``), exact as float32 below ``2**24``.

    Returns:
        float32 ``[T, *batch, n_out]``: equal, bit for bit, to
        ``outputs_to_float(m, emulate(m, inputs)[0])`` with
        ``m = requantize(params, chip_model, saturate=True)``; with ``chip_units``, to
        ``emulate(m, inputs)[0]`` as float32.
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
    in_shape = chip_model.input_shape
    k = len(in_shape)
    if x.ndim < max(2, 1 + k) or tuple(x.shape[x.ndim - k :]) != in_shape or x.shape[0] == 0:
        raise ValueError(
            f"`{fn}`: `inputs` must be [T, *batch, {', '.join(map(str, in_shape))}] with T >= 1; "
            f"got {tuple(x.shape)}."
        )
    x = x.reshape((*x.shape[: x.ndim - k], chip_model.sizes[0]))
    shape = x.shape
    x = jax.lax.stop_gradient(x.reshape((shape[0], -1, shape[-1])))
    value = Twin(x.astype(jnp.int32), x.astype(jnp.float32))
    configs = layer_configs(chip_model)
    p = chip_model.profile
    numerics = (
        loihi_arithmetic.TwinNumerics
        if chip_model.chip == "loihi"
        else xylo_arithmetic.TwinNumerics
    )
    for k, layer in enumerate(chip_model.layers):
        pairs = [(path, f) for path, f in chip_model.formats if f.layer == k]
        static = _Static(
            chip_model.chip,
            k,
            configs[k],
            layer,
            tuple(f for _, f in pairs),
            numerics(p, 1.0 / layer.v_scale, surrogate),
        )
        leaves = {f.name: jnp.asarray(flat[path], jnp.float32) for path, f in pairs}
        value = _layer(static, leaves, value)
    out = value.f
    if chip_units:
        gain = 1.0 if chip_model.layers[-1].spec.kind != "li" else chip_model.layers[-1].v_scale
        out = value.q.astype(jnp.float32) + (out - jax.lax.stop_gradient(out)) * gain
    return out.reshape((*shape[:-1], out.shape[-1]))


def fake_quantize(params: Any, chip_model: ChipModel) -> Any:
    """``params`` with every quantized leaf replaced by the float value the chip represents,
    with straight-through gradients (QAT of the float model with the chip's formats)."""
    from flax import nnx

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
