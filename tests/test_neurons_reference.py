"""Every neuron against an independent float64 numpy implementation of its documented update.

Each reference below is written from the class docstring (integrate → fire → reset, Θ(0) = 1) in
plain numpy; the spikejax neuron runs through ``spikejax.unroll`` with 64-bit JAX. Spikes must agree
exactly and states to rounding.
"""

import itertools
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj
from spikejax.neurons import ALIF, IF, LI, LIF, PLIF, CubaLIF, Izhikevich, Recurrent, RefractoryLIF

BATCH, N, T = 3, 7, 200
RESETS = ("subtract", "zero", "none")
TOL = {"rtol": 1e-12, "atol": 1e-12}


# --------------------------------------------------------------------------------------------------
# numpy references: step(state: tuple, x) -> (state, out)


def np_fire(h, theta, reset):
    s = np.where(h >= theta, 1.0, 0.0)
    if reset == "subtract":
        v = h - s * theta
    elif reset == "zero":
        v = np.where(s == 1.0, 0.0, h)
    else:
        v = h
    return v, s


def np_if(p, o):
    def step(state, x):
        (v,) = state
        v, s = np_fire(v + x, p["threshold"], o["reset"])
        return (v,), s

    return step


def np_lif(p, o):
    def step(state, x):
        (v,) = state
        b = p["beta"]
        h = b * v + ((1.0 - b) * x if o["decay_input"] else x)
        v, s = np_fire(h, p["threshold"], o["reset"])
        return (v,), s

    return step


def np_cuba(p, o):
    def step(state, x):
        i, v = state
        i = p["alpha"] * i + x
        h = p["beta"] * v + i
        v, s = np_fire(h, p["threshold"], o["reset"])
        return (i, v), s

    return step


def np_alif(p, o):
    def step(state, x):
        v, a = state
        h = p["beta"] * v + x
        theta_t = p["threshold"] + p["gamma"] * a
        v, s = np_fire(h, theta_t, o["reset"])
        a = p["rho"] * a + (1.0 - p["rho"]) * s
        return (v, a), s

    return step


def np_plif(p, o):
    k = 1.0 / (1.0 + np.exp(-p["w"]))

    def step(state, x):
        (v,) = state
        h = v + k * (x - v) if o["decay_input"] else (1.0 - k) * v + x
        v, s = np_fire(h, p["threshold"], o["reset"])
        return (v,), s

    return step


def np_li(p, o):
    def step(state, x):
        (v,) = state
        b = p["beta"]
        v = b * v + ((1.0 - b) * x if o["decay_input"] else x)
        return (v,), v

    return step


def np_izhikevich(p, o):
    # The paper's polynomial as written there (the library evaluates it in vertex form).
    def step(state, x):
        v, u = state
        h = v + p["dt"] * (0.04 * v**2 + 5.0 * v + 140.0 - u + x)
        w = u + p["dt"] * p["a"] * (p["b"] * v - u)
        s = np.where(h >= p["v_peak"], 1.0, 0.0)
        v = np.where(s == 1.0, p["c"], h)
        u = w + s * p["d"]
        return (v, u), s

    return step


def np_refractory(p, o):
    def step(state, x):
        v, count = state
        held = count > 0
        h = np.where(held, v, p["beta"] * v + x)
        s = np.where((h >= p["threshold"]) & ~held, 1.0, 0.0)
        if o["reset"] == "subtract":
            v = h - s * p["threshold"]
        elif o["reset"] == "zero":
            v = np.where(s == 1.0, 0.0, h)
        else:
            v = h
        count = np.where(s == 1.0, o["refractory"], np.maximum(count - 1, 0)).astype(np.int32)
        return (v, count), s

    return step


def np_recurrent(inner_step, weight):
    def step(state, x):
        inner, s_prev = state
        x = x + s_prev @ weight
        inner, s = inner_step(inner, x)
        return (inner, s), s

    return step


def np_run(step, state, xs):
    outs = []
    for x in xs:
        state, out = step(state, x)
        outs.append(out)
    return state, np.stack(outs)


