"""Zoo parameter counts, checked abstractly (no weights allocated), and the pinned structure.

``count_params(name)`` follows from the configuration; each count is also checked against the
model built abstractly (``structure``).

The expected counts are the published ones (docs/explanation/zoo.md §5) and, for every registry
entry, a closed form
written here from the counting rules (conv ``C_in·C_out·k²/groups``, BN ``2C``, Linear
``in·out + out``, PLIF ``1`` per spiking layer), never from walking a model.
"""

import json
import math
import re

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from spikejax import models
from tests.golden.regenerate_zoo import COMMAND, GOLDEN

PUBLISHED = {
    "sew_resnet18": 11_689_512,
    "sew_resnet34": 21_797_672,
    "sew_resnet18_plif": 11_689_532,
    "sew_7bnet_dvs128": 130_426,
    "spikformer_4_384_cifar10": 9_324_730,
    "spikformer_8_512_imagenet": 29_689_384,
    "spikformer_2_256_dvs128": 2_566_923,
}
# torchvision's counts, which the SEW ImageNet networks share (IF neurons have no parameters).
TORCHVISION = {
    "sew_resnet50": 25_557_032,
    "sew_resnet101": 44_549_160,
    "sew_resnet152": 60_192_808,
    "sew_resnext50_32x4d": 25_028_904,
    "sew_resnext101_32x8d": 88_791_336,
    "sew_wide_resnet50_2": 68_883_240,
    "sew_wide_resnet101_2": 126_886_696,
}
SPEC_NAMES = (
    [f"sew_resnet{d}" for d in (18, 34, 50, 101, 152)]
    + [f"sew_resnet{d}_plif" for d in (18, 34, 50, 101, 152)]
    + ["sew_resnext50_32x4d", "sew_resnext101_32x8d", "sew_wide_resnet50_2", "sew_wide_resnet101_2"]
    + ["sew_7bnet_dvs128", "sew_wide7bnet_cifar10dvs", "sew_7bnet_dvs128_k3"]
    + ["sew_wide7bnet_cifar10dvs_k3"]
    + [
        f"spikformer_{s}_{ds}"
        for ds in ("cifar10", "cifar100")
        for s in ("4_256", "2_384", "4_384")
    ]
    + [f"spikformer_{s}_imagenet" for s in ("8_384", "6_512", "8_512", "10_512", "8_768")]
    + ["spikformer_2_256_dvs128", "spikformer_2_256_cifar10dvs"]
)

# ----------------------------------------------------------------------------- closed forms

RESNETS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def sew_resnet_params(depth, *, plif=False, groups=1, width_per_group=64, classes=1000):
    block, layers = RESNETS[depth]
    total = 3 * 64 * 49 + 2 * 64  # stem conv + BN
    spiking_layers = 1
    c_in = 64
    for stage, blocks in enumerate(layers):
        p = 64 * 2**stage
        for j in range(blocks):
            stride = 2 if stage > 0 and j == 0 else 1
            if block == "basic":
                total += 9 * c_in * p + 2 * p + 9 * p * p + 2 * p
                c_out, spiking_layers = p, spiking_layers + 2
            else:
                w = int(p * width_per_group / 64) * groups
                total += c_in * w + 2 * w + 9 * w * w // groups + 2 * w + w * 4 * p + 8 * p
                c_out, spiking_layers = 4 * p, spiking_layers + 3
            if stride != 1 or c_in != c_out:
                total += c_in * c_out + 2 * c_out
                spiking_layers += 1
            c_in = c_out
    total += c_in * classes + classes
    return total + (spiking_layers if plif else 0)


def sew_dvs_params(stages, classes, up_kernel):
    """``stages``: (channels, blocks); every spiking layer is PLIF (+1)."""
    total, c_in = 0, 2
    for channels, blocks in stages:
        total += up_kernel**2 * c_in * channels + 2 * channels + 1
        total += blocks * 2 * (9 * channels * channels + 2 * channels + 1)
        c_in = channels
    return total + c_in * classes + classes


