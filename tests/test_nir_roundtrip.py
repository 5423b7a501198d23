"""Round trips ``export → load`` give identical spikes: every exportable spikejax primitive, the
digits MLP and the event-digits conv model (their experiment configurations, with the hard reset
NIR has); a loaded model traces, trains, streams and estimates energy like any other."""

import importlib.util
import pathlib
import re

import jax
import jax.numpy as jnp
import nir
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers

ROOT = pathlib.Path(__file__).resolve().parents[1]
DT = 1e-3
f32 = jnp.float32


def experiment_options(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / name / "config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.get_config().model.options)


def per_neuron(n, low, high, seed):
    return jnp.asarray(np.random.default_rng(seed).uniform(low, high, n), f32)


def dense(n_in, n_out, seed, bias=True):
    return layers.TimeFolded(nnx.Linear(n_in, n_out, use_bias=bias, rngs=nnx.Rngs(seed)))


class Primitives(nnx.Module):
    """Linear (with and without bias) → LIF → IF → CubaLIF → Recurrent LIF → Delay → Scale →
    Threshold, a residual addition, LIF with β = 1 (IF) and LI with β = 1 (I); CubaLI and LI
    readouts."""

    def __init__(self):
        n = 6
        self.fc1 = dense(5, n, 1)
        self.lif = layers.Spiking(
            sj.neurons.LIF(
                beta=per_neuron(n, 0.5, 0.95, 0),
                threshold=per_neuron(n, 0.5, 1.0, 1),
                reset="zero",
                r=per_neuron(n, 3.0, 5.0, 2),
                v_leak=per_neuron(n, -0.1, 0.1, 3),
                decay_input=True,
            )
        )
        self.fc2 = dense(n, n, 2, bias=False)
        self.if_ = layers.Spiking(sj.neurons.IF(threshold=0.3, reset="zero", v_reset=-0.1))
        self.fc3 = dense(n, n, 3)
        self.cuba = layers.Spiking(
            sj.neurons.CubaLIF(
                alpha=0.6, beta=per_neuron(n, 0.6, 0.9, 4), threshold=0.4, reset="zero", strict=True
            )
        )
        w = jnp.asarray(np.random.default_rng(5).normal(0, 0.5, (n, n)), f32)
        self.rec = layers.Spiking(sj.neurons.Recurrent(sj.neurons.LIF(beta=0.8, reset="zero"), w))
        self.delay = layers.Spiking(sj.nir.Delay(steps=jnp.array([0, 1, 2, 0, 3, 1])))
        self.scale = sj.nir.Scale(per_neuron(n, 0.5, 2.0, 6))
        self.thr = sj.nir.Threshold(jnp.full((n,), 0.3))
        self.integrate = layers.Spiking(sj.neurons.LIF(beta=1.0, threshold=0.9, reset="zero"))
        self.fc4 = dense(n, 3, 7)
        self.li = layers.Spiking(sj.neurons.LI(beta=0.9))
        self.i = layers.Spiking(sj.neurons.LI(beta=1.0, r=0.5))
        self.cuba_li = layers.Spiking(sj.neurons.CubaLI(alpha=0.5, beta=0.7, w_in=2.0))

    def __call__(self, x):
        s1 = self.lif(self.fc1(x))
        s2 = self.if_(self.fc2(s1))
        s3 = self.rec(self.cuba(self.fc3(s2)) + s1)  # a residual addition
        s4 = self.integrate(self.thr(self.scale(self.delay(s3))))
        y = self.fc4(s4)
        return self.li(y) + self.i(y) + self.cuba_li(y)


def outputs_and_spikes_equal(model, loaded, x, x_loaded, to_nir=lambda a: a, exact=True):
    """Outputs equal (to float32 rounding unless ``exact``) and every spiking layer's spikes
    identical; each layer spikes sometimes. A recurrent layer of the model is a Loop after loading,
    whose output the recording does not list as spikes: it is checked through the layers after
    it."""
    record = nnx.jit(sj.graph.record)  # one compilation instead of many eager operations
    out, rec = record(model, x)
    out_loaded, rec_loaded = record(loaded, x_loaded)
    if exact:
        np.testing.assert_array_equal(np.asarray(out_loaded), np.asarray(to_nir(out)))
    else:
        np.testing.assert_allclose(out_loaded, to_nir(out), rtol=1e-4, atol=1e-5)
    compared = 0
    for name, spikes in rec.spikes.items():
        key = "layers." + re.sub(r"[^0-9A-Za-z_]", "_", name)
        if key not in rec_loaded.spikes:
            assert rec.graph[name].recurrent, name
            continue
        assert 0 < float(spikes.sum()) < spikes.size, f"{name} must spike sometimes"
        np.testing.assert_array_equal(
            np.asarray(to_nir(spikes)), np.asarray(rec_loaded.spikes[key])
        )
        compared += 1
    assert compared >= 1


def test_every_primitive_round_trips_through_a_file(tmp_path):
    model = Primitives()
    x = jax.random.uniform(jax.random.key(0), (12, 3, 5), f32, 0.0, 2.0)
    path = tmp_path / "primitives.nir"
    graph = sj.nir.write(path, model, x, dt=DT)
    types = sorted({type(node).__name__ for node in graph.nodes.values()})
    assert types == [
        "Affine",
        "CubaLI",
        "CubaLIF",
        "Delay",
        "I",
        "IF",
        "Input",
        "LI",
        "LIF",
        "Linear",
        "Output",
        "Scale",
        "Threshold",
    ]
    assert ("cuba", "rec") in graph.edges and ("rec.rec", "rec") in graph.edges
    loaded = sj.nir.load(path, dt=DT)
    outputs_and_spikes_equal(model, loaded, x, x, exact=False)
    # and back again: the loaded model exports to the same graph
    again = sj.nir.export(loaded, x, dt=DT)
    assert sorted(again.nodes) == sorted(graph.nodes)
    assert sorted(again.edges) == sorted(graph.edges)
    np.testing.assert_array_equal(again.nodes["lif"].tau, graph.nodes["lif"].tau)


def test_digits_mlp_round_trips():
    options = experiment_options("digits_lif_mlp") | {"reset": "zero"}
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), **options)
    x = jax.random.uniform(jax.random.key(1), (options["T"], 4, 64), f32, 0.0, 2.0)
    loaded = sj.nir.load(sj.nir.export(model, x, dt=DT), dt=DT)
    outputs_and_spikes_equal(model, loaded, x, x)


