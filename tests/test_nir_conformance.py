"""Conformance: every NIR primitive, written with the ``nir`` package and read back from a file by
``spikejax.nir.load``, against the independent NumPy simulation of tests/nir_numpy.py: spikes
identical, membranes and analog outputs to float32 tolerance."""

import jax.numpy as jnp
import nir
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from tests.nir_numpy import simulate

T, B, DT = 10, 2, 1e-3
RNG = np.random.default_rng(0)
f32 = np.float32


def rand(*shape, low=-1.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(f32)


def full(n, value):
    return np.full(n, value, f32)


def lif(n, **kw):
    p = {
        "tau": rand(n, low=2e-3, high=6e-3),
        "r": rand(n, low=1.5, high=3.0),
        "v_leak": rand(n, low=-0.2, high=0.2),
        "v_threshold": rand(n, low=0.6, high=1.0),
        "v_reset": rand(n, low=-0.3, high=0.1),
    }
    return nir.LIF(**{**p, **kw})


def cuba(n, spiking=True):
    p = {
        "tau_syn": rand(n, low=2e-3, high=4e-3),
        "tau_mem": rand(n, low=2e-3, high=5e-3),
        "r": rand(n, low=1.5, high=3.0),
        "v_leak": rand(n, low=-0.1, high=0.1),
        "w_in": rand(n, low=1.0, high=2.0),
    }
    if not spiking:
        return nir.CubaLI(**p)
    return nir.CubaLIF(
        **p, v_threshold=rand(n, low=0.3, high=0.6), v_reset=rand(n, low=-0.2, high=0.1)
    )


def chain(in_shape, *items, back=()):
    """Input → items... → Output, plus extra edges given as (name, name) pairs in ``back``."""
    nodes = {"input": nir.Input(input_type={"input": np.array(in_shape)})}
    edges, last = [], "input"
    for name, node in items:
        nodes[name] = node
        edges.append((last, name))
        last = name
    nodes["output"] = nir.Output(output_type={"output": np.array([])})
    edges.append((last, "output"))
    return nodes, edges + list(back)


def affine(n_in, n_out, scale=1.0):
    return nir.Affine(weight=rand(n_out, n_in) * scale, bias=rand(n_out) * 0.2)


N = 5
CASES = {
    "affine_lif": chain((4,), ("fc", affine(4, N)), ("lif", lif(N))),
    "linear_if": chain(
        (4,),
        ("fc", nir.Linear(weight=rand(N, 4))),
        (
            "if",
            nir.IF(
                r=rand(N, low=0.5, high=1.5),
                v_threshold=full(N, 1.0),
                v_reset=rand(N, low=-0.5, high=0.0),
            ),
        ),
    ),
    "li": chain(
        (4,),
        ("fc", affine(4, N)),
        (
            "li",
            nir.LI(
                tau=rand(N, low=2e-3, high=5e-3),
                r=rand(N, low=1, high=2),
                v_leak=rand(N, low=-0.2, high=0.2),
            ),
        ),
    ),
    "i": chain((4,), ("fc", affine(4, N)), ("i", nir.I(r=rand(N, low=0.5, high=1.5)))),
    "cuba_lif": chain((4,), ("fc", affine(4, N)), ("cuba", cuba(N))),
    "cuba_li": chain((4,), ("fc", affine(4, N)), ("cuba", cuba(N, spiking=False))),
    "scale_threshold": chain(
        (4,),
        ("scale", nir.Scale(scale=rand(4))),
        ("thr", nir.Threshold(threshold=rand(4, low=-0.3, high=0.3))),
    ),
    "delay": chain((4,), ("delay", nir.Delay(delay=np.array([0, 1, 3, 2]) * DT))),
    "conv1d_flatten": chain(
        (2, 7),
        (
            "conv",
            nir.Conv1d(
                input_shape=7,
                weight=rand(3, 2, 3),
                stride=2,
                padding=1,
                dilation=1,
                groups=1,
                bias=rand(3),
            ),
        ),
        (
            "lif",
            lif(
                1,
                tau=full(1, 3e-3),
                r=full(1, 2.0),
                v_leak=full(1, 0.0),
                v_threshold=full(1, 0.5),
                v_reset=full(1, 0.0),
            ),
        ),
        ("flat", nir.Flatten(input_type={"input": np.array([3, 4])}, start_dim=0, end_dim=-1)),
        ("fc", affine(12, 3)),
    ),
    "conv2d_pools": chain(
        (2, 6, 6),
        (
            "conv",
            nir.Conv2d(
                input_shape=(6, 6),
                weight=rand(4, 1, 3, 3),
                stride=1,
                padding=1,
                dilation=1,
                groups=2,
                bias=rand(4),
            ),
        ),
        (
            "sum",
            nir.SumPool2d(
                kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
            ),
        ),
        (
            "avg",
            nir.AvgPool2d(
                kernel_size=np.array([2, 2]), stride=np.array([1, 1]), padding=np.array([1, 1])
            ),
        ),
        ("flat", nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=1, end_dim=2)),
    ),
    "conv2d_dilated_strided_lif": chain(
        (1, 7, 7),
        (
            "conv",
            nir.Conv2d(
                input_shape=(7, 7),
                weight=rand(2, 1, 2, 2),
                stride=(2, 1),
                padding=(0, 1),
                dilation=2,
                groups=1,
                bias=rand(2),
            ),
        ),
        (
            "lif",
            lif(
                1,
                tau=full(1, 3e-3),
                r=full(1, 3.0),
                v_leak=full(1, 0.0),
                v_threshold=full(1, 0.4),
                v_reset=full(1, -0.1),
            ),
        ),
    ),
    "recurrent_lif": chain(
        (4,), ("fc", affine(4, N)), ("lif", lif(N)), back=[("lif", "rec"), ("rec", "lif")]
    ),
    "recurrent_cuba_lif": chain(
        (4,), ("fc", affine(4, N)), ("cuba", cuba(N)), back=[("cuba", "rec"), ("rec", "cuba")]
    ),
    "fan_in": chain(
        (4,), ("fc", affine(4, N)), ("lif", lif(N)), back=[("input", "fc2"), ("fc2", "lif")]
    ),
}
CASES["recurrent_lif"][0]["rec"] = affine(N, N, scale=0.8)
CASES["recurrent_cuba_lif"][0]["rec"] = nir.Linear(weight=rand(N, N) * 0.8)
CASES["fan_in"][0]["fc2"] = affine(4, N)
BACK = {"recurrent_lif": [("rec", "lif")], "recurrent_cuba_lif": [("rec", "cuba")]}
SPIKING = {
    "affine_lif",
    "linear_if",
    "cuba_lif",
    "scale_threshold",
    "conv2d_dilated_strided_lif",
    "recurrent_lif",
    "recurrent_cuba_lif",
    "fan_in",
}