def spikformer_params(depth, d, classes, qkv_bias, in_channels=3):
    c = (in_channels, d // 8, d // 4, d // 2, d)
    sps = sum(9 * c[i - 1] * c[i] + 2 * c[i] for i in range(1, 5))
    rpe = 9 * d * d + 2 * d
    ssa = 3 * (d * d + (d if qkv_bias else 0)) + 3 * 2 * d + (d * d + d) + 2 * d
    mlp = (4 * d * d + 4 * d + 8 * d) + (4 * d * d + d + 2 * d)
    return sps + rpe + depth * (ssa + mlp) + d * classes + classes


# The CPU-sized experiment networks (defaults): Linear 64→128, Linear 128→10; and conv 3×3 2→16
# and 16→32 without bias, each with BN (2C), two 2×2 pools 34→17→8, Linear 8·8·32→10.
SMALL = {
    "lif_mlp": (64 * 128 + 128) + (128 * 10 + 10),
    "conv_snn": (9 * 2 * 16 + 2 * 16) + (9 * 16 * 32 + 2 * 32) + (8 * 8 * 32 * 10 + 10),
}


def closed_form(name):
    if name in SMALL:
        return SMALL[name]
    if m := re.fullmatch(r"sew_resnet(\d+)(_plif)?", name):
        return sew_resnet_params(int(m[1]), plif=bool(m[2]))
    if m := re.fullmatch(r"sew_resnext(\d+)_32x(\d)d", name):
        return sew_resnet_params(int(m[1]), groups=32, width_per_group=int(m[2]))
    if m := re.fullmatch(r"sew_wide_resnet(\d+)_2", name):
        return sew_resnet_params(int(m[1]), width_per_group=128)
    if m := re.fullmatch(r"sew_7bnet_dvs128(_k3)?", name):
        return sew_dvs_params([(32, 7)], 11, 3 if m[1] else 1)
    if m := re.fullmatch(r"sew_wide7bnet_cifar10dvs(_k3)?", name):
        return sew_dvs_params([(64, 4), (128, 3)], 10, 3 if m[1] else 1)
    m = re.fullmatch(r"spikformer_(\d+)_(\d+)_(\w+)", name)
    depth, d, dataset = int(m[1]), int(m[2]), m[3]
    classes = {"cifar10": 10, "cifar100": 100, "imagenet": 1000, "dvs128": 11, "cifar10dvs": 10}
    dvs = dataset in ("dvs128", "cifar10dvs")
    bias = dataset in ("cifar10", "cifar100")
    return spikformer_params(depth, d, classes[dataset], bias, in_channels=2 if dvs else 3)


# ----------------------------------------------------------------------------- tests


def test_registry_holds_exactly_the_specified_names():
    assert sorted(models.available()) == sorted(SPEC_NAMES + list(SMALL))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_counts(name):
    assert models.count_params(name) == PUBLISHED[name]


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_counts(name):
    assert models.count_params(name) == TORCHVISION[name]


def test_closed_forms_reproduce_published_counts():
    for name, expected in {**PUBLISHED, **TORCHVISION}.items():
        assert closed_form(name) == expected, name


@pytest.mark.parametrize("name", SPEC_NAMES + list(SMALL))
def test_count_equals_closed_form(name):
    assert models.count_params(name) == closed_form(name)


def test_paper_variants_differ_as_specified():
    # k3 up-convs: the stem 2→32 (and 64→128) become 3×3: +8·C_in·C_out parameters.
    assert (
        models.count_params("sew_7bnet_dvs128_k3") - models.count_params("sew_7bnet_dvs128")
        == 8 * 2 * 32
    )
    # Spikformer CIFAR100 differs from CIFAR10 only by the head: 90 more classes.
    for size in ("4_256", "2_384", "4_384"):
        diff = models.count_params(f"spikformer_{size}_cifar100") - models.count_params(
            f"spikformer_{size}_cifar10"
        )
        assert diff == 90 * (int(size.split("_")[1]) + 1)


def test_plif_layer_counts():
    for name, layers in (("sew_7bnet_dvs128", 15), ("sew_wide7bnet_cifar10dvs", 16)):
        structure = models.structure(name)
        assert sum(path.endswith("sn.params.w") for path in structure) == layers


def test_overrides_change_counts_by_closed_form():
    name, d, depth = "spikformer_2_256_dvs128", 256, 2
    base = models.count_params(name)
    assert models.count_params(name, learnable_scale=True) == base + depth
    assert models.count_params(name, qkv_bias=True) == base + depth * 3 * d
    assert models.count_params(name, num_heads=4) == base  # heads never change parameters
    assert models.count_params(name, neuron="plif") == base + 5 + depth * 7
    assert models.count_params("sew_resnet18", num_classes=10) == sew_resnet_params(18, classes=10)


def test_count_of_a_built_model_equals_count_of_its_name():
    overrides = dict(width=2, T=1)
    model = models.create(
        "sew_7bnet_dvs128", rngs=nnx.Rngs(jax.random.key(0, impl="rbg")), **overrides
    )
    assert models.count_params(model) == models.count_params("sew_7bnet_dvs128", **overrides)
    with pytest.raises(TypeError, match="overrides apply only to a model name"):
        models.count_params(model, width=8)


def test_count_params_allocates_nothing():
    # A wide ResNet-101 would need half a gigabyte; the abstract state holds shapes only.
    state = nnx.state(nnx.eval_shape(lambda: models.create("sew_resnet18", rngs=nnx.Rngs(0))))
    leaf = state["conv1"]["conv"]["kernel"]
    assert not isinstance(leaf.get_value(), jnp.ndarray)


def params_in(structure):
    """Trainable numbers of a built model, from its ``path → "Type:dtype[shape]"`` structure."""
    total = 0
    for description in structure.values():
        kind, shape = description.split(":")[0], description.split("[")[1].rstrip("]")
        if kind == "Param":
            total += math.prod(int(n) for n in shape.split(",") if n)
    return total


def test_count_of_every_name_equals_its_built_model():
    # count_params(name) is shape arithmetic on the configuration; structure(name) builds the
    # model abstractly (cached: the golden-file test below reuses the builds).
    for name in models.available():
        assert models.count_params(name) == params_in(models.structure(name)), name


def test_structure_matches_golden_file():
    golden = json.loads(GOLDEN.read_text())
    assert sorted(golden) == sorted(models.available()), f"registry changed; run {COMMAND}"
    for name in models.available():
        current = models.structure(name)
        if current != golden[name]:
            missing = sorted(set(golden[name]) - set(current))[:5]
            extra = sorted(set(current) - set(golden[name]))[:5]
            changed = [p for p in current if p in golden[name] and current[p] != golden[name][p]]
            pytest.fail(
                f"{name}: variable structure changed (missing {missing}, new {extra}, "
                f"changed {changed[:5]}); if intended, run {COMMAND}"
            )