@pytest.mark.parametrize("T", [4, pytest.param(None, marks=pytest.mark.slow)], ids=["T4", "full"])
def test_event_digits_conv_round_trips(T):
    """The experiment's network (17×17 frames, 16 and 32 channels); the default run uses 4 of its
    16 steps."""
    options = experiment_options("event_digits_conv") | {"reset": "zero"}
    options["T"] = T or options["T"]
    model = sj.models.create("conv_snn", rngs=nnx.Rngs(0), **options)
    model.eval()  # batch norm in evaluation mode is folded into the convolutions
    h, w = options["image_size"]
    shape = (options["T"], 2, h, w, options["in_channels"])
    x = (jax.random.uniform(jax.random.key(2), shape) < 0.3).astype(f32)
    graph = sj.nir.export(model, x, dt=DT)
    assert isinstance(graph.nodes["blocks.0.max_pool"], nir.Threshold)  # max-pool of spikes
    loaded = sj.nir.load(graph, dt=DT)
    x_nir = jnp.moveaxis(x, -1, 2)  # NIR is channels first

    def to_nir(a):
        return jnp.moveaxis(a, -1, 2) if a.ndim == 5 else a

    # batch norm folded into the weights rounds differently: outputs to float32 tolerance
    outputs_and_spikes_equal(model, loaded, x, x_nir, to_nir, exact=False)
    if T is not None:
        return
    again = sj.nir.export(loaded, x_nir, dt=DT)  # and the loaded model exports the same graph
    assert sorted(again.edges) == sorted(graph.edges)
    np.testing.assert_array_equal(
        again.nodes["blocks.1.conv"].weight, graph.nodes["blocks.1.conv"].weight
    )


