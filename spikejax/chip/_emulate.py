"""``emulate`` a quantized MLP on its chip's integer arithmetic, with saturation statistics.

The emulator is jit-compiled and batched: every layer runs its synaptic stage for all steps as one
matmul and scans only the neuron update (`spikejax.chip.loihi.layer`,
`spikejax.chip.xylo.layer`), on the chip model's profile. Outputs equal those of
`spikejax.chip.loihi.run` and `spikejax.chip.xylo.run` on the same integer parameters
and profile, bit for bit. ``emulate`` starts from rest; `spikejax.chip.run` runs the same
layers (`stream_layers`) from an explicit state and returns the state it ends in.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from spikejax._errors import is_concrete
from spikejax.chip._model import ChipModel
from spikejax.chip.connectivity import per_neuron
from spikejax.chip.loihi.layer import LoihiLayerConfig, LoihiLayerState, loihi_layer_steps
from spikejax.chip.xylo.layer import XyloLayerConfig, XyloLayerState, xylo_layer_steps

__all__ = [
    "SATURATION_KEYS",
    "ChipSaturationError",
    "check_inputs",
    "check_saturation",
    "chip_params",
    "emulate",
    "encode_inputs",
    "layer_configs",
    "run_layers",
    "outputs_to_float",
    "param_name",
    "state_shapes",
    "stream_layers",
]

#: Statistics that count an event where the chip's result left its range or hit a cap.
SATURATION_KEYS = (
    "u_wraps",
    "v_saturations",
    "isyn_saturations",
    "dv_saturations",
    "vmem_saturations",
    "spike_cap_hits",
    "input_clips",
    "readout_spikes",
)


class ChipSaturationError(RuntimeError):
    """``emulate(..., throw=True)`` met a saturation, wrap, clip or cap; the message counts them."""


def param_name(name: str) -> str:
    """The chip parameter a leaf format names, without its layer suffix (``weights_out`` ->
    ``weights``, ``threshold_out`` -> ``threshold``)."""
    if name.startswith("weights"):
        return "weights"
    return name.removesuffix("_out")


def chip_params(chip_model: ChipModel) -> tuple[dict[str, Int[Array, "..."]], ...]:
    """Per layer, the chip parameters as int32 arrays: ``weights`` (the kernel's shape: ``(n_in,
    n_out)``, a convolution kernel, or a relay's one shared weight), ``rec_weights`` of a
    recurrent layer, and one value per neuron ``(n_out,)`` of ``du, dv, vth, bias_mant`` (Loihi)
    or ``dash_syn, dash_mem, threshold, bias`` (Xylo), taken from the leaves or the layers'
    constants (per-channel values broadcast over the layer's neurons)."""
    leaves = chip_model.leaves()
    out = []
    for k, layer in enumerate(chip_model.layers):
        params = {
            param_name(fmt.name): jnp.asarray(leaves[path], jnp.int32)
            for path, fmt in chip_model.formats
            if fmt.layer == k and fmt.name != "folded"
        }
        params |= {param_name(name): jnp.asarray(v, jnp.int32) for name, v in layer.constants}
        out.append(
            {
                k2: v if "weights" in k2 else per_neuron(v, layer.spec.out_shape)
                for k2, v in params.items()
            }
        )
    return tuple(out)


def layer_configs(chip_model: ChipModel, exact: bool = False) -> tuple:
    """The static settings of every layer (``LoihiLayerConfig`` / ``XyloLayerConfig``), with
    the chip model's profile."""
    n = len(chip_model.layers)
    p = chip_model.profile
    configs = []
    for k, layer in enumerate(chip_model.layers):
        readout = layer.spec.kind == "li"
        if chip_model.chip == "loihi":
            max_count = chip_model.input_levels if k == 0 else 1
            du_max = layer.constant("du") == p.decay_unity - p.du_offset
            configs.append(
                LoihiLayerConfig(
                    layer.weight_exp,
                    layer.bias_exp,
                    max_count,
                    du_max,
                    readout,
                    p,
                    layer.spec.synapse,
                    layer.rec_exp,
                )
            )
        else:
            cap = p.readout_cap if k == n - 1 else p.hidden_cap
            configs.append(XyloLayerConfig(layer.weight_exp, cap, readout, exact, p))
    return tuple(configs)


def state_shapes(chip: str, sizes: tuple[int, ...]) -> dict[str, dict[str, int]]:
    """Per layer (``"layer_k"``), the size of every state leaf of one sample, for a chip and
    the layer sizes ``(n_in, n_1, …, n_out)``: Loihi ``u``, ``v``, ``s`` (``n_k``) and
    ``pending`` (``n_{k-1}``: the events in the synaptic delay register); Xylo ``isyn``, ``vmem``
    (``n_k``) and, after the first layer, ``pending`` (the previous layer's last spikes, which
    arrive one step late)."""
    shapes = {}
    for k in range(len(sizes) - 1):
        n_in, n_out = sizes[k], sizes[k + 1]
        if chip == "loihi":
            leaf = {"u": n_out, "v": n_out, "s": n_out, "pending": n_in}
        else:
            leaf = {"isyn": n_out, "vmem": n_out} | ({"pending": n_in} if k else {})
        shapes[f"layer_{k}"] = leaf
    return shapes


def _layers(chip: str, configs: tuple, params: tuple, x, state: dict):
    """Every layer on int32 events ``[T, B, n_in]`` from ``state``: outputs, counts, state."""
    stats, final = {}, {}
    for k, (cfg, prm) in enumerate(zip(configs, params, strict=True)):
        key = f"layer_{k}"
        st_in = state[key]
        if chip == "loihi":
            carried = LoihiLayerState(st_in["u"], st_in["v"], st_in["s"], st_in["pending"])
            x, st, out_state = loihi_layer_steps(cfg, prm, x, carried)
            final[key] = {name: a.astype(jnp.int32) for name, a in out_state._asdict().items()}
        else:
            final[key] = {}
            if k == 0:
                input_cap = cfg.profile.input_cap
                clips = jnp.sum((x > input_cap).astype(jnp.int32))
                x_in = jnp.minimum(x, input_cap)
            else:  # the previous layer's spikes arrive one step late
                x_in = jnp.concatenate([st_in["pending"][None].astype(x.dtype), x[:-1]])
                final[key]["pending"] = x[-1].astype(jnp.int32)
            carried = XyloLayerState(st_in["isyn"], st_in["vmem"])
            x, st, out_state = xylo_layer_steps(cfg, prm, x_in, carried)
            final[key] |= {"isyn": out_state.isyn, "vmem": out_state.vmem}
            if k == 0:
                st["input_clips"] = clips
        stats[key] = st
    return x.astype(jnp.int32), stats, final


@functools.partial(jax.jit, static_argnums=(0, 1))
def stream_layers(
    chip: str, configs: tuple, params: tuple, x: Int[Array, "time batch n_in"], state: dict
):
    """The jit-compiled layers of `spikejax.chip.run` on int32 events ``[T, B, n_in]`` from
    ``state`` (leaves ``[B, n]`` as `state_shapes` lists them): outputs, the counts of these
    steps per layer, and the state after the last step."""
    return _layers(chip, configs, params, x, state)


@functools.partial(jax.jit, static_argnums=(0, 1))
def run_layers(chip: str, configs: tuple, params: tuple, x: Int[Array, "time batch n_in"]):
    """The jit-compiled layers of `emulate` on int32 events ``[T, B, n_in]`` from rest: outputs
    and per-layer counts (``configs`` from `layer_configs`, ``params`` from
    `chip_params`)."""
    per_neuron = "du" if chip == "loihi" else "threshold"
    sizes = (x.shape[-1], *(prm[per_neuron].shape[0] for prm in params))
    zero = {
        layer: {name: jnp.zeros((x.shape[1], n), jnp.int32) for name, n in leaves.items()}
        for layer, leaves in state_shapes(chip, sizes).items()
    }
    out, stats, _ = _layers(chip, configs, params, x, zero)
    return out, stats


def check_inputs(fn: str, chip_model: ChipModel, inputs: Any) -> Int[Array, "time *batch n_in"]:
    """``inputs`` ``[T, *batch, *input_shape]`` as int32 events ``[T, *batch, n_in]``, checked:
    binary spikes or counts up to ``input_levels`` on Loihi, counts >= 0 on Xylo."""
    n_in = chip_model.sizes[0]
    shape = chip_model.input_shape
    want = f"[T, *batch, {', '.join(map(str, shape))}]"
    if not hasattr(inputs, "shape") or not hasattr(inputs, "dtype"):
        raise TypeError(f"`{fn}`: `inputs` must be an array {want}; got {inputs!r}.")
    k = len(shape)
    if (
        inputs.ndim < max(2, 1 + k)
        or tuple(inputs.shape[inputs.ndim - k :]) != shape
        or (inputs.shape[0] == 0)
    ):
        raise ValueError(
            f"`{fn}`: `inputs` must be time-major {want} with T >= 1; got shape "
            f"{tuple(inputs.shape)}."
        )
    if k > 1:
        inputs = inputs.reshape((*inputs.shape[: inputs.ndim - k], n_in))
    loihi = chip_model.chip == "loihi"
    high = chip_model.input_levels if loihi else None
    what = "binary spikes (0 or 1)" if high == 1 else "integer event counts"
    rule = f"{what} in [0, {high}]" if high is not None else f"{what} >= 0"
    if not is_concrete(inputs):
        if not (jnp.issubdtype(inputs.dtype, jnp.integer) or inputs.dtype == jnp.bool_):
            raise TypeError(
                f"`{fn}`: `inputs` must hold {rule} with an integer dtype when traced; got "
                f"{inputs.dtype}."
            )
        return inputs.astype(jnp.int32)
    x = np.asarray(inputs)
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x) | (x != np.round(x))
        if np.any(bad):
            raise ValueError(f"`{fn}`: `inputs` must hold {rule}; got {x[bad][:3].tolist()}.")
    elif x.dtype.kind not in "iub":
        raise TypeError(f"`{fn}`: `inputs` must hold {rule}; got dtype {x.dtype}.")
    bad = (x < 0) | (x > high) if high is not None else x < 0
    if np.any(bad):
        raise ValueError(f"`{fn}`: `inputs` must hold {rule}; got {x[bad][:3].tolist()}.")
    return jnp.asarray(x.astype(np.int32))


