"""The model zoo by name: ``create``, ``available``, ``info``, ``count_params``, ``structure``."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from flax import nnx

from spikejax.models._costs import Costs, costs
from spikejax.models._entries import REGISTRY, Entry, arguments
from spikejax.models._pretrained import describe, load_weights

__all__ = [
    "ModelInfo",
    "abstract_input",
    "abstract_rngs",
    "available",
    "config_costs",
    "count_params",
    "create",
    "info",
    "structure",
]


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What a zoo entry is, for data pipelines, the energy estimator and the command line.

    Attributes:
        name: registry name.
        family: ``"sew_resnet"``, ``"sew_dvs"``, ``"spikformer"`` or ``"small"`` (the CPU-sized
            experiment networks).
        input_shape: ``(H, W, C)`` of one sample at one step (``(features,)`` for an MLP).
        inputs: the input layouts the model accepts: ``"static"`` (``[B, H, W, C]`` images, used
            for ``T`` steps) and/or ``"sequence"`` (time-major ``[T, B, H, W, C]``).
        num_classes: classes ``K`` (output ``[B, K]``).
        T: default number of time steps.
        neuron: ``"if"``, ``"lif"`` or ``"plif"``.
        surrogate: the surrogate gradient of every neuron, e.g. ``"ATan(alpha=2.0)"``.
        first_layer: ``"once"`` if the first convolution runs once per sample (SEW ImageNet stem on
            the static image), ``"per_step"`` if it runs at every step.
        config: the full constructor configuration (defaults merged with overrides).
        overrides: the keyword overrides `create` accepts for this entry.
    """

    name: str
    family: str
    input_shape: tuple[int, ...]
    inputs: tuple[str, ...]
    num_classes: int
    T: int
    neuron: str
    surrogate: str
    first_layer: str
    config: Mapping[str, Any]
    overrides: tuple[str, ...]


def available() -> list[str]:
    """Names of every zoo model, in registry order.

    Example:
        >>> from spikejax import models
        >>> "sew_resnet18" in models.available()
        True
    """
    return list(REGISTRY)


def _entry(fn: str, name: Any) -> Entry:
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"`{fn}`: `name` must be one of {available()}; got {name!r}.")
    return REGISTRY[name]


def _config(fn: str, name: str, overrides: Mapping[str, Any]) -> tuple[Entry, dict[str, Any]]:
    entry = _entry(fn, name)
    unknown = sorted(set(overrides) - set(entry.defaults))
    if unknown:
        raise ValueError(
            f"`{fn}`: overrides for {name!r} must be among {sorted(entry.defaults)}; "
            f"got unknown {unknown}."
        )
    return entry, {**entry.defaults, **overrides}


