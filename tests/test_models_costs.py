"""MACs and parameter counts of zoo names, computed from the configuration alone, against the
models themselves: MACs measured from a traced forward pass (``traced_macs_per_step``), parameter
counts from the ``nnx.Param`` leaves of the abstractly built model. Equal key by key, in forward
order, for a few entries and many overrides here and for every entry under ``-m slow``."""

import jax
import pytest
from flax import nnx

from spikejax import models
from spikejax.models._macs import traced_macs_per_step

# Default configurations (small enough to trace in well under a second each).
DEFAULTS = ["lif_mlp", "conv_snn", "sew_resnet18", "sew_7bnet_dvs128_k3"]
DEFAULTS += ["spikformer_2_256_cifar10dvs"]
# Overrides that change the shape arithmetic: odd sizes (floors), grouped and wide Bottlenecks,
# downsampling, PLIF and learnable scales (parameters), pooled Q and K, both SSA orders.
OVERRIDES = [
    ("sew_resnext50_32x4d", dict(layers=(1, 1, 1, 1), width=16, groups=4, image_size=33)),
    ("sew_wide_resnet50_2", dict(layers=(1, 2, 1, 1), width=4, image_size=20, stem="per_step")),
    ("sew_resnet18_plif", dict(layers=(1, 1, 2, 1), width=4, image_size=17, num_classes=7)),
    ("sew_resnet34", dict(layers=(1, 1, 1, 1), width=2, image_size=9, neuron="lif")),
    ("sew_wide7bnet_cifar10dvs", dict(blocks=(1, 2), width=2, image_size=24, up_kernel_size=3)),
    ("sew_7bnet_dvs128", dict(blocks=(3,), width=3, image_size=8, neuron="if")),
    (
        "spikformer_2_384_cifar100",
        dict(depth=2, embed_dim=24, num_heads=3, image_size=13, qk_pool=(3, 2), neuron="plif"),
    ),
    (
        "spikformer_8_512_imagenet",
        dict(depth=1, embed_dim=16, num_heads=2, image_size=21, qkv_bias=True, ssa_order="qk_v"),
    ),
    (
        "spikformer_2_256_dvs128",
        dict(depth=1, embed_dim=32, num_heads=4, image_size=30, learnable_scale=True),
    ),
    ("spikformer_4_256_cifar10", dict(depth=1, embed_dim=16, pools=(True, False, False, True))),
    ("conv_snn", dict(channels=(3, 5), image_size=(9, 7), kernel=2, hidden=(6,), learn_beta=True)),
    ("conv_snn", dict(channels=(2,), image_size=5, pool=1, learn_threshold=True)),
    ("lif_mlp", dict(hidden=(5, 7), learn_beta=True, learn_threshold=True, dropout=0.5)),
    ("lif_mlp", dict(hidden=(), in_features=3)),
]
CASES = [(name, {}) for name in DEFAULTS] + OVERRIDES
CLASSES = (models.SEWResNet, models.SEWDVSNet, models.Spikformer, models.LIFMLP, models.ConvSNN)
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def built_count(name, overrides):
    model = nnx.eval_shape(
        lambda: models.create(name, rngs=nnx.Rngs(jax.random.key(0)), **overrides)
    )
    return models.count_params(model)  # counts the model's nnx.Param leaves


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=IDS)
def test_macs_from_the_configuration_equal_the_traced_forward(name, overrides):
    fast = models.macs_per_step(name, **overrides)
    traced = traced_macs_per_step(name, **overrides)
    assert list(fast.items()) == list(traced.items())  # same layers, order and numbers
    assert all(isinstance(n, int) and n > 0 for n in fast.values())


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=IDS)
def test_parameter_counts_from_the_configuration_equal_the_built_model(name, overrides):
    assert models.count_params(name, **overrides) == built_count(name, overrides)


@pytest.mark.slow
@pytest.mark.parametrize("name", models.available())
def test_macs_of_every_entry_equal_the_traced_forward(name):
    assert list(models.macs_per_step(name).items()) == list(traced_macs_per_step(name).items())


def test_names_are_counted_without_building_a_model(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__} was built")

    for cls in CLASSES:
        monkeypatch.setattr(cls, "__init__", refuse)
    for name in models.available():
        assert models.count_params(name) > 0 and sum(models.macs_per_step(name).values()) > 0


BAD = [
    ("sew_resnet18", dict(connect="or"), ValueError),
    ("sew_resnet18", dict(groups=2), ValueError),
    ("sew_resnet50", dict(width=2, width_per_group=4), ValueError),
    ("sew_resnet50", dict(layers=(1, 1, 1)), ValueError),
    ("sew_resnet18_plif", dict(connect="and", zero_init_residual=True), ValueError),
    ("sew_resnet18", dict(remat="yes"), ValueError),
    ("sew_7bnet_dvs128", dict(blocks=(1, 2)), ValueError),
    ("sew_7bnet_dvs128", dict(image_size=100), ValueError),
    ("sew_7bnet_dvs128", dict(up_kernel_size=5), ValueError),
    ("sew_wide7bnet_cifar10dvs", dict(width=0), ValueError),
    ("spikformer_2_256_dvs128", dict(embed_dim=20), ValueError),
    ("spikformer_2_256_dvs128", dict(qk_pool=(64, 1)), ValueError),
    ("spikformer_2_256_dvs128", dict(neuron="alif"), ValueError),
    ("spikformer_2_256_dvs128", dict(depth=0), ValueError),
    ("spikformer_4_256_cifar10", dict(qkv_bias=1), TypeError),
    ("conv_snn", dict(image_size=3), ValueError),
    ("conv_snn", dict(channels=()), ValueError),
    ("lif_mlp", dict(beta=2.0), ValueError),
    ("lif_mlp", dict(dropout=1.0), ValueError),
    ("lif_mlp", dict(surrogate="relu"), ValueError),
]


@pytest.mark.parametrize(
    ("name", "overrides", "error"), BAD, ids=[f"{n}-{i}" for i, (n, *_) in enumerate(BAD)]
)
def test_bad_configurations_raise_the_constructors_errors(name, overrides, error):
    with pytest.raises(error) as built:
        nnx.eval_shape(lambda: models.create(name, rngs=nnx.Rngs(0), **overrides))
    # "`fn`: `arg` must be ...": the same rule and value; the function is the constructor's, or
    # the one called where the registry itself checks an override.
    fn, rule = str(built.value).split(": ", 1)
    assert fn in ("`create`", *(f"`{c.__name__}`" for c in CLASSES))
    for api in (models.count_params, models.macs_per_step):
        with pytest.raises(error) as counted:
            api(name, **overrides)
        got_fn, got_rule = str(counted.value).split(": ", 1)
        assert got_rule == rule and got_fn in (fn, f"`{api.__name__}`")