def emulate(
    chip_model: ChipModel, inputs: Any, *, throw: bool = False, exact: bool = False
) -> tuple[Int[Array, "time *batch n_out"], dict[str, dict[str, Int[Array, ""]]]]:
    """Run a quantized network on its chip's integer arithmetic.

    Args:
        chip_model: from `spikejax.chip.quantize`.
        inputs: time-major ``[T, *batch, n_in]``: binary spikes, or event counts up to
            ``chip_model.input_levels`` on Loihi; event counts (capped at 15 by the chip, counted
            as ``input_clips``) on Xylo. Integer, boolean or integral floating arrays; a traced
            array must be integer or boolean.
        throw: raise `ChipSaturationError` when any count of `SATURATION_KEYS` is
            non-zero (checked after the run, outside ``jit``).
        exact: Xylo only: take the ordered saturating accumulation at every step instead of only
            where a rail is reachable (same results; for testing and timing).

    Returns:
        ``(outputs, stats)``: int32 ``[T, *batch, n_out]``, the readout's spikes or, for a
        non-spiking LI readout, its membrane (chip units; `outputs_to_float` scales it);
        ``stats["layer_k"]`` holds int32 counts over the whole batch: ``spikes`` (spikes emitted;
        ``readout_spikes`` for an LI readout, which should never spike), ``u_wraps`` and
        ``v_saturations`` (Loihi), ``isyn_saturations`` (saturating source adds),
        ``dv_saturations``, ``vmem_saturations``, ``spike_cap_hits`` and, on the first layer,
        ``input_clips`` (Xylo).

    Raises:
        ValueError: inputs of the wrong shape or not binary/integral/non-negative (when concrete).
        TypeError: traced inputs of a floating dtype.
        ChipSaturationError: with ``throw`` and a non-zero saturation count.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from spikejax import chip
        >>> from spikejax.models import LIFMLP
        >>> cm = chip.quantize(LIFMLP(16, (8,), 4, rngs=nnx.Rngs(0)), "loihi")
        >>> spikes = (np.random.default_rng(0).random((20, 3, 16)) < 0.3).astype(np.int32)
        >>> out, stats = chip.emulate(cm, spikes)
        >>> out.shape, sorted(stats["layer_0"])
        ((20, 3, 4), ['spikes', 'u_wraps', 'v_saturations'])
    """
    fn = "emulate"
    if not isinstance(chip_model, ChipModel):
        raise TypeError(
            f"`{fn}`: `chip_model` must be a ChipModel; got {type(chip_model).__name__}."
        )
    x = check_inputs(fn, chip_model, inputs)
    shape = x.shape
    x = x.reshape((shape[0], -1, shape[-1]))
    out, stats = run_layers(
        chip_model.chip, layer_configs(chip_model, exact), chip_params(chip_model), x
    )
    out = out.reshape((*shape[:-1], out.shape[-1]))
    if throw:
        check_saturation(fn, stats)
    return out, stats


