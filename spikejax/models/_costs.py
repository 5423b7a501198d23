"""Dense MACs per step and parameter counts of a zoo entry from its configuration alone.

A walk over the layer specification, in forward order, applying the counting rules of
`spikejax.graph.costs` (the appendix of docs/explanation/zoo.md) to the shapes the configuration
implies: output size ``⌊(H + 2p − k)/s⌋ + 1``; convolution MACs
``C_in·C_out·k²·H_out·W_out/groups`` and parameters ``k²·(C_in/groups)·C_out``; batch norm
``2C`` parameters; a linear layer over ``N`` tokens ``N·in·out`` MACs and ``in·out (+ out)``
parameters; the two attention products of an SSA block ``H·N²·(d_qk + d_v)`` (``(Q Kᵀ) V``) or
``2·H·N·d_qk·d_v`` (``Q (Kᵀ V)``); a PLIF layer one parameter ``w``. No model is built and no
function is traced, so this takes microseconds where tracing a large model takes a second. Keys
are the names of the synaptic nodes of the network graph; the tests hold these numbers equal,
key by key, to the graph's for every entry.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

from spikejax.graph import costs as rules
from spikejax.models._entries import Entry, arguments
from spikejax.models._sew_dvs import check_config as check_sew_dvs
from spikejax.models._sew_resnet import check_config as check_sew_resnet
from spikejax.models._small_config import check_conv_snn, check_lif_mlp
from spikejax.models._spikformer import check_config as check_spikformer

__all__ = ["Costs", "costs"]


@dataclasses.dataclass(frozen=True)
class Costs:
    """What a zoo entry costs.

    Attributes:
        macs: dense MACs per sample and time step of every synaptic layer, keyed by its node name
            in `spikejax.graph.trace`, in call order.
        params: the number of trainable numbers (``nnx.Param`` leaves).
    """

    macs: dict[str, int]
    params: int


_out = rules.out_size


class _Walk:
    """Accumulates MACs per layer and parameters while a configuration is walked."""

    def __init__(self, plif: bool = False):
        self.macs: dict[str, int] = {}
        self.params = 0
        self.neuron = 1 if plif else 0  # parameters of one spiking layer

    def layer(self, path: str, macs: int, params: int) -> None:
        self.macs[path] = macs
        self.params += params

    def conv_bn_sn(
        self, path: str, c_in: int, c_out: int, kernel: int, size: int, *, stride=1, groups=1
    ) -> int:
        """``conv k×k (padding k//2, no bias) → BN → SN`` on a square map; returns its size."""
        out = _out(size, kernel, stride, kernel // 2)
        params = kernel * kernel * (c_in // groups) * c_out + 2 * c_out + self.neuron
        macs = rules.conv_macs((out, out), (kernel, kernel), c_in, c_out, groups)
        self.layer(f"{path}.conv", macs, params)
        return out

    def linear_bn_sn(self, path: str, tokens: int, d_in: int, d_out: int, bias: bool) -> None:
        params = d_in * d_out + (d_out if bias else 0) + 2 * d_out + self.neuron
        self.layer(f"{path}.linear", rules.matmul_macs(1, tokens, d_in, d_out), params)

    def classifier(self, path: str, features: int, classes: int) -> None:
        self.layer(path, rules.matmul_macs(1, 1, features, classes), features * classes + classes)


def _sew_resnet(a: Mapping[str, Any]) -> Costs:
    layers = check_sew_resnet(**a)
    walk = _Walk(plif=a["neuron"] == "plif")
    width, groups = a["width"], a["groups"]
    size = walk.conv_bn_sn("conv1", a["in_channels"], width, 7, a["image_size"], stride=2)
    size = _out(size, 3, 2, 1)  # max-pool
    channels = width
    for i, count in enumerate(layers):
        planes = width * 2**i
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            path = f"layer{i + 1}.{j}"
            if a["block"] == "basic":
                out = walk.conv_bn_sn(f"{path}.conv1", channels, planes, 3, size, stride=stride)
                walk.conv_bn_sn(f"{path}.conv2", planes, planes, 3, out)
                c_out = planes
            else:
                group_width = int(planes * (a["width_per_group"] / 64.0)) * groups
                c_out = 4 * planes
                walk.conv_bn_sn(f"{path}.conv1", channels, group_width, 1, size)
                out = walk.conv_bn_sn(
                    f"{path}.conv2", group_width, group_width, 3, size, stride=stride, groups=groups
                )
                walk.conv_bn_sn(f"{path}.conv3", group_width, c_out, 1, out)
            if stride != 1 or channels != c_out:
                walk.conv_bn_sn(f"{path}.downsample", channels, c_out, 1, size, stride=stride)
            channels, size = c_out, out
    walk.classifier("fc", channels, a["num_classes"])
    return Costs(walk.macs, walk.params)


def _sew_dvs(a: Mapping[str, Any]) -> Costs:
    stages = check_sew_dvs(**a)
    walk = _Walk(plif=a["neuron"] == "plif")
    size, previous = a["image_size"], a["in_channels"]
    for i, (channels, count) in enumerate(stages):
        up = "stem" if i == 0 else f"ups.{i - 1}"
        walk.conv_bn_sn(up, previous, channels, a["up_kernel_size"], size)
        for j in range(count):
            walk.conv_bn_sn(f"stages.{i}.{j}.conv1", channels, channels, 3, size)
            walk.conv_bn_sn(f"stages.{i}.{j}.conv2", channels, channels, 3, size)
            size //= 2  # max-pool 2×2, stride 2
        previous = channels
    walk.classifier("fc", previous * size * size, a["num_classes"])
    return Costs(walk.macs, walk.params)


def _spikformer(a: Mapping[str, Any]) -> Costs:
    pools, qk_pool = check_spikformer(**a)
    walk = _Walk(plif=a["neuron"] == "plif")
    D, heads, size = a["embed_dim"], a["num_heads"], a["image_size"]
    channels = (a["in_channels"], D // 8, D // 4, D // 2, D)
    for i, pool in enumerate(pools):
        size = walk.conv_bn_sn(f"patch_embed.convs.{i}", channels[i], channels[i + 1], 3, size)
        if pool:
            size = _out(size, 3, 2, 1)
    walk.conv_bn_sn("patch_embed.rpe", D, D, 3, size)
    N, d_v, hidden = size * size, D // heads, a["mlp_ratio"] * D
    d_qk = d_v if qk_pool is None else _out(d_v, qk_pool[0], qk_pool[1], 0)
    for b in range(a["depth"]):
        path = f"blocks.{b}"
        for name in ("q", "k", "v"):
            walk.linear_bn_sn(f"{path}.attn.{name}", N, D, D, a["qkv_bias"])
        if a["ssa_order"] == "qk_v":  # (Q Kᵀ) V
            attention = rules.matmul_macs(heads, N, d_qk, N) + rules.matmul_macs(heads, N, N, d_v)
        else:  # Q (Kᵀ V)
            attention = rules.matmul_macs(heads, d_qk, N, d_v) + rules.matmul_macs(
                heads, N, d_qk, d_v
            )
        scale = 1 if a["learnable_scale"] else 0
        walk.layer(f"{path}.attn.product", attention, scale + walk.neuron)  # + attn_sn
        walk.linear_bn_sn(f"{path}.attn.proj", N, D, D, True)
        walk.linear_bn_sn(f"{path}.mlp.fc1", N, D, hidden, True)
        walk.linear_bn_sn(f"{path}.mlp.fc2", N, hidden, D, True)
    walk.classifier("head", D, a["num_classes"])
    return Costs(walk.macs, walk.params)


def _dense(walk: _Walk, prefix: str, sizes: tuple[int, ...], lif_leaves: int) -> None:
    """``Linear → LIF`` layers between consecutive ``sizes`` (LIF: ``lif_leaves`` per neuron)."""
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        params = n_in * n_out + n_out + lif_leaves * n_out
        walk.layer(f"{prefix}.{i}.fc", rules.matmul_macs(1, 1, n_in, n_out), params)


def _readout(walk: _Walk, n_in: int, classes: int, learn_beta: bool) -> None:
    """``Linear → LI``; the LI decays are trainable with ``learn_beta``."""
    params = n_in * classes + classes + (classes if learn_beta else 0)
    walk.layer("head.fc", rules.matmul_macs(1, 1, n_in, classes), params)


def _lif_mlp(a: Mapping[str, Any]) -> Costs:
    hidden, spec = check_lif_mlp(**a)
    walk, leaves = _Walk(), len(spec.trainable)
    sizes = (a["in_features"], *hidden)
    _dense(walk, "blocks", sizes, leaves)
    _readout(walk, sizes[-1], a["num_classes"], "beta" in spec.trainable)
    return Costs(walk.macs, walk.params)


def _conv_snn(a: Mapping[str, Any]) -> Costs:
    channels, (h, w), hidden, spec = check_conv_snn(**a)
    walk, leaves = _Walk(), len(spec.trainable)
    k, pool, c_in = a["kernel"], a["pool"], a["in_channels"]
    for i, c_out in enumerate(channels):
        # 'same' convolution, no bias; BN; LIF per channel; then ⌊H/p⌋ × ⌊W/p⌋ pooling
        params = k * k * c_in * c_out + 2 * c_out + leaves * c_out
        walk.layer(f"blocks.{i}.conv", rules.conv_macs((h, w), (k, k), c_in, c_out), params)
        h, w, c_in = h // pool, w // pool, c_out
    sizes = (h * w * c_in, *hidden)
    _dense(walk, "dense", sizes, leaves)
    _readout(walk, sizes[-1], a["num_classes"], "beta" in spec.trainable)
    return Costs(walk.macs, walk.params)


_WALKS = {"sew_resnet": _sew_resnet, "sew_dvs": _sew_dvs, "spikformer": _spikformer}
_SMALL = {"LIFMLP": _lif_mlp, "ConvSNN": _conv_snn}


def costs(fn: str, entry: Entry, config: Mapping[str, Any]) -> Costs:
    """MACs per layer and step, and the parameter count, of ``entry`` with the full ``config``.

    The configuration is checked as the model's constructor checks it (same named errors).
    """
    args = arguments(fn, entry, config)
    if entry.family == "small":
        return _SMALL[entry.cls.__name__](args)
    return _WALKS[entry.family](args)