@nnx.jit
def call(model, xs):
    """The model compiled as a whole (faster than its operations one by one)."""
    return model(xs)


def inputs(shape, seed):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (T, B, *shape)).astype(f32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_primitive_from_a_file_matches_the_numpy_simulation(name, tmp_path):
    nodes, edges = CASES[name]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    path = tmp_path / f"{name}.nir"
    nir.write(path, graph)
    model = sj.nir.load(path, dt=DT)
    in_shape = tuple(int(v) for v in nodes["input"].input_type["input"])
    xs = inputs(in_shape, seed=len(name))
    want, _, margin = simulate(graph, xs, dt=DT, back=BACK.get(name, ()))
    got = np.asarray(call(model, jnp.asarray(xs)))
    want = want["output"]
    assert got.shape == want.shape
    if name in SPIKING:
        assert margin > 1e-4, "the test input lies too close to a threshold to be decisive"
        assert 0 < want.sum() < want.size, "the case must spike sometimes and rest sometimes"
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("exact", [False, True], ids=["euler", "exact"])
def test_final_membranes_and_exact_discretisation(exact):
    nodes, edges = chain((4,), ("fc", affine(4, N)), ("lif", lif(N)))
    nodes["cuba"] = cuba(N)
    nodes["out2"] = nir.Output(output_type={"output": np.array([N])})
    edges += [("fc", "cuba"), ("cuba", "out2")]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    model = sj.nir.load(graph, dt=DT, discretization="exact" if exact else "euler")
    xs = inputs((4,), seed=5)
    want, mem, margin = simulate(graph, xs, dt=DT, exact=exact, record=("lif", "cuba"))
    assert margin > 1e-4
    state = sj.init_state(model, (B, 4))
    outs, state = sj.run(model, jnp.asarray(xs), state)
    np.testing.assert_array_equal(np.asarray(outs["output"]), want["output"])
    np.testing.assert_array_equal(np.asarray(outs["out2"]), want["out2"])
    np.testing.assert_allclose(state["layers.lif"].v, mem["lif"][-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state["layers.cuba"].v, mem["cuba"][-1], rtol=1e-5, atol=1e-5)


def test_snntorch_and_norse_conventions_import_and_run():
    """snnTorch: dt = 1e-4, r = τ/dt, v_leak = 0, scalar (1,) parameters (Leaky, β = 0.9, and
    Synaptic with w_in = τ_syn/dt): the loaded neurons are v ← βv + x and i ← αi + x, v ← βv + i.
    Norse: τ = 1/τ_inv (1e-2, 5e-3), r = 1, w_in = 1 at dt = 1e-3."""
    dt, beta, alpha = 1e-4, 0.9, 0.8
    tau, tau_syn = dt / (1 - beta), dt / (1 - alpha)
    one = np.ones(1, f32)
    w = rand(N, 4)
    nodes, edges = chain(
        (4,),
        ("fc", nir.Affine(weight=w, bias=np.zeros(N, f32))),
        (
            "leaky",
            nir.LIF(
                tau=one * tau, r=one * tau / dt, v_leak=one * 0, v_threshold=one, v_reset=one * 0
            ),
        ),
        ("fc2", nir.Linear(weight=rand(N, N))),
        (
            "syn",
            nir.CubaLIF(
                tau_syn=one * tau_syn,
                tau_mem=one * tau,
                r=one * tau / dt,
                v_leak=one * 0,
                v_threshold=one * 0.5,
                v_reset=one * 0,
                w_in=one * tau_syn / dt,
            ),
        ),
    )
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    model = sj.nir.load(graph, dt=dt)
    xs = inputs((4,), seed=9)
    v, i, v2, spikes = np.zeros((B, N)), np.zeros((B, N)), np.zeros((B, N)), []
    for x in xs.astype(np.float64):  # the discrete snnTorch neurons, reset to zero
        v = beta * v + x @ w.T
        s = (v > 1.0).astype(float)
        v = v * (1 - s)
        i = alpha * i + s @ np.asarray(nodes["fc2"].weight, np.float64).T
        v2 = beta * v2 + i
        s2 = (v2 > 0.5).astype(float)
        v2 = v2 * (1 - s2)
        spikes.append(s2)
    got = np.asarray(model(jnp.asarray(xs)))
    assert 0 < got.sum() < got.size
    np.testing.assert_array_equal(got, np.stack(spikes))
    want, _, _ = simulate(graph, xs, dt=dt)
    np.testing.assert_array_equal(got, want["output"])

    norse = {
        "fc": affine(4, N),
        "lif": nir.LIF(
            tau=full(N, 1e-2),
            r=full(N, 1.0),
            v_leak=full(N, 0.0),
            v_threshold=full(N, 0.1),
            v_reset=full(N, 0.0),
        ),
        "out": nir.CubaLI(tau_syn=one * 5e-3, tau_mem=one * 1e-2, r=one, v_leak=one * 0, w_in=one),
    }
    nodes, edges = chain((4,), *norse.items())
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    xs = inputs((4,), seed=10) * 20
    got = np.asarray(sj.nir.load(graph, dt=1e-3)(jnp.asarray(xs)))
    want, _, _ = simulate(graph, xs, dt=1e-3)
    np.testing.assert_allclose(got, want["output"], rtol=1e-5, atol=1e-6)
    assert np.abs(want["output"]).max() > 1e-3  # something reached the readout