def check_saturation(fn: str, stats: dict[str, dict[str, Any]]) -> None:
    """``ChipSaturationError`` from ``fn`` when any count of `SATURATION_KEYS` in ``stats``
    is non-zero (``ValueError`` for traced counts)."""
    leaves = jax.tree.leaves(stats)
    if not all(is_concrete(v) for v in leaves):
        raise ValueError(
            f"`{fn}`: `throw=True` needs concrete results (it checks after the run); got traced "
            "statistics: under jit, inspect the returned stats instead."
        )
    found = {
        f"{layer}.{key}": int(value)
        for layer, counts in stats.items()
        for key, value in counts.items()
        if key in SATURATION_KEYS and int(value) > 0
    }
    if found:
        raise ChipSaturationError(
            f"`{fn}`: the chip saturated, wrapped or hit a cap ({found}); rescale the network "
            "(e.g. quantize with more headroom) or run without throw=True to read the counts."
        )


def encode_inputs(chip_model: ChipModel, x: Any) -> Int[Array, "time *batch n_in"]:
    """Input events for float inputs ``x``: ``round(x * input_levels)`` for ``x`` in ``[0, 1]``,
    or ``round(x / input_unit)`` for ``x`` in ``[0, input_levels * input_unit]`` when the chip
    model has an ``input_unit`` (e.g. event counts with unit 1).

    Binary spike trains (``input_levels = 1``) pass unchanged; analog values (direct encoding)
    become event counts. Values outside the range raise ``ValueError``.
    """
    fn = "encode_inputs"
    a = np.asarray(x, np.float64)
    unit = chip_model.input_unit
    high = 1.0 if unit is None else chip_model.input_levels * unit
    bad = ~np.isfinite(a) | (a < 0) | (a > high)
    if np.any(bad):
        raise ValueError(
            f"`{fn}`: `x` must lie in [0, {high:g}]; got {a[bad].ravel()[:3].tolist()}."
        )
    q = a * chip_model.input_levels if unit is None else a / unit
    return jnp.asarray(np.rint(q).astype(np.int32))


def outputs_to_float(chip_model: ChipModel, outputs: Any) -> Float[Array, "time *batch n_out"]:
    """Emulator outputs in float units: an LI readout's membrane divided by its scale ``S``;
    spikes as float32 counts."""
    layer = chip_model.layers[-1]
    out = jnp.asarray(outputs).astype(jnp.float32)
    if layer.spec.kind == "li":
        return out * jnp.float32(1.0 / layer.v_scale)
    return out
