"""Contracts of ``spikejax.layers``: Spiking, time folding, SeqBatchNorm, SeqDropout."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers

# --------------------------------------------------------------------------- helpers


def _lif_numpy(xs, beta, threshold):
    """Independent LIF (subtract reset, no input decay) over [T, ...]."""
    v = np.zeros(xs.shape[1:], np.float64)
    out = []
    for x in np.asarray(xs, np.float64):
        h = beta * v + x
        s = (h >= threshold).astype(np.float64)
        v = h - s * threshold
        out.append(s)
    return np.stack(out)


def _inputs(shape, seed=0, scale=0.6):
    return scale * jax.random.uniform(jax.random.key(seed), shape, jnp.float32, 0.0, 2.0)


# --------------------------------------------------------------------------- Spiking


def test_spiking_equals_unroll_and_numpy():
    beta = jnp.linspace(0.5, 0.95, 5)
    neuron = sj.neurons.LIF(beta=beta, threshold=0.8)
    layer = layers.Spiking(neuron, trainable=("beta",))
    xs = _inputs((6, 3, 5))
    ys = layer(xs)
    _, expected = sj.unroll(neuron, neuron.init_state((3, 5), jnp.float32), xs)
    np.testing.assert_array_equal(ys, expected)
    np.testing.assert_array_equal(ys, _lif_numpy(xs, np.asarray(beta), 0.8))
    assert ys.dtype == jnp.float32 and ys.shape == xs.shape
    assert ys.sum() > 0  # the example actually spikes


def test_spiking_every_call_starts_from_rest():
    layer = layers.Spiking(sj.neurons.LIF(beta=0.9))
    xs = _inputs((5, 2, 4), seed=1)
    np.testing.assert_array_equal(layer(xs), layer(xs))


def test_spiking_keeps_bfloat16():
    layer = layers.Spiking(sj.neurons.LIF(beta=jnp.full((4,), 0.9)), trainable=("beta",))
    xs = _inputs((3, 2, 4)).astype(jnp.bfloat16)
    assert layer(xs).dtype == jnp.bfloat16


def test_spiking_param_and_fixed_state():
    layer = layers.Spiking(
        sj.neurons.LIF(beta=jnp.full((4,), 0.9), threshold=0.7), trainable=("beta",)
    )
    params = nnx.state(layer, nnx.Param)
    everything = nnx.state(layer)
    assert set(params["params"].keys()) == {"beta"}
    assert set(everything["params"].keys()) == {"beta", "threshold"}
    assert isinstance(everything["params"]["threshold"], layers.Fixed)
    # Only arrays in the state: static choices (reset, surrogate) are not variables.
    leaves = jax.tree_util.tree_leaves(everything)
    assert len(leaves) == 2 and all(isinstance(leaf, jax.Array) for leaf in leaves)
    np.testing.assert_array_equal(everything["params"]["threshold"][...], np.float32(0.7))


def test_spiking_default_trainable_is_class_attribute():
    lif = layers.Spiking(sj.neurons.LIF(beta=0.9))
    assert len(jax.tree_util.tree_leaves(nnx.state(lif, nnx.Param))) == 0
    plif = layers.Spiking(sj.neurons.PLIF(w=jnp.zeros((3,))))
    params = nnx.state(plif, nnx.Param)
    assert set(params["params"].keys()) == {"w"}
    assert isinstance(nnx.state(plif)["params"]["threshold"], layers.Fixed)


def test_spiking_gradients_match_functional():
    xs = _inputs((8, 2, 4), seed=2)
    weights = jax.random.normal(jax.random.key(3), xs.shape)
    beta0 = jnp.array([0.6, 0.7, 0.8, 0.9])
    threshold0 = jnp.array(0.9)

    layer = layers.Spiking(
        sj.neurons.LIF(beta=beta0, threshold=threshold0), trainable=("beta", "threshold")
    )

    def loss_layer(model, xs):
        return (model(xs) * weights).sum()

    grads = nnx.grad(loss_layer)(layer, xs)

    def loss_fn(beta, threshold):
        neuron = sj.neurons.LIF(beta=beta, threshold=threshold)
        _, ys = sj.unroll(neuron, neuron.init_state(xs.shape[1:], xs.dtype), xs)
        return (ys * weights).sum()

    g_beta, g_threshold = jax.grad(loss_fn, argnums=(0, 1))(beta0, threshold0)
    got_beta = grads["params"]["beta"][...]
    got_threshold = grads["params"]["threshold"][...]
    assert np.all(np.isfinite(got_beta)) and np.all(np.isfinite(got_threshold))
    assert np.any(np.asarray(got_beta) != 0)
    np.testing.assert_allclose(got_beta, g_beta, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_threshold, g_threshold, rtol=1e-6, atol=1e-6)


def test_spiking_fixed_leaves_get_no_gradient_and_stay_put():
    layer = layers.Spiking(
        sj.neurons.LIF(beta=jnp.full((3,), 0.8), threshold=0.9), trainable=("beta",)
    )
    xs = _inputs((6, 2, 3), seed=4)
    grads = nnx.grad(lambda m: m(xs).sum())(layer)
    assert set(grads["params"].keys()) == {"beta"}
    optimizer = nnx.Optimizer(layer, optax.sgd(0.1), wrt=nnx.Param)
    optimizer.update(layer, grads)
    np.testing.assert_allclose(
        layer.neuron.beta, 0.8 - 0.1 * np.asarray(grads["params"]["beta"][...]), rtol=1e-6
    )
    np.testing.assert_array_equal(layer.neuron.threshold, np.float32(0.9))


def test_spiking_split_merge_update_round_trip():
    layer = layers.Spiking(
        sj.neurons.LIF(beta=jnp.array([0.5, 0.9]), threshold=0.6, reset="zero"),
        trainable=("beta",),
    )
    graphdef, state = nnx.split(layer)
    copy = nnx.merge(graphdef, state)
    np.testing.assert_array_equal(copy.neuron.beta, np.array([0.5, 0.9], np.float32))
    np.testing.assert_array_equal(copy.neuron.threshold, np.float32(0.6))
    assert copy.neuron.reset is sj.neurons.Reset.ZERO
    xs = _inputs((5, 2), seed=5)
    np.testing.assert_array_equal(copy(xs), layer(xs))
    # New values written into the state reach the neuron the layer runs.
    state["params"]["beta"][...] = jnp.array([0.1, 0.2])
    nnx.update(layer, state)
    np.testing.assert_array_equal(layer.neuron.beta, np.array([0.1, 0.2], np.float32))


def test_spiking_under_nnx_jit():
    layer = layers.Spiking(sj.neurons.PLIF(w=jnp.zeros((4,))), remat=True, unroll=2)
    xs = _inputs((7, 3, 4), seed=6)
    jitted = nnx.jit(lambda model, xs: model(xs))
    np.testing.assert_array_equal(jitted(layer, xs), layer(xs))


def test_spiking_nested_leaf_paths():
    inner = sj.neurons.LIF(beta=jnp.full((3,), 0.8))
    neuron = sj.neurons.Recurrent(inner, 0.1 * jnp.ones((3, 3)))
    default = layers.Spiking(neuron)
    assert set(nnx.state(default, nnx.Param)["params"].keys()) == {"weight"}
    layer = layers.Spiking(neuron, trainable=("neuron.beta", "weight"))
    params = nnx.state(layer, nnx.Param)["params"]
    assert set(params["neuron"].keys()) == {"beta"}
    assert isinstance(nnx.state(layer)["params"]["neuron"]["threshold"], layers.Fixed)
    xs = _inputs((5, 2, 3), seed=7)
    _, expected = sj.unroll(neuron, neuron.init_state((2, 3), jnp.float32), xs)
    np.testing.assert_array_equal(layer(xs), expected)
    grads = nnx.grad(lambda m: m(xs).sum())(layer)
    assert np.all(np.isfinite(grads["params"]["neuron"]["beta"][...]))
    # The wrapped neuron's own trainable leaves are trainable by default too.
    plif_rnn = sj.neurons.Recurrent(sj.neurons.PLIF(w=0.0), 0.1 * jnp.ones((3, 3)))
    params = nnx.state(layers.Spiking(plif_rnn), nnx.Param)["params"]
    assert set(params.keys()) == {"neuron", "weight"} and set(params["neuron"].keys()) == {"w"}


def test_spiking_rejects_bad_input():
    lif = sj.neurons.LIF(beta=jnp.full((4,), 0.9))
    with pytest.raises(TypeError, match="`Spiking`: `neuron` must be a spikejax neuron"):
        layers.Spiking(nnx.Linear(2, 2, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match=r"`Spiking`: `trainable` .*'beta', 'threshold'.*'tau'"):
        layers.Spiking(lif, trainable=("tau",))
    with pytest.raises(TypeError, match="`Spiking`: `trainable` must be a tuple"):
        layers.Spiking(lif, trainable="beta")
    with pytest.raises(ValueError, match="`Spiking`: `remat`"):
        layers.Spiking(lif, remat=0)
    layer = layers.Spiking(lif)
    with pytest.raises(ValueError, match=r"`xs`.*scalar"):
        layer(jnp.array(1.0))
    with pytest.raises(ValueError, match=r"`xs`.*\(T >= 1\)"):
        layer(jnp.zeros((0, 2, 4)))
    with pytest.raises(TypeError, match="`xs` must have a floating dtype"):
        layer(jnp.zeros((3, 2, 4), jnp.int32))
    with pytest.raises(
        ValueError, match=r"`Spiking`: `xs` must be time-major.*beta \(4,\).*\(3, 2, 5\)"
    ):
        layer(jnp.zeros((3, 2, 5)))
    with pytest.raises(TypeError, match="`Spiking`: `xs` must be an array"):
        layer([[0.0] * 4])


# --------------------------------------------------------------------------- fold / TimeFolded


def test_fold_unfold_round_trip():
    xs = jnp.arange(2 * 3 * 4 * 5, dtype=jnp.float32).reshape(2, 3, 4, 5)
    folded = layers.fold(xs)
    assert folded.shape == (6, 4, 5)
    np.testing.assert_array_equal(folded[1 * 3 + 2], xs[1, 2])  # T-major: row t*B + b
    np.testing.assert_array_equal(layers.unfold(folded, 2), xs)


def test_fold_rejects_bad_input():
    with pytest.raises(ValueError, match="`fold`: `xs` must have at least two axes"):
        layers.fold(jnp.zeros((4,)))
    with pytest.raises(ValueError, match="`unfold`: `y` must have a leading axis divisible by T=4"):
        layers.unfold(jnp.zeros((6, 2)), 4)
    with pytest.raises(ValueError, match="`unfold`: `T` must be a positive int"):
        layers.unfold(jnp.zeros((6, 2)), 0)
    with pytest.raises(TypeError, match="`TimeFolded`: `module` must be callable"):
        layers.TimeFolded(3)
    with pytest.raises(ValueError, match="`TimeFolded`: `module` must keep the leading"):
        layers.TimeFolded(lambda x: x.sum(axis=0))(jnp.zeros((2, 3, 4)))


def test_time_folded_linear_equals_per_step_loop():
    linear = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
    layer = layers.TimeFolded(linear)
    xs = _inputs((5, 2, 4), seed=8)
    ys = layer(xs)
    kernel, bias = np.asarray(linear.kernel[...]), np.asarray(linear.bias[...])
    expected = np.stack([np.asarray(x) @ kernel + bias for x in xs])
    np.testing.assert_allclose(ys, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ys, jnp.stack([linear(x) for x in xs]), rtol=1e-6, atol=1e-6)
    assert set(nnx.state(layer, nnx.Param)["module"].keys()) == {"kernel", "bias"}


def test_time_folded_pooling_function():
    pool = layers.TimeFolded(lambda x: nnx.max_pool(x, (2, 2), strides=(2, 2)))
    xs = _inputs((3, 2, 4, 4, 1), seed=9)
    ys = pool(xs)
    assert ys.shape == (3, 2, 2, 2, 1)
    expected = np.asarray(xs).reshape(3, 2, 2, 2, 2, 2, 1).max(axis=(3, 5))
    np.testing.assert_array_equal(ys, expected)


# --------------------------------------------------------------------------- SeqBatchNorm


def _bn_numpy(x, mean, var, eps=1e-5):
    return (np.asarray(x, np.float64) - mean) / np.sqrt(var + eps)


def test_seq_batchnorm_statistics_over_time_and_batch():
    x = _inputs((4, 3, 2, 2, 5), seed=10, scale=3.0)  # [T, B, H, W, C]
    bn = layers.SeqBatchNorm(5, rngs=nnx.Rngs(0))
    y = bn(x)
    xn = np.asarray(x, np.float64)
    mean = xn.mean(axis=(0, 1, 2, 3))
    var = xn.var(axis=(0, 1, 2, 3))
    np.testing.assert_allclose(y, _bn_numpy(x, mean, var), rtol=1e-4, atol=1e-5)
    # Running averages: momentum 0.9 on the old value, starting from mean 0 and var 1.
    np.testing.assert_allclose(bn.norm.mean[...], 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.norm.var[...], 0.9 + 0.1 * var, rtol=1e-5, atol=1e-6)
    bn(x)
    np.testing.assert_allclose(bn.norm.mean[...], 0.9 * 0.1 * mean + 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.norm.var[...], 0.9 * (0.9 + 0.1 * var) + 0.1 * var, rtol=1e-5)
    # Folded input gives the same normalization.
    fresh = layers.SeqBatchNorm(5, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(layers.unfold(fresh(layers.fold(x)), 4), y, rtol=1e-6, atol=1e-6)


def test_seq_batchnorm_differs_from_per_step_normalization():
    # Each time step has its own offset: per-step statistics would remove it, shared ones keep it.
    base = _inputs((4, 6, 3), seed=11)
    offsets = jnp.arange(4, dtype=jnp.float32).reshape(4, 1, 1)
    x = base + jnp.broadcast_to(offsets, base.shape)
    y = np.asarray(layers.SeqBatchNorm(3, rngs=nnx.Rngs(0))(x))
    xn = np.asarray(x, np.float64)
    per_step = np.stack([_bn_numpy(xt, xt.mean(axis=0), xt.var(axis=0)) for xt in xn])
    np.testing.assert_allclose(per_step.mean(axis=1), 0.0, atol=1e-6)
    assert np.all(np.abs(y.mean(axis=1)[0] - y.mean(axis=1)[-1]) > 1.0)
    assert not np.allclose(y, per_step, atol=1e-2)


def test_seq_batchnorm_eval_uses_running_averages():
    model = nnx.Sequential(layers.SeqBatchNorm(2, rngs=nnx.Rngs(0)))
    bn = model.layers[0]
    x = _inputs((3, 4, 2), seed=12, scale=2.0)
    model(x)
    running_mean = np.asarray(bn.norm.mean[...], np.float64)
    running_var = np.asarray(bn.norm.var[...], np.float64)
    model.eval()
    assert bn.norm.use_running_average is True
    other = _inputs((3, 4, 2), seed=13)
    y = model(other)
    np.testing.assert_allclose(y, _bn_numpy(other, running_mean, running_var), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.norm.mean[...], running_mean.astype(np.float32))
    model.train()
    assert bn.norm.use_running_average is False


def test_seq_batchnorm_dtype_and_jit():
    bn = layers.SeqBatchNorm(3, rngs=nnx.Rngs(0))
    x = _inputs((2, 4, 3), seed=14)
    assert bn(x.astype(jnp.bfloat16)).dtype == jnp.bfloat16
    fresh = layers.SeqBatchNorm(3, rngs=nnx.Rngs(0))
    y = nnx.jit(lambda m, x: m(x))(fresh, x)
    np.testing.assert_allclose(y, layers.SeqBatchNorm(3, rngs=nnx.Rngs(0))(x), rtol=1e-6)
    np.testing.assert_allclose(
        fresh.norm.mean[...], 0.1 * np.asarray(x).mean(axis=(0, 1)), rtol=1e-5
    )


def test_seq_batchnorm_rejects_bad_input():
    with pytest.raises(ValueError, match="`SeqBatchNorm`: `momentum` must lie in"):
        layers.SeqBatchNorm(3, rngs=nnx.Rngs(0), momentum=1.5)
    with pytest.raises(ValueError, match="`SeqBatchNorm`: `num_features` must be a positive int"):
        layers.SeqBatchNorm(0, rngs=nnx.Rngs(0))
    bn = layers.SeqBatchNorm(3, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`SeqBatchNorm`: `x` must be .*C=3.*\(2, 4, 5\)"):
        bn(jnp.zeros((2, 4, 5)))
    with pytest.raises(TypeError, match="`SeqBatchNorm`: `x` must have a floating dtype"):
        bn(jnp.zeros((2, 4, 3), jnp.int32))


# --------------------------------------------------------------------------- SeqDropout


def test_seq_dropout_mask_shared_over_time():
    drop = layers.SeqDropout(0.3, rngs=nnx.Rngs(dropout=0))
    x = jnp.ones((4, 100, 200))
    y = np.asarray(drop(x))
    for t in range(1, 4):
        np.testing.assert_array_equal(y[t], y[0])
    kept = y[0] != 0
    assert abs(kept.mean() - 0.7) < 0.02  # 20 000 draws: std of the mean ~0.003
    np.testing.assert_allclose(y[0][kept], 1 / 0.7, rtol=1e-6)
    # The mask multiplies each sample's values; time-varying inputs keep their per-step values.
    xs = _inputs((3, 2, 5), seed=15)
    ys = np.asarray(drop(xs))
    mask = ys[0] != 0
    np.testing.assert_allclose(ys, np.where(mask, np.asarray(xs) / 0.7, 0.0), rtol=1e-6)


def test_seq_dropout_eval_is_identity_and_jit_draws_fresh_masks():
    model = nnx.Sequential(layers.SeqDropout(0.5, rngs=nnx.Rngs(0)))
    x = _inputs((3, 4, 8), seed=16)
    step = nnx.jit(lambda m, x: m(x))
    first, second = np.asarray(step(model, x)), np.asarray(step(model, x))
    assert not np.array_equal(first != 0, second != 0)
    model.eval()
    np.testing.assert_array_equal(model(x), x)
    drop = layers.SeqDropout(0.5, rngs=nnx.Rngs(0), deterministic=True)
    np.testing.assert_array_equal(drop(x), x)
    assert drop(x.astype(jnp.bfloat16), deterministic=False).dtype == jnp.bfloat16


def test_seq_dropout_rejects_bad_input():
    with pytest.raises(ValueError, match=r"`SeqDropout`: `rate` must lie in \[0.0, 1.0\)"):
        layers.SeqDropout(1.0, rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match=r"`SeqDropout`: `rngs` must be an nnx\.Rngs"):
        layers.SeqDropout(0.1, rngs=0)
    with pytest.raises(ValueError, match="`SeqDropout`: `x` must be time-major"):
        layers.SeqDropout(0.1, rngs=nnx.Rngs(0))(jnp.ones((5,)))
