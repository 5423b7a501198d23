"""Networks people train on the chip: convolutions, folded norms and pools, max pooling as OR
relays, recurrent layers; refused nodes named before any data is simulated; resources of a
convolution counted by hand.

On small random networks the three Loihi paths agree bit for bit: the batched emulator
(``emulate``), the step-by-step network (``loihi.stepwise.run_stepwise``, every layer of a step
before the next step, no ``du`` shortcut) and the straight-through twin (``chip_forward`` in chip
units). The folded batch norm is checked against the float modules themselves, and the OR relay
against a max pool of the emulator's own spikes.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import chip
from spikejax.chip._fold import fold
from spikejax.chip._graph import LayerSpec, describe
from spikejax.chip.connectivity import Synapse, apply
from spikejax.chip.cores import core_plan, fan_out, synapse_bits
from spikejax.chip.loihi.stepwise import run_stepwise
from spikejax.layers import SeqBatchNorm, Spiking, unfold
from spikejax.layers import fold as tfold
from spikejax.neurons import IF, LI, LIF, Recurrent

T, B = 7, 3


def _max_pool(x):
    return jax.lax.reduce_window(
        x, np.array(-np.inf, x.dtype), jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
    )


def _sum_pool(x):
    return jax.lax.reduce_window(
        x, np.array(0, x.dtype), jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
    )


def _set_norm(bn: SeqBatchNorm, key: int) -> None:
    """Random running statistics and affine parameters, evaluation mode."""
    r = np.random.default_rng(key)
    n = bn.norm.scale[...].shape[0]
    bn.norm.scale[...] = jnp.asarray(r.uniform(0.5, 2.0, n), jnp.float32)
    bn.norm.bias[...] = jnp.asarray(r.normal(0.0, 0.3, n), jnp.float32)
    bn.norm.mean[...] = jnp.asarray(r.normal(0.0, 0.5, n), jnp.float32)
    bn.norm.var[...] = jnp.asarray(r.uniform(0.2, 3.0, n), jnp.float32)


class ConvNet(nnx.Module):
    """conv → batch norm → LIF → (max | average) pool → conv → IF → sum pool → flatten → Linear
    → LI, on ``[T, B, 6, 6, 2]`` event counts."""

    def __init__(self, first_pool: str, seed: int = 0):
        rngs = nnx.Rngs(seed)
        self.image_shape = (6, 6, 2)  # traced on it, as the zoo's models are
        self.first_pool = first_pool
        self.conv1 = nnx.Conv(2, 3, (3, 3), padding="SAME", use_bias=False, rngs=rngs)
        self.bn1 = SeqBatchNorm(3, rngs=rngs, use_running_average=True)
        _set_norm(self.bn1, seed)
        self.sn1 = Spiking(LIF(beta=jnp.array([0.6, 0.8, 0.9]), threshold=jnp.full((3,), 0.7)))
        self.conv2 = nnx.Conv(3, 4, (3, 3), strides=(1, 1), padding=((1, 0), (0, 1)), rngs=rngs)
        self.sn2 = Spiking(IF(threshold=0.5))
        self.fc = nnx.Linear(4, 3, rngs=rngs)
        self.li = Spiking(LI(beta=0.9))

    def __call__(self, x):
        t = x.shape[0]
        s = self.sn1(self.bn1(unfold(self.conv1(tfold(x)), t)))
        if self.first_pool == "max":
            s = unfold(_max_pool(tfold(s)), t)
        else:
            s = unfold(_sum_pool(tfold(s)) / 4.0, t)
        s = self.sn2(unfold(self.conv2(tfold(s)), t))
        s = unfold(_sum_pool(tfold(s)), t)
        return self.li(self.fc(s.reshape((*s.shape[:2], -1))))


class RecurrentNet(nnx.Module):
    """Linear → Recurrent(LIF) → Linear → LI."""

    def __init__(self, seed: int = 0):
        rngs = nnx.Rngs(seed)
        r = np.random.default_rng(seed)
        self.fc1 = nnx.Linear(5, 6, rngs=rngs)
        w = jnp.asarray(r.normal(0.0, 0.4, (6, 6)), jnp.float32)
        self.sn1 = Spiking(Recurrent(LIF(beta=0.8, threshold=0.6), w))
        self.fc2 = nnx.Linear(6, 3, rngs=rngs)
        self.li = Spiking(LI(beta=0.9))

    def __call__(self, x):
        return self.li(self.fc2(self.sn1(self.fc1(x))))


def _counts(shape, high, seed):
    return np.random.default_rng(seed).integers(0, high + 1, shape).astype(np.int32)


CASES = {
    "conv_maxpool": (lambda: ConvNet("max"), (6, 6, 2), 3),
    "conv_avgpool": (lambda: ConvNet("avg", seed=1), (6, 6, 2), 3),
    "recurrent": (lambda: RecurrentNet(), (5,), 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_emulate_equals_stepwise_and_twin(case):
    make, shape, levels = CASES[case]
    model = make()
    unit = 1.0 if levels > 1 else None
    cm = chip.quantize(model, "loihi", input_levels=levels, input_unit=unit)
    x = _counts((T, B, *shape), levels, seed=len(case))
    out, stats = chip.emulate(cm, x)
    assert out.shape == (T, B, 3)
    assert np.array_equal(np.asarray(run_stepwise(cm, x)[0]), np.asarray(out))
    twin = jax.jit(lambda p: chip.chip_forward(p, cm, x, chip_units=True))(chip.dequantize(cm))
    assert np.array_equal(np.asarray(twin), np.asarray(out).astype(np.float32))
    hidden = [v["spikes"] for k, v in stats.items() if "spikes" in v]
    assert all(int(s) > 0 for s in hidden), stats  # every layer is exercised
    assert jax.tree.structure(cm.state) == jax.tree.structure(nnx.state(model))


def test_layers_read_from_the_graph():
    specs = describe(ConvNet("avg"))
    assert [s.kind for s in specs] == ["lif", "if", "li"]
    conv2, fc = specs[1].synapse, specs[2].synapse
    assert conv2.op == "conv" and conv2.pool == ((2, 2), (2, 2)) and conv2.pool_scale == 0.25
    assert conv2.in_shape == (6, 6, 3) and conv2.out_shape == (2, 2, 4)
    assert fc.op == "dense" and fc.pool == ((2, 2), (2, 2)) and fc.pool_scale == 1.0
    assert specs[0].norm is not None and specs[0].bias is None
    specs = describe(ConvNet("max"))
    assert [s.kind for s in specs] == ["lif", "or", "if", "li"]
    rec = describe(RecurrentNet())
    assert rec[0].rec_kernel == "sn1.params.weight"
    assert dict(rec[0].leaves)["beta"] == "sn1.params.neuron.beta"


def test_folded_norm_equals_the_float_modules():
    model = ConvNet("max", seed=3)
    spec = describe(model)[0]
    fd = fold(spec, {p: v for p, v in _flat(model).items()})
    x = jnp.asarray(np.random.default_rng(0).random((4, 6, 6, 2)), jnp.float32)
    want = model.bn1(model.conv1(x)[None])[0]
    got = apply(spec.conn, x.reshape(4, -1), jnp.asarray(fd.w, jnp.float32))
    got = got.reshape(want.shape) + jnp.broadcast_to(jnp.asarray(fd.bias, jnp.float32), want.shape)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def _flat(model):
    from spikejax.chip._graph import flat_state

    return flat_state(nnx.state(model))


def test_folded_leaves_decode_to_the_float_values():
    model = ConvNet("max", seed=2)
    cm = chip.quantize(model, "loihi", input_levels=3, input_unit=1.0)
    back, flat = _flat_state(chip.dequantize(cm)), _flat(model)
    for name in ("scale", "mean", "var"):
        path = f"bn1.norm.{name}"
        np.testing.assert_allclose(back[path], flat[path], rtol=1e-6)
        assert cm.format(path).name == "folded"
    # the norm's bias holds the folded bias, decoding to beta within half a step
    fmt = cm.format("bn1.norm.bias")
    assert fmt.name == "bias_mant"
    err = np.abs(back["bn1.norm.bias"] - flat["bn1.norm.bias"])
    assert np.all(err <= fmt.lsb(flat["bn1.norm.bias"]) + 1e-6)


def _flat_state(state):
    from spikejax.chip._graph import flat_state

    return flat_state(state)


def test_or_relay_is_a_max_pool_of_the_spikes():
    """The relay's spikes at step t equal the 2×2 max pool of the conv layer's spikes at t - 1."""

    class ConvOnly(nnx.Module):
        def __init__(self, relay):
            self.image_shape = (6, 6, 2)
            self.conv = nnx.Conv(2, 3, (3, 3), padding="SAME", rngs=nnx.Rngs(4))
            self.sn = Spiking(LIF(beta=0.7, threshold=0.4))
            self.relay = relay

        def __call__(self, x):
            t = x.shape[0]
            s = self.sn(unfold(self.conv(tfold(x)), t))
            return unfold(_max_pool(tfold(s)), t) if self.relay else s

    x = _counts((T, B, 6, 6, 2), 1, seed=5)
    conv, _ = chip.emulate(chip.quantize(ConvOnly(False), "loihi"), x)
    relay, st = chip.emulate(chip.quantize(ConvOnly(True), "loihi"), x)
    s = np.asarray(conv).reshape(T * B, 6, 6, 3).astype(np.float32)
    pooled = np.asarray(_max_pool(jnp.asarray(s))).reshape(T, B, -1)
    assert 0 < int(st["layer_1"]["spikes"]) < pooled.size
    assert np.array_equal(np.asarray(relay)[1:], pooled[:-1].astype(np.int32))
    assert not np.any(np.asarray(relay)[0])


# ------------------------------------------------------------------------------------ resources


def test_conv_resources_counted_by_hand():
    """in 4×4×1, conv 3×3 'same' → 4×4×2, 16 neurons per core: core 0 holds output rows 0-1
    (row-major, channels last) and receives input rows 0-2: 12 axons. Valid taps per output:
    rows {2, 3} × columns {2, 3, 3, 2}: row 0 has 2·10 = 20, row 1 3·10 = 30 taps per channel,
    100 synapses for 2 channels. Shared kernel: 9 rows of 2 weights, one 64-bit word each."""
    conv = Synapse(
        "conv", (4, 4, 1), (4, 4, 2), kernel=(3, 3), strides=(1, 1),
        padding=((1, 1), (1, 1)), dilation=(1, 1),
    )  # fmt: skip
    spec = LayerSpec("lif", "k", None, (), 16, 32, synapse=conv)
    cores, targets = core_plan(spec, 16, 1, 8)
    assert [(c.neurons, c.axons, c.synapses) for c in cores] == [
        ((0, 16), 12, 100),
        ((16, 32), 12, 100),
    ]
    assert [c.memory_bits for c in cores] == [9 * 64, 9 * 64] == [synapse_bits(9, 2, 8)] * 2
    assert sum(c.synapses for c in cores) == 2 * 2 * (2 * 10 + 3 * 10)
    # two input lines per pixel (event counts up to 2) double the axons and synapses
    assert [(c.axons, c.synapses) for c in core_plan(spec, 16, 2, 8)[0]] == [(24, 200)] * 2
    # fan-out: input rows 0 and 3 reach one core, rows 1 and 2 both
    assert targets.reshape(4, 4).tolist() == [[1] * 4, [2] * 4, [2] * 4, [1] * 4]
    stem = LayerSpec("lif", "k0", None, (), 1, 16, synapse=None)
    assert fan_out(core_plan(stem, 16, 1, 8)[0], targets) == 4 * 1 + 4 * 2 + 4 * 2 + 4 * 1
    # a dense layer: every core receives every presynaptic neuron
    dense = LayerSpec("lif", "k", None, (), 16, 32)
    cores, targets = core_plan(dense, 16, 1, 8)
    assert [(c.axons, c.synapses) for c in cores] == [(16, 256)] * 2 and set(targets) == {2}


def test_fit_of_a_conv_network_counts_every_layer():
    cm = chip.quantize(ConvNet("max"), "loihi", input_levels=3, input_unit=1.0)
    rows = {(r["resource"], r["where"]): r for r in chip.fit.fit(cm)}
    assert rows[("cores", "")]["used"] == 4 and rows[("neurons", "")]["used"] == 108 + 27 + 16 + 3
    # first layer: 6×6×2 pixels, 3 lines each (counts up to 3), every pixel in a receptive field
    assert rows[("fan_in_per_core", "layer 0")]["used"] == 6 * 6 * 2 * 3
    # relay: the 2×2 windows of a 6×6×3 layer, one synapse per presynaptic neuron
    assert rows[("synapses", "layer 1")]["used"] == 6 * 6 * 3
    # a core accepting fewer axons: the convolution is split into cores of smaller receptive
    # fields until each fits (a dense layer's fan-in would not shrink)
    base = chip.get_profile("loihi")
    small = dataclasses.replace(
        base, resources=dataclasses.replace(base.resources, fan_in_per_core=100)
    )
    rows = {(r["resource"], r["where"]): r for r in chip.fit.fit(cm, small)}
    fan_in = rows[("fan_in_per_core", "layer 0")]
    assert fan_in["ok"] and fan_in["used"] <= 100
    assert rows[("neurons_per_core", "layer 0")]["used"] < 108
    # inputs are frames [T, *batch, 6, 6, 2] of counts up to 3, with T >= 1
    with pytest.raises(ValueError, match=r"\[T, \*batch, 6, 6, 2\] with T >= 1; got shape"):
        chip.emulate(cm, np.zeros((0, 1, 6, 6, 2), np.int32))
    with pytest.raises(ValueError, match=r"\[T, \*batch, 6, 6, 2\] with T >= 1; got shape"):
        chip.emulate(cm, np.zeros((2, 1, 72), np.int32))
    with pytest.raises(ValueError, match=r"counts in \[0, 3\]; got \[4, 4, 4\]"):
        chip.emulate(cm, np.full((2, 1, 6, 6, 2), 4, np.int32))


# ------------------------------------------------------------------------------------ refusals


class SEW(nnx.Module):
    def __init__(self):
        self.fc1 = nnx.Linear(4, 4, rngs=nnx.Rngs(0))
        self.sn1 = Spiking(LIF(beta=0.5))
        self.fc2 = nnx.Linear(4, 4, rngs=nnx.Rngs(1))
        self.sn2 = Spiking(LIF(beta=0.5))
        self.head = nnx.Linear(4, 2, rngs=nnx.Rngs(2))
        self.li = Spiking(LI(beta=0.9))

    def __call__(self, x):
        s = self.sn1(self.fc1(x))
        return self.li(self.head(self.sn2(self.fc2(s)) + s))


class MaxOfReal(nnx.Module):
    def __init__(self):
        self.conv = nnx.Conv(1, 2, (3, 3), padding="SAME", rngs=nnx.Rngs(0))
        self.sn = Spiking(LIF(beta=0.5))

    def __call__(self, x):
        t = x.shape[0]
        return self.sn(unfold(self.conv(_max_pool(tfold(x))), t))  # a max pool of event counts


class ConvThenPool(MaxOfReal):
    def __call__(self, x):
        t = x.shape[0]
        return self.sn(unfold(_max_pool(self.conv(tfold(x))), t))


def test_unsupported_nodes_are_named():
    with pytest.raises(
        ValueError, match=r"module `add` is a join \(add\), which no layer of loihi"
    ):
        chip.quantize(SEW(), "loihi")
    frames = jax.ShapeDtypeStruct((2, 3, 4, 4, 1), jnp.float32)
    with pytest.raises(ValueError, match=r"module `max_pool` is a pool \(max_pool\).*binary"):
        describe(MaxOfReal(), example_input=frames, chip="loihi")
    with pytest.raises(ValueError, match=r"module `max_pool` is a pool .* only a batch norm"):
        describe(ConvThenPool(), example_input=frames, chip="loihi")
    with pytest.raises(
        ValueError, match=r"module `sn1` is a conv synapse .* which no layer of xylo"
    ):
        chip.quantize(ConvNet("max"), "xylo")
    with pytest.raises(
        ValueError, match=r"module `sn1` is a recurrent layer, which no layer of xylo"
    ):
        chip.quantize(RecurrentNet(), "xylo")


def test_deploy_a_conv_network_on_event_counts(tmp_path):
    model = ConvNet("avg")
    x = _counts((T, 8, 6, 6, 2), 3, seed=9).astype(np.float32)
    y = np.arange(8) % 3
    report = chip.deploy.deploy(
        model, "loihi", out_dir=tmp_path, data={"x_test": x, "y_test": y}, qat="never"
    )
    assert report["input_levels"] == 3 and report["input_unit"] == 1.0
    assert report["latency_steps"] == 3 and report["fits"]
    arrays = np.load(report["files"]["npz"])
    assert arrays["W1_conv"].shape == (3, 3, 3, 2)  # Lava Conv: (out, kh, kw, in)
    assert arrays["W3_raw"].shape == (3, 4 * 4)  # the sum pool expanded: (post, pre)
    assert 0.0 <= report["chip_accuracy"] <= 1.0 and report["saturations"] == 0
