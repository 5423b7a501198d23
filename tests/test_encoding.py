"""Encoders against independent NumPy implementations, statistics, invariants and named errors."""

import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from spikejax import encoding

# ---------------------------------------------------------------------------------------------
# poisson


def test_poisson_rate_matches_probability():
    # Each entry's spike count over T steps is Binomial(T, p): its mean rate has standard deviation
    # sqrt(p (1 - p) / T). With T = 20000 that is <= 0.0036; 5 sigma bounds a false failure at
    # < 1e-6 per entry (the key is fixed, so the test is deterministic anyway).
    T = 20_000
    x = jnp.array([0.0, 0.1, 0.3, 0.5, 0.9, 1.0], jnp.float32)
    max_rate = 0.8
    s = encoding.poisson(x, T, key=jr.key(0), max_rate=max_rate)
    assert s.shape == (T, 6) and s.dtype == jnp.float32
    assert set(np.unique(np.asarray(s)).tolist()) <= {0.0, 1.0}
    p = np.asarray(x, np.float64) * max_rate
    rate = np.asarray(s, np.float64).mean(axis=0)
    tol = 5 * np.sqrt(p * (1 - p) / T)
    assert np.all(np.abs(rate - p) <= tol), (rate, p, tol)
    assert rate[0] == 0.0  # p = 0 never fires


def test_poisson_extremes_are_exact_and_entries_independent():
    x = jnp.array([[0.0, 1.0, 0.5, 0.5]])
    s = np.asarray(encoding.poisson(x, 500, key=jr.key(1)))
    assert np.all(s[:, 0, 0] == 0) and np.all(s[:, 0, 1] == 1)
    # Two entries with the same probability draw different (independent) trains.
    assert not np.array_equal(s[:, 0, 2], s[:, 0, 3])
    # Counts of the two p = 0.5 trains are consistent with Binomial(500, 0.5): sd = 11.2.
    assert np.all(np.abs(s[:, 0, 2:].sum(axis=0) - 250) < 5 * math.sqrt(500 * 0.25))


