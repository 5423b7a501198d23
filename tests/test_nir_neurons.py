"""The neuron options NIR needs (strict threshold, v_reset, r, v_leak, w_in; CubaLI) against NumPy
transcriptions of the docstring equations; defaults stay bit-identical (tests/test_golden.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj

T, N = 12, 6
RNG = np.random.default_rng(3)
XS = RNG.normal(0.4, 0.8, (T, 2, N)).astype(np.float32)
R = RNG.uniform(0.5, 2.0, N).astype(np.float32)
V_LEAK = RNG.uniform(-0.3, 0.3, N).astype(np.float32)
V_RESET = RNG.uniform(-0.5, 0.2, N).astype(np.float32)


def run(neuron):
    state, out = sj.unroll(neuron, neuron.init_state((2, N)), jnp.asarray(XS))
    return np.asarray(out), jax.tree_util.tree_map(np.asarray, state)


def reference(decay_input, *, beta=0.8, theta=1.0, alpha=None):
    """h = β v + [(1-β)] r x + (1-β) v_leak (CubaLIF: i = α i + w x first); s = 1[h > θ];
    v = h (1 - s) + s v_reset."""
    v, i, spikes = np.zeros((2, N)), np.zeros((2, N)), []
    for x in XS.astype(np.float64):
        if alpha is not None:
            i = alpha * i + R * x
            drive = R * i
        else:
            drive = (1 - beta) * R * x if decay_input else R * x
        h = beta * v + drive + (1 - beta) * V_LEAK
        s = (h > theta).astype(np.float64)
        v = h * (1 - s) + s * V_RESET
        spikes.append(s)
    return np.stack(spikes), v, i


@pytest.mark.parametrize("decay_input", [False, True])
def test_lif_with_every_option(decay_input):
    lif = sj.neurons.LIF(
        beta=0.8,
        reset="zero",
        decay_input=decay_input,
        r=R,
        v_leak=V_LEAK,
        v_reset=V_RESET,
        strict=True,
    )
    spikes, state = run(lif)
    want, v, _ = reference(decay_input)
    assert 0 < want.sum() < want.size
    np.testing.assert_array_equal(spikes, want)
    np.testing.assert_allclose(state.v, v, rtol=1e-5, atol=1e-5)


def test_cuba_lif_with_every_option_and_cuba_li():
    kwargs = {"alpha": 0.6, "beta": 0.8, "w_in": R, "r": R, "v_leak": V_LEAK}
    spikes, state = run(sj.neurons.CubaLIF(**kwargs, reset="zero", v_reset=V_RESET, strict=True))
    want, v, i = reference(False, alpha=0.6)
    np.testing.assert_array_equal(spikes, want)
    np.testing.assert_allclose(state.v, v, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state.i, i, rtol=1e-5, atol=1e-5)
    out, state = run(sj.neurons.CubaLI(**kwargs))
    v, i, trace = np.zeros((2, N)), np.zeros((2, N)), []
    for x in XS.astype(np.float64):
        i = 0.6 * i + R * x
        v = 0.8 * v + R * i + 0.2 * V_LEAK
        trace.append(v)
    np.testing.assert_allclose(out, np.stack(trace), rtol=1e-5, atol=1e-5)


def test_if_and_li_options():
    spikes, _ = run(sj.neurons.IF(reset="zero", r=R, v_reset=V_RESET, strict=True))
    want, _, _ = reference(False, beta=1.0)
    np.testing.assert_array_equal(spikes, want)
    out, _ = run(sj.neurons.LI(beta=0.7, r=R, v_leak=V_LEAK))
    v, trace = np.zeros((2, N)), []
    for x in XS.astype(np.float64):
        v = 0.7 * v + R * x + 0.3 * V_LEAK
        trace.append(v)
    np.testing.assert_allclose(out, np.stack(trace), rtol=1e-5, atol=1e-5)


def test_strict_threshold_differs_only_at_threshold_and_keeps_the_surrogate_gradient():
    h, theta = jnp.array([0.5, 1.0, 1.5]), jnp.ones(3)
    surrogate = sj.surrogate.ATan()
    _, loose = sj.neurons.fire(h, theta, sj.neurons.Reset.NONE, surrogate, True)
    _, strict = sj.neurons.fire(h, theta, sj.neurons.Reset.NONE, surrogate, True, strict=True)
    assert loose.tolist() == [0, 1, 1] and strict.tolist() == [0, 0, 1]

    def total(h, strict):
        return sj.neurons.fire(h, theta, sj.neurons.Reset.NONE, surrogate, True, strict=strict)[
            1
        ].sum()

    np.testing.assert_array_equal(jax.grad(total)(h, True), jax.grad(total)(h, False))
    np.testing.assert_allclose(jax.grad(total)(h, True), surrogate.derivative(h - theta))


def test_options_off_store_no_leaves_and_v_reset_needs_the_hard_reset():
    assert len(jax.tree_util.tree_leaves(sj.neurons.LIF(beta=0.9))) == 2
    with pytest.raises(ValueError, match=r"`LIF`: `v_reset` .* needs reset='zero'; got reset='s"):
        sj.neurons.LIF(beta=0.9, v_reset=0.5)
    with pytest.raises(TypeError, match=r"`IF`: `strict` must be a bool"):
        sj.neurons.IF(strict=1)
    with pytest.raises(TypeError, match=r"`CubaLI`: `r` must be a real number"):
        sj.neurons.CubaLI(alpha=0.5, beta=0.5, r="1")
