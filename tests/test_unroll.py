"""`unroll` / `truncated_unroll`: equivalences, checkpointed-BPTT memory, and named errors."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import spikejax as sj


def _lif():
    return sj.neurons.LIF(beta=jnp.linspace(0.5, 0.95, 6), threshold=0.8)


def _inputs(T=23, batch=4, n=6, seed=0):
    return jr.uniform(jr.key(seed), (T, batch, n), minval=-0.2, maxval=0.9)


def _loss(neuron, xs, **kwargs):
    _, s = sj.unroll(neuron, neuron.init_state(xs.shape[1:], xs.dtype), xs, **kwargs)
    weights = jnp.linspace(-1.0, 1.0, s.size).reshape(s.shape)
    return (s * weights).sum()


@pytest.mark.parametrize("remat", [True, 1, 4, 7, 23, 50])
def test_remat_matches_plain_forward_and_gradients(remat):
    neuron, xs = _lif(), _inputs()
    plain = sj.unroll(neuron, neuron.init_state(xs.shape[1:]), xs)
    checkpointed = sj.unroll(neuron, neuron.init_state(xs.shape[1:]), xs, remat=remat)
    jax.tree_util.tree_map(np.testing.assert_array_equal, plain, checkpointed)
    g_plain = jax.grad(_loss, argnums=(0, 1))(neuron, xs)
    g_remat = jax.grad(_loss, argnums=(0, 1))(neuron, xs, remat=remat)
    jax.tree_util.tree_map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), g_plain, g_remat
    )


@pytest.mark.parametrize("n_unroll", [2, 5, 23])
def test_loop_unrolling_changes_nothing(n_unroll):
    neuron, xs = _lif(), _inputs()
    a = sj.unroll(neuron, neuron.init_state(xs.shape[1:]), xs)
    b = sj.unroll(neuron, neuron.init_state(xs.shape[1:]), xs, unroll=n_unroll)
    jax.tree_util.tree_map(np.testing.assert_allclose, a, b)


def _temp_bytes(T: int, remat: bool | int) -> int:
    """Temporary memory of the compiled BPTT gradient through a 64-neuron LIF layer, batch 8."""
    shape = (T, 8, 64)

    def loss(beta, xs):
        neuron = sj.neurons.LIF(beta=beta)
        return sj.unroll(neuron, neuron.init_state(shape[1:]), xs, remat=remat)[1].sum()

    compiled = (
        jax.jit(jax.grad(loss))
        .lower(jax.ShapeDtypeStruct((64,), jnp.float32), jax.ShapeDtypeStruct(shape, jnp.float32))
        .compile()
    )
    analysis = compiled.memory_analysis()
    if analysis is None:
        pytest.skip("this backend reports no memory analysis")
    return analysis.temp_size_in_bytes


def test_remat_memory_grows_like_sqrt_T():
    plain = {T: _temp_bytes(T, False) for T in (500, 8000)}
    remat = {T: _temp_bytes(T, True) for T in (500, 8000)}
    # Plain BPTT keeps per-step intermediates: 16x the steps, ~16x the memory.
    assert plain[8000] / plain[500] > 10
    # Checkpointed BPTT keeps ~2 sqrt(T) states: 16x the steps, ~4x the memory.
    assert remat[8000] / remat[500] < 6
    assert remat[8000] < plain[8000] / 8


def test_remat_chunks_divide_T_when_they_can():
    # A tail window would force a copy of the whole output; a divisor near sqrt(T) avoids it.
    assert sj._unroll._sqrt_chunk(20000) == 125 and sj._unroll._sqrt_chunk(500) == 20
    assert sj._unroll._sqrt_chunk(997) == 32  # prime: ceil(sqrt(T)) with a tail
    assert _temp_bytes(20000, True) < _temp_bytes(20000, 137) / 4  # 137 does not divide 20000


def test_truncated_unroll_forward_equals_unroll_and_cuts_gradients():
    neuron, xs = _lif(), _inputs(T=10, batch=1, n=6)
    state0 = neuron.init_state(xs.shape[1:])
    full = sj.unroll(neuron, state0, xs)
    for window in (1, 3, 4, 10, 13):
        truncated = sj.truncated_unroll(neuron, state0, xs, window=window)
        jax.tree_util.tree_map(np.testing.assert_array_equal, full, truncated)

    def membrane_at(t, xs, window):
        state, _ = sj.truncated_unroll(neuron, state0, xs[: t + 1], window=window)
        return state.v.sum()

    # LIF with subtractive reset: v_t depends on every earlier input, through beta^k.
    g_full = jax.grad(membrane_at, argnums=1)(8, xs, 100)
    g_cut = jax.grad(membrane_at, argnums=1)(8, xs, 3)
    assert np.all(np.asarray(g_full[:9]) != 0)
    # Window boundaries at 0, 3, 6, 9: step 8 lies in window [6, 9), so only inputs 6..8 get a
    # gradient.
    np.testing.assert_array_equal(g_cut[:6], 0)
    np.testing.assert_allclose(g_cut[6:9], g_full[6:9], rtol=1e-6)


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [sj.unroll, lambda *a: sj.truncated_unroll(*a, window=2)])
def test_batch_mismatch_names_xs(fn):
    neuron = _lif()
    with pytest.raises(ValueError, match=r"`xs`.*state shape \(4, 6\).*\(10, 3, 6\)"):
        fn(neuron, neuron.init_state((4, 6)), jnp.zeros((10, 3, 6)))


def test_batch_major_input_is_rejected():
    neuron = _lif()
    state = neuron.init_state((32, 6))
    with pytest.raises(ValueError, match="`unroll`: `xs` must be time-major"):
        sj.unroll(neuron, state, jnp.zeros((32, 100, 6)))


def test_missing_time_axis_is_rejected():
    neuron = _lif()
    with pytest.raises(ValueError, match="`xs` must be time-major"):
        sj.unroll(neuron, neuron.init_state((4, 6)), jnp.zeros((4, 6)))


def test_non_floating_input_is_rejected():
    neuron = _lif()
    with pytest.raises(TypeError, match="`unroll`: `xs` must have a floating dtype; got int32"):
        sj.unroll(neuron, neuron.init_state((6,)), jnp.zeros((3, 6), jnp.int32))


def test_zero_time_steps_are_rejected():
    neuron = _lif()
    with pytest.raises(ValueError, match=r"`unroll`: `xs` must have at least one time step"):
        sj.unroll(neuron, neuron.init_state((6,)), jnp.zeros((0, 6)))


def test_scalar_and_non_array_inputs_are_rejected():
    neuron = _lif()
    with pytest.raises(ValueError, match="`xs`"):
        sj.unroll(neuron, neuron.init_state(()), jnp.float32(1.0))
    with pytest.raises(TypeError, match="`xs`"):
        sj.unroll(neuron, neuron.init_state((6,)), [[0.0] * 6])


def test_state_dtype_mismatch_is_rejected():
    neuron = _lif()
    with pytest.raises(TypeError, match="dtype float32 but `xs` has bfloat16"):
        sj.unroll(neuron, neuron.init_state((6,)), jnp.zeros((3, 6), jnp.bfloat16))


def test_non_neuron_is_rejected():
    with pytest.raises(TypeError, match="`unroll`: `neuron`"):
        sj.unroll(lambda s, x: (s, x), jnp.zeros(6), jnp.zeros((3, 6)))


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_unroll_and_remat_values(bad):
    neuron = _lif()
    state, xs = neuron.init_state((6,)), jnp.zeros((3, 6))
    with pytest.raises(ValueError, match="`unroll`: `unroll` must be a positive int"):
        sj.unroll(neuron, state, xs, unroll=bad)
    with pytest.raises(ValueError, match="`unroll`: `remat` must be a bool or a positive int"):
        sj.unroll(neuron, state, xs, remat=bad)
    with pytest.raises(ValueError, match="`truncated_unroll`: `window` must be a positive int"):
        sj.truncated_unroll(neuron, state, xs, window=bad)
