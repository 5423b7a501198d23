"""STDP rules against their closed forms: the pair window, the triplet rule, reward modulation,
convolutional synapses, chunked windows."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import plasticity as sp

T = 24
PATH = "fc.kernel"


class OneSynapse(nnx.Module):
    """A linear synapse (no bias) driving LIF neurons: the smallest plastic network."""

    def __init__(self, n_in=1, n_out=1):
        self.fc = nnx.Linear(n_in, n_out, use_bias=False, rngs=nnx.Rngs(0))
        self.sn = sj.layers.Spiking(sj.neurons.LIF(beta=0.9))

    def __call__(self, xs):
        return self.sn(self.fc(xs))


class ConvSynapse(nnx.Module):
    def __init__(self):
        self.conv = nnx.Conv(2, 3, (2, 2), padding="VALID", use_bias=False, rngs=nnx.Rngs(0))
        self.sn = sj.layers.Spiking(sj.neurons.LIF(beta=0.9))

    def __call__(self, xs):
        t, b = xs.shape[:2]
        y = self.conv(xs.reshape((t * b, *xs.shape[2:])))
        return self.sn(y.reshape((t, b, *y.shape[1:])))


@pytest.fixture(scope="module")
def one():
    model = OneSynapse()
    return model, sp.synapses(model, jnp.zeros((T, 1, 1)))


def train(times):
    s = np.zeros((T, 1, 1), np.float32)
    for t in times:
        s[t, 0, 0] += 1.0
    return jnp.asarray(s)


def change(rule, syn, pre, post, w=0.3, path=PATH, **extra):
    """Δw the rule makes (it emits -Δw as a descent direction)."""
    params = {path.split(".")[0]: {"kernel": jnp.full(syn[path].kernel_shape, w, jnp.float32)}}
    state = rule.init(params)
    grads = {k: {"kernel": jnp.zeros_like(v["kernel"])} for k, v in params.items()}
    activity = sp.Activity({path: pre}, {path: post})
    updates, _ = rule.update(grads, state, params, activity=activity, **extra)
    return -np.asarray(updates[path.split(".")[0]]["kernel"])


def changes(rule, syn, cases, w=0.3):
    """Δw of the one-pre-one-post synapse for each ``(pre times, post times)`` case, in one
    compiled call (vmap over the cases)."""
    pres = jnp.stack([train(pre) for pre, _ in cases])
    posts = jnp.stack([train(post) for _, post in cases])

    def one(pre, post):
        params = {"fc": {"kernel": jnp.full((1, 1), w, jnp.float32)}}
        activity = sp.Activity({PATH: pre}, {PATH: post})
        updates, _ = rule.update(params, rule.init(params), params, activity=activity)
        return -updates["fc"]["kernel"][0, 0]

    return np.asarray(jax.jit(jax.vmap(one))(pres, posts))


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
def test_pair_window_matches_the_exponential_closed_form(one, dependence):
    _, syn = one
    a_plus, a_minus, tau_plus, tau_minus, w = 0.02, 0.015, 5.0, 8.0, 0.3
    rule = sp.stdp(
        syn, a_plus=a_plus, a_minus=a_minus, tau_plus=tau_plus, tau_minus=tau_minus,
        dependence=dependence, w_min=0.0, w_max=1.0,
    )  # fmt: skip
    f_plus, f_minus = (1.0, 1.0) if dependence == "additive" else (1.0 - w, w - 0.0)
    dts = (-7, -2, -1, 0, 1, 4, 9)
    got = changes(rule, syn, [([10], [10 + dt]) for dt in dts], w=w)
    for dt, value in zip(dts, got, strict=True):
        if dt >= 0:
            want = f_plus * a_plus * math.exp(-dt / tau_plus)
        else:
            want = -f_minus * a_minus * math.exp(dt / tau_minus)
        assert value == pytest.approx(want, rel=1e-5), dt


def test_additive_hard_bounds_stop_potentiation_at_w_max(one):
    _, syn = one
    rule = sp.stdp(syn, a_plus=0.1, w_min=0.0, w_max=1.0)
    assert change(rule, syn, train([3]), train([5]), w=1.0)[0, 0] == 0.0
    assert change(rule, syn, train([3]), train([5]), w=0.5)[0, 0] > 0.0
    assert change(rule, syn, train([5]), train([3]), w=0.0)[0, 0] == 0.0


A2P, A3P, A2M, A3M = 0.005, 0.008, 0.007, 0.002
TP, TM, TX, TY = 6.0, 9.0, 30.0, 40.0


def triplet_rule(syn):
    return sp.triplet_stdp(
        syn, a2_plus=A2P, a3_plus=A3P, a2_minus=A2M, a3_minus=A3M,
        tau_plus=TP, tau_minus=TM, tau_x=TX, tau_y=TY,
    )  # fmt: skip


def test_triplet_rule_on_pairs_is_the_pair_window(one):
    _, syn = one
    dts = (-4, 0, 3)
    got = changes(triplet_rule(syn), syn, [([10], [10 + dt]) for dt in dts])
    for dt, value in zip(dts, got, strict=True):
        want = A2P * math.exp(-dt / TP) if dt >= 0 else -A2M * math.exp(dt / TM)
        assert value == pytest.approx(want, rel=1e-5)


def test_triplet_rule_on_triplets_matches_pfister_gerstner(one):
    _, syn = one
    rule = triplet_rule(syn)
    a, b = 4, 6
    e = math.exp
    cases = {  # (pre times, post times): the published closed form, all-to-all
        "post-pre-post": (
            [a],
            [0, a + b],
            -A2M * e(-a / TM) + e(-b / TP) * (A2P + A3P * e(-(a + b) / TY)),
        ),
        "pre-post-pre": (
            [0, a + b],
            [a],
            A2P * e(-a / TP) - e(-b / TM) * (A2M + A3M * e(-(a + b) / TX)),
        ),
        "pre-post-post": (
            [0],
            [a, a + b],
            A2P * e(-a / TP) + e(-(a + b) / TP) * (A2P + A3P * e(-b / TY)),
        ),
    }
    shifted = [([t + 2 for t in pre], [t + 2 for t in post]) for pre, post, _ in cases.values()]
    got = changes(rule, syn, shifted)
    for name, value in zip(cases, got, strict=True):
        assert value == pytest.approx(cases[name][2], rel=1e-5), name


def test_reward_stdp_zero_reward_changes_nothing_and_unit_reward_is_stdp():
    model = OneSynapse(5, 4)
    syn = sp.synapses(model, jnp.zeros((T, 3, 5)))
    rng = np.random.default_rng(0)
    pre = jnp.asarray(rng.random((T, 3, 5)) < 0.3, jnp.float32)
    post = jnp.asarray(rng.random((T, 3, 4)) < 0.3, jnp.float32)
    rewarded = sp.reward_stdp(syn, tau_e=1e12)
    zero = change(rewarded, syn, pre, post, reward=jnp.zeros(()))
    assert np.all(zero == 0.0)
    per_sample = change(rewarded, syn, pre, post, reward=jnp.zeros((3,)))
    assert np.all(per_sample == 0.0)
    unit = change(rewarded, syn, pre, post, reward=jnp.ones(()))
    plain = change(sp.stdp(syn), syn, pre, post)
    assert np.abs(plain).max() > 0
    np.testing.assert_allclose(unit, plain, rtol=1e-5, atol=1e-8)


def test_reward_reads_the_eligibility_trace_at_the_end_of_the_window(one):
    _, syn = one
    tau_e, a_plus, tau_plus = 10.0, 0.01, 20.0
    rule = sp.reward_stdp(syn, tau_e=tau_e, a_plus=a_plus, tau_plus=tau_plus)
    pre = jnp.concatenate([train([3]), train([3]), train([5])], axis=1)
    post = jnp.concatenate([train([6]), train([6]), train([5])], axis=1)
    got = change(rule, syn, pre, post, reward=jnp.array([0.0, 2.0, -1.0]))[0, 0]
    # Each pair is one contribution at its postsynaptic spike, decayed to step T - 1.
    want = 2.0 * a_plus * math.exp(-3 / tau_plus) * math.exp(-(T - 1 - 6) / tau_e)
    want += -1.0 * a_plus * math.exp(-(T - 1 - 5) / tau_e)
    assert got == pytest.approx(want / 3, rel=1e-5)


def _np_traces(s, tau):
    x, out, before = np.zeros(s.shape[1:]), [], []
    for t in range(s.shape[0]):
        before.append(math.exp(-1 / tau) * x)
        x = math.exp(-1 / tau) * x + s[t]
        out.append(x)
    return np.stack(out), np.stack(before)


def test_convolutional_synapse_correlates_every_position():
    model = ConvSynapse()
    steps, b = 6, 2
    syn = sp.synapses(model, jnp.zeros((steps, b, 4, 4, 2)))
    assert syn["conv.kernel"].kind == "conv"
    rng = np.random.default_rng(1)
    pre = (rng.random((steps, b, 4, 4, 2)) < 0.4).astype(np.float32)
    post = (rng.random((steps, b, 3, 3, 3)) < 0.4).astype(np.float32)
    rule = sp.stdp(syn, a_plus=0.3, a_minus=0.2, tau_plus=3.0, tau_minus=4.0)
    got = change(rule, syn, jnp.asarray(pre), jnp.asarray(post), path="conv.kernel")
    r1, _ = _np_traces(pre, 3.0)
    _, o1_before = _np_traces(post, 4.0)
    want = np.zeros((2, 2, 2, 3))
    for i in range(2):
        for j in range(2):
            patch_r = r1[:, :, i : i + 3, j : j + 3, :]  # [T, B, 3, 3, cin]
            patch_s = pre[:, :, i : i + 3, j : j + 3, :]
            want[i, j] = 0.3 * np.einsum("tbyxc,tbyxo->co", patch_r, post)
            want[i, j] -= 0.2 * np.einsum("tbyxc,tbyxo->co", patch_s, o1_before)
    np.testing.assert_allclose(got, want / b, rtol=1e-5, atol=1e-6)


def test_carried_traces_make_chunks_equal_one_window():
    model = OneSynapse(3, 2)
    rng = np.random.default_rng(2)
    pre = jnp.asarray(rng.random((T, 2, 3)) < 0.3, jnp.float32)
    post = jnp.asarray(rng.random((T, 2, 2)) < 0.3, jnp.float32)
    syn = sp.synapses(model, jnp.zeros((T, 2, 3)))
    rule = sp.triplet_stdp(syn, a2_plus=0.01, a3_plus=0.02, reset=False)
    params = {"fc": {"kernel": jnp.zeros((3, 2))}}
    grads = {"fc": {"kernel": jnp.zeros((3, 2))}}
    state = rule.init(params)
    whole, _ = rule.update(grads, state, params, activity=sp.Activity({PATH: pre}, {PATH: post}))
    total = jnp.zeros((3, 2))
    for lo, hi in ((0, 7), (7, 15), (15, T)):
        act = sp.Activity({PATH: pre[lo:hi]}, {PATH: post[lo:hi]})
        part, state = rule.update(grads, state, params, activity=act)
        total = total + part["fc"]["kernel"]
    np.testing.assert_allclose(total, whole["fc"]["kernel"], rtol=1e-5, atol=1e-7)
    assert int(state.count) == 3


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda s: sp.stdp(s, tau_plus=-20.0), "tau_plus"),
        (lambda s: sp.stdp(s, tau_minus=0.0), "tau_minus"),
        (lambda s: sp.triplet_stdp(s, tau_y=-1.0), "tau_y"),
        (lambda s: sp.reward_stdp(s, tau_e=-5.0), "tau_e"),
        (lambda s: sp.adaptive_threshold(s, tau=-1.0), "tau"),
    ],
)
def test_negative_time_constants_are_refused_by_name(one, make, arg):
    _, syn = one
    with pytest.raises(ValueError, match=f"`{arg}` must be"):
        make(syn)


def test_bad_rule_arguments_are_named(one):
    _, syn = one
    with pytest.raises(ValueError, match="needs both bounds"):
        sp.stdp(syn, dependence="multiplicative")
    with pytest.raises(ValueError, match="`dependence` must be one of"):
        sp.stdp(syn, dependence="hebbian")
    rule = sp.stdp(syn)
    params = {"fc": {"kernel": jnp.zeros((1, 1))}}
    state = rule.init(params)
    with pytest.raises(ValueError, match=r"`fc\.kernel` has no recorded traces"):
        rule.update(params, state, params, activity=sp.Activity({}, {}))
    with pytest.raises(ValueError, match="needs `activity=`"):
        rule.update(params, state, params)
    with pytest.raises(ValueError, match=r"plastic parameters \['fc.kernel'\] must be leaves"):
        rule.init({"other": jnp.zeros(())})
    with pytest.raises(ValueError, match="needs `reward=`"):
        act = sp.Activity({PATH: train([1])}, {PATH: train([2])})
        sp.reward_stdp(syn).update(params, state, params, activity=act)
