"""Evolution: the genome round trip, zero noise, convergence on a quadratic, vmapped fitness
equal to a loop over members, masks, sharding over devices and the named errors."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import evolve

TARGET = jnp.array([0.5, -1.0, 2.0, 0.0, 1.5])


class Point(nnx.Module):
    def __init__(self):
        self.w = nnx.Param(jnp.zeros(5))
        self.fixed = nnx.Variable(jnp.ones(2))

    def __call__(self, x):
        return self.w[...] * x


def quadratic(model, batch):
    del batch
    return -jnp.sum((model.w[...] - TARGET) ** 2)


@pytest.fixture(scope="module")
def mlp():
    net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(6,))
    rng = np.random.default_rng(0)
    xs = jnp.asarray(rng.random((3, 4, 64)), jnp.float32)
    ys = jnp.array([0, 3, 5, 9])
    return net, (xs, ys)


def ce_fitness(model, batch):
    xs, ys = batch
    logits = jnp.mean(model(xs), axis=0)
    return jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), ys[:, None], axis=1))


def pure(model):
    return nnx.to_pure_dict(nnx.state(model))


@pytest.mark.parametrize("strategy", ["snes", "cma_es"])
def test_population_of_one_with_zero_noise_leaves_the_parameters_unchanged(mlp, strategy):
    net, batch = mlp
    ev = evolve.Evolution(net, ce_fitness, strategy=strategy, population=1, sigma=0.0)
    state = ev.init(key=jr.key(0))
    state, metrics = jax.jit(ev.step)(state, batch, jr.key(1))
    for a, b in zip(
        jax.tree.leaves(pure(ev.model(state))), jax.tree.leaves(pure(net)), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert float(metrics["fitness"][0]) == pytest.approx(float(ce_fitness(net, batch)), rel=1e-6)
    assert int(state.generation) == 1


@pytest.mark.parametrize(
    "strategy, population, generations, sigma, lr",
    [("open_es", 32, 150, 0.1, 0.05), ("snes", 16, 100, 0.5, 1.0), ("cma_es", 16, 60, 0.5, 0.0)],
)
def test_a_quadratic_problem_converges(strategy, population, generations, sigma, lr):
    model = Point()
    ev = evolve.Evolution(
        model, quadratic, strategy=strategy, population=population, sigma=sigma, lr=lr
    )

    @jax.jit
    def run(state, key):
        def generation(state, key):
            state, metrics = ev.step(state, None, key)
            return state, metrics["best"]

        return jax.lax.scan(generation, state, jr.split(key, generations))

    state, best = run(ev.init(key=jr.key(0)), jr.key(1))
    final = ev.model(state).w[...]
    assert float(jnp.max(jnp.abs(final - TARGET))) < 0.1, (strategy, final)
    assert float(best[-1]) > float(best[0])
    np.testing.assert_array_equal(ev.model(state).fixed[...], jnp.ones(2))  # not chosen


def test_vmapped_fitness_equals_a_loop_over_members(mlp):
    net, batch = mlp
    ev = evolve.Evolution(
        net, ce_fitness, strategy="snes", population=4, params=["blocks.*"], mask=True, sigma=0.3
    )
    state = ev.init(key=jr.key(0))
    population = ev.ask(state, jr.key(2))
    got = jax.jit(ev.evaluate)(population, batch)
    want = [float(ce_fitness(ev.genome.model_of(member), batch)) for member in population]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert len(set(np.round(want, 6))) == 4  # the members differ


def test_subsets_and_the_connectivity_mask(mlp):
    net, _ = mlp
    genome = evolve.Genome(net, ["*.threshold", "head.fc.kernel"], mask=True)
    assert genome.paths == ("blocks.0.sn.params.threshold", "head.fc.kernel")
    assert genome.masked == ("head.fc.kernel",)
    assert genome.size == 6 + 60 + 60  # per-neuron thresholds, the kernel, its mask
    vector = genome.initial.at[6 + 60 : 6 + 60 + 30].set(-1.0)  # cut the first 30 connections
    model = genome.model_of(vector)
    kernel = np.asarray(model.head.fc.kernel[...]).ravel()
    assert np.all(kernel[:30] == 0)
    np.testing.assert_array_equal(kernel[30:], np.asarray(net.head.fc.kernel[...]).ravel()[30:])
    assert float(genome.density(vector)) == pytest.approx(0.5)
    threshold = model.blocks[0].sn.params.threshold[...]
    np.testing.assert_array_equal(threshold, net.blocks[0].sn.params.threshold[...])


def test_bad_input_is_named(mlp):
    net, _ = mlp
    with pytest.raises(ValueError, match=r"`params` must choose at least one floating leaf"):
        evolve.Evolution(net, ce_fitness, params=["nothing.*"])
    with pytest.raises(ValueError, match=r"`population` \(3\) must divide evenly across the 2"):
        device = jax.devices()[0]
        evolve.Evolution(net, ce_fitness, population=3, devices=[device, device])
    with pytest.raises(ValueError, match="must be even for 'open_es'"):
        evolve.Evolution(net, ce_fitness, strategy="open_es", population=5)
    with pytest.raises(ValueError, match="`sigma` must be a finite number >= 0"):
        evolve.Evolution(net, ce_fitness, sigma=-0.1)
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        evolve.Evolution(net, ce_fitness, strategy="ga")
    with pytest.raises(ValueError, match="`mask=True` needs a chosen kernel"):
        evolve.Genome(net, ["*.threshold"], mask=True)


SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, jax.random as jr, numpy as np
    from flax import nnx
    import spikejax as sj
    assert len(jax.devices()) == 2
    net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(6,))
    xs = jnp.asarray(np.random.default_rng(0).random((3, 4, 64)), jnp.float32)
    def fitness(model, xs):
        return jnp.mean(model(xs))
    sharded = sj.evolve.Evolution(net, fitness, population=4, sigma=0.1)
    single = sj.evolve.Evolution(net, fitness, population=4, sigma=0.1, devices=jax.devices()[:1])
    population = single.ask(single.init(key=jr.key(0)), jr.key(1))
    a = jax.jit(sharded.evaluate)(population, xs)
    b = jax.jit(single.evaluate)(population, xs)
    assert len(a.sharding.device_set) == 2, a.sharding
    np.testing.assert_allclose(a, b, rtol=1e-6)
    try:
        sj.evolve.Evolution(net, fitness, population=3)
    except ValueError as error:
        assert "(3) must divide evenly across the 2 devices" in str(error)
    else:
        raise AssertionError("population 3 on 2 devices was accepted")
    print("ok")
    """
)


@pytest.mark.slow  # a fresh interpreter with two host devices
def test_population_is_sharded_across_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
