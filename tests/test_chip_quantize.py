"""Chip profiles, network description, quantize / dequantize / requantize and the format golden."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import chip
from spikejax.chip import profiles
from spikejax.chip._graph import describe, flat_state
from spikejax.layers import Spiking
from spikejax.models._small import LIFMLP
from spikejax.neurons import IF, LI, PLIF, CubaLIF
from tests.golden.regenerate_chip import COMMAND, GOLDEN, structures


class CubaNet(nnx.Module):
    """Linear → CubaLIF → Linear → IF → Linear (no bias) → LI with decay_input, per-neuron α."""

    def __init__(self, rngs):
        self.fc1 = nnx.Linear(6, 5, rngs=rngs)
        self.fc1.bias[...] = jnp.linspace(-0.2, 0.3, 5)
        alpha = jnp.linspace(0.3, 0.8, 5)
        self.sn1 = Spiking(CubaLIF(alpha=alpha, beta=0.85, threshold=0.7, reset="zero"))
        self.fc2 = nnx.Linear(5, 4, rngs=rngs)
        self.sn2 = Spiking(IF(threshold=jnp.full((4,), 1.2)))
        self.fc3 = nnx.Linear(4, 3, use_bias=False, rngs=rngs)
        self.out = Spiking(LI(beta=jnp.array([0.5, 0.8, 0.95]), decay_input=True))

    def __call__(self, x):
        return self.out(self.fc3(self.sn2(self.fc2(self.sn1(self.fc1(x))))))


def small(hidden=(8,), seed=0):
    return LIFMLP(16, hidden, 4, rngs=nnx.Rngs(seed))


# ------------------------------------------------------------------------------------ profiles


def test_profile_registry():
    all_profiles = profiles.profiles()
    assert sorted(all_profiles) == ["akida", "loihi", "northpole", "spinnaker", "truenorth", "xylo"]
    assert {n for n, p in all_profiles.items() if p.bit_exact} == {"loihi", "xylo"}
    loihi, xylo = chip.get_profile("loihi"), chip.get_profile("xylo")
    assert loihi.arithmetic is chip.LOIHI and xylo.arithmetic is chip.XYLO
    r = loihi.resources
    assert (r.cores, r.neurons_per_core, r.fan_in_per_core, r.synapse_bits_per_core) == (
        128,
        1024,
        4096,
        1 << 20,
    )
    r = xylo.resources
    assert (r.input_channels, r.neurons, r.output_neurons, r.max_input_events) == (16, 1000, 8, 15)
    for p in all_profiles.values():
        assert chip.get_profile(p.name) is p and chip.get_profile(p) is p
        assert p.sources and p.title
        if not p.bit_exact:
            assert p.arithmetic is None
    assert "resources.neurons" in all_profiles["akida"].uncertain
    assert all_profiles["truenorth"].resources.neurons_per_core == 256


def test_profile_errors():
    with pytest.raises(ValueError, match=r"`get_profile`: `name` must be one of .*'akida'.*'xylo'"):
        chip.get_profile("loihi2")
    with pytest.raises(ValueError, match="arithmetic"):
        profiles.ChipProfile("x", "x", True, None, (8,), (1,), 8, None, profiles.Resources())
    with pytest.raises(ValueError, match="unknown"):
        profiles.ChipProfile(
            "x",
            "x",
            False,
            None,
            (8,),
            (1,),
            8,
            None,
            profiles.Resources(),
            uncertain=frozenset({"resources.nope"}),
        )


# ------------------------------------------------------------------------------------- describe


def test_describe_module_and_state_agree():
    model = small((8, 6))
    a, b = describe(model), describe(nnx.state(model))
    assert [s.kind for s in a] == ["lif", "lif", "li"]
    assert [(s.kernel, s.bias, s.leaves, s.n_in, s.n_out) for s in a] == [
        (s.kernel, s.bias, s.leaves, s.n_in, s.n_out) for s in b
    ]
    assert a[0].reset == "subtract" and b[0].reset is None
    specs = describe(CubaNet(nnx.Rngs(0)))
    assert [s.kind for s in specs] == ["cuba", "if", "li"]
    assert specs[0].reset == "zero" and specs[2].decay_input and specs[2].bias is None


def test_describe_errors():
    class Conv(nnx.Module):
        def __init__(self):
            self.conv = nnx.Conv(1, 2, (3, 3), rngs=nnx.Rngs(0))
            self.fc = nnx.Linear(2, 2, rngs=nnx.Rngs(0))

        def __call__(self, x):
            return self.fc(self.conv(x))

    frames = jax.ShapeDtypeStruct((2, 5, 5, 1), jnp.float32)
    with pytest.raises(
        ValueError,
        match=r"module `fc` is a linear \(Linear\), which no layer of a chip maps: only a batch "
        "norm may come between a synaptic layer and its neurons",
    ):
        describe(Conv(), example_input=frames)
    with pytest.raises(ValueError, match=r"no nnx\.Linear layer whose input size it accepts"):
        describe(Conv())

    class Plif(nnx.Module):
        def __init__(self):
            self.fc = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
            self.sn = Spiking(PLIF(w=0.0))

        def __call__(self, x):
            return self.sn(self.fc(x))

    with pytest.raises(ValueError, match=r"must be one of .*got PLIF"):
        describe(Plif())
    with pytest.raises(TypeError, match=r"nnx\.Module or its nnx\.state"):
        describe({"fc": 1})


# ------------------------------------------------------------------------------------- quantize


@pytest.mark.parametrize("profile", ["loihi", "xylo"])
def test_same_treedef_int_leaves(profile):
    model = small((8, 6))
    cm = chip.quantize(model, profile)
    state = nnx.state(model)
    assert jax.tree.structure(cm.state) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(cm.state), jax.tree.leaves(state), strict=True):
        assert a.dtype == jnp.int32 and a.shape == b.shape
    assert jax.tree.structure(chip.dequantize(cm)) == jax.tree.structure(state)
    assert cm.sizes == (16, 8, 6, 4)


def _roundtrip_bound(cm, state):
    flat = flat_state(state)
    back = flat_state(chip.dequantize(cm))
    for path, fmt in cm.formats:
        x = np.asarray(flat[path], np.float64)
        err = np.abs(np.asarray(back[path], np.float64) - x)
        bound = fmt.lsb(x) * (1 + 1e-5) + 1e-6 * np.abs(x) + 1e-12
        assert np.all(err <= bound), (path, fmt.name, float(np.max(err - bound)))


@pytest.mark.parametrize("profile", ["loihi", "xylo"])
@pytest.mark.parametrize("net", ["mlp", "cuba"])
def test_dequantize_within_half_step(profile, net):
    model = small((8, 6)) if net == "mlp" else CubaNet(nnx.Rngs(1))
    cm = chip.quantize(model, profile, input_levels=3)
    assert all(r.clipped == 0 for r in cm.report)
    _roundtrip_bound(cm, nnx.state(model))
    for r in cm.report:
        assert r.max_abs_error <= r.lsb * (1 + 1e-5) + 1e-6 * r.max_abs_value
    # Representable values survive a second trip unchanged.
    again = chip.requantize(chip.dequantize(cm), cm)
    for path, q in cm.leaves().items():
        np.testing.assert_array_equal(again.leaves()[path], q, err_msg=path)


def test_loihi_mapping_values():
    model = small()
    cm = chip.quantize(model, "loihi")
    q, layer = cm.leaves(), cm.layers[0]
    beta = np.asarray(model.blocks[0].sn.params.beta[...])
    np.testing.assert_array_equal(q["blocks.0.sn.params.beta"], np.rint(4096 * (1 - beta)))
    w = q["blocks.0.fc.kernel"]
    assert np.all(w % 2 == 0) and np.abs(w).max() <= 254
    # The largest |weight| maps to 254 unless the membrane cap is binding (then it is smaller).
    assert np.abs(w).max() == 254 or layer.v_scale < 254 * 2.0 ** (layer.weight_exp + 6) / float(
        np.abs(model.blocks[0].fc.kernel[...]).max()
    )
    theta = 1.0
    vth = q["blocks.0.sn.params.threshold"]
    np.testing.assert_array_equal(vth, np.rint(layer.v_scale * theta / 64))
    assert dict(layer.constants)["du"] == 4095 and dict(cm.layers[1].constants)["vth"] == 131071
    # The effective weights are what Lava would use: reducing them again changes nothing.
    w_post_pre = jnp.asarray(w.T, jnp.int32)
    np.testing.assert_array_equal(chip.loihi.effective_weights(w_post_pre), w_post_pre)


def test_xylo_mapping_values():
    model = CubaNet(nnx.Rngs(0))
    cm = chip.quantize(model, "xylo")
    q = cm.leaves()
    alpha = np.linspace(0.3, 0.8, 5)
    grid = 1 - 2.0 ** -np.arange(16)
    expected = np.argmin(np.abs(alpha[:, None] - grid), axis=1)
    np.testing.assert_array_equal(q["sn1.params.alpha"], expected)
    assert [f.name for p, f in cm.formats if p.endswith("kernel")] == [
        "weights_in",
        "weights_rec",
        "weights_out",
    ]
    assert dict(cm.layers[1].constants) == {"dash_syn": 1, "dash_mem": 15}
    assert dict(cm.layers[2].constants) == {
        "bias_out": 0,
        "dash_syn_out": 1,
        "threshold_out": 32767,
    }
    assert any("dash_syn = 1" in n for n in cm.notes)
    assert any("resets by subtraction" in n or "Xylo resets by subtraction" in n for n in cm.notes)


def test_out_of_range_named_and_saturate_counts():
    model = small()
    with pytest.raises(
        ValueError,
        match=r"`blocks\.0\.fc\.kernel` \(loihi `weights`\) must "
        r"quantize into \[-254, 254\].*saturate=True",
    ):
        chip.quantize(model, "loihi", method="percentile", percentile=90.0)
    cm = chip.quantize(model, "loihi", method="percentile", percentile=90.0, saturate=True)
    w = np.asarray(model.blocks[0].fc.kernel[...], np.float64)
    fmt = cm.format("blocks.0.fc.kernel")
    unclipped = 2 * np.rint(w / (2 * np.asarray(fmt.scale)))
    expected = int(np.count_nonzero(np.abs(unclipped) > 254))
    report = {r.path: r for r in cm.report}
    assert expected > 0 and report["blocks.0.fc.kernel"].clipped == expected
    ints = cm.leaves()["blocks.0.fc.kernel"]
    np.testing.assert_array_equal(ints, np.clip(unclipped, -254, 254))


def test_unrepresentable_threshold_and_decay():
    model = small()
    model.blocks[0].sn.params.threshold[...] = jnp.full((8,), 1e-7)
    with pytest.raises(
        ValueError,
        match=r"`blocks\.0\.sn\.params\.threshold` \(loihi `vth`\).*"
        r"\[1, 131071\]",
    ):
        chip.quantize(model, "loihi")
    model = small()
    model.blocks[0].sn.params.beta[...] = jnp.zeros((8,))
    with pytest.raises(
        ValueError, match=r"`blocks\.0\.sn\.params\.beta` \(loihi `dv`\).*\[0, 4095\]"
    ):
        chip.quantize(model, "loihi")
    cm = chip.quantize(model, "loihi", saturate=True)
    assert {r.path: r.clipped for r in cm.report}["blocks.0.sn.params.beta"] == 8
    np.testing.assert_array_equal(cm.leaves()["blocks.0.sn.params.beta"], 4095)


def test_quantize_argument_errors():
    model = small()
    with pytest.raises(ValueError, match=r"bit-exact profile.*'akida' has no emulator"):
        chip.quantize(model, "akida")
    with pytest.raises(ValueError, match="`quantize`: `method` must be one of"):
        chip.quantize(model, "loihi", method="mean")
    with pytest.raises(ValueError, match="`percentile` must be a number in \\(0, 100\\]"):
        chip.quantize(model, "loihi", method="percentile", percentile=0)
    with pytest.raises(ValueError, match="`input_levels` must be an int >= 1"):
        chip.quantize(model, "loihi", input_levels=0)
    with pytest.raises(ValueError, match="`input_levels` must be <= 15"):
        chip.quantize(model, "xylo", input_levels=16)
    with pytest.raises(ValueError, match="`peaks` must hold one finite value >= 0 per layer"):
        chip.quantize(model, "loihi", peaks=(1.0,))
    with pytest.raises(ValueError, match="Xylo needs at least one hidden layer"):
        chip.quantize(LIFMLP(4, (), 2, rngs=nnx.Rngs(0)), "xylo")
    with pytest.raises(TypeError, match=r"nnx\.Module or its nnx\.state"):
        chip.quantize(np.zeros(3), "loihi")
    model.blocks[0].fc.kernel[0, 0] = jnp.nan
    with pytest.raises(ValueError, match="must be finite"):
        chip.quantize(model, "loihi")


def test_missing_keys():
    state = nnx.state(small())
    pure = nnx.to_pure_dict(state)
    del pure["blocks"][0]["sn"]["params"]["threshold"]
    partial = nnx.State(pure)
    with pytest.raises(ValueError, match="only the last layer may be a non-spiking LI readout"):
        chip.quantize(partial, "loihi")
    cm = chip.quantize(state, "loihi")
    with pytest.raises(
        ValueError, match="`requantize`: `float_state` must have the tree structure"
    ):
        chip.requantize(partial, cm)
    with pytest.raises(ValueError, match=r"must alternate nnx\.Linear and Spiking layers"):
        chip.quantize(nnx.State({"fc": pure["head"]["fc"]}), "loihi")


def test_peaks_shrink_scale_and_bare_state_note():
    model = small()
    x = (np.random.default_rng(0).random((12, 5, 16)) < 0.3).astype(np.float32)
    peaks = chip.calibrate(model, x)
    assert len(peaks) == 2 and all(p > 0 for p in peaks)
    a = chip.quantize(model, "xylo")
    b = chip.quantize(model, "xylo", peaks=tuple(100 * p for p in peaks))
    assert all(lb.v_scale < la.v_scale for la, lb in zip(a.layers, b.layers, strict=True))
    assert any("bare nnx.State" in n for n in chip.quantize(nnx.state(model), "xylo").notes)


# --------------------------------------------------------------------------------------- golden


def test_chip_format_matches_golden():
    golden = json.loads(GOLDEN.read_text())
    current = structures()
    assert sorted(golden) == sorted(current), f"models or chips changed; run: {COMMAND}"
    for key in golden:
        assert golden[key] == current[key], f"chip format of {key} changed; run: {COMMAND}"