def test_poisson_per_entry_max_rate_and_keys():
    x = jnp.ones((2, 3), jnp.float32)
    max_rate = jnp.array([0.0, 1.0, 0.0])  # broadcast over the leading axis of x
    s = np.asarray(encoding.poisson(x, 50, key=jr.key(2), max_rate=max_rate))
    np.testing.assert_array_equal(s[..., 0], 0)
    np.testing.assert_array_equal(s[..., 1], 1)
    x = jnp.full((4,), 0.5)
    a = encoding.poisson(x, 64, key=jr.key(3))
    np.testing.assert_array_equal(a, encoding.poisson(x, 64, key=jr.key(3)))
    assert not np.array_equal(a, encoding.poisson(x, 64, key=jr.key(4)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_poisson_keeps_dtype_and_jit_matches_eager(dtype):
    x = jnp.linspace(0.0, 1.0, 7).astype(dtype)
    eager = encoding.poisson(x, 9, key=jr.key(5), max_rate=0.5)
    jitted = jax.jit(lambda x, k: encoding.poisson(x, 9, key=k, max_rate=0.5))(x, jr.key(5))
    assert eager.dtype == dtype and eager.shape == (9, 7)
    np.testing.assert_array_equal(np.asarray(eager, np.float32), np.asarray(jitted, np.float32))


def test_poisson_errors():
    key = jr.key(0)
    with pytest.raises(ValueError, match=r"`poisson`: `x` must lie in \[0.0, 1.0\]; got \[1.5\]"):
        encoding.poisson(jnp.array([0.2, 1.5]), 4, key=key)
    with pytest.raises(ValueError, match=r"`poisson`: `x` must lie in .*nan"):
        encoding.poisson(jnp.array([jnp.nan]), 4, key=key)
    with pytest.raises(TypeError, match="`poisson`: `x` must have a floating dtype; got int32"):
        encoding.poisson(jnp.array([0, 1]), 4, key=key)
    with pytest.raises(TypeError, match="`poisson`: `x` must be a floating array; got list"):
        encoding.poisson([0.5], 4, key=key)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="`poisson`: `num_steps` must be a positive int"):
            encoding.poisson(jnp.array([0.5]), bad, key=key)
    for bad in (2.0, True, None):
        with pytest.raises(TypeError, match="`poisson`: `num_steps` must be a positive int"):
            encoding.poisson(jnp.array([0.5]), bad, key=key)
    with pytest.raises(ValueError, match=r"`poisson`: `max_rate` must lie in \[0.0, 1.0\]"):
        encoding.poisson(jnp.array([0.5]), 4, key=key, max_rate=1.5)
    with pytest.raises(TypeError, match="`poisson`: `max_rate` must be a real number"):
        encoding.poisson(jnp.array([0.5]), 4, key=key, max_rate=True)
    with pytest.raises(
        ValueError, match=r"`poisson`: `max_rate` must be a scalar or broadcastable"
    ):
        encoding.poisson(jnp.array([0.5, 0.5]), 4, key=key, max_rate=jnp.array([0.5, 0.5, 0.5]))


def test_poisson_under_jit_skips_value_checks_but_not_dtype_checks():
    f = jax.jit(lambda x: encoding.poisson(x, 3, key=jr.key(0)))
    assert f(jnp.array([0.5])).shape == (3, 1)
    with pytest.raises(TypeError, match="`poisson`: `x` must have a floating dtype"):
        f(jnp.array([1]))


# ---------------------------------------------------------------------------------------------
# latency


def _latency_reference(x, T, method, tau=1.0, theta=0.01, normalize=False):
    """Independent NumPy version of the documented formulas, in float64, entry by entry.

    Also returns the unrounded step of every entry so that tests can skip exact rounding ties.
    """
    x = np.asarray(x, np.float64)
    flat = x.ravel()
    raw = np.full(flat.shape, np.nan)
    for i, xi in enumerate(flat):
        if method == "linear" and xi >= theta:
            raw[i] = (1.0 - xi) * (T - 1)
        elif method == "log" and xi > theta:
            raw[i] = tau * math.log(xi / (xi - theta))
    if method == "log" and normalize and np.any(~np.isnan(raw)):
        raw = raw / np.nanmax(raw) * (T - 1)
    out = np.zeros((T, flat.size))
    for i, r in enumerate(raw):
        if not np.isnan(r):
            n = int(np.round(r))
            if n <= T - 1:
                out[n, i] = 1.0
    return out.reshape((T, *x.shape)), raw.reshape(x.shape)


def _assert_latency_matches(x, T, **kwargs):
    ours = np.asarray(encoding.latency(jnp.asarray(x, jnp.float32), T, **kwargs))
    ref_kwargs = {
        "theta": kwargs.get("threshold", 0.01),
        "normalize": kwargs.get("normalize", False),
    }
    if kwargs.get("tau") is not None:
        ref_kwargs["tau"] = kwargs["tau"]
    ref, raw = _latency_reference(x, T, kwargs.get("method", "linear"), **ref_kwargs)
    # float32 vs float64: skip entries whose unrounded step is within 1e-3 of a rounding tie.
    tie = np.abs(np.abs(raw - np.floor(raw)) - 0.5) < 1e-3
    keep = ~np.broadcast_to(np.nan_to_num(tie), ref.shape)
    np.testing.assert_array_equal(ours[keep], ref[keep])
    return ours


@pytest.mark.parametrize("T", [1, 2, 5, 16])
def test_latency_linear_matches_reference(T):
    x = np.concatenate(
        [[0.0, 0.005, 0.01, 0.25, 0.5, 0.75, 1.0], np.random.default_rng(0).random(20)]
    )
    ours = _assert_latency_matches(x, T)
    assert np.all(ours[0, x == 1.0] == 1)  # x = 1 fires at step 0
    assert np.all(ours[:, x < 0.01] == 0)  # below threshold never fires
    ours0 = _assert_latency_matches(x, T, threshold=0.0)
    assert np.all(ours0[T - 1, x == 0.0] == 1)  # with θ = 0, x = 0 fires at the last step


@pytest.mark.parametrize(("T", "tau", "threshold"), [(5, 1.0, 0.01), (30, 5.0, 0.2), (8, 2.0, 0.5)])
def test_latency_log_matches_reference(T, tau, threshold):
    x = np.concatenate([[0.0, threshold, 1.0], np.random.default_rng(1).random(40)])
    _assert_latency_matches(x, T, method="log", tau=tau, threshold=threshold)
    ours = _assert_latency_matches(x, T, method="log", tau=tau, threshold=threshold, normalize=True)
    # The latest-firing entry (smallest x above threshold) lands exactly on the last step.
    weakest = np.argmin(np.where(x > threshold, x, np.inf))
    assert ours[T - 1, weakest] == 1


def test_latency_log_times_beyond_window_do_not_fire():
    # t(x) = 10 ln(x / (x - 0.5)): t(1) = 6.93, t(0.6) = 17.9 -> with T = 10 only x = 1 fires.
    x = jnp.array([1.0, 0.6])
    s = np.asarray(encoding.latency(x, 10, method="log", tau=10.0, threshold=0.5))
    assert s[7, 0] == 1 and s[:, 0].sum() == 1
    assert s[:, 1].sum() == 0


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"threshold": 0.0}, {"method": "log"}, {"method": "log", "tau": 3.0, "normalize": True}],
)
def test_latency_fires_at_most_once_brighter_earlier(kwargs):
    x = jr.uniform(jr.key(7), (3, 50))
    s = np.asarray(encoding.latency(x, 12, **kwargs))
    assert s.shape == (12, 3, 50)
    assert set(np.unique(s).tolist()) <= {0.0, 1.0}
    counts = s.sum(axis=0)
    assert np.all(counts <= 1)
    assert counts.sum() > 0
    times = np.where(counts == 1, s.argmax(axis=0), 12)  # no spike = "later than any step"
    xs = np.asarray(x).ravel()
    order = np.argsort(-xs, kind="stable")
    assert np.all(np.diff(times.ravel()[order]) >= 0)  # brighter -> earlier or equal


