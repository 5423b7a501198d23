"""The model zoo by name: ``create``, ``available``, ``info``, ``count_params``, ``structure``."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax.models._pretrained import describe, load_weights
from spikejax.models._sew_dvs import SEWDVSNet
from spikejax.models._sew_resnet import SEWResNet
from spikejax.models._small import LIFMLP, ConvSNN
from spikejax.models._spikformer import Spikformer

__all__ = [
    "ModelInfo",
    "abstract_input",
    "abstract_rngs",
    "available",
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
        overrides: the keyword overrides :func:`create` accepts for this entry.
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


@dataclasses.dataclass(frozen=True)
class _Entry:
    build: Callable[..., nnx.Module]
    defaults: Mapping[str, Any]
    family: str
    in_channels: int


_COMMON = dict(dtype=jnp.float32, remat=False)

_SEW_DEFAULTS = dict(
    num_classes=1000,
    connect="add",
    neuron="if",
    zero_init_residual=False,
    stem="once",
    T=4,
    image_size=224,
    width=64,
    groups=1,
    width_per_group=64,
    **_COMMON,
)
_DVS_DEFAULTS = dict(
    connect="add", neuron="plif", zero_init_residual=False, up_kernel_size=1, T=16, **_COMMON
)
_SPIKFORMER_DATASETS = {
    # dataset: (classes, image size, channels, pools, qkv bias, scale, order, T, static input)
    "cifar10": (10, 32, 3, (False, False, True, True), True, 0.125, "qk_v", 4, True),
    "cifar100": (100, 32, 3, (False, False, True, True), True, 0.125, "qk_v", 4, True),
    "imagenet": (1000, 224, 3, (True,) * 4, False, 0.125, "q_kv", 4, True),
    "cifar10dvs": (10, 128, 2, (True,) * 4, False, 0.25, "q_kv", 16, False),
    "dvs128": (11, 128, 2, (True,) * 4, False, 0.25, "q_kv", 16, False),
}
# Heads: published for CIFAR 384 (12), ImageNet 512 (8) and the DVS models; the others are assumed.
_SPIKFORMER_HEADS = {"cifar": {256: 8, 384: 12}, "imagenet": {384: 12, 512: 8, 768: 12}}


def _sew_resnet(block: str, layers: tuple[int, ...], **fixed: Any) -> _Entry:
    build = functools.partial(SEWResNet, block, layers, in_channels=3)
    return _Entry(build, {**_SEW_DEFAULTS, **fixed}, "sew_resnet", 3)


def _sew_dvs(
    factors: tuple[int, ...], blocks: tuple[int, ...], classes: int, kernel: int
) -> _Entry:
    """A SEW DVS net: stage ``i`` has ``width · factors[i]`` channels and ``blocks[i]`` blocks."""

    def build(*, width: int, blocks: Any, rngs: nnx.Rngs, **config: Any) -> SEWDVSNet:
        if (
            not isinstance(blocks, tuple)
            or len(blocks) != len(factors)
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in blocks)
        ):
            raise ValueError(
                f"`create`: `blocks` must be a tuple of {len(factors)} int(s), the SEW blocks of "
                f"each stage; got {blocks!r}."
            )
        stages = tuple((width * factor, n) for factor, n in zip(factors, blocks, strict=True))
        return SEWDVSNet(stages, rngs=rngs, in_channels=2, **config)

    defaults = {
        **_DVS_DEFAULTS,
        "num_classes": classes,
        "width": 64 if len(factors) > 1 else 32,
        "blocks": blocks,
        "image_size": 128,
        "up_kernel_size": kernel,
    }
    return _Entry(build, defaults, "sew_dvs", 2)


def _spikformer(depth: int, dim: int, dataset: str) -> _Entry:
    classes, size, channels, pools, bias, scale, order, T, static = _SPIKFORMER_DATASETS[dataset]
    if dataset == "cifar10dvs":
        heads = 16
    elif dataset == "dvs128":
        heads = 8
    else:
        heads = _SPIKFORMER_HEADS["imagenet" if dataset == "imagenet" else "cifar"][dim]
    build = functools.partial(Spikformer, depth, in_channels=channels, static_input=static)
    defaults = dict(
        embed_dim=dim,
        pools=pools,
        num_heads=heads,
        num_classes=classes,
        image_size=size,
        qkv_bias=bias,
        attn_scale=scale,
        learnable_scale=False,
        ssa_order=order,
        qk_pool=None,
        neuron="lif",
        T=T,
        **_COMMON,
    )
    return _Entry(build, defaults, "spikformer", channels)


def _small(cls: type[nnx.Module], in_channels: int, **fixed: Any) -> _Entry:
    """An experiment network: its defaults are its constructor's defaults, plus ``fixed``."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.name not in ("self", "rngs")}
    return _Entry(cls, {**defaults, **fixed}, "small", in_channels)


