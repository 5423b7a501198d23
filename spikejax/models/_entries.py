"""The zoo's table: every registered name, its model class, fixed arguments and defaults."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp
from flax import nnx

from spikejax.models._common import check_positive_int
from spikejax.models._sew_dvs import SEWDVSNet
from spikejax.models._sew_resnet import SEWResNet
from spikejax.models._small import LIFMLP, ConvSNN
from spikejax.models._spikformer import Spikformer

__all__ = ["REGISTRY", "SPIKFORMER_DATASETS", "Entry", "arguments"]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One zoo name.

    Attributes:
        cls: the model class.
        family: ``"sew_resnet"``, ``"sew_dvs"``, ``"spikformer"`` or ``"small"``.
        defaults: the configuration, every key of which `create` may override.
        fixed: constructor arguments of the entry that no override changes (``factors`` of a SEW
            DVS entry: stage widths in units of ``width``).
        in_channels: input channels of one sample (the default where ``defaults`` has
            ``in_channels``, which then may be overridden).
    """

    cls: type[nnx.Module]
    family: str
    defaults: Mapping[str, Any]
    fixed: Mapping[str, Any]
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
#: dataset: (classes, image size, channels, pools, qkv bias, scale, order, T, static input)
SPIKFORMER_DATASETS = {
    "cifar10": (10, 32, 3, (False, False, True, True), True, 0.125, "qk_v", 4, True),
    "cifar100": (100, 32, 3, (False, False, True, True), True, 0.125, "qk_v", 4, True),
    "imagenet": (1000, 224, 3, (True,) * 4, False, 0.125, "q_kv", 4, True),
    "cifar10dvs": (10, 128, 2, (True,) * 4, False, 0.25, "q_kv", 16, False),
    "dvs128": (11, 128, 2, (True,) * 4, False, 0.25, "q_kv", 16, False),
}
# Heads: published for CIFAR 384 (12), ImageNet 512 (8) and the DVS models; the others are assumed.
_SPIKFORMER_HEADS = {"cifar": {256: 8, 384: 12}, "imagenet": {384: 12, 512: 8, 768: 12}}


def _sew_resnet(block: str, layers: tuple[int, ...], **fixed: Any) -> Entry:
    # in_channels may be overridden: 3 for images, 2 polarities for event frames (ES-ImageNet).
    defaults = {**_SEW_DEFAULTS, "layers": layers, "in_channels": 3, **fixed}
    return Entry(SEWResNet, "sew_resnet", defaults, {"block": block}, 3)


def _sew_dvs(factors: tuple[int, ...], blocks: tuple[int, ...], classes: int, kernel: int) -> Entry:
    """A SEW DVS net: stage ``i`` has ``width · factors[i]`` channels and ``blocks[i]`` blocks."""
    defaults = {
        **_DVS_DEFAULTS,
        "num_classes": classes,
        "width": 64 if len(factors) > 1 else 32,
        "blocks": blocks,
        "image_size": 128,
        "up_kernel_size": kernel,
    }
    return Entry(SEWDVSNet, "sew_dvs", defaults, {"factors": factors, "in_channels": 2}, 2)


def _spikformer(depth: int, dim: int, dataset: str) -> Entry:
    classes, size, channels, pools, bias, scale, order, T, static = SPIKFORMER_DATASETS[dataset]
    if dataset == "cifar10dvs":
        heads = 16
    elif dataset == "dvs128":
        heads = 8
    else:
        heads = _SPIKFORMER_HEADS["imagenet" if dataset == "imagenet" else "cifar"][dim]
    defaults = dict(
        depth=depth,
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
    fixed = {"in_channels": channels, "static_input": static, "mlp_ratio": 4}
    return Entry(Spikformer, "spikformer", defaults, fixed, channels)


def _small(cls: type[nnx.Module], in_channels: int, **fixed: Any) -> Entry:
    """An experiment network: its defaults are its constructor's defaults, plus ``fixed``."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.name not in ("self", "rngs")}
    return Entry(cls, "small", {**defaults, **fixed}, {}, in_channels)


def _entries() -> dict[str, Entry]:
    entries: dict[str, Entry] = {
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


REGISTRY: dict[str, Entry] = _entries()


def arguments(fn: str, entry: Entry, config: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``entry.cls`` (without ``rngs``) for a full configuration.

    A SEW DVS entry's ``width`` and ``blocks`` become the ``stages`` of
    `SEWDVSNet`: ``((width·factor_i, blocks_i), ...)``.
    """
    args = {**entry.fixed, **config}
    if entry.family == "sew_dvs":
        factors, width, blocks = args.pop("factors"), args.pop("width"), args.pop("blocks")
        check_positive_int(fn, "width", width)
        if (
            not isinstance(blocks, tuple)
            or len(blocks) != len(factors)
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in blocks)
        ):
            raise ValueError(
                f"`{fn}`: `blocks` must be a tuple of {len(factors)} int(s), the SEW blocks of "
                f"each stage; got {blocks!r}."
            )
        args["stages"] = tuple((width * f, n) for f, n in zip(factors, blocks, strict=True))
    return args