def test_latency_normalize_is_per_call_and_vmap_normalizes_per_sample():
    x = jnp.array([[1.0, 0.5], [1.0, 0.9]])
    joint = np.asarray(encoding.latency(x, 6, method="log", normalize=True))
    per_sample = np.asarray(
        jax.vmap(lambda xi: encoding.latency(xi, 6, method="log", normalize=True), 0, 1)(x)
    )
    assert joint[5, 0, 1] == 1  # the weakest entry of the whole array lands on T - 1
    assert joint[5, 1, 1] == 0
    assert per_sample[5, 0, 1] == 1 and per_sample[5, 1, 1] == 1  # each sample's weakest


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_latency_keeps_dtype_and_jit_matches_eager(dtype):
    x = jnp.linspace(0.0, 1.0, 9).astype(dtype)
    for kwargs in ({}, {"method": "log", "normalize": True}):
        eager = encoding.latency(x, 7, **kwargs)
        jitted = jax.jit(lambda x, kw=kwargs: encoding.latency(x, 7, **kw))(x)
        assert eager.dtype == dtype
        np.testing.assert_array_equal(np.asarray(eager, np.float32), np.asarray(jitted, np.float32))


def test_latency_errors():
    x = jnp.array([0.5])
    with pytest.raises(ValueError, match=r"`latency`: `method` must be one of \('linear', 'log'\)"):
        encoding.latency(x, 4, method="exp")
    with pytest.raises(ValueError, match="`latency`: `tau` must be None for method='linear'"):
        encoding.latency(x, 4, tau=2.0)
    with pytest.raises(
        ValueError, match="`latency`: `normalize` must be False for method='linear'"
    ):
        encoding.latency(x, 4, normalize=True)
    with pytest.raises(TypeError, match="`latency`: `normalize` must be a bool; got 1"):
        encoding.latency(x, 4, method="log", normalize=1)
    with pytest.raises(
        ValueError, match=r"`latency`: `threshold` must lie in \(0.0, 1.0\]; got \[0.0\]"
    ):
        encoding.latency(x, 4, method="log", threshold=0.0)
    with pytest.raises(
        ValueError, match=r"`latency`: `threshold` must lie in \[0.0, 1.0\]; got \[-0.1"
    ):
        encoding.latency(x, 4, threshold=-0.1)
    with pytest.raises(ValueError, match="`latency`: `threshold` must be a scalar; got shape"):
        encoding.latency(x, 4, threshold=jnp.array([0.1, 0.2]))
    with pytest.raises(
        ValueError, match=r"`latency`: `tau` must lie in \(0.0, inf\]; got \[-1.0\]"
    ):
        encoding.latency(x, 4, method="log", tau=-1.0)
    with pytest.raises(ValueError, match=r"`latency`: `x` must lie in \[0.0, 1.0\]; got \[-0.5\]"):
        encoding.latency(jnp.array([-0.5]), 4)
    with pytest.raises(TypeError, match="`latency`: `x` must have a floating dtype"):
        encoding.latency(jnp.array([1], jnp.uint8), 4)
    with pytest.raises(ValueError, match="`latency`: `num_steps` must be a positive int; got 0"):
        encoding.latency(x, 0)