def create(
    name: str,
    *,
    rngs: nnx.Rngs,
    pretrained: str | os.PathLike | None = None,
    **overrides: Any,
) -> nnx.Module:
    """Build the zoo model ``name`` (see `available`) with optional overrides.

    Overrides replace the entry's defaults (``info(name).config``); which ones an entry takes is
    ``info(name).overrides``. Every entry takes ``T``, ``num_classes``, ``neuron``, ``dtype``,
    ``remat``; SEW ImageNet entries also ``connect``, ``zero_init_residual``, ``stem``,
    ``image_size``, ``width`` (stem channels and first-stage planes), ``layers`` (SEW blocks per
    stage, e.g. ``(2, 2, 2, 2)``), ``groups``, ``width_per_group``, ``in_channels`` (3 for
    images, 2 for event frames); SEW DVS entries ``connect``,
    ``zero_init_residual``, ``up_kernel_size``, ``width`` (channels of the first stage),
    ``blocks`` (SEW blocks per stage, e.g. ``(7,)``), ``image_size``; Spikformer entries
    ``depth`` (blocks), ``embed_dim``, ``num_heads``, ``image_size``, ``pools`` (which SPS blocks
    pool), ``qkv_bias``, ``attn_scale``, ``learnable_scale``, ``ssa_order``, ``qk_pool``.

    With ``pretrained``, the path of a weights file written by
    `save_pretrained` (``.npz`` with its ``.json`` sidecar), every
    variable is then set from the file, after checking its sha256 digest, that it holds weights
    of ``name``, and that every leaf's path, variable type, dtype and shape equal those of the
    model built with ``overrides`` (overrides that change no shape, such as ``T``, are not
    checked; the sidecar records those used in training, see
    `pretrained_info`).

    Tiny configurations for tests (milliseconds per forward pass on a CPU, once compiled):
    SEW ImageNet ``width=2, image_size=16, layers=(1, 1, 1, 1)`` (ResNeXt: ``width=16,
    groups=4``); SEW DVS ``width=2, blocks=(2,), image_size=4`` (Wide-7B-Net: ``blocks=(2, 1),
    image_size=8``); Spikformer ``depth=1, embed_dim=16, num_heads=2, image_size=32`` (with
    ``attn_scale=1.0`` the attention neuron still fires on so few tokens); ``T=4`` for all (LIF
    and PLIF neurons with ``k = 1/2`` need a few steps to fire).

    Raises:
        ValueError: unknown ``name`` (the message lists the names), unknown override (lists the
            valid ones), or an unsupported combination (named by the model's constructor).
        PretrainedError: ``pretrained`` is corrupt or does not fit the model (the message names
            the first differing leaves, expected vs got).
        FileNotFoundError: ``pretrained`` or its sidecar is missing.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import models
        >>> def forward(images):
        ...     net = models.create("spikformer_4_384_cifar10", rngs=nnx.Rngs(0), T=2)
        ...     return net(images, per_step=True)
        >>> images = jax.ShapeDtypeStruct((8, 32, 32, 3), jnp.float32)
        >>> jax.eval_shape(forward, images).shape     # [T, B, K]; shapes only
        (2, 8, 10)
    """
    entry, config = _config("create", name, overrides)
    model = entry.cls(rngs=rngs, **arguments("create", entry, config))
    if pretrained is not None:
        load_weights(model, pretrained, name=name, overrides=overrides, fn="create")
    return model


def info(name: str, **overrides: Any) -> ModelInfo:
    """Metadata of the zoo entry ``name`` (with the given overrides applied).

    Example:
        >>> from spikejax import models
        >>> meta = models.info("sew_resnet34")
        >>> meta.input_shape, meta.T, meta.first_layer, meta.neuron
        ((224, 224, 3), 4, 'once', 'if')
    """
    entry, config = _config("info", name, overrides)
    if entry.family == "small":
        model = nnx.eval_shape(lambda: create(name, rngs=abstract_rngs(), **overrides))
        return ModelInfo(
            name=name,
            family=entry.family,
            input_shape=tuple(model.image_shape),
            inputs=("sequence",),
            num_classes=config["num_classes"],
            T=config["T"],
            neuron="lif",
            surrogate=str(config["surrogate"]),
            first_layer="per_step",
            config=config,
            overrides=tuple(sorted(entry.defaults)),
        )
    if entry.family == "sew_resnet":
        first = config["stem"]
        inputs = ("static",) if first == "once" else ("static", "sequence")
        size = config["image_size"]
        surrogate = "ATan(alpha=2.0)"
    elif entry.family == "sew_dvs":
        first, inputs, size = "per_step", ("sequence",), config["image_size"]
        surrogate = "ATan(alpha=2.0)"
    else:
        first, size, surrogate = "per_step", config["image_size"], "Sigmoid(alpha=4.0)"
        inputs = ("static", "sequence") if entry.fixed["static_input"] else ("sequence",)
    return ModelInfo(
        name=name,
        family=entry.family,
        input_shape=(size, size, config.get("in_channels", entry.in_channels)),
        inputs=inputs,
        num_classes=config["num_classes"],
        T=config["T"],
        neuron=config["neuron"],
        surrogate=surrogate,
        first_layer=first,
        config=config,
        overrides=tuple(sorted(entry.defaults)),
    )