# --------------------------------------------------------------------------------------------------
# random parameters, states and inputs per model


def rand_params(model, rng):
    u = lambda lo, hi: rng.uniform(lo, hi, N)  # noqa: E731
    theta = u(0.5, 1.5)
    if model == "IF":
        return {"threshold": theta}
    if model == "LIF":
        return {"beta": u(0.3, 1.0), "threshold": theta}
    if model == "CubaLIF":
        return {"alpha": u(0.2, 0.9), "beta": u(0.3, 1.0), "threshold": theta}
    if model == "ALIF":
        return {"beta": u(0.3, 1.0), "rho": u(0.5, 1.0), "gamma": u(0.0, 2.0), "threshold": theta}
    if model == "PLIF":
        return {"w": rng.normal(0.0, 1.5, N), "threshold": theta}
    if model == "LI":
        return {"beta": u(0.3, 1.0)}
    if model == "Izhikevich":  # around the paper's regular-spiking and fast-spiking neurons
        c = u(-70.0, -50.0)
        return {"a": u(0.02, 0.1), "b": u(0.15, 0.25), "c": c, "d": u(0.5, 8.0)} | {
            "v_peak": u(25.0, 35.0),
            "dt": u(0.25, 1.0),
        }
    if model == "RefractoryLIF":
        return {"beta": u(0.3, 1.0), "threshold": theta}
    raise AssertionError(model)


def rand_state(model, rng, o=None):
    if model == "Izhikevich":
        v = rng.uniform(-70.0, -40.0, (BATCH, N))
        return (v, rng.uniform(-16.0, -8.0, (BATCH, N)))
    v = rng.normal(0.0, 0.5, (BATCH, N))
    if model == "RefractoryLIF":
        return (v, rng.integers(0, o["refractory"] + 1, (BATCH, N)).astype(np.int32))
    if model == "CubaLIF":
        return (rng.normal(0.0, 0.3, (BATCH, N)), v)
    if model == "ALIF":
        return (v, rng.uniform(0.0, 1.0, (BATCH, N)))
    return (v,)


def rand_inputs(model, o, rng):
    # Means chosen so that every model spikes at an intermediate rate.
    mean = {"IF": 0.1, "CubaLIF": 0.1, "ALIF": 0.4}.get(model, 0.3)
    scale = 1.0
    if model == "Izhikevich":  # the paper's current units (mV/ms)
        mean, scale = 6.0, 6.0
    if o.get("decay_input"):
        mean, scale = 1.0, 2.0
    return rng.normal(mean, scale, (T, BATCH, N))


def sj_neuron(model, p, o):
    spiking = {"reset": o.get("reset"), "detach_reset": o.get("detach_reset")}
    if model == "IF":
        return IF(**p, **spiking)
    if model == "LIF":
        return LIF(**p, **spiking, decay_input=o["decay_input"])
    if model == "CubaLIF":
        return CubaLIF(**p, **spiking)
    if model == "ALIF":
        return ALIF(**p, **spiking)
    if model == "PLIF":
        return PLIF(**p, **spiking, decay_input=o["decay_input"])
    if model == "LI":
        return LI(**p, decay_input=o["decay_input"])
    if model == "Izhikevich":
        return Izhikevich(**p, detach_reset=o["detach_reset"])
    if model == "RefractoryLIF":
        return RefractoryLIF(**p, **spiking, refractory=o["refractory"])
    raise AssertionError(model)


NP_REF = {"IF": np_if, "LIF": np_lif, "CubaLIF": np_cuba, "ALIF": np_alif, "PLIF": np_plif}
NP_REF |= {"LI": np_li, "Izhikevich": np_izhikevich, "RefractoryLIF": np_refractory}


