"""``quantize`` a float MLP for a chip, ``dequantize`` it back, ``requantize`` after fine-tuning.

The chip model keeps the float model's tree (``nnx.state``) with an integer leaf of the same shape
for every float leaf: Linear kernels become integer weights, biases integer biases, neuron decays
and thresholds the chip's decay constants and thresholds. Exponents, shifts and scales are static
metadata (`ChipModel` ``layers`` and ``formats``). The mappings are
documented in `spikejax.chip._quantize_loihi` and `spikejax.chip._quantize_xylo`; every
semantic difference between the float network and the chip is listed in ``ChipModel.notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax._errors import check_choice, check_finite
from spikejax.chip._graph import describe, flat_state, path_str
from spikejax.chip._model import ChipModel, LeafFormat, LeafReport
from spikejax.chip._qcommon import LayerPlan, LeafPlan
from spikejax.chip._quantize_loihi import loihi_notes, plan_loihi
from spikejax.chip._quantize_xylo import plan_xylo, xylo_notes
from spikejax.chip.loihi.profile import LoihiProfile
from spikejax.chip.profiles import ChipProfile, get_profile

__all__ = ["dequantize", "quantize", "requantize"]


def _is_variable(x: Any) -> bool:
    return isinstance(x, nnx.Variable)


def _check_int(fn: str, arg: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"`{fn}`: `{arg}` must be an int >= {low}; got {value!r}.")
    return int(value)


def _profile(fn: str, profile: Any) -> ChipProfile:
    p = get_profile(profile)
    if not p.bit_exact:
        raise ValueError(
            f"`{fn}`: `profile` must be a bit-exact profile ('loihi' or 'xylo'); {p.name!r} has "
            "no emulator (its resources can still be checked with spikejax.chip.fit)."
        )
    return p


def _range(fn: str, plan: LeafPlan, chip: str, saturate: bool) -> tuple[np.ndarray, int]:
    """Clip (``saturate``) or reject integers outside the legal range; returns ``(q, clipped)``."""
    fmt = plan.fmt
    bad = (plan.q < fmt.low) | (plan.q > fmt.high)
    count = int(np.count_nonzero(bad))
    if count and not saturate:
        shown = ", ".join(
            f"{x:.4g} -> {q}" for x, q in zip(plan.value[bad][:3], plan.q[bad][:3], strict=True)
        )
        raise ValueError(
            f"`{fn}`: `{plan.path}` ({chip} `{fmt.name}`) must quantize into "
            f"[{fmt.low}, {fmt.high}]; {count} of {plan.q.size} values fall outside ({shown}); "
            "pass saturate=True to clip them."
        )
    return np.clip(plan.q, fmt.low, fmt.high), count


def _leaf_report(plan: LeafPlan, q: np.ndarray, clipped: int) -> LeafReport:
    deq = plan.fmt.decode(q)
    err = np.abs(plan.value - deq) if plan.value.size else np.zeros(1)
    value = np.abs(plan.value) if plan.value.size else np.zeros(1)
    return LeafReport(
        path=plan.path,
        name=plan.fmt.name,
        max_abs_error=float(np.max(err)),
        rms_error=float(np.sqrt(np.mean(err**2))),
        max_abs_value=float(np.max(value)),
        lsb=float(np.max(plan.fmt.lsb(plan.value))) if plan.value.size else 0.0,
        clipped=clipped,
    )


def _build_state(fn: str, state: Any, ints: dict[str, np.ndarray]) -> Any:
    def convert(path, leaf):
        name = path_str(path)
        value = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
        if name in ints:
            new = jnp.asarray(ints[name].astype(np.int32))
        elif jnp.issubdtype(jnp.result_type(value), jnp.floating):
            raise ValueError(
                f"`{fn}`: every floating leaf must belong to a chip layer; `{name}` does not."
            )
        else:
            return leaf
        return leaf.replace(new) if isinstance(leaf, nnx.Variable) else new

    return jax.tree_util.tree_map_with_path(convert, state, is_leaf=_is_variable)


def _assemble(
    fn: str,
    arithmetic: Any,
    state: Any,
    plans: list[LayerPlan],
    saturate: bool,
    levels: int,
    notes,
    unit: float | None = None,
) -> ChipModel:
    chip = "loihi" if isinstance(arithmetic, LoihiProfile) else "xylo"
    ints, formats, reports = {}, [], []
    for plan in plans:
        for leaf in plan.leaves:
            q, clipped = _range(fn, leaf, chip, saturate)
            ints[leaf.path] = q
            formats.append((leaf.path, leaf.fmt))
            reports.append(_leaf_report(leaf, q, clipped))
    return ChipModel(
        state=_build_state(fn, state, ints),
        chip=chip,
        layers=tuple(plan.layer for plan in plans),
        formats=tuple(formats),
        input_levels=levels,
        report=tuple(reports),
        notes=tuple(notes),
        arithmetic=arithmetic,
        input_unit=unit,
    )


def quantize(
    float_state: Any,
    profile: str | ChipProfile,
    *,
    method: str = "max",
    percentile: float = 99.9,
    saturate: bool = False,
    input_levels: int = 1,
    headroom: int = 2,
    peaks: Sequence[float] | None = None,
    input_unit: float | None = None,
) -> ChipModel:
    """Quantize a float network for a bit-exact chip profile.

    Loihi runs the networks `describe` reads from a model's graph
    (dense and convolutional synapses, folded batch norms and sum/average pools, max pools of
    spikes as OR relays, recurrent spiking layers); Xylo runs ``Linear → Spiking`` chains.

    Args:
        float_state: the float model (an ``nnx.Module``: layer order, neuron classes and static
            settings are read from it) or its ``nnx.state`` (layers in the natural order of their
            paths, neuron kinds from the leaf names; ``decay_input`` assumed false).
        profile: ``"loihi"``, ``"xylo"`` or a bit-exact
            `ChipProfile`, whose ``arithmetic`` (a custom
            `LoihiProfile` or `XyloProfile`) sets every
            range, width and constant of the chip model and of its emulation.
        method: ``"max"`` maps the largest weight magnitude of a layer to the largest integer
            weight; ``"percentile"`` maps the ``percentile``-th percentile of the magnitudes (the
            larger weights then exceed the range: they need ``saturate=True``).
        percentile: percentile of ``method="percentile"``, in ``(0, 100]``.
        saturate: clip values outside a leaf's legal range (and count them in ``report``)
            instead of raising.
        input_levels: input events that encode the float input 1.0 (1: binary spikes; e.g. 16 to
            send analog inputs in ``[0, 1]`` as event counts).
        headroom: bits of the membrane range kept free above the largest threshold (and the
            observed peaks).
        peaks: optional peak magnitude per layer of the float membrane and synaptic input (from a
            float run on sample data); bounds each layer's scale so that the chip does not
            saturate where the float network did not.
        input_unit: the float input value of one event when it is not ``1 / input_levels``:
            e.g. 1.0 for inputs that are event counts, with ``input_levels`` the largest count.

    Returns:
        The `ChipModel`: same tree structure as the float state, int32
        leaves, per-leaf formats, error report and semantic notes.

    Raises:
        ValueError: a value does not fit its chip parameter (message: leaf path, chip parameter,
            range) and ``saturate`` is false; an unsupported network or profile; bad arguments.
        TypeError: ``float_state`` is neither a module nor a state.

    Example:
        >>> from flax import nnx
        >>> from spikejax import chip
        >>> from spikejax.models import LIFMLP
        >>> model = LIFMLP(16, (8,), 4, rngs=nnx.Rngs(0))
        >>> cm = chip.quantize(model, "loihi")
        >>> cm.chip, cm.sizes, cm.leaves()["blocks.0.fc.kernel"].dtype
        ('loihi', (16, 8, 4), dtype('int32'))
    """
    fn = "quantize"
    p = _profile(fn, profile)
    check_choice(fn, "method", method, ("max", "percentile"))
    if (
        isinstance(percentile, bool)
        or not isinstance(percentile, int | float)
        or not 0 < percentile <= 100
    ):
        raise ValueError(f"`{fn}`: `percentile` must be a number in (0, 100]; got {percentile!r}.")
    if not isinstance(saturate, bool):
        raise TypeError(f"`{fn}`: `saturate` must be a bool; got {saturate!r}.")
    levels = _check_int(fn, "input_levels", input_levels, 1)
    headroom = _check_int(fn, "headroom", headroom, 0)
    if input_unit is not None and not (
        isinstance(input_unit, int | float) and not isinstance(input_unit, bool) and input_unit > 0
    ):
        raise ValueError(f"`{fn}`: `input_unit` must be a number > 0 or None; got {input_unit!r}.")
    specs = describe(float_state, fn=fn, chip=p.name)
    state = nnx.state(float_state) if isinstance(float_state, nnx.Module) else float_state
    flat = flat_state(state)
    check_finite(fn, "float_state", {k: v for k, v in flat.items() if _is_float(v)})
    if peaks is not None:
        peaks = tuple(float(x) for x in peaks)
        if len(peaks) != len(specs) or not all(np.isfinite(x) and x >= 0 for x in peaks):
            raise ValueError(
                f"`{fn}`: `peaks` must hold one finite value >= 0 per layer ({len(specs)}); "
                f"got {peaks!r}."
            )
    unit = None if input_unit is None else float(input_unit)
    kwargs = dict(
        method=method,
        percentile=float(percentile),
        headroom=headroom,
        levels=levels,
        peaks=peaks,
        unit=unit,
    )
    arith = p.arithmetic
    if isinstance(arith, LoihiProfile):
        plans, notes = plan_loihi(specs, flat, p=arith, **kwargs), loihi_notes(specs, levels, unit)
    else:
        if len(specs) < 2:
            raise ValueError(
                f"`{fn}`: Xylo needs at least one hidden layer before the readout; got a network "
                f"of {len(specs)} layer."
            )
        _xylo_layers(fn, specs)
        cap = p.arithmetic.input_cap
        if levels > cap:
            raise ValueError(
                f"`{fn}`: `input_levels` must be <= {cap} (Xylo's input events per channel and "
                f"step); got {levels}."
            )
        plans, notes = plan_xylo(specs, flat, p=arith, **kwargs), xylo_notes(specs, levels)
    if isinstance(float_state, nnx.State) and any(s.reset is None for s in specs):
        notes.append(
            "The network was read from a bare nnx.State: neuron reset modes are unknown and "
            "decay_input was assumed false (pass the model to read them)."
        )
    return _assemble(fn, p.arithmetic, state, plans, saturate, levels, notes, unit)


def _xylo_layers(fn: str, specs) -> None:
    """Refuse what Xylo's one dense, fixed-size core cannot hold, naming the layer."""
    for spec in specs:
        what = None
        if spec.kind == "or":
            what = "a max-pooling relay"
        elif spec.synapse is not None:
            what = f"a {spec.synapse.op} synapse on input {spec.synapse.in_shape}"
        elif spec.norm is not None:
            what = "a batch norm"
        elif spec.rec_kernel is not None:
            what = "a recurrent layer"
        if what is not None:
            raise ValueError(
                f"`{fn}`: module `{spec.name}` is {what}, which no layer of xylo maps: Xylo holds "
                "dense Linear → Spiking layers (16 input channels, one recurrent hidden "
                "population, 8 readout neurons); flatten, fold or convert the network first."
            )


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def requantize(float_state: Any, like: ChipModel, *, saturate: bool = False) -> ChipModel:
    """Quantize ``float_state`` with the formats (scales, exponents, constants) of ``like``.

    Used after fine-tuning: the integers are those the straight-through forward of
    `spikejax.chip.ste` computed with the same formats. ``float_state`` must have the tree
    structure of ``like.state``.
    """
    fn = "requantize"
    if not isinstance(like, ChipModel):
        raise TypeError(f"`{fn}`: `like` must be a ChipModel; got {type(like).__name__}.")
    state = nnx.state(float_state) if isinstance(float_state, nnx.Module) else float_state
    if jax.tree.structure(state) != jax.tree.structure(like.state):
        raise ValueError(
            f"`{fn}`: `float_state` must have the tree structure of `like.state`; got "
            f"{jax.tree.structure(state)}."
        )
    flat = flat_state(state)
    check_finite(fn, "float_state", {k: v for k, v in flat.items() if _is_float(v)})
    plans = []
    for layer in like.layers:
        k = like.layers.index(layer)
        leaves = [
            LeafPlan(path, fmt, np.asarray(flat[path], np.float64), fmt.encode(flat[path]))
            for path, fmt in like.formats
            if fmt.layer == k
        ]
        plans.append(LayerPlan(layer, leaves))
    return _assemble(
        fn, like.profile, state, plans, saturate, like.input_levels, like.notes, like.input_unit
    )