# ---------------------------------------------------------------------------------------------
# delta


def _delta_reference(xs, theta):
    """Independent NumPy loop over time and channels of the documented recursion (float64)."""
    xs = np.asarray(xs, np.float64)
    theta = np.broadcast_to(np.asarray(theta, np.float64), xs.shape[1:])
    out = np.zeros_like(xs)
    ref = xs[0].copy()
    for t in range(1, xs.shape[0]):
        for idx in np.ndindex(*xs.shape[1:]):
            n = math.trunc((xs[(t, *idx)] - ref[idx]) / theta[idx])
            out[(t, *idx)] = n
            ref[idx] += n * theta[idx]
    return out


def _signal(T=40, shape=(3, 4), seed=0):
    steps = np.random.default_rng(seed).normal(0.0, 0.6, (T, *shape))
    return np.cumsum(steps, axis=0).astype(np.float32)


@pytest.mark.parametrize("theta", [0.25, 1.0, np.array([0.1, 0.3, 0.7, 1.1], np.float32)])
def test_delta_matches_reference_and_reconstructs(theta):
    xs = _signal()
    n = np.asarray(encoding.delta(jnp.asarray(xs), jnp.asarray(theta)))
    ref = _delta_reference(xs, theta)
    # float32 vs float64 may flip a truncation only when (x - ref)/θ sits on an integer.
    assert np.mean(n == ref) > 0.99
    np.testing.assert_array_equal(n[0], 0)
    # Reconstruction from the first sample and the events stays within one threshold.
    theta_b = np.broadcast_to(np.asarray(theta, np.float64), xs.shape[1:])
    recon = xs[0].astype(np.float64) + theta_b * np.cumsum(n.astype(np.float64), axis=0)
    assert np.all(np.abs(xs - recon) < theta_b * (1 + 1e-5))
    assert np.abs(n).max() > 1  # large jumps are counted, not clipped


def test_delta_hand_values_and_split():
    xs = jnp.array([0.0, 0.5, 1.2, 3.1, 1.0, 0.95])
    np.testing.assert_array_equal(encoding.delta(xs, 1.0), [0, 0, 1, 2, -2, 0])
    split = np.asarray(encoding.delta(xs, 1.0, split=True))
    np.testing.assert_array_equal(split, [[0, 0], [0, 0], [1, 0], [2, 0], [0, 2], [0, 0]])
    xs2 = jnp.asarray(_signal(T=20, shape=(2, 3), seed=2))
    n = np.asarray(encoding.delta(xs2, 0.4))
    s = np.asarray(encoding.delta(xs2, 0.4, split=True))
    assert s.shape == (20, 2, 3, 2) and np.all(s >= 0)
    np.testing.assert_array_equal(s[..., 0] - s[..., 1], n)
    np.testing.assert_array_equal(np.minimum(s[..., 0], s[..., 1]), 0)