def configs():
    out = []
    detach = (True, False)
    for reset, d in itertools.product(RESETS, detach):
        for model in ("IF", "CubaLIF", "ALIF"):
            out.append((model, {"reset": reset, "detach_reset": d}))
        for model, di in itertools.product(("LIF", "PLIF"), (False, True)):
            out.append((model, {"reset": reset, "detach_reset": d, "decay_input": di}))
    for di in (False, True):
        out.append(("LI", {"decay_input": di}))
    for d in detach:
        out.append(("Izhikevich", {"detach_reset": d}))
    for reset, refractory in itertools.product(RESETS, (0, 1, 3)):
        out.append(
            ("RefractoryLIF", {"reset": reset, "detach_reset": True, "refractory": refractory})
        )
    return out


def config_id(model, o):
    return "-".join([model] + [f"{k}={v}" for k, v in o.items()])


def seed_of(name):
    return zlib.crc32(name.encode())


def run_sj(neuron, state, xs):
    with jax.enable_x64(True):
        state0 = jax.tree.map(jnp.asarray, state)
        final, outs = sj.unroll(neuron, state0, jnp.asarray(xs))
        assert outs.dtype == jnp.float64
        return jax.tree.map(np.asarray, final), np.asarray(outs)


def build(model, p, o):
    with jax.enable_x64(True):
        neuron = sj_neuron(model, p, o)
    for leaf in jax.tree.leaves(neuron):
        assert leaf.dtype == jnp.float64  # the parameters really are the float64 arrays given
    return neuron


def check_against_reference(ref_state, ref_out, state, out, spiking):
    if spiking:
        assert set(np.unique(ref_out)) <= {0.0, 1.0}
        rate = ref_out.mean()
        assert 0.02 < rate < 0.98, f"degenerate test input: spike rate {rate}"
        np.testing.assert_array_equal(out, ref_out)
    else:
        np.testing.assert_allclose(out, ref_out, **TOL)
    for got, want in zip(jax.tree.leaves(state), jax.tree.leaves(ref_state), strict=True):
        assert got.dtype == want.dtype, (got.dtype, want.dtype)  # int32 counts stay int32
        np.testing.assert_allclose(got, want, **TOL)


# --------------------------------------------------------------------------------------------------
# 200 random steps, every model and option


@pytest.mark.parametrize(("model", "o"), configs(), ids=[config_id(*c) for c in configs()])
def test_matches_numpy_reference(model, o):
    rng = np.random.default_rng(seed_of(config_id(model, o)))
    p = rand_params(model, rng)
    state0 = rand_state(model, rng, o)
    xs = rand_inputs(model, o, rng)
    ref_state, ref_out = np_run(NP_REF[model](p, o), state0, xs)
    neuron = build(model, p, o)
    state, out = run_sj(neuron, type(neuron.init_state((BATCH, N)))(*state0), xs)
    check_against_reference(ref_state, ref_out, state, out, spiking=model != "LI")


RECURRENT_CONFIGS = [
    (model, {"reset": reset, "detach_reset": True, **({"decay_input": True} if di else {})})
    for model, di in (("IF", 0), ("LIF", 0), ("LIF", 1), ("CubaLIF", 0), ("ALIF", 0), ("PLIF", 1))
    for reset in RESETS
]


@pytest.mark.parametrize(
    ("model", "o"), RECURRENT_CONFIGS, ids=[config_id(*c) for c in RECURRENT_CONFIGS]
)
def test_recurrent_matches_numpy_reference(model, o):
    o = {"decay_input": False, **o}
    rng = np.random.default_rng(seed_of("Recurrent-" + config_id(model, o)))
    p = rand_params(model, rng)
    weight = rng.normal(0.0, 0.4, (N, N))
    inner0 = rand_state(model, rng)
    s0 = np.where(rng.uniform(size=(BATCH, N)) < 0.3, 1.0, 0.0)
    xs = rand_inputs(model, o, rng)
    ref_state, ref_out = np_run(np_recurrent(NP_REF[model](p, o), weight), (inner0, s0), xs)
    inner = build(model, p, o)
    with jax.enable_x64(True):
        neuron = Recurrent(inner, weight)
    assert neuron.weight.dtype == jnp.float64
    state0 = sj.neurons.RecurrentState(type(inner.init_state((1,)))(*inner0), s0)
    state, out = run_sj(neuron, state0, xs)
    check_against_reference(ref_state, ref_out, state, out, spiking=True)
    # the feedback matters: without it the spikes differ
    _, out_open = np_run(NP_REF[model](p, o), inner0, xs)
    assert not np.array_equal(out_open, out)