class Small(nnx.Module):
    """Linear → LIF → recurrent LIF (a Loop once loaded) → Delay → Linear → LI."""

    def __init__(self):
        self.fc1 = dense(5, 4, 1)
        self.lif = layers.Spiking(sj.neurons.LIF(beta=0.8, threshold=0.5, reset="zero"))
        w = jnp.asarray(np.random.default_rng(5).normal(0, 0.5, (4, 4)), f32)
        self.rec = layers.Spiking(sj.neurons.Recurrent(sj.neurons.LIF(beta=0.8, reset="zero"), w))
        self.delay = layers.Spiking(sj.nir.Delay(steps=jnp.array([0, 1, 2, 1])))
        self.fc2 = dense(4, 3, 2)
        self.li = layers.Spiking(sj.neurons.LI(beta=0.9))

    def __call__(self, x):
        return self.li(self.fc2(self.delay(self.rec(self.lif(self.fc1(x))))))


def test_a_loaded_model_traces_trains_streams_and_estimates_energy():
    x = jax.random.uniform(jax.random.key(3), (8, 2, 5), f32, 0.0, 3.0)
    model = sj.nir.load(sj.nir.export(Small(), x, dt=DT), dt=DT)
    graph = sj.graph.trace(model, x)
    assert [n.name for n in graph.synaptic] == [
        "layers.fc1_module.module",
        "layers.fc2_module.module",
    ]
    assert graph["layers.rec"].op == "Loop" and graph["layers.delay"].op == "Delay"
    state = sj.init_state(model, (2, 5))
    run = nnx.jit(sj.run)  # both chunks share one compilation
    first, state = run(model, x[:4], state)  # streaming carries the loop and the delay line
    second, _ = run(model, x[4:], state)
    full = nnx.jit(lambda m, x: m(x))(model, x)
    np.testing.assert_array_equal(jnp.concatenate([first, second]), full)
    assert float(jnp.abs(full).max()) > 0
    grads = nnx.jit(nnx.grad(lambda m: jnp.mean(m(x) ** 2)))(model)
    leaves = jax.tree_util.tree_leaves(nnx.state(grads, nnx.Param))
    assert leaves and all(bool(jnp.isfinite(g).all()) for g in leaves)
    assert float(jnp.abs(grads["layers"]["fc1_module"]["module"]["kernel"][...]).max()) > 0
    report = sj.energy.estimate(model, x)
    assert [r.name for r in report.rows] == ["layers.fc1_module.module", "layers.fc2_module.module"]
    assert report.rows[1].op == "ac"  # fed by spikes (through the delay line)


@pytest.mark.parametrize(
    ("neuron", "match"),
    [
        (sj.neurons.LIF(beta=0.9), r"node 'sn': LIF with reset='subtract' has no NIR form"),
        (sj.neurons.ALIF(beta=0.9, rho=0.9, gamma=0.5), r"node 'sn': the neuron ALIF has no exact"),
        (sj.neurons.LIF(beta=0.0, reset="zero"), None),
    ],
)
def test_export_refuses_what_has_no_exact_nir_form(neuron, match):
    class Net(nnx.Module):
        def __init__(self):
            self.fc = dense(3, 2, 0)
            self.sn = layers.Spiking(neuron)

        def __call__(self, x):
            return self.sn(self.fc(x))

    x = jnp.ones((4, 2, 3))
    if match is None:  # β = 0 is fine with Euler (τ = dt), not with the exact step
        sj.nir.export(Net(), x, dt=DT)
        with pytest.raises(
            sj.nir.ExportError, match=r"node 'sn': the decay β must lie in \(0, 1\)"
        ):
            sj.nir.export(Net(), x, dt=DT, discretization="exact")
        return
    with pytest.raises(sj.nir.ExportError, match=match):
        sj.nir.export(Net(), x, dt=DT)


def test_export_refuses_readouts_and_bad_arguments():
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(4,), reset="zero", T=2)

    class WithReadout(nnx.Module):
        def __init__(self):
            self.net = model

        def __call__(self, x):
            return self.net(x).mean(0)

    x = jnp.ones((2, 2, 64))
    with pytest.raises(sj.nir.ExportError, match=r"node 'mean': readout \(mean\) has no exact NIR"):
        sj.nir.export(WithReadout(), x, dt=DT)
    for dt in (0.0, -1e-3, float("nan"), True):
        with pytest.raises(ValueError, match=r"`spikejax.nir.export`: `dt` must be a positive"):
            sj.nir.export(model, x, dt=dt)
    with pytest.raises(ValueError, match=r"`discretization` must be 'euler' or 'exact'"):
        sj.nir.export(model, x, dt=DT, discretization="rk4")
