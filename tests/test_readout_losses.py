"""Readouts and losses against NumPy re-implementations and hand values; gradients; named errors."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from spikejax import losses, readout

T, B, C = 6, 4, 5


def _spikes(shape=(T, B, C), p=0.4, seed=0):
    return (jr.uniform(jr.key(seed), shape) < p).astype(jnp.float32)


def _membrane(shape=(T, B, C), seed=1):
    return jr.normal(jr.key(seed), shape)


def _labels(shape=(B,), seed=2, classes=C):
    return jr.randint(jr.key(seed), shape, 0, classes)


def _np_ce(logits, labels):
    """Mean over all batch entries of -log softmax(logits)[label], float64 NumPy."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    y = np.asarray(labels)
    return -np.take_along_axis(logp, y[..., None], axis=-1).mean()


# ---------------------------------------------------------------------------------------------
# readouts


def test_readouts_match_numpy():
    s, v = _spikes(), _membrane()
    sn, vn = np.asarray(s), np.asarray(v)
    np.testing.assert_array_equal(readout.spike_count(s), sn.sum(axis=0))
    np.testing.assert_allclose(readout.spike_rate(s), sn.sum(axis=0) / T, rtol=1e-6)
    np.testing.assert_allclose(readout.membrane_mean(v), vn.sum(axis=0) / T, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(readout.membrane_max(v), vn.max(axis=0))
    np.testing.assert_array_equal(readout.membrane_last(v), vn[T - 1])


def test_first_spike_time_matches_loop_and_never_is_T():
    s = _spikes(p=0.15, seed=3)
    sn = np.asarray(s)
    expected = np.full((B, C), T)
    for b in range(B):
        for c in range(C):
            for t in range(T):
                if sn[t, b, c] != 0:
                    expected[b, c] = t
                    break
    out = readout.first_spike_time(s)
    assert out.dtype == jnp.int32
    np.testing.assert_array_equal(out, expected)
    assert np.any(expected == T) and np.any(expected < T)  # both cases are exercised
    np.testing.assert_array_equal(readout.first_spike_time(jnp.zeros((3, 2))), [3, 3])
    np.testing.assert_array_equal(readout.first_spike_time(jnp.ones((3, 2))), [0, 0])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_readouts_keep_dtype_and_jit(dtype):
    s = _spikes().astype(dtype)
    for fn in (
        readout.spike_count,
        readout.spike_rate,
        readout.membrane_mean,
        readout.membrane_max,
        readout.membrane_last,
    ):
        out = fn(s)
        assert out.dtype == dtype and out.shape == (B, C)
        np.testing.assert_array_equal(
            np.asarray(out, np.float32), np.asarray(jax.jit(fn)(s), np.float32)
        )


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (readout.spike_count, "spikes"),
        (readout.spike_rate, "spikes"),
        (readout.membrane_mean, "v"),
        (readout.membrane_max, "v"),
        (readout.membrane_last, "v"),
        (readout.first_spike_time, "spikes"),
    ],
)
def test_readout_errors(fn, arg):
    name = fn.__name__
    with pytest.raises(TypeError, match=f"`{name}`: `{arg}` must have a floating dtype; got int32"):
        fn(jnp.zeros((3, 2), jnp.int32))
    with pytest.raises(TypeError, match=f"`{name}`: `{arg}` must be a floating array; got list"):
        fn([[1.0]])
    with pytest.raises(
        ValueError, match=rf"`{name}`: `{arg}` must be time-major .* got shape \(\)"
    ):
        fn(jnp.float32(1.0))
    with pytest.raises(ValueError, match=rf"`{name}`: `{arg}` must be time-major .*\(0, 2\)"):
        fn(jnp.zeros((0, 2)))


# ---------------------------------------------------------------------------------------------
# cross-entropy losses


def test_ce_count_matches_numpy_and_hand_value():
    s, y = _spikes(), _labels()
    np.testing.assert_allclose(losses.ce_count(s, y), _np_ce(np.asarray(s).sum(0), y), rtol=1e-6)
    # Counts (2, 0) and label 0: -log(e^2 / (e^2 + 1)) = log(1 + e^-2).
    s1 = jnp.array([[[1.0, 0.0]], [[1.0, 0.0]]])
    np.testing.assert_allclose(
        losses.ce_count(s1, jnp.array([0])), math.log1p(math.exp(-2)), rtol=1e-6
    )