def test_unbatched_and_multi_batch_recurrent_state():
    rng = np.random.default_rng(0)
    p = rand_params("LIF", rng)
    weight = rng.normal(0.0, 0.4, (N, N))
    xs = rng.normal(0.3, 1.0, (20, 2, BATCH, N))
    o = {"reset": "subtract", "decay_input": False}
    step = np_recurrent(np_lif(p, o), weight)
    with jax.enable_x64(True):
        neuron = Recurrent(LIF(**p), weight)
        _, out = sj.unroll(neuron, neuron.init_state(xs.shape[1:], jnp.float64), jnp.asarray(xs))
        _, out1 = sj.unroll(neuron, neuron.init_state((N,), jnp.float64), jnp.asarray(xs[:, 1, 2]))
    zeros = np.zeros(xs.shape[1:])
    _, ref = np_run(step, ((zeros,), zeros), xs)
    np.testing.assert_array_equal(np.asarray(out), ref)
    np.testing.assert_array_equal(np.asarray(out1), ref[:, 1, 2])


# --------------------------------------------------------------------------------------------------
# Θ(0) = 1: membranes that land exactly on threshold fire; one ulp below does not.
# Two neurons: neuron 0 lands exactly on the threshold at the last step, neuron 1 one ulp below it.

ULP = 2.0**-53  # half the float64 spacing in [1, 2); the spacing in [0.5, 1)


def exact_cases():
    below = lambda a, b: np.array([a, b])  # noqa: E731
    return {
        # h_2 = 0.5 + 0.5 = 1
        "IF": (IF(), [[0.5, 0.5], below(0.5, 0.5 - ULP)], [[0, 0], [1, 0]]),
        # h_2 = 0.5·0.5 + 0.75 = 1
        "LIF": (LIF(beta=0.5), [[0.5, 0.5], below(0.75, 0.75 - ULP)], [[0, 0], [1, 0]]),
        # h_2 = 0.5·0.5 + 0.5·1.5 = 1
        "LIF-decay_input": (
            LIF(beta=0.5, decay_input=True),
            [[1.0, 1.0], below(1.5, 1.5 - 2 * ULP)],
            [[0, 0], [1, 0]],
        ),
        # i_2 = 0.25 + 0.5, h_2 = 0.25 + 0.75 = 1
        "CubaLIF": (
            CubaLIF(alpha=0.5, beta=0.5),
            [[0.5, 0.5], below(0.5, 0.5 - ULP)],
            [[0, 0], [1, 0]],
        ),
        # θ_1 = 1 = h_1 (both fire, a_1 = 0.5), θ_2 = 1.5 = h_2
        "ALIF": (
            ALIF(beta=0.5, rho=0.5, gamma=1.0),
            [[1.0, 1.0], below(1.5, 1.5 - 2 * ULP)],
            [[1, 1], [1, 0]],
        ),
        # k = 1/2: h_2 = 0.5 + 0.5·(1.5 - 0.5) = 1
        "PLIF": (PLIF(w=0.0), [[1.0, 1.0], below(1.5, 1.5 - 2 * ULP)], [[0, 0], [1, 0]]),
        # k = 1/2: h_2 = 0.5·0.5 + 0.75 = 1
        "PLIF-no_decay_input": (
            PLIF(w=0.0, decay_input=False),
            [[0.5, 0.5], below(0.75, 0.75 - ULP)],
            [[0, 0], [1, 0]],
        ),
        # both fire at step 1 (h = 1); x'_2 = x_2 + 0.5
        "Recurrent": (
            Recurrent(IF(), np.diag([0.5, 0.5])),
            [[1.0, 1.0], below(0.5, 0.5 - ULP)],
            [[1, 1], [1, 0]],
        ),
    }


