"""Event-driven synapses (`layers.EventLinear`, `layers.event_matmul`) against the dense layer.

Exactness: weights, inputs and output cotangents are small multiples of powers of two, so every
partial sum below is exactly representable in float32 and any summation order gives the same
bits: the event path must then equal ``nnx.Linear`` bit for bit, forward and gradients. With
arbitrary float weights, where the orders differ, a rounding bound is checked instead.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers

T, B, N_IN, N_OUT = 3, 4, 45, 8  # 45 inputs: not a multiple of the 32-bit packing
NATIVE = sj.kernels.native_status()


def with_native(*args):
    """A parameter set for ``method="native"``, skipped where the C++ kernels are not available."""
    reason = f"no C++ kernels: {NATIVE.reason}"
    return pytest.param(
        *args, "native", marks=pytest.mark.skipif(not NATIVE.available, reason=reason)
    )


def dyadic(rng, shape, scale=64):
    """Integers in [-8, 8] divided by ``scale``: sums of a few hundred stay exact in float32."""
    return jnp.asarray(rng.integers(-8, 9, size=shape) / scale, jnp.float32)


slots = jax.jit(layers.event_slots, static_argnums=1)


def spikes(rng, shape, p):
    return jnp.asarray((rng.random(shape) < p).astype(np.float32))


def pair(use_bias, *, threshold, method="auto", seed=0):
    """An EventLinear and an nnx.Linear holding the same dyadic parameters."""
    rng = np.random.default_rng(seed)
    event = layers.EventLinear(
        N_IN, N_OUT, threshold=threshold, method=method, use_bias=use_bias, rngs=nnx.Rngs(0)
    )
    dense = nnx.Linear(N_IN, N_OUT, use_bias=use_bias, rngs=nnx.Rngs(0))
    kernel, bias = dyadic(rng, (N_IN, N_OUT)), dyadic(rng, (N_OUT,))
    for layer in (event, dense):
        layer.kernel[...] = kernel
        if use_bias:
            layer.bias[...] = bias
    return layers.TimeFolded(event), layers.TimeFolded(dense)


def value_and_grads(model):
    """jit(x, cotangent) -> (y, grads of <y, cotangent> w.r.t. the parameters and x)."""
    graphdef, state = nnx.split(model)

    def loss(state, x, cot):
        y = nnx.merge(graphdef, state)(x)
        return jnp.sum(y * cot), y

    @jax.jit
    def run(x, cot):
        (_, y), (gs, gx) = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(state, x, cot)
        return y, gs, gx

    return run


def assert_same(a, b):
    for (path, x), y in zip(
        jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves(b), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=str(path))


@pytest.mark.parametrize(
    ("use_bias", "threshold", "method"),
    [
        (True, 1.0, "loop"),
        (False, 1.0, "gather"),
        (True, 1.0, "gather"),
        with_native(True, 1.0),
        with_native(False, 0.02),
        (False, 0.02, "auto"),
    ],
)
def test_event_linear_equals_dense_bit_for_bit(use_bias, threshold, method):
    event, dense = pair(use_bias, threshold=threshold, method=method)
    run_event, run_dense = value_and_grads(event), value_and_grads(dense)
    rng = np.random.default_rng(3)
    cot = dyadic(rng, (T, B, N_OUT), scale=4)
    # 0 %, a few %, 100 %, and spike counts and graded values (any values are events).
    inputs = [spikes(rng, (T, B, N_IN), p) for p in (0.0, 0.03, 1.0)]
    inputs.append(jnp.asarray(rng.integers(0, 3, (T, B, N_IN)) * (rng.random((T, B, N_IN)) < 0.1)))
    inputs[-1] = inputs[-1].astype(jnp.float32)
    inputs.append(spikes(rng, (T, B, N_IN), 0.05) * dyadic(rng, (T, B, N_IN), scale=2))
    for x in inputs:
        assert_same(run_event(x, cot), run_dense(x, cot))
    if use_bias:  # a silent input gives the bias
        y = run_event(inputs[0], cot)[0]
        np.testing.assert_array_equal(y, jnp.broadcast_to(event.module.bias[...], y.shape))


def test_every_tier_and_the_dense_fallback_equal_the_product():
    """Capacity 5000 runs tiers of 5000, 1250 and 0 events; above 5000 the dense product (the
    native kernels have no tiers: up to 5000 events the kernel, above it the dense product)."""
    rng = np.random.default_rng(5)
    w = dyadic(rng, (64, 16))
    cot = dyadic(rng, (100, 16), scale=4)

    def run(method):
        def loss(x, w):
            return jnp.sum(layers.event_matmul(x, w, capacity=5000, method=method) * cot)

        return jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))

    def reference(x, w):
        return jnp.sum(jnp.dot(x, w) * cot)

    methods = ("loop", "gather", "native") if NATIVE.available else ("loop", "gather")
    runs = {m: run(m) for m in methods}
    ref = jax.jit(jax.value_and_grad(reference, argnums=(0, 1)))
    for count in (0, 1000, 3000, 6000):  # tiers 0, 1250, 5000; then the dense product
        x = np.zeros(100 * 64, np.float32)
        x[rng.choice(x.size, count, replace=False)] = 1.0
        x = jnp.asarray(x.reshape(100, 64))
        assert int(slots(x, 0)[2]) == count
        for f in runs.values():
            assert_same(f(x, w), ref(x, w))


def test_arbitrary_weights_within_the_rounding_bound():
    """Float weights: both products sum the same k terms per output in different orders, so each
    is within γ_k Σ|terms| of the exact sum (γ_k = k·u/(1-k·u), u = 2⁻²⁴) and they differ by at
    most twice that; forward and weight gradient are checked against that bound in float64."""
    rng = np.random.default_rng(7)
    x = spikes(rng, (64, 200), 0.05)
    w = jnp.asarray(rng.standard_normal((200, 32)), jnp.float32)
    g = jnp.asarray(rng.standard_normal((64, 32)), jnp.float32)
    u = 2.0**-24

    def loss(x, w, product):
        return jnp.sum(product(x, w) * g)

    def event(x, w):
        return layers.event_matmul(x, w, capacity=64 * 200)

    f = jax.jit(jax.value_and_grad(lambda w: loss(x, w, event)))
    (_, dw), y = f(w), jax.jit(event)(x, w)
    x64, w64, g64 = (np.asarray(a, np.float64) for a in (x, w, g))
    for got, want, terms, k in (
        (y, np.dot(x, w), np.abs(x64) @ np.abs(w64), x64.sum(1, keepdims=True)),
        (dw, np.dot(x.T, g), np.abs(x64.T) @ np.abs(g64), x64.sum(0)[:, None]),
    ):
        gamma = k * u / (1 - k * u)
        assert np.all(np.abs(np.asarray(got, np.float64) - np.asarray(want)) <= 2 * gamma * terms)


def test_event_slots_list_the_nonzero_entries_in_row_major_order():
    rng = np.random.default_rng(11)
    x = spikes(rng, (7, 45), 0.2) * 3.0
    rows, cols = np.nonzero(np.asarray(x))
    got_rows, got_cols, count = slots(x, rows.size + 5)
    assert int(count) == rows.size
    np.testing.assert_array_equal(got_rows[: rows.size], rows)
    np.testing.assert_array_equal(got_cols[: rows.size], cols)
    assert set(np.asarray(got_rows[rows.size :]).tolist()) == {7}
    assert set(np.asarray(got_cols[rows.size :]).tolist()) == {45}
    short = slots(x, 10)  # fewer slots than events: the first ten, and the count
    np.testing.assert_array_equal(short[0], rows[:10])
    assert int(short[2]) == rows.size


def test_vmap_over_a_batch_of_inputs():
    rng = np.random.default_rng(13)
    w = dyadic(rng, (45, 8))
    xs = jnp.stack([spikes(rng, (6, 45), p) for p in (0.0, 0.05, 0.9)])
    got = jax.jit(jax.vmap(lambda x: layers.event_matmul(x, w, capacity=30)))(xs)
    np.testing.assert_array_equal(got, jnp.einsum("bij,jk->bik", xs, w))


@pytest.mark.parametrize("method", ["loop", "gather", with_native()])
def test_under_vmap_one_branch_runs_for_every_member(method):
    # An infinite weight tells the paths apart: the dense product multiplies it by the zero
    # inputs (NaN), the events never read them. A batched choice would become a select that
    # runs both; the choice is shared instead: events while every member fits the capacity,
    # the dense product for all as soon as one does not.
    rng = np.random.default_rng(14)
    w = dyadic(rng, (N_IN, N_OUT)).at[0, 0].set(jnp.inf)
    sparse = jnp.stack([spikes(rng, (6, N_IN), p) for p in (0.0, 0.05, 0.1)]).at[1, 2, 0].set(1.0)
    dense_member = spikes(rng, (6, N_IN), 0.9)[None]

    def product(x):
        return layers.event_matmul(x, w, capacity=30, method=method)

    events = jax.jit(jax.vmap(product))(sparse)
    assert not np.isnan(events).any() and np.isinf(events[1, 2, 0])
    for member, x in zip(events, sparse, strict=True):
        np.testing.assert_array_equal(member, product(x))  # each member alone: the events
    xs = jnp.concatenate([sparse, dense_member])
    mixed = jax.jit(jax.vmap(product))(xs)
    # All took the dense product: NaN wherever the input of the infinite weight is 0.
    np.testing.assert_array_equal(np.isnan(mixed[..., 0]), xs[..., 0] == 0)
    # The weight gradient follows the same shared choice, and equals each member's own.
    g = dyadic(rng, (3, 6, N_OUT))
    w_finite = w.at[0, 0].set(0.5)

    def weight_grad(x, g):
        return jax.vjp(lambda w: layers.event_matmul(x, w, capacity=30, method=method), w_finite)[
            1
        ](g)[0]

    got = jax.jit(jax.vmap(weight_grad))(sparse, g)
    for member, x, gm in zip(got, sparse, g, strict=True):
        np.testing.assert_array_equal(member, weight_grad(x, gm))


def test_graph_state_and_macs_are_those_of_the_dense_layer():
    event, dense = pair(True, threshold=0.05)
    example = jnp.zeros((T, B, N_IN))
    ge, gd = sj.graph.trace(event, example), sj.graph.trace(dense, example)
    [ne], [nd] = ge.nodes, gd.nodes
    assert (ne.kind, ne.macs, ne.params, ne.param_paths, dict(ne.attrs)) == (
        nd.kind,
        nd.macs,
        nd.params,
        nd.param_paths,
        dict(nd.attrs),
    )
    assert ne.macs == N_IN * N_OUT
    assert jax.tree_util.tree_structure(nnx.state(event)) == jax.tree_util.tree_structure(
        nnx.state(dense)
    )


def test_bad_arguments_are_named():
    w = jnp.zeros((4, 3))
    with pytest.raises(TypeError, match=r"`event_matmul`: `x` must have a floating dtype"):
        layers.event_matmul(jnp.zeros((2, 4), jnp.int32), w, capacity=1)
    with pytest.raises(ValueError, match=r"`event_matmul`: `x` must be \[rows, in\].*\(2, 5\)"):
        layers.event_matmul(jnp.zeros((2, 5)), w, capacity=1)
    with pytest.raises(ValueError, match=r"`capacity` must be a non-negative int; got -1"):
        layers.event_matmul(jnp.zeros((2, 4)), w, capacity=-1)
    with pytest.raises(ValueError, match=r"`method` must be one of"):
        layers.event_matmul(jnp.zeros((2, 4)), w, capacity=1, method="sparse")
    with pytest.raises(TypeError, match=r"same dtype"):
        layers.event_matmul(jnp.zeros((2, 4), jnp.bfloat16), w, capacity=1)
    with pytest.raises(ValueError, match=r"`EventLinear`: `threshold` must be a number in"):
        layers.EventLinear(4, 3, threshold=1.5, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`EventLinear`: `method` must be one of"):
        layers.EventLinear(4, 3, method="dense", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`EventLinear`: `inputs` must end in in_features=4"):
        layers.EventLinear(4, 3, rngs=nnx.Rngs(0))(jnp.zeros((2, 5)))
