"""spikejax.energy: the papers' printed energies, synaptic-operation counts against numpy counts
of the recorded activity, the counting flags, profiles, reports and the command."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from flax import nnx

from spikejax import energy, layers, models, neurons
from spikejax.graph import record

# ------------------------------------------------------------------------------- helpers


def _set_kernels(net, value=1.0):
    """Every weight kernel (convolution, linear) set to ``value``; biases and BN untouched."""
    state = nnx.state(net, nnx.Param)
    flat = nnx.to_flat_state(state)
    for path, variable in flat:
        if path[-1] == "kernel":
            variable.set_value(jnp.full(variable.shape, value, variable.dtype))
    nnx.update(net, nnx.from_flat_state(flat))


def _np_conv_events(x, kernel, stride, pad, fan_out):
    """Synaptic events of a k×k convolution by direct enumeration: for every output position and
    every kernel tap that lands inside the input, the input summed over channels, times the
    output channels each input channel feeds."""
    x = np.asarray(x, np.float64)
    x = x.reshape((-1, *x.shape[-3:])).sum(-1)  # [N, H, W]
    _, H, W = x.shape
    h_out = (H + 2 * pad - kernel) // stride + 1
    w_out = (W + 2 * pad - kernel) // stride + 1
    total = 0.0
    for i in range(h_out):
        for j in range(w_out):
            for di in range(kernel):
                for dj in range(kernel):
                    r, c = i * stride - pad + di, j * stride - pad + dj
                    if 0 <= r < H and 0 <= c < W:
                        total += x[:, r, c].sum()
    return total * fan_out


def _record(net, x):
    """The recording of ``net`` on ``x``, compiled (much faster than op by op)."""
    graphdef, state = nnx.split(net)
    return jax.jit(lambda s, x: models.record(nnx.merge(graphdef, s), x)[1])(state, x)


def _priced(net, rec, profile="cmos45nm_fp32", **options):
    """The energy report of a recording (counting without running the model again)."""
    return energy.energy_report(energy.count_recording(net, rec, **options), profile)


def _rows(report):
    return {row.name: row for row in report.rows}


# --------------------------------------------------------------- the papers' printed numbers


def test_sew34_printed_energy():
    macs = models.macs_per_step("sew_resnet34")["conv1.conv"]
    assert macs == 118_013_952 == 3 * 64 * 7 * 7 * 112 * 112
    pj = energy.energy_from_sops(3.88e9, macs, profile="cmos45nm_fp32")  # first conv once
    assert abs(pj / 1e9 - 4.035) < 0.0005  # 3.492 + 0.543 mJ


def test_spikformer_printed_energy_uses_the_d512_first_conv():
    macs = models.macs_per_step("spikformer_8_512_imagenet")["patch_embed.convs.0.conv"]
    assert macs == 86_704_128 == 3 * 64 * 9 * 224 * 224  # 86.70 M
    pj = energy.energy_from_sops(11.09e9, macs, T=4, first_layer="per_step")
    assert abs(pj / 1e9 - 11.577) < 0.005  # 9.981 + 1.595 mJ


def test_energy_from_sops_first_layer_runs():
    once = energy.energy_from_sops(100.0, 10, profile="cmos45nm_fp16", T=4)
    per_step = energy.energy_from_sops(
        100.0, 10, profile="cmos45nm_fp16", T=4, first_layer="per_step"
    )
    assert once == pytest.approx(0.4 * 100 + 1.5 * 10)
    assert per_step == pytest.approx(0.4 * 100 + 1.5 * 10 * 4)


# ------------------------------------------------------------------------ small LIF MLP


@pytest.fixture(scope="module")
def mlp():
    return models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(16,), T=5)


def test_lif_mlp_estimate_equals_hand_computation(mlp):
    T, B, H = 5, 4, 16
    x = jr.bernoulli(jr.key(1), 0.3, (T, B, 64)).astype(jnp.float32)
    _, rec = models.record(mlp, x)
    hidden_spikes = np.asarray(rec.spikes["blocks.0.sn"], np.float64)
    assert 0 < hidden_spikes.mean() < 1
    sops_head = hidden_spikes.mean() * T * (H * 10)
    expected = 4.6 * T * (64 * H) + 0.9 * sops_head  # first layer at every step, head as AC
    report = energy.estimate(mlp, x)
    assert report.counts.first_layer == "per_step" == models.info("lif_mlp").first_layer
    assert report.e_snn == pytest.approx(expected, rel=1e-6)
    assert report.e_ann == pytest.approx(4.6 * (64 * H + H * 10), rel=1e-12)
    assert report.ratio == pytest.approx(expected / report.e_ann, rel=1e-6)
    head = _rows(report)["head.fc"]
    assert (head.role, head.op, head.binary) == ("head", "ac", True)
    assert head.fr == pytest.approx(hidden_spikes.mean(), rel=1e-6)
    # Linear layers have a uniform fan-out: exact events = rate.
    events = energy.estimate(mlp, x, count="events")
    assert _rows(events)["head.fc"].sops == pytest.approx(sops_head, rel=1e-6)
    # The same counts from the recording itself.
    counts = energy.count_recording(mlp, rec)
    assert counts.layers == report.counts.layers
    # Without the head: its row and its MACs are gone from both totals.
    no_head = energy.estimate(mlp, x, include_head=False)
    assert [r.name for r in no_head.rows] == ["blocks.0.fc"]
    assert no_head.e_snn == pytest.approx(4.6 * T * 64 * H)
    assert no_head.e_ann == pytest.approx(4.6 * 64 * H)


class _RecurrentNet(nnx.Module):
    """input → Linear(4, 6) → recurrent LIF (6 neurons, W 6×6) → Linear(6, 3)."""

    def __init__(self):
        rngs = nnx.Rngs(0)
        self.fc = layers.TimeFolded(nnx.Linear(4, 6, rngs=rngs))
        w = jr.uniform(jr.key(2), (6, 6), minval=-0.2, maxval=0.6)
        self.sn = layers.Spiking(neurons.Recurrent(neurons.LIF(beta=0.8), w))
        self.out = layers.TimeFolded(nnx.Linear(6, 3, rngs=rngs))

    def __call__(self, x):
        return self.out(self.sn(self.fc(x)))


def test_recurrent_weights_are_priced_from_the_previous_steps_spikes():
    T, B, n = 7, 3, 6
    net = _RecurrentNet()
    x = jr.uniform(jr.key(3), (T, B, 4), maxval=2.0)
    _, rec = record(net, x)
    s = np.asarray(rec.spikes["sn"], np.float64)
    assert 0 < s.mean() < 1
    # s_{t-1} W: the spikes of steps 0 … T-2 each reach n synapses; nothing at the first step.
    feedback_events = s[:-1].sum() / B * n
    for count in ("rate", "events"):
        rows = _rows(energy.estimate(net, x, count=count))
        assert list(rows) == ["fc.module", "sn.recurrent", "out.module"]
        rec_row = rows["sn.recurrent"]
        assert (rec_row.kind, rec_row.role, rec_row.op, rec_row.macs) == (
            "recurrent",
            "hidden",
            "ac",
            n * n,
        )
        assert rec_row.sops == pytest.approx(feedback_events, rel=1e-9)
        assert rows["out.module"].role == "head"
    counts = energy.count_ops(net, x)
    assert counts.dense_macs == 4 * n + n * n + n * 3
    assert counts.sops == pytest.approx(feedback_events + s.sum() / B * 3, rel=1e-9)


def test_lif_mlp_all_ones_gives_dense_macs():
    T, B = 5, 3
    net = models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(16,), T=T)
    _set_kernels(net)  # every hidden neuron receives 64 ≥ θ each step and fires every step
    x = jnp.ones((T, B, 64), jnp.float32)
    _, rec = models.record(net, x)
    assert np.all(np.asarray(rec.spikes["blocks.0.sn"]) == 1)
    for count in ("rate", "events"):
        head = _rows(energy.estimate(net, x, count=count))["head.fc"]
        assert head.fr == 1.0
        assert head.sops == T * 16 * 10  # exactly


# --------------------------------------------------------------------- small conv SNN


@pytest.fixture(scope="module")
def conv_net():
    return models.create("conv_snn", rngs=nnx.Rngs(0), channels=(4, 3), image_size=6, pool=1, T=3)


def test_conv_events_match_numpy_and_differ_from_rate_at_borders(conv_net):
    x = jr.bernoulli(jr.key(2), 0.4, (3, 2, 6, 6, 2)).astype(jnp.float32)
    rec = _record(conv_net, x)
    spikes = np.asarray(rec.synapse_inputs["blocks.1.conv"])
    assert 0 < spikes.mean() < 1
    expected = _np_conv_events(spikes, 3, 1, 1, 3) / 2  # 'SAME' 3×3: padding 1; per sample
    events = _rows(energy.estimate(conv_net, x, count="events"))["blocks.1.conv"]
    rate = _rows(energy.estimate(conv_net, x, count="rate"))["blocks.1.conv"]
    assert events.sops == pytest.approx(expected, rel=1e-6)
    assert rate.sops == pytest.approx(spikes.mean() * 3 * (4 * 3 * 9 * 36), rel=1e-6)
    assert events.sops != pytest.approx(rate.sops, rel=1e-3)


def test_conv_all_ones_rate_is_dense_events_lose_the_padding_taps():
    T, B = 3, 2
    net = models.create("conv_snn", rngs=nnx.Rngs(0), channels=(4, 3), image_size=6, pool=1, T=T)
    _set_kernels(net)
    net.eval()  # batch norm at its initial running statistics: (nearly) the identity
    x = jnp.ones((T, B, 6, 6, 2), jnp.float32)
    _, rec = models.record(net, x)
    assert np.all(np.asarray(rec.synapse_inputs["blocks.1.conv"]) == 1)
    dense = T * 4 * 3 * 9 * 36
    rate = _rows(energy.estimate(net, x, count="rate"))
    events = _rows(energy.estimate(net, x, count="events"))
    assert rate["blocks.1.conv"].sops == dense
    assert rate["head.fc"].sops == T * 108 * 10
    # 6×6 'SAME' 3×3: interior 16·9 taps, edges 16·6, corners 4·4 → 256 of 324 taps per map.
    assert events["blocks.1.conv"].sops == pytest.approx(T * 4 * 3 * 256)
    assert events["blocks.1.conv"].sops < dense
    assert events["head.fc"].sops == pytest.approx(T * 108 * 10)


# ------------------------------------------------------------------- SEW-ResNet (small)


@pytest.fixture(scope="module")
def sew():
    net = models.create("sew_resnet18", rngs=nnx.Rngs(0), width=4, image_size=16, T=2)
    x = jr.normal(jr.key(3), (3, 16, 16, 3), jnp.float32)
    return net, x


def test_sew_add_residual_streams_are_nonbinary(sew):
    net, x = sew
    rec = _record(net, x)
    inputs = {k: np.asarray(v) for k, v in rec.synapse_inputs.items()}
    expected = {k for k, v in inputs.items() if not np.all((v == 0) | (v == 1))}
    assert any(k.startswith("layer") for k in expected)  # integer ADD outputs feed later blocks
    spikes = _priced(net, rec)
    macs = _priced(net, rec, nonbinary="as_macs")
    assert set(spikes.counts.nonbinary_layers) == expected == set(macs.counts.nonbinary_layers)
    T = 2
    for name, row in _rows(macs).items():
        if row.role == "first":
            continue
        if name in expected:
            assert (row.op, row.runs, row.ops) == ("mac", T, float(T * row.macs))
            assert row.energy == pytest.approx(4.6 * T * row.macs)
        else:
            assert row.op == "ac"
            assert row.energy == pytest.approx(0.9 * row.sops)
    for row in spikes.rows[1:]:
        assert row.op == "ac"
    # The stem runs once on the static image (model metadata), unless asked otherwise.
    first = spikes.rows[0]
    stem_macs = 3 * 4 * 49 * 8 * 8
    assert spikes.counts.first_layer == "once" == models.info("sew_resnet18").first_layer
    assert (first.name, first.macs, first.runs, first.ops) == (
        "conv1.conv",
        stem_macs,
        1,
        stem_macs,
    )
    per_step = _priced(net, rec, first_layer="per_step").rows[0]
    assert (per_step.runs, per_step.ops) == (T, T * stem_macs)
    # Stride 2 with padding: events against the numpy enumeration.
    row = _rows(_priced(net, rec, count="events"))["layer2.0.conv1.conv"]
    assert row.sops == pytest.approx(_np_conv_events(inputs["layer2.0.conv1.conv"], 3, 2, 1, 8) / 3)


# -------------------------------------------------------------------- Spikformer (small)


@pytest.mark.parametrize("order", ["qk_v", "q_kv"])
def test_spikformer_attention_events_and_first_layer(order):
    T, B = 2, 2
    net = models.create(
        "spikformer_2_384_cifar10",
        rngs=nnx.Rngs(0),
        embed_dim=16,
        num_heads=2,
        image_size=16,
        T=T,
        ssa_order=order,
    )
    x = jr.normal(jr.key(4), (B, 16, 16, 3), jnp.float32)
    rec = _record(net, x)
    qkv = np.asarray(rec.synapse_inputs["blocks.0.attn.product"], np.float64)
    d = 8  # D / heads; no qk_pool
    q, k, v = qkv[..., :d], qkv[..., d : 2 * d], qkv[..., 2 * d :]
    N = qkv.shape[-2]
    expected = (N * (q.sum() + v.sum()) if order == "qk_v" else d * (k.sum() + q.sum())) / B
    report = _priced(net, rec, count="events", first_layer_macs=86_704_128)
    row = _rows(report)["blocks.0.attn.product"]
    assert row.kind == "attention"
    assert row.sops == pytest.approx(expected, rel=1e-6)
    rate = _rows(_priced(net, rec))["blocks.0.attn.product"]
    assert rate.sops == pytest.approx(qkv.mean() * T * rate.macs, rel=1e-6)
    # Static images are repeated before the first conv: it runs T times. By default its MACs are
    # the model's own (D/8 = 2 channels at 16×16); the override reproduces a paper's printed
    # numbers (Spikformer's use the D = 512 first conv for every width).
    own = _priced(net, rec).rows[0]
    assert (own.macs, own.runs) == (3 * 2 * 9 * 16 * 16, T)
    first = report.rows[0]
    meta = models.info("spikformer_2_384_cifar10")
    assert report.counts.first_layer == "per_step" == meta.first_layer
    assert (first.macs, first.runs, first.energy) == (86_704_128, T, 4.6 * T * 86_704_128)


# ------------------------------------------------------------------ profiles and errors


def test_profiles_registry():
    names = energy.available_profiles()
    assert names == list(energy.PROFILES)
    assert {"cmos45nm_fp32", "cmos45nm_fp16", "cmos45nm_int8", "loihi"} <= set(names)
    table = {n: (energy.get_profile(n).e_mac, energy.get_profile(n).e_ac) for n in names}
    assert table["cmos45nm_fp32"] == (4.6, 0.9)
    assert table["cmos45nm_fp16"] == (1.5, 0.4)
    assert table["cmos45nm_int8"] == (0.23, 0.03)
    assert table["cmos45nm_int8_int32acc"] == (0.3, 0.1)
    assert table["loihi"] == (None, 23.6)
    assert "[verify]" in energy.get_profile("loihi").describe()
    with pytest.raises(ValueError, match=r"`get_profile`: `profile` must be one of \[.*'loihi'"):
        energy.get_profile("tpu")
    with pytest.raises(TypeError, match="`get_profile`: `profile` must be a profile name"):
        energy.get_profile(4.6)
    with pytest.raises(ValueError, match="`EnergyProfile`: `e_ac` must be a finite energy > 0"):
        energy.EnergyProfile("x", e_mac=1.0, e_ac=-1.0, source="s", derivation="d")
    custom = energy.EnergyProfile("x", e_mac=2.0, e_ac=1.0, source="s", derivation="d")
    assert energy.get_profile(custom) is custom
    with pytest.raises(ValueError, match="`estimate`: `profile` must be one of"):
        energy.estimate(None, None, profile="nope")
    with pytest.raises(ValueError, match="`energy_from_sops`: `first_layer_macs` must be 0 on"):
        energy.energy_from_sops(1e9, 10, profile="loihi")
    assert energy.energy_from_sops(1e9, 0, profile="loihi") == pytest.approx(23.6e9)


def test_loihi_prices_synaptic_events_and_neuron_updates(mlp):
    x = jr.bernoulli(jr.key(5), 0.3, (5, 2, 64)).astype(jnp.float32)
    _, rec = models.record(mlp, x)
    spikes = np.asarray(rec.spikes["blocks.0.sn"], np.float64)
    report = energy.estimate(mlp, x, profile="loihi", neuron_updates=True)
    assert report.unpriced == ("blocks.0.fc",) and report.rows[0].energy is None
    assert report.e_ann is None and report.ratio is None
    active = spikes.sum() / 2
    inactive = 5 * 16 - active
    expected_ac = 23.6 * spikes.mean() * 5 * 160
    assert report.e_ac == pytest.approx(expected_ac, rel=1e-6)
    assert report.e_neuron == pytest.approx(81 * active + 52 * inactive, rel=1e-9)
    assert report.e_snn == pytest.approx(report.e_ac + report.e_neuron)
    # A hidden layer charged as MACs (non-binary input under as_macs) cannot be priced on Loihi.
    layer = energy.LayerCount("fc", "linear", "hidden", 10, 1.5, 15.0, False, "mac", 10.0, 1)
    counts = dataclasses.replace(report.counts, layers=(*report.counts.layers, layer))
    with pytest.raises(ValueError, match="`energy_report`: `nonbinary='as_macs'` needs a profile"):
        energy.energy_report(counts, "loihi")
    assert energy.energy_report(counts, "cmos45nm_fp32").rows[-1].energy == pytest.approx(46.0)
    with pytest.raises(ValueError, match="`energy_report`: `neuron_updates=True` needs"):
        energy.estimate(mlp, x, neuron_updates=True)


def test_counting_option_errors(mlp):
    x = jnp.ones((5, 1, 64), jnp.float32)
    with pytest.raises(
        ValueError, match=r"`count_ops`: `count` must be one of \('rate', 'events'\)"
    ):
        energy.count_ops(mlp, x, count="exact")
    with pytest.raises(ValueError, match="`count_ops`: `nonbinary` must be one of"):
        energy.count_ops(mlp, x, nonbinary="ignore")
    with pytest.raises(ValueError, match="`count_ops`: `first_layer` must be one of"):
        energy.count_ops(mlp, x, first_layer="twice")
    with pytest.raises(ValueError, match="`count_ops`: `first_layer_macs` must be None or an int"):
        energy.count_ops(mlp, x, first_layer_macs=-1)
    with pytest.raises(TypeError, match=r"`count_ops`: `model` must be an nnx\.Module"):
        energy.count_ops(lambda x: x, x)


# --------------------------------------------------------------- report, plot, command


def test_report_text_dict_and_plot(mlp, tmp_path):
    x = jr.bernoulli(jr.key(6), 0.3, (5, 2, 64)).astype(jnp.float32)
    report = energy.estimate(mlp, x, profile="cmos45nm_int8")
    text = report.table()
    assert "blocks.0.fc" in text and "head.fc" in text and "E_SNN" in text and "E_ANN" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["totals"]["e_snn_pj"] == pytest.approx(report.e_snn)
    assert [row["name"] for row in data["layers"]] == ["blocks.0.fc", "head.fc"]
    assert data["profile"]["name"] == "cmos45nm_int8"
    energy.plot_energy(report, tmp_path / "energy.png")
    assert (tmp_path / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="`plot_energy`: `path` must end in an image suffix"):
        energy.plot_energy(report, tmp_path / "energy.txt")


def test_energy_command_zoo_model(tmp_path):
    text = energy.energy_command(
        "lif_mlp", profile=["cmos45nm_fp32", "loihi"], count="events", batch=2, out=tmp_path
    )
    assert "random initialisation" in text
    assert text.count("profile   ") == 2 and "unpriced  blocks.0.fc" in text
    saved = json.loads((tmp_path / "energy.json").read_text())
    assert set(saved["reports"]) == {"cmos45nm_fp32", "loihi"}
    assert (tmp_path / "energy_loihi.png").is_file()
    assert math.isfinite(saved["reports"]["cmos45nm_fp32"]["totals"]["e_snn_pj"])
    with pytest.raises(ValueError, match="`energy_command`: `target` must be a run directory"):
        energy.energy_command("no_such_model")


def test_energy_command_run_dir(tmp_path):
    from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
    from spikejax.train import fit

    config = Config(
        name="tiny",
        data=DataConfig("digits", limit=64, prefetch=0),
        model=ModelConfig("lif_mlp", {"hidden": (8,), "T": 4}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(epochs=1, batch_size=32, num_steps=4, eval_batch_size=64),
    )
    run_dir = tmp_path / "run"
    fit(config, run_dir, progress=False, plots=False)
    text = energy.energy_command(run_dir, batch=5)
    assert "model lif_mlp, best checkpoint (step 2), 5 test samples" in text
    assert "blocks.0.fc" in text and "E_SNN" in text


def test_a_report_says_why_the_snn_costs_more_than_the_ann(mlp):
    x = jr.bernoulli(jr.key(7), 0.3, (5, 2, 64)).astype(jnp.float32)
    report = energy.estimate(mlp, x)
    assert report.ratio > 1  # the first layer reads real values at each of T = 5 steps
    table = report.table()
    assert "blocks.0.fc (×5), repeated at every time step" in table
    share = _rows(report)["blocks.0.fc"].energy / report.e_snn
    assert f"{100 * share:.0f} % of the SNN's energy is multiply-accumulates" in table
