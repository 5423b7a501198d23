"""Behaviour of the zoo's building blocks: SEW blocks and connect functions, identity at init, the
ImageNet stem, porting pitfalls, spiking self-attention, jit, dtypes, MACs, named errors.

Every registry entry runs forward and backward in tests/test_models_entries.py.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import layers, models, neurons
from spikejax.models._common import ConvBNSpike, max_pool
from spikejax.surrogate import ATan, Sigmoid

FAST = {"xla_backend_optimization_level": 0}  # compile time dominates these tests on CPU


def rngs(seed=0):
    return nnx.Rngs(jax.random.key(seed, impl="rbg"))


def run_fast(fn, *args):
    """``fn(*args)`` compiled once at low optimisation (models may be built inside ``fn``)."""
    return jax.jit(fn).lower(*args).compile(compiler_options=FAST)(*args)


# ----------------------------------------------------------------------------- SEW blocks


def make_block(kind, connect, neuron, *, downsample, zero_init=True):
    cls = models.SEWBasicBlock if kind == "basic" else models.SEWBottleneck
    surrogate = ATan(2.0)
    factories = {
        "if": lambda: neurons.IF(reset="zero", surrogate=surrogate),
        "lif": lambda: neurons.LIF(beta=0.5, reset="zero", decay_input=True, surrogate=surrogate),
        "plif": lambda: neurons.PLIF(w=0.0, surrogate=surrogate),
    }
    in_channels = 8 if kind == "basic" or not downsample else 4
    return cls(
        in_channels,
        8 if kind == "basic" else 2,
        stride=2 if downsample else 1,
        neuron=factories[neuron],
        connect=connect,
        zero_init_residual=zero_init,
        rngs=rngs(),
    )


CASES = [(c, n) for c in ("add", "iand") for n in ("if", "lif", "plif")] + [("and", "if")]


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
def test_zero_init_residual_block_is_its_shortcut(kind):
    # The shortcut is the identity, or the spiking downsample branch (checked once: it does not
    # depend on `connect`).
    cases = [(c, n, False) for c, n in CASES] + [("add", "if", True)]

    def outputs_and_shortcuts():
        results = []
        for i, (connect, neuron, downsample) in enumerate(cases):
            block = make_block(kind, connect, neuron, downsample=downsample)
            assert (block.downsample is None) is not downsample
            c = block.conv1.conv.in_features
            x = jax.random.bernoulli(jax.random.key(i), 0.4, (3, 2, 4, 4, c)).astype(jnp.float32)
            expected = x if block.downsample is None else block.downsample(x)
            results.append((block(x), expected))
        return results

    for case, (out, expected) in zip(cases, run_fast(outputs_and_shortcuts), strict=True):
        np.testing.assert_array_equal(out, expected, err_msg=str(case))
        assert float(expected.sum()) > 0, case


def test_and_with_zero_init_needs_if_neurons():
    for neuron in ("lif", "plif"):
        with pytest.raises(ValueError, match="needs IF neurons"):
            make_block("basic", "and", neuron, downsample=False)
    for name in ("sew_resnet18_plif", "sew_7bnet_dvs128"):
        with pytest.raises(ValueError, match="needs IF neurons"):
            models.create(name, rngs=rngs(), connect="and", zero_init_residual=True)


def test_connect_functions_use_the_documented_operand_order():
    x = jax.random.bernoulli(jax.random.key(3), 0.5, (2, 2, 4, 4, 8)).astype(jnp.float32)
    cases = [("basic", "iand")] + [("bottleneck", c) for c in ("add", "and", "iand")]

    def run(x):
        results = []
        for kind, connect in cases:
            block = make_block(kind, connect, "if", downsample=False, zero_init=False)
            out, rec = models.record(block, x)
            results.append((out, rec.spikes["conv2.sn" if kind == "basic" else "conv3.sn"]))
        return results

    for (kind, connect), (out, a) in zip(cases, run_fast(run, x), strict=True):
        a, s = np.asarray(a), np.asarray(x)
        expected = {"add": a + s, "and": a * s, "iand": (1 - a) * s}[connect]
        np.testing.assert_array_equal(out, expected, err_msg=f"{kind} {connect}")
        assert 0 < a.mean() < 1  # both operands matter


def test_zero_init_stage_outputs_repeat_the_first_block():
    def run(x):
        net = models.SEWResNet(
            "basic",
            (3, 1, 1, 1),
            rngs=rngs(),
            width=4,
            image_size=16,
            T=2,
            num_classes=3,
            zero_init_residual=True,
        )
        _, rec = models.record(net, x)
        return rec.synapse_inputs["layer1.0.conv1.conv"], [
            rec.residuals[f"layer1.{j}.add"] for j in range(3)
        ]

    first, outs = run_fast(
        run, jax.random.uniform(jax.random.key(0), (2, 16, 16, 3), jnp.float32, 0, 2)
    )
    for out in outs:  # the pooled stem spikes pass through every block unchanged
        np.testing.assert_array_equal(out, first)
    assert float(first.sum()) > 0


# ----------------------------------------------------------------------------- SEW ImageNet stem


def test_stem_once_equals_stem_per_step_on_a_static_image():
    x = jax.random.uniform(jax.random.key(1), (2, 16, 16, 3))

    def run(x):
        kwargs = dict(rngs=rngs(), width=4, image_size=16, T=3, num_classes=5)
        once = models.SEWResNet("basic", (1, 1, 1, 1), stem="once", **kwargs)
        per_step = models.SEWResNet("basic", (1, 1, 1, 1), stem="per_step", **kwargs)
        nnx.update(per_step, nnx.state(once))
        y_once, rec_once = models.record(once, x)
        y_step, rec_step = models.record(per_step, x)
        y_seq = per_step(jnp.broadcast_to(x, (3, *x.shape)))
        first = rec_once.synapse_inputs["conv1.conv"], rec_step.synapse_inputs["conv1.conv"]
        return y_once, y_step, y_seq, first

    y_once, y_step, y_seq, (in_once, in_step) = run_fast(run, x)
    np.testing.assert_allclose(y_once, y_step, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_step, y_seq, atol=1e-6)
    assert in_once.shape == (2, 16, 16, 3)  # the stem runs once
    assert in_step.shape == (3, 2, 16, 16, 3)  # the stem runs at every step


def test_per_step_logits_average_to_the_logits():
    x = jax.random.uniform(jax.random.key(2), (3, 2, 4, 4, 2), jnp.float32, 0.0, 3.0)

    def run(x):
        net = models.SEWDVSNet(((2, 2),), rngs=rngs(), num_classes=3, image_size=4)
        return net(x, per_step=True), net(x)

    per_step, mean = run_fast(run, x)
    assert per_step.shape == (3, 2, 3) and mean.shape == (2, 3)
    np.testing.assert_allclose(per_step.mean(0), mean, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- porting pitfalls


def test_convolutions_pad_symmetrically_like_pytorch():
    stem = ConvBNSpike(3, 4, 7, stride=2, neuron=neurons.IF(reset="zero"), rngs=rngs())
    x = jax.random.normal(jax.random.key(0), (1, 16, 16, 3))
    kernel = stem.conv.kernel[...]
    dims = ("NHWC", "HWIO", "NHWC")
    torch_like = jax.lax.conv_general_dilated(
        x, kernel, (2, 2), ((3, 3), (3, 3)), dimension_numbers=dims
    )
    same = jax.lax.conv_general_dilated(x, kernel, (2, 2), "SAME", dimension_numbers=dims)
    np.testing.assert_allclose(stem.conv(x), torch_like, rtol=1e-5, atol=1e-5)
    assert not np.allclose(torch_like, same, atol=1e-3)  # the pitfall is real at stride 2


def test_max_pool_pads_with_minus_infinity():
    x = -1.0 - jax.random.uniform(jax.random.key(0), (1, 4, 4, 1))  # all negative
    out = np.asarray(max_pool(x, 3, 2, 1))
    xs = np.pad(np.asarray(x), ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    expected = np.array(
        [[xs[0, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, 0].max() for j in range(2)] for i in range(2)]
    )
    np.testing.assert_array_equal(out[0, :, :, 0], expected)
    assert np.all(out < 0)


def test_batch_norm_is_time_merged_with_pytorch_momentum():
    x = jax.random.uniform(jax.random.key(4), (3, 2, 2, 2, 2))

    def run(x):
        net = models.SEWDVSNet(((2, 1),), rngs=rngs(), num_classes=3, image_size=2)
        norm = net.stem.bn.norm
        net(x)
        conv_out = net.stem.conv(x.reshape(6, 2, 2, 2))  # T·B folded
        return norm.momentum, norm.epsilon, norm.mean[...], conv_out

    momentum, epsilon, mean, conv_out = run_fast(run, x)
    assert momentum == pytest.approx(0.9) and epsilon == pytest.approx(1e-5)
    expected = 0.1 * np.asarray(conv_out).reshape(-1, 2).mean(0)  # one statistic over T·B·H·W
    np.testing.assert_allclose(mean, expected, rtol=1e-5, atol=1e-7)


def test_neurons_are_configured_as_in_the_papers():
    def run():
        nets = {
            "sew": models.SEWResNet("basic", (1, 1, 1, 1), rngs=rngs(), width=4, image_size=16),
            "dvs": models.SEWDVSNet(((2, 1),), rngs=rngs(), image_size=2),
            "former": models.Spikformer(1, 16, rngs=rngs(), num_heads=2, image_size=8),
        }
        return {
            f"{key}/{'.'.join(map(str, path))}": module.neuron
            for key, net in nets.items()
            for path, module in nnx.iter_modules(net)
            if isinstance(module, layers.Spiking)
        }

    found = run_fast(run)
    assert {path.split("/")[0] for path in found} == {"sew", "dvs", "former"}
    for path, n in found.items():
        assert n.reset is neurons.Reset.ZERO and n.detach_reset, path
        if path.startswith("sew/"):
            assert isinstance(n, neurons.IF) and n.surrogate == ATan(2.0)
            assert float(n.threshold) == 1.0
        elif path.startswith("dvs/"):
            assert isinstance(n, neurons.PLIF) and n.surrogate == ATan(2.0) and n.decay_input
            assert float(n.w) == 0.0 and float(n.threshold) == 1.0
        else:
            assert isinstance(n, neurons.LIF) and n.decay_input and float(n.beta) == 0.5
            assert n.surrogate == Sigmoid(4.0)
            assert float(n.threshold) == (0.5 if path.endswith("attn_sn") else 1.0), path


# ----------------------------------------------------------------------------- Spikformer SSA


def lif_numpy(xs, threshold):
    """LIF τ = 2 with decay_input and hard reset to 0, over the leading time axis."""
    v, out = np.zeros(xs.shape[1:]), []
    for x in xs:
        h = 0.5 * v + 0.5 * x
        s = (h >= threshold).astype(np.float64)
        v = h * (1 - s)
        out.append(s)
    return np.stack(out)


def test_ssa_matches_numpy_and_both_orders_agree():
    x = jax.random.uniform(jax.random.key(5), (3, 2, 16, 16, 3))

    def run(x):
        kwargs = dict(rngs=rngs(), num_heads=2, image_size=16, T=3, num_classes=4)
        a = models.Spikformer(1, 16, ssa_order="qk_v", **kwargs)
        for unit in (a.blocks[0].attn.q, a.blocks[0].attn.k, a.blocks[0].attn.v):
            bias = unit.bn.norm.bias  # dense Q, K, V, so that the products are large
            bias[...] = jnp.full(bias.shape, 1.5)
        b = models.Spikformer(1, 16, ssa_order="q_kv", **kwargs)
        nnx.update(b, nnx.state(a))
        y_a, rec = models.record(a, x)
        return y_a, b(x), rec

    y_a, y_b, rec = run_fast(run, x)
    np.testing.assert_array_equal(y_a, y_b)  # exact: integer products, power-of-two scale
    qkv = np.asarray(rec.synapse_inputs["blocks.0.attn.product"], np.float64)
    q, k, v = np.split(qkv, 3, axis=-1)  # [T, B, H, N, d] each
    attn = (q @ np.swapaxes(k, -1, -2)) @ v * 0.125
    T, B, H, N, d = q.shape
    merged = attn.transpose(0, 1, 3, 2, 4).reshape(T, B, N, H * d)
    spikes = np.asarray(rec.spikes["blocks.0.attn.attn_sn"])
    np.testing.assert_array_equal(spikes, lif_numpy(merged, 0.5))
    assert 0.05 < spikes.mean() < 0.95 and attn.max() > 2  # non-trivial drive and output


def test_qk_pool_keeps_tokens_and_changes_only_op_counts():
    x = jax.random.uniform(jax.random.key(6), (2, 8, 8, 3))

    def run(x):
        net = models.Spikformer(
            1, 16, rngs=rngs(), num_heads=2, image_size=8, T=2, num_classes=4, qk_pool=(2, 2)
        )
        return models.record(net, x)

    y, rec = run_fast(run, x)
    assert y.shape == (2, 4)
    assert rec.synapse_inputs["blocks.0.attn.product"].shape[-1] == 4 + 4 + 8  # d/2, d/2, d
    H, N, d = 2, 4, 8  # (Q Kᵀ) V with pooled Q, K: H·N²·d/2 + H·N²·d
    assert dict(rec.macs)["blocks.0.attn.product"] == H * N * N * d // 2 + H * N * N * d
    name = "spikformer_2_256_dvs128"
    assert models.count_params(name, qk_pool=(2, 2)) == models.count_params(name)


# ----------------------------------------------------------------------------- jit, dtype


def test_jit_does_not_recompile_for_new_batches_of_the_same_shape():
    net = models.SEWDVSNet(((2, 2),), rngs=rngs(), num_classes=3, image_size=4)
    traces = []

    @nnx.jit
    def forward(model, x):
        traces.append(1)
        return model(x)

    for seed in (0, 1):
        forward(net, jax.random.uniform(jax.random.key(seed), (2, 2, 4, 4, 2)))
    assert len(traces) == 1
    forward(net, jnp.zeros((3, 2, 4, 4, 2)))  # another T: a new shape, one new trace
    assert len(traces) == 2


def test_bfloat16_models_keep_their_dtype():
    def run():
        dvs = models.SEWDVSNet(
            ((2, 1),), rngs=rngs(), num_classes=3, image_size=2, dtype=jnp.bfloat16
        )
        former = models.Spikformer(
            1, 16, rngs=rngs(), num_heads=2, image_size=4, T=2, dtype=jnp.bfloat16
        )
        y, rec = models.record(former, jnp.ones((1, 4, 4, 3), jnp.bfloat16))
        return dvs(jnp.ones((2, 1, 2, 2, 2), jnp.bfloat16)), y, rec

    y_dvs, y_former, rec = run_fast(run)
    assert y_dvs.dtype == jnp.bfloat16 and y_former.dtype == jnp.bfloat16
    assert all(
        s.dtype == jnp.float32 if p.endswith("attn_sn") else s.dtype == jnp.bfloat16
        for p, s in rec.spikes.items()
    )
    assert rec.synapse_inputs["blocks.0.attn.product"].dtype == jnp.float32
    dvs = nnx.eval_shape(
        lambda: models.SEWDVSNet(((2, 1),), rngs=rngs(), image_size=2, dtype=jnp.bfloat16)
    )
    with pytest.raises(TypeError, match="dtype bfloat16"):
        dvs(jnp.ones((2, 1, 2, 2, 2), jnp.float32))


# ----------------------------------------------------------------------------- MACs


def resnet18_macs():
    """Zoo appendix: conv ``C_in·C_out·k²·H_out·W_out``, classifier ``C·K``, at 224."""
    macs = {"conv1.conv": 3 * 64 * 49 * 112 * 112}
    c_in, size = 64, 56
    for stage in range(4):
        p = 64 * 2**stage
        for j in range(2):
            stride = 2 if stage and j == 0 else 1
            out = size // stride
            macs[f"layer{stage + 1}.{j}.conv1.conv"] = 9 * c_in * p * out * out
            macs[f"layer{stage + 1}.{j}.conv2.conv"] = 9 * p * p * out * out
            if stride != 1 or c_in != p:
                macs[f"layer{stage + 1}.{j}.downsample.conv"] = c_in * p * out * out
            c_in, size = p, out
    macs["fc"] = 512 * 1000
    return macs


def test_macs_per_step_sew_resnet18_matches_closed_form():
    macs = models.macs_per_step("sew_resnet18")
    assert macs["conv1.conv"] == 118_013_952
    assert macs == resnet18_macs()
    assert models.info("sew_resnet18").first_layer == "once"


def test_macs_per_step_spikformer_attention_and_first_layer():
    macs = models.macs_per_step("spikformer_8_512_imagenet")
    N, D, d = 196, 512, 64
    assert macs["patch_embed.convs.0.conv"] == 3 * 64 * 9 * 224 * 224 == 86_704_128
    assert macs["blocks.0.attn.product"] == 2 * N * d * D  # Q(KᵀV)
    assert macs["blocks.0.attn.q.linear"] == N * D * D
    assert macs["blocks.7.mlp.fc2.linear"] == N * 4 * D * D
    assert models.info("spikformer_8_512_imagenet").first_layer == "per_step"


def test_macs_of_a_built_model_equal_those_of_its_name():
    overrides = dict(width=2, T=2)
    net = models.create("sew_7bnet_dvs128", rngs=rngs(), **overrides)
    macs = models.macs_per_step(net)
    assert macs == models.macs_per_step("sew_7bnet_dvs128", **overrides)
    assert macs["stem.conv"] == 2 * 2 * 128 * 128 and macs["fc"] == 2 * 11
    assert list(macs)[:3] == ["stem.conv", "stages.0.0.conv1.conv", "stages.0.0.conv2.conv"]


# ----------------------------------------------------------------------------- registry, errors


def test_info_metadata():
    sew = models.info("sew_resnet50")
    assert (sew.input_shape, sew.num_classes, sew.T, sew.neuron) == ((224, 224, 3), 1000, 4, "if")
    assert sew.surrogate == "ATan(alpha=2.0)" and sew.first_layer == "once"
    assert sew.inputs == ("static",)
    assert models.info("sew_resnet50", stem="per_step").first_layer == "per_step"
    dvs = models.info("sew_7bnet_dvs128")
    assert (dvs.input_shape, dvs.num_classes, dvs.T, dvs.neuron) == ((128, 128, 2), 11, 16, "plif")
    assert dvs.inputs == ("sequence",) and dvs.first_layer == "per_step"
    former = models.info("spikformer_2_256_cifar10dvs")
    assert (former.num_classes, former.T, former.neuron) == (10, 16, "lif")
    assert former.surrogate == "Sigmoid(alpha=4.0)" and former.config["num_heads"] == 16
    assert models.info("spikformer_4_384_cifar100").config["qkv_bias"] is True
    assert models.info("spikformer_8_512_imagenet").config["ssa_order"] == "q_kv"
    assert models.info("spikformer_2_256_dvs128").config["attn_scale"] == 0.25


def test_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="sew_resnet18") as error:
        models.create("sew_resnet19", rngs=rngs())
    assert "'sew_resnet19'" in str(error.value) and "spikformer_8_512_imagenet" in str(error.value)
    for fn in (models.info, models.count_params, models.macs_per_step, models.structure):
        with pytest.raises(ValueError, match="must be one of"):
            fn("resnet18")


def test_unknown_override_lists_the_valid_ones():
    with pytest.raises(ValueError, match="embed_dim") as error:
        models.create("spikformer_2_256_dvs128", rngs=rngs(), stem="per_step")
    assert "'stem'" in str(error.value)
    with pytest.raises(ValueError, match="up_kernel_size"):
        models.count_params("sew_7bnet_dvs128", kernel=3)


def test_bad_choices_are_named():
    with pytest.raises(ValueError, match="`connect` must be one of"):
        models.create("sew_resnet18", rngs=rngs(), connect="or", width=4)
    with pytest.raises(ValueError, match="`neuron` must be one of"):
        models.create("spikformer_2_256_dvs128", rngs=rngs(), neuron="alif")
    with pytest.raises(ValueError, match="`ssa_order` must be one of"):
        models.create("spikformer_2_256_dvs128", rngs=rngs(), ssa_order="kq_v")
    with pytest.raises(ValueError, match="multiple of 8 and of `num_heads`"):
        models.create("spikformer_2_256_dvs128", rngs=rngs(), embed_dim=20)
    with pytest.raises(ValueError, match="`qk_pool`"):
        models.create("spikformer_2_256_dvs128", rngs=rngs(), qk_pool=(64, 1))


def test_wrong_input_shape_names_the_expected_shape():
    # Abstract models: the checks run before any computation.
    sew = nnx.eval_shape(
        lambda: models.SEWResNet("basic", (1, 1, 1, 1), rngs=rngs(), width=4, image_size=16)
    )
    with pytest.raises(ValueError, match=r"static image batch \[B, 16, 16, 3\]"):
        sew(jnp.ones((4, 2, 16, 16, 3)))  # stem="once" takes static images only
    with pytest.raises(ValueError, match=r"\[B, 16, 16, 3\].*got shape \(2, 32, 32, 3\)"):
        sew(jnp.ones((2, 32, 32, 3)))
    dvs = nnx.eval_shape(lambda: models.SEWDVSNet(((2, 1),), rngs=rngs(), image_size=2))
    with pytest.raises(ValueError, match=r"time-major \[T, B, 2, 2, 2\]; got shape \(1, 2, 2, 2\)"):
        dvs(jnp.ones((1, 2, 2, 2)))
    former = nnx.eval_shape(
        lambda: models.Spikformer(1, 16, rngs=rngs(), num_heads=2, image_size=8)
    )
    with pytest.raises(ValueError, match=r"\[T, B, 8, 8, 3\] or a static image batch"):
        former(jnp.ones((2, 8, 8, 2)))
    with pytest.raises(TypeError, match="must have the model's dtype float32"):
        former(jnp.ones((2, 8, 8, 3), jnp.int32))


def test_recording_is_off_by_default():
    net = models.SEWDVSNet(((2, 1),), rngs=rngs(), num_classes=3, image_size=2)
    x = jnp.ones((2, 1, 2, 2, 2))
    out = net(x)
    assert isinstance(out, jax.Array) and out.shape == (1, 3)
    before = len(jax.tree_util.tree_leaves(nnx.state(net)))
    models.record(net, x)
    assert len(jax.tree_util.tree_leaves(nnx.state(net))) == before  # nothing stored in the model


def test_count_params_counts_parameters_only():
    net = models.SEWDVSNet(((2, 1),), rngs=rngs(), num_classes=3, image_size=2)
    params = nnx.state(net, nnx.Param)
    assert models.count_params(net) == sum(
        math.prod(x.shape) for x in jax.tree_util.tree_leaves(params)
    )
    # stem 2·2 + BN 4 + PLIF 1; block 2·(36 + 4 + 1); fc 2·3 + 3
    assert models.count_params(net) == 9 + 82 + 9
