"""The layers behind a recording (their geometry, from the model) and the reductions that run on
the device: per step and sample, the sum of every layer input, its extremes, and its synaptic
event count; the sum of every spike tensor."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array

from spikejax.models import SSA, Recording, record

__all__ = ["Attention", "Conv", "Layer", "Linear", "layers_of", "run_stats", "stats_of"]

# ------------------------------------------------------------------------------ geometry


@dataclasses.dataclass(frozen=True)
class Conv:
    """A convolution's geometry: what its event count needs (``fan_out = C_out / groups``)."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str | tuple[tuple[int, int], ...]
    input_dilation: tuple[int, ...]
    kernel_dilation: tuple[int, ...]
    fan_out: int  # C_out / groups


@dataclasses.dataclass(frozen=True)
class Linear:
    """A linear layer: every input reaches ``fan_out = out_features`` outputs."""

    fan_out: int


@dataclasses.dataclass(frozen=True)
class Attention:
    """The two products of a spiking self-attention block: their order and the value width."""

    order: str
    d_v: int


@dataclasses.dataclass(frozen=True)
class Layer:
    """A recorded synaptic layer: its key, geometry and whether its input has a time axis."""

    name: str
    geometry: Conv | Linear | Attention
    static: bool  # the input has no time axis (a first layer run once on a static image)

    @property
    def kind(self) -> str:
        """``"conv"``, ``"linear"`` or ``"attention"``."""
        return {Conv: "conv", Linear: "linear", Attention: "attention"}[type(self.geometry)]


def _ints(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    return tuple(int(v) for v in value)


def _conv_geometry(fn: str, name: str, conv: nnx.Conv) -> Conv:
    n = len(conv.kernel_size)
    padding = conv.padding
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"`{fn}`: layer `{name}` must use 'SAME', 'VALID' or explicit padding (its "
                f"event count needs the taps); got padding {padding!r}."
            )
        padding = padding.upper()
    elif isinstance(padding, int):
        padding = ((padding, padding),) * n
    else:
        padding = tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in padding)
    return Conv(
        kernel=tuple(int(k) for k in conv.kernel_size),
        strides=_ints(conv.strides or 1, n),
        padding=padding,
        input_dilation=_ints(conv.input_dilation or 1, n),
        kernel_dilation=_ints(conv.kernel_dilation or 1, n),
        fan_out=conv.out_features // conv.feature_group_count,
    )


def _geometry(fn: str, modules: dict[str, nnx.Module], name: str) -> Conv | Linear | Attention:
    """The layer behind a recording key: the module itself, or its one Conv / Linear child."""
    if name in modules:
        module, suffix = modules[name], None
    else:
        path, _, suffix = name.rpartition(".")
        module = modules.get(path)
    if suffix == "attention" and isinstance(module, SSA):
        return Attention(module.order, module.v.linear.out_features // module.num_heads)
    if suffix is None and not isinstance(module, nnx.Conv | nnx.Linear) and module is not None:
        found = [c for _, c in nnx.iter_children(module) if isinstance(c, nnx.Conv | nnx.Linear)]
        module = found[0] if len(found) == 1 else None
    if suffix is None and isinstance(module, nnx.Conv):
        return _conv_geometry(fn, name, module)
    if suffix is None and isinstance(module, nnx.Linear):
        return Linear(module.out_features)
    raise ValueError(
        f"`{fn}`: every recorded layer must be an nnx.Conv, an nnx.Linear, a module holding "
        f"exactly one of them, or the attention of an SSA block; got `{name}` "
        f"({type(module).__name__ if module is not None else 'not found in the model'})."
    )


def layers_of(fn: str, model: nnx.Module, recording: Recording) -> tuple[Layer, ...]:
    """Every layer of ``recording`` in forward order, its geometry read from ``model``.

    A convolution input without a time axis (``[B, H, W, C]``) is static: the first layer run
    once on a static image.
    """
    if not recording.macs:
        raise ValueError(
            f"`{fn}`: `model` must report at least one synaptic layer to "
            "spikejax.models.record; it reported none."
        )
    modules = {".".join(str(p) for p in path): m for path, m in nnx.iter_modules(model)}
    layers = []
    for name, _ in recording.macs:
        geometry = _geometry(fn, modules, name)
        ndim = len(recording.synapse_inputs[name].shape)
        static = isinstance(geometry, Conv) and ndim == len(geometry.kernel) + 2
        layers.append(Layer(name, geometry, static))
    return tuple(layers)


# ------------------------------------------------------------------------ device reductions


def _window_sum(x: Array, g: Conv, lead: int) -> Array:
    """Σ over output positions of the input summed over each receptive field (ones kernel), per
    leading index (step, sample)."""
    spatial = "DHW"[-len(g.kernel) :]
    y = jnp.sum(x, axis=-1, keepdims=True).reshape((-1, *x.shape[lead:-1], 1))
    ones = jnp.ones((*g.kernel, 1, 1), jnp.float32)
    numbers = jax.lax.conv_dimension_numbers(
        y.shape, ones.shape, (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    )
    windows = jax.lax.conv_general_dilated(
        y,
        ones,
        g.strides,
        g.padding,
        lhs_dilation=g.input_dilation,
        rhs_dilation=g.kernel_dilation,
        dimension_numbers=numbers,
        precision=jax.lax.Precision.HIGHEST,
    )
    return jnp.sum(windows.reshape((*x.shape[:lead], -1)), axis=-1)


def _layer_stats(x: Array, layer: Layer) -> dict[str, Array]:
    x = x.astype(jnp.float32)
    lead = 1 if layer.static else 2
    lo, hi = jnp.min(x), jnp.max(x)
    stats = {
        "sum": jnp.sum(x, axis=tuple(range(lead, x.ndim))),
        "lo": lo,
        "hi": hi,
        "two": jnp.all((x == lo) | (x == hi)),
    }
    g = layer.geometry
    if isinstance(g, Conv):
        stats["events"] = _window_sum(x, g, lead)
    elif isinstance(g, Attention):
        d_qk = (x.shape[-1] - g.d_v) // 2
        parts = {"q": x[..., :d_qk], "k": x[..., d_qk : 2 * d_qk], "v": x[..., 2 * d_qk :]}
        for key, part in parts.items():
            stats[key] = jnp.sum(part, axis=tuple(range(lead, x.ndim)))
    return stats


def _stats(
    inputs: dict[str, Array], spikes: dict[str, Array], layers: tuple[Layer, ...]
) -> tuple[dict[str, dict[str, Array]], dict[str, Array]]:
    """Partial sums per step and sample of every layer input (and its event count, cheap next to
    the layer itself, so that one compilation serves both counting rules) and of every spike
    tensor."""
    per_layer = {layer.name: _layer_stats(inputs[layer.name], layer) for layer in layers}
    per_spikes = {
        name: jnp.sum(s.astype(jnp.float32), axis=tuple(range(2, s.ndim)))
        for name, s in spikes.items()
    }
    return per_layer, per_spikes


#: ``stats_of(inputs, spikes, layers=...)``: the reductions of a recording's arrays, compiled.
stats_of = jax.jit(_stats, static_argnames=("layers",))


@functools.partial(jax.jit, static_argnames=("graphdef", "layers"))
def run_stats(graphdef, state, x, *, layers):
    """Run the model ``merge(graphdef, state)`` on ``x`` under :func:`record` and reduce, all in
    one compiled function."""
    _, recording = record(nnx.merge(graphdef, state), x)
    return _stats(recording.synapse_inputs, recording.spikes, layers)