@pytest.mark.parametrize("name", list(exact_cases()))
def test_fires_exactly_at_threshold(name):
    neuron, xs, expected = exact_cases()[name]
    xs = np.asarray(xs, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with jax.enable_x64(True):
        state0 = neuron.init_state((2,), jnp.float64)
    _, out = run_sj(neuron, state0, xs)
    np.testing.assert_array_equal(out, expected)


def test_exact_cases_land_on_threshold_in_the_reference():
    # The hand-made inputs really reach h = θ (and one ulp below) in exact float64 arithmetic.
    v = 0.5 * 0.5 + np.array([0.75, 0.75 - ULP])
    assert v[0] == 1.0 and v[1] == np.nextafter(1.0, 0.0)
    h = 0.5 + 0.5 * (np.array([1.5, 1.5 - 2 * ULP]) - 0.5)
    assert h[0] == 1.0 and h[1] == np.nextafter(1.0, 0.0)
    _, s = np_run(
        np_alif({"beta": 0.5, "rho": 0.5, "gamma": 1.0, "threshold": 1.0}, {"reset": "subtract"}),
        (np.zeros(2), np.zeros(2)),
        np.array([[1.0, 1.0], [1.5, 1.5 - 2 * ULP]]),
    )
    np.testing.assert_array_equal(s, [[1, 1], [1, 0]])


# --------------------------------------------------------------------------------------------------
# detach_reset: the gradient of one step's membrane through the reset term, from the docstring


def atan_grad(u):
    # d/du [arctan(π/2 · 2 · u)/π + 1/2] for the default ATan(alpha=2)
    return 1.0 / (1.0 + (np.pi * u) ** 2)


X_GRAD = np.array([0.3, 0.9, 1.1, 1.6, 2.5])

RESET_GRAD_CASES = {
    # name: (neuron(reset, detach), inputs x, dh/dx, h(x), θ_1), one step from the zero state;
    # parameters are dyadic so that their float32 leaves are exact
    "IF": (lambda r, d: IF(reset=r, detach_reset=d), X_GRAD, 1.0, lambda x: x, 1.0),
    "LIF": (
        lambda r, d: LIF(beta=0.75, reset=r, detach_reset=d, decay_input=True),
        4.0 * X_GRAD,
        0.25,
        lambda x: 0.25 * x,
        1.0,
    ),
    "CubaLIF": (
        lambda r, d: CubaLIF(alpha=0.7, beta=0.8, reset=r, detach_reset=d),
        X_GRAD,
        1.0,
        lambda x: x,
        1.0,
    ),
    "ALIF": (
        lambda r, d: ALIF(beta=0.5, rho=0.5, gamma=1.0, threshold=0.75, reset=r, detach_reset=d),
        X_GRAD,
        1.0,
        lambda x: x,
        0.75,
    ),
    "PLIF": (
        lambda r, d: PLIF(w=0.0, reset=r, detach_reset=d),
        2.0 * X_GRAD,
        0.5,
        lambda x: 0.5 * x,
        1.0,
    ),
}


@pytest.mark.parametrize("detach", [True, False])
@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("name", list(RESET_GRAD_CASES))
def test_reset_gradient(name, reset, detach):
    make, xs, dhdx, h_of, theta = RESET_GRAD_CASES[name]
    neuron = make(reset, detach)
    with jax.enable_x64(True):

        def v_after_one_step(x):
            state, _ = neuron.step(neuron.init_state(x.shape, x.dtype), x)
            return state.v

        got = np.asarray(jax.grad(lambda x: v_after_one_step(x).sum())(jnp.asarray(xs)))
    h = h_of(xs)
    s = np.where(h >= theta, 1.0, 0.0)
    assert 0 < s.sum() < s.size
    g = atan_grad(h - theta)
    if reset == "subtract":
        dvdh = 1.0 - (0.0 if detach else theta * g)
    elif reset == "zero":
        dvdh = (1.0 - s) - (0.0 if detach else h * g)
    else:
        dvdh = np.ones_like(h)
    np.testing.assert_allclose(got, dhdx * dvdh, rtol=1e-12, atol=1e-15)