def dequantize(chip_model: ChipModel) -> Any:
    """The float state that ``chip_model`` encodes (float32 leaves, same tree structure).

    Exact for values that the chip represents: ``quantize(dequantize(m))`` has the integers of
    ``m``; ``dequantize(quantize(x))`` differs from ``x`` by at most half a step of each leaf's
    format (its ``lsb``) for values inside the legal ranges.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from spikejax import chip
        >>> from spikejax.models import LIFMLP
        >>> model = LIFMLP(16, (8,), 4, rngs=nnx.Rngs(0))
        >>> back = chip.dequantize(chip.quantize(model, "xylo"))
        >>> w, w2 = model.blocks[0].fc.kernel[...], back["blocks"][0]["fc"]["kernel"][...]
        >>> bool(np.max(np.abs(w - w2)) <= np.max(np.abs(w)) / 127 / 2 + 1e-7)
        True
    """
    fn = "dequantize"
    if not isinstance(chip_model, ChipModel):
        raise TypeError(
            f"`{fn}`: `chip_model` must be a ChipModel; got {type(chip_model).__name__}."
        )
    formats: dict[str, LeafFormat] = dict(chip_model.formats)

    def convert(path, leaf):
        name = path_str(path)
        if name not in formats:
            return leaf
        value = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
        new = jnp.asarray(formats[name].decode(np.asarray(value)).astype(np.float32))
        return leaf.replace(new) if isinstance(leaf, nnx.Variable) else new

    return jax.tree_util.tree_map_with_path(convert, chip_model.state, is_leaf=_is_variable)