@pytest.mark.parametrize("reduce", ["mean", "max", "last"])
def test_ce_membrane_matches_numpy(reduce):
    v, y = _membrane(), _labels()
    vn = np.asarray(v, np.float64)
    logits = {"mean": vn.mean(0), "max": vn.max(0), "last": vn[-1]}[reduce]
    np.testing.assert_allclose(
        losses.ce_membrane(v, y, reduce=reduce), _np_ce(logits, y), rtol=1e-5
    )


def test_ce_losses_accept_several_batch_axes_and_no_batch():
    v, y = _membrane((T, 2, 3, C)), _labels((2, 3))
    np.testing.assert_allclose(
        losses.ce_membrane(v, y), _np_ce(np.asarray(v).mean(0), y), rtol=1e-5
    )
    s = _spikes((T, C))  # one sample: labels of shape ()
    np.testing.assert_allclose(
        losses.ce_count(s, jnp.array(2)), _np_ce(np.asarray(s).sum(0), np.array(2)), rtol=1e-6
    )


def test_mse_count_matches_numpy_and_snntorch_convention():
    s, y = _spikes(), _labels()
    counts = np.asarray(s, np.float64).sum(0)
    for on, off in [(1.0, 0.0), (0.5, 1.0 / 6.0), (0.8, 0.2)]:
        target = np.where(np.arange(C)[None, :] == np.asarray(y)[:, None], on * T, off * T)
        expected = ((counts - target) ** 2).mean() / T
        ours = losses.mse_count(s, y, correct_rate=on, incorrect_rate=off)
        np.testing.assert_allclose(ours, expected, rtol=1e-5)
    # Hand value: T = 2, counts (1, 2), label 0 -> targets (2, 0): ((1-2)^2 + (2-0)^2) / 2 / 2.
    s1 = jnp.array([[[1.0, 1.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(losses.mse_count(s1, jnp.array([0])), 1.25)


def test_tet_matches_numpy_and_reduces_to_known_cases():
    o, y = _membrane(), _labels()
    on = np.asarray(o, np.float64)
    l_tet = np.mean([_np_ce(on[t], y) for t in range(T)])
    for lamb, phi in [(0.0, 1.0), (0.001, 1.0), (0.3, -0.5), (1.0, 2.0)]:
        l_mse = np.mean([((on[t] - phi) ** 2).mean() for t in range(T)])
        expected = (1 - lamb) * l_tet + lamb * l_mse
        np.testing.assert_allclose(losses.tet(o, y, lamb=lamb, phi=phi), expected, rtol=1e-5)
    # One step, λ = 0: plain cross-entropy of that step.
    np.testing.assert_allclose(
        losses.tet(o[:1], y), losses.ce_membrane(o[:1], y, reduce="last"), rtol=1e-6
    )


def test_losses_under_jit_and_vmap():
    s, y = _spikes(), _labels()
    np.testing.assert_allclose(jax.jit(losses.ce_count)(s, y), losses.ce_count(s, y), rtol=1e-6)
    lambs = jnp.array([0.0, 0.5])
    per = jax.vmap(lambda lamb: losses.tet(s, y, lamb=lamb))(lambs)
    np.testing.assert_allclose(per[1], losses.tet(s, y, lamb=0.5), rtol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_losses_keep_dtype(dtype):
    s, y = _spikes().astype(dtype), _labels()
    outs = [
        losses.ce_count(s, y),
        losses.ce_membrane(s, y, reduce="max"),
        losses.mse_count(s, y, correct_rate=0.8),
        losses.tet(s, y, lamb=0.1),
        losses.rate_l2(s, 0.2),
        losses.rate_lower(s, 0.2),
        losses.rate_upper(s, 0.2),
    ]
    for out in outs:
        assert out.dtype == dtype and out.shape == ()


def test_loss_gradients_are_finite_and_nonzero():
    y = _labels()
    v = _membrane()
    cases = {
        "ce_count": lambda x: losses.ce_count(x, y),
        "ce_membrane_mean": lambda x: losses.ce_membrane(x, y),
        "ce_membrane_max": lambda x: losses.ce_membrane(x, y, reduce="max"),
        "ce_membrane_last": lambda x: losses.ce_membrane(x, y, reduce="last"),
        "mse_count": lambda x: losses.mse_count(x, y, correct_rate=0.9, incorrect_rate=0.1),
        "tet": lambda x: losses.tet(x, y, lamb=0.2),
        "rate_l2": lambda x: losses.rate_l2(x, 0.5),
        "rate_lower": lambda x: losses.rate_lower(x, 0.9),
        "rate_upper": lambda x: losses.rate_upper(x, 0.0),
    }
    for name, f in cases.items():
        g = np.asarray(jax.grad(f)(v))
        assert np.all(np.isfinite(g)), name
        assert np.any(g != 0), name


def test_loss_gradient_matches_finite_differences():
    y = _labels()
    v = _membrane().astype(jnp.float32)
    f = lambda x: losses.tet(x, y, lamb=0.25, phi=0.5)  # noqa: E731
    g = np.asarray(jax.grad(f)(v))
    direction = np.asarray(jr.normal(jr.key(9), v.shape))
    eps = 1e-2
    fd = (f(v + eps * direction) - f(v - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(fd, np.sum(g * direction), rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# firing-rate regularisers


def test_rate_regularisers_match_numpy():
    s = _spikes((T, B, 3, 4), p=0.3, seed=5)
    rates = np.asarray(s, np.float64).mean(0)  # [B, 3, 4]
    target = np.linspace(0.0, 0.6, 4)  # per neuron along the last axis
    np.testing.assert_allclose(
        losses.rate_l2(s, jnp.asarray(target, jnp.float32)),
        ((rates - target) ** 2).mean(),
        rtol=1e-5,
    )
    np.testing.assert_allclose(losses.rate_l2(s, 0.1), ((rates - 0.1) ** 2).mean(), rtol=1e-5)
    low = np.maximum(0.4 - rates, 0)
    np.testing.assert_allclose(losses.rate_lower(s, 0.4), (low**2).mean(), rtol=1e-5)
    population = rates.reshape(B, -1).mean(1)
    bound = float(np.median(population))  # active for some samples, inactive for others
    high = np.maximum(population - bound, 0)
    assert np.any(high > 0) and np.any(high == 0)
    np.testing.assert_allclose(losses.rate_upper(s, bound), (high**2).mean(), rtol=1e-5)


def test_rate_regularisers_hand_values():
    # T = 2, one sample, neurons with rates (1, 0, 0.5).
    s = jnp.array([[[1.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]]])
    np.testing.assert_allclose(losses.rate_l2(s, 0.5), (0.25 + 0.25 + 0.0) / 3)
    # lower bound 0.6: only neurons below it count, per neuron: (0 + 0.36 + 0.01) / 3.
    np.testing.assert_allclose(losses.rate_lower(s, 0.6), (0.36 + 0.01) / 3, rtol=1e-6)
    # upper bound on the population mean 0.5: (0.5 - 0.25)^2; one neuron at rate 1 alone is fine.
    np.testing.assert_allclose(losses.rate_upper(s, 0.25), 0.0625, rtol=1e-6)
    assert float(losses.rate_upper(s, 0.5)) == 0.0
    assert float(losses.rate_lower(s, 0.0)) == 0.0


# ---------------------------------------------------------------------------------------------
# errors

_LABEL_LOSSES = {
    "ce_count": losses.ce_count,
    "ce_membrane": losses.ce_membrane,
    "mse_count": losses.mse_count,
    "tet": losses.tet,
}


@pytest.mark.parametrize("name", list(_LABEL_LOSSES))
def test_label_errors(name):
    f = _LABEL_LOSSES[name]
    x = _spikes()
    with pytest.raises(
        TypeError, match=f"`{name}`: `labels` must have an integer dtype; got float32"
    ):
        f(x, jnp.zeros((B,), jnp.float32))
    with pytest.raises(TypeError, match=f"`{name}`: `labels` must have an integer dtype; got bool"):
        f(x, jnp.zeros((B,), jnp.bool_))
    with pytest.raises(TypeError, match=f"`{name}`: `labels` must be an integer array; got list"):
        f(x, [0, 1, 2, 3])
    with pytest.raises(
        ValueError, match=rf"`{name}`: `labels` must lie in \[0, {C - 1}\].*got \[{C}\]"
    ):
        f(x, jnp.array([0, C, 1, 2]))
    with pytest.raises(ValueError, match=rf"`{name}`: `labels` must lie in .*got \[-1\]"):
        f(x, jnp.array([0, -1, 1, 2]))
    with pytest.raises(ValueError, match=rf"`{name}`: `labels` must have the batch shape \({B},\)"):
        f(x, jnp.zeros((B + 1,), jnp.int32))
    arg = "v" if name == "ce_membrane" else "outputs" if name == "tet" else "spikes"
    with pytest.raises(TypeError, match=f"`{name}`: `{arg}` must have a floating dtype"):
        f(x.astype(jnp.int32), _labels())
    with pytest.raises(
        ValueError, match=rf"`{name}`: `{arg}` must be time-major \[T, \*batch, classes\]"
    ):
        f(jnp.zeros((T,)), jnp.array(0))
    # Under jit the label values are not inspected (no host sync); dtype and shape still are.
    assert jnp.isfinite(jax.jit(f)(x, _labels()))
    with pytest.raises(TypeError, match=f"`{name}`: `labels` must have an integer dtype"):
        jax.jit(f)(x, jnp.zeros((B,), jnp.float32))


def test_hyperparameter_errors():
    s, y = _spikes(), _labels()
    with pytest.raises(
        ValueError,
        match=r"`ce_membrane`: `reduce` must be one of \('mean', 'max', 'last'\); got 'sum'",
    ):
        losses.ce_membrane(s, y, reduce="sum")
    with pytest.raises(
        ValueError, match=r"`mse_count`: `correct_rate` must lie in \[0.0, 1.0\]; got \[1.5\]"
    ):
        losses.mse_count(s, y, correct_rate=1.5)
    with pytest.raises(ValueError, match=r"`mse_count`: `incorrect_rate` must lie in \[0.0, 1.0\]"):
        losses.mse_count(s, y, incorrect_rate=-0.1)
    with pytest.raises(ValueError, match="`mse_count`: `correct_rate` must be a scalar"):
        losses.mse_count(s, y, correct_rate=jnp.array([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"`tet`: `lamb` must lie in \[0.0, 1.0\]; got \[2.0\]"):
        losses.tet(s, y, lamb=2.0)
    with pytest.raises(ValueError, match="`tet`: `phi` must be finite"):
        losses.tet(s, y, phi=jnp.inf)
    with pytest.raises(TypeError, match="`tet`: `lamb` must be a real number"):
        losses.tet(s, y, lamb=True)


@pytest.mark.parametrize(
    ("fn", "arg"),
    [(losses.rate_l2, "target"), (losses.rate_lower, "min_rate"), (losses.rate_upper, "max_rate")],
)
def test_regulariser_errors(fn, arg):
    name = fn.__name__
    s = _spikes()
    with pytest.raises(
        ValueError, match=rf"`{name}`: `{arg}` must lie in \[0.0, 1.0\]; got \[5.0\]"
    ):
        fn(s, 5.0)
    with pytest.raises(
        ValueError, match=rf"`{name}`: `spikes` must be \[T, batch, \*neurons\].*\(6, 4\)"
    ):
        fn(s[..., 0], 0.1)
    with pytest.raises(TypeError, match=f"`{name}`: `spikes` must have a floating dtype"):
        fn(s.astype(jnp.int8), 0.1)
    if fn is losses.rate_upper:
        with pytest.raises(
            ValueError, match="`rate_upper`: `max_rate` must be a scalar; got shape"
        ):
            fn(s, jnp.full((C,), 0.1))
    else:
        with pytest.raises(
            ValueError, match=rf"`{name}`: `{arg}` must be a scalar or broadcastable"
        ):
            fn(s, jnp.full((C + 1,), 0.1))