def _flat(state: nnx.State) -> list[tuple[str, nnx.Variable]]:
    return [
        (".".join(str(p) for p in path), variable) for path, variable in nnx.to_flat_state(state)
    ]


def abstract_rngs() -> nnx.Rngs:
    """Random streams for building a model inside ``eval_shape``.

    The key-draw counter is a NumPy scalar instead of a traced one: every update of a traced
    counter makes Flax inspect the whole trace so far, which makes an abstract build quadratic in
    the number of layers. Only shapes come out of an abstract build, so the keys do not matter.
    """
    rngs = nnx.Rngs(0)
    rngs.default.count.set_value(np.zeros((), np.uint32))
    return rngs


def _build_abstract(name: str, overrides: Mapping[str, Any]) -> nnx.Module:
    return nnx.eval_shape(lambda: create(name, rngs=abstract_rngs(), **overrides))


@functools.lru_cache(maxsize=64)
def _abstract_state(name: str, overrides: tuple[tuple[str, Any], ...]) -> nnx.State:
    return nnx.state(_build_abstract(name, dict(overrides)))


def _state_of(fn: str, model_or_name: Any, overrides: Mapping[str, Any]) -> nnx.State:
    if isinstance(model_or_name, nnx.Module):
        if overrides:
            raise TypeError(
                f"`{fn}`: overrides apply only to a model name; got a model and "
                f"{sorted(overrides)}."
            )
        return nnx.state(model_or_name)
    _config(fn, model_or_name, overrides)
    try:
        key = tuple(sorted(overrides.items()))
        hash(key)
    except TypeError:
        return nnx.state(_build_abstract(model_or_name, overrides))
    return _abstract_state(model_or_name, key)


def config_costs(fn: str, name: Any, overrides: Mapping[str, Any]) -> Costs:
    """MACs per layer and step and the parameter count of a zoo entry, from its configuration.

    Unknown names and overrides, and values the model's constructor rejects, raise its named
    errors; nothing is built.
    """
    entry, config = _config(fn, name, overrides)
    return costs(fn, entry, config)


def count_params(model_or_name: nnx.Module | str, **overrides: Any) -> int:
    """Number of trainable numbers (``nnx.Param`` leaves) of a model or a zoo entry.

    Batch-norm ``γ, β``, weights, biases and PLIF ``w`` count; running statistics and fixed neuron
    constants (`Fixed`) do not. A built model's ``nnx.Param`` leaves are
    counted. For a name nothing is built: the count follows from the entry's configuration by the
    counting rules of the zoo (conv ``k²·C_in·C_out/groups``, batch norm ``2C``, linear
    ``in·out + out``, PLIF ``1`` per spiking layer), in microseconds, and equals the count of the
    built model.

    Example:
        >>> from spikejax import models
        >>> models.count_params("sew_resnet18")
        11689512
    """
    if not isinstance(model_or_name, nnx.Module):
        return config_costs("count_params", model_or_name, overrides).params
    state = _state_of("count_params", model_or_name, overrides)
    return sum(
        math.prod(variable.shape) for _, variable in _flat(state) if isinstance(variable, nnx.Param)
    )


def structure(model_or_name: nnx.Module | str, **overrides: Any) -> dict[str, str]:
    """Every variable of a model or zoo entry: dotted path → ``"Type:dtype[shape]"``.

    Computed abstractly for a name. This is the format of the pinned structure file of the zoo.

    Example:
        >>> from spikejax import models
        >>> models.structure("sew_resnet18")["conv1.conv.kernel"]
        'Param:float32[7,7,3,64]'
    """
    state = _state_of("structure", model_or_name, overrides)
    return {path: describe(variable) for path, variable in _flat(state)}


def abstract_input(model: nnx.Module, batch: int = 1) -> jax.ShapeDtypeStruct:
    """The shape of a model's input for ``batch`` samples: static if it accepts static images."""
    if model.static_input:
        return jax.ShapeDtypeStruct((batch, *model.image_shape), model.dtype)
    return jax.ShapeDtypeStruct((model.T, batch, *model.image_shape), model.dtype)
