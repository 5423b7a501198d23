"""Contracts every neuron in the registry must meet (rule 8 of the house style,
docs/explanation/house-style.md)."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import spikejax as sj
from tests.helpers import (
    N,
    cast_leaves,
    floating_leaves,
    neuron_registry,
    random_inputs,
    smooth_twin,
)

REGISTRY = neuron_registry()
NAMES = sorted(REGISTRY)


def test_registry_covers_every_exported_neuron():
    exported = {
        obj
        for name in sj.neurons.__all__
        if inspect.isclass(obj := getattr(sj.neurons, name))
        and issubclass(obj, sj.neurons.AbstractNeuron)
        and not inspect.isabstract(obj)
    }
    assert exported == {type(n) for n in REGISTRY.values()}


def _assert_close(actual, desired):
    """Equal up to float32 rounding, in units of the values' own scale: threshold units (~1) for
    most neurons, millivolts (~65) for Izhikevich's membrane."""
    scale = max(1.0, float(np.max(np.abs(np.asarray(desired, np.float64)), initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=1e-6, atol=1e-6 * scale)


def _run(neuron, xs):
    return sj.unroll(neuron, neuron.init_state(xs.shape[1:], xs.dtype), xs)


@pytest.mark.parametrize("name", NAMES)
def test_jit_equals_eager(name):
    neuron, xs = REGISTRY[name], random_inputs(30, (3,))
    eager = _run(neuron, xs)
    jitted = jax.jit(_run)(neuron, xs)
    jax.tree_util.tree_map(_assert_close, eager, jitted)


@pytest.mark.parametrize("name", NAMES)
def test_unroll_equals_python_loop(name):
    neuron, xs = REGISTRY[name], random_inputs(30, (3,))
    state = neuron.init_state(xs.shape[1:])
    outs = []
    for x in xs:
        state, out = neuron.step(state, x)
        outs.append(out)
    final, outputs = _run(neuron, xs)
    _assert_close(outputs, jnp.stack(outs))
    jax.tree_util.tree_map(_assert_close, final, state)


@pytest.mark.parametrize("name", NAMES)
def test_vmap_equals_broadcasting(name):
    neuron, xs = REGISTRY[name], random_inputs(20, (4,))
    batched = _run(neuron, xs)
    per_sample = jax.vmap(_run, in_axes=(None, 1), out_axes=(0, 1))(neuron, xs)
    jax.tree_util.tree_map(_assert_close, batched, per_sample)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("name", NAMES)
def test_dtype_and_tree_structure_are_stable(name, dtype):
    neuron = REGISTRY[name]
    state0 = neuron.init_state((2, N), dtype)
    state1, out = neuron.step(state0, random_inputs(1, (2,), dtype)[0])
    assert out.dtype == dtype and out.shape == (2, N)
    assert jax.tree_util.tree_structure(state1) == jax.tree_util.tree_structure(state0)
    for a, b in zip(
        jax.tree_util.tree_leaves(state0), jax.tree_util.tree_leaves(state1), strict=True
    ):
        assert a.dtype == b.dtype and a.shape == b.shape
        # Floating state follows the input's dtype; integer state (a refractory count) is exact
        # and keeps the dtype its neuron declares whatever the input's.
        assert a.dtype == dtype if jnp.issubdtype(a.dtype, jnp.floating) else a.dtype == jnp.int32
    # init_state declares the same state whatever the dtype, except for the floating dtype.
    other = neuron.init_state((2, N), jnp.float32 if dtype == jnp.bfloat16 else jnp.bfloat16)
    assert jax.tree_util.tree_structure(other) == jax.tree_util.tree_structure(state0)
    # Parameters are a pytree whose structure survives flatten/unflatten and jit.
    leaves, treedef = jax.tree_util.tree_flatten(neuron)
    assert jax.tree_util.tree_structure(jax.tree_util.tree_unflatten(treedef, leaves)) == treedef


@pytest.mark.parametrize("name", NAMES)
def test_spikes_are_exactly_binary(name):
    neuron = REGISTRY[name]
    if not neuron.spiking:
        pytest.skip("membrane readout")
    _, s = _run(neuron, random_inputs(50, (3,)))
    values = np.unique(np.asarray(s))
    assert set(values.tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("name", NAMES)
def test_gradients_of_smooth_twin_match_finite_differences(name):
    with jax.enable_x64(True):
        twin = cast_leaves(smooth_twin(REGISTRY[name]), jnp.float64)
        xs = random_inputs(8, (2,), jnp.float64, seed=3)
        weights = jnp.asarray(np.random.default_rng(1).normal(size=xs.shape))

        def loss(neuron, xs):
            final, out = _run(neuron, xs)
            return (out * weights).sum() + sum(leaf.sum() for leaf in floating_leaves(final))

        check_grads(loss, (twin, xs), order=1, modes=["rev"], eps=1e-6, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_are_finite_through_100_steps(name):
    neuron = REGISTRY[name]
    xs = random_inputs(100, (3,), seed=5)

    def loss(neuron, xs):
        return _run(neuron, xs)[1].mean()

    g_neuron, g_xs = jax.grad(loss, argnums=(0, 1))(neuron, xs)
    leaves = jax.tree_util.tree_leaves((g_neuron, g_xs))
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves)
    assert float(jnp.abs(g_xs).sum()) > 0
    # Every parameter the optimizer may train is reached by the surrogate gradient.
    for path, leaf in jax.tree_util.tree_leaves_with_path(g_neuron):
        assert float(jnp.abs(leaf).sum()) > 0, jax.tree_util.keystr(path)