def _entries() -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {
        "lif_mlp": _small(LIFMLP, 1, in_features=64),  # defaults: the digits main job
        "conv_snn": _small(ConvSNN, 2),
    }
    resnets = {
        18: ("basic", (2, 2, 2, 2)),
        34: ("basic", (3, 4, 6, 3)),
        50: ("bottleneck", (3, 4, 6, 3)),
        101: ("bottleneck", (3, 4, 23, 3)),
        152: ("bottleneck", (3, 8, 36, 3)),
    }
    for depth, (block, layers) in resnets.items():
        entries[f"sew_resnet{depth}"] = _sew_resnet(block, layers)
    for depth, (block, layers) in resnets.items():
        entries[f"sew_resnet{depth}_plif"] = _sew_resnet(block, layers, neuron="plif")
    entries["sew_resnext50_32x4d"] = _sew_resnet(
        "bottleneck", resnets[50][1], groups=32, width_per_group=4
    )
    entries["sew_resnext101_32x8d"] = _sew_resnet(
        "bottleneck", resnets[101][1], groups=32, width_per_group=8
    )
    entries["sew_wide_resnet50_2"] = _sew_resnet("bottleneck", resnets[50][1], width_per_group=128)
    entries["sew_wide_resnet101_2"] = _sew_resnet(
        "bottleneck", resnets[101][1], width_per_group=128
    )
    for suffix, kernel in (("", 1), ("_k3", 3)):
        entries[f"sew_7bnet_dvs128{suffix}"] = _sew_dvs((1,), (7,), 11, kernel)
        entries[f"sew_wide7bnet_cifar10dvs{suffix}"] = _sew_dvs((1, 2), (4, 3), 10, kernel)
    for dataset in ("cifar10", "cifar100"):
        for depth, dim in ((4, 256), (2, 384), (4, 384)):
            entries[f"spikformer_{depth}_{dim}_{dataset}"] = _spikformer(depth, dim, dataset)
    for depth, dim in ((8, 384), (6, 512), (8, 512), (10, 512), (8, 768)):
        entries[f"spikformer_{depth}_{dim}_imagenet"] = _spikformer(depth, dim, "imagenet")
    entries["spikformer_2_256_dvs128"] = _spikformer(2, 256, "dvs128")
    entries["spikformer_2_256_cifar10dvs"] = _spikformer(2, 256, "cifar10dvs")
    return entries


_REGISTRY = _entries()


def available() -> list[str]:
    """Names of every zoo model, in registry order.

    Example:
        >>> from spikejax import models
        >>> "sew_resnet18" in models.available()
        True
    """
    return list(_REGISTRY)


def _entry(fn: str, name: Any) -> _Entry:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"`{fn}`: `name` must be one of {available()}; got {name!r}.")
    return _REGISTRY[name]


def _config(fn: str, name: str, overrides: Mapping[str, Any]) -> tuple[_Entry, dict[str, Any]]:
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
    """Build the zoo model ``name`` (see :func:`available`) with optional overrides.

    Overrides replace the entry's defaults (``info(name).config``); which ones an entry takes is
    ``info(name).overrides``. Every entry takes ``T``, ``num_classes``, ``neuron``, ``dtype``,
    ``remat``; SEW ImageNet entries also ``connect``, ``zero_init_residual``, ``stem``,
    ``image_size``, ``width`` (stem channels and first-stage planes), ``groups``,
    ``width_per_group``; SEW DVS entries ``connect``, ``zero_init_residual``, ``up_kernel_size``,
    ``width`` (channels of the first stage), ``blocks`` (SEW blocks per stage, e.g. ``(7,)``),
    ``image_size``; Spikformer entries ``embed_dim``, ``num_heads``, ``image_size``, ``pools``
    (which SPS blocks pool), ``qkv_bias``, ``attn_scale``, ``learnable_scale``, ``ssa_order``,
    ``qk_pool``.

    With ``pretrained``, the path of a weights file written by
    :func:`~spikejax.models.save_pretrained` (``.npz`` with its ``.json`` sidecar), every
    variable is then set from the file, after checking its sha256 digest, that it holds weights
    of ``name``, and that every leaf's path, variable type, dtype and shape equal those of the
    model built with ``overrides`` (overrides that change no shape, such as ``T``, are not
    checked; the sidecar records those used in training, see
    :func:`~spikejax.models.pretrained_info`).

    Small configurations for tests (a fraction of a second per forward pass on a CPU):
    SEW ImageNet ``width=4, image_size=16`` (ResNeXt: ``width=16, groups=4``); SEW DVS
    ``width=2``; Spikformer ``embed_dim=16, num_heads=2, image_size=16`` (CIFAR, ImageNet) or
    ``image_size=32`` (DVS); ``T=2`` for all.

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
    model = entry.build(rngs=rngs, **config)
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
        static = _SPIKFORMER_DATASETS[name.rsplit("_", 1)[1]][-1]
        inputs = ("static", "sequence") if static else ("sequence",)
    return ModelInfo(
        name=name,
        family=entry.family,
        input_shape=(size, size, entry.in_channels),
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


def count_params(model_or_name: nnx.Module | str, **overrides: Any) -> int:
    """Number of trainable numbers (``nnx.Param`` leaves) of a model or a zoo entry.

    For a name the model is built abstractly (``nnx.eval_shape``): no weight is allocated.
    Batch-norm ``γ, β``, weights, biases and PLIF ``w`` count; running statistics and fixed neuron
    constants (:class:`~spikejax.layers.Fixed`) do not.

    Example:
        >>> from spikejax import models
        >>> models.count_params("sew_resnet18")
        11689512
    """
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