def test_delta_single_step_and_scalar_channels():
    np.testing.assert_array_equal(encoding.delta(jnp.array([[3.0, 4.0]]), 0.5), [[0.0, 0.0]])
    out = encoding.delta(jnp.array([0.0, 2.0]), 1.0)  # [T] only: one channel
    np.testing.assert_array_equal(out, [0.0, 2.0])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_delta_keeps_dtype_and_jit_matches_eager(dtype):
    xs = jnp.asarray(_signal(T=12, shape=(5,), seed=3)).astype(dtype)
    eager = encoding.delta(xs, 0.5, split=True)
    jitted = jax.jit(lambda xs, th: encoding.delta(xs, th, split=True))(xs, jnp.float32(0.5))
    assert eager.dtype == dtype and eager.shape == (12, 5, 2)
    np.testing.assert_array_equal(np.asarray(eager, np.float32), np.asarray(jitted, np.float32))


def test_delta_errors():
    xs = jnp.zeros((4, 3))
    for bad in (0.0, -1.0, jnp.nan):
        with pytest.raises(ValueError, match="`delta`: `threshold` must"):
            encoding.delta(xs, bad)
    with pytest.raises(
        ValueError, match=r"`delta`: `threshold` must lie in \(0.0, inf\]; got \[0.0\]"
    ):
        encoding.delta(xs, 0.0)
    with pytest.raises(ValueError, match=r"`delta`: `threshold` must be a scalar or broadcastable"):
        encoding.delta(xs, jnp.ones((2,)))
    with pytest.raises(TypeError, match="`delta`: `threshold` must be a real number"):
        encoding.delta(xs, True)
    with pytest.raises(TypeError, match="`delta`: `xs` must have a floating dtype"):
        encoding.delta(jnp.zeros((4, 3), jnp.int32), 1.0)
    with pytest.raises(
        ValueError, match=r"`delta`: `xs` must be time-major \[T, \*shape\] with T >= 1"
    ):
        encoding.delta(jnp.float32(1.0), 1.0)
    with pytest.raises(ValueError, match=r"`delta`: `xs` must be time-major.*\(0, 3\)"):
        encoding.delta(jnp.zeros((0, 3)), 1.0)
    with pytest.raises(TypeError, match="`delta`: `split` must be a bool"):
        encoding.delta(xs, 1.0, split="yes")


# ---------------------------------------------------------------------------------------------
# direct


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_direct_repeats_and_gradient_sums_over_time(dtype):
    x = jnp.arange(6.0).reshape(2, 3).astype(dtype)
    out = encoding.direct(x, 4)
    assert out.shape == (4, 2, 3) and out.dtype == dtype
    for t in range(4):
        np.testing.assert_array_equal(np.asarray(out[t], np.float32), np.asarray(x, np.float32))
    w = jnp.arange(24.0).reshape(4, 2, 3)
    g = jax.grad(lambda x: jnp.sum(encoding.direct(x, 4) * w))(jnp.ones((2, 3)))
    np.testing.assert_allclose(g, np.asarray(w).sum(axis=0))


def test_direct_errors():
    with pytest.raises(TypeError, match="`direct`: `x` must have a floating dtype; got int32"):
        encoding.direct(jnp.zeros(3, jnp.int32), 2)
    with pytest.raises(ValueError, match="`direct`: `num_steps` must be a positive int; got 0"):
        encoding.direct(jnp.zeros(3), 0)
    with pytest.raises(TypeError, match=r"`direct`: `num_steps` must be a positive int; got 3\.0"):
        encoding.direct(jnp.zeros(3), 3.0)
