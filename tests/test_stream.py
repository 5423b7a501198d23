"""Streaming state: chunked runs equal one full run, bit for bit, over every neuron, every layer
type and one model of each zoo family; state is an explicit pytree."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers
from tests.helpers import N, neuron_registry

T, B = 7, 2
# XLA's library GEMMs compute every row the same whatever the number of rows; its small-matrix
# loops on the CPU (a few input features) may round a row differently with another row count.
F = 64


def chunks_equal_full(model, xs, sizes=(1, 3, T), **kwargs):
    """Run ``xs`` in chunks of each size; outputs and final states equal the full run's."""
    full_state = sj.init_state(model, xs.shape[1:], xs.dtype, **kwargs)
    full, full_final = sj.run(model, xs, full_state, **kwargs)
    np.testing.assert_array_equal(full, model(xs, **kwargs))  # plain call = run from rest
    for size in sizes:
        state, outs = sj.init_state(model, xs.shape[1:], xs.dtype, **kwargs), []
        for start in range(0, xs.shape[0], size):
            out, state = sj.run(model, xs[start : start + size], state, **kwargs)
            outs.append(out)
        np.testing.assert_array_equal(jnp.concatenate(outs), full, err_msg=f"chunk {size}")
        for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(full_final), strict=True):
            np.testing.assert_array_equal(a, b)
    return full_final


class Stack(nnx.Module):
    def __init__(self, neuron, rngs):
        self.fc = layers.TimeFolded(nnx.Linear(F, N, rngs=rngs))
        self.sn = layers.Spiking(neuron)

    def __call__(self, xs):
        return self.sn(self.fc(xs))


@pytest.mark.parametrize("name", sorted(neuron_registry()))
def test_every_neuron_streams_exactly(name):
    neuron = neuron_registry()[name]
    xs = (jax.random.normal(jax.random.key(0), (T, B, F)) * 2.0 + 0.5) / 4.0
    if name.startswith("izhikevich"):
        xs = xs * 10.0  # the paper's current units
    final = chunks_equal_full(Stack(neuron, nnx.Rngs(1)), xs)
    assert set(final) == {"sn"}


class ConvStack(nnx.Module):
    """conv → BN → LIF → max pool → dropout → flatten → recurrent LIF → LI (every layer type)."""

    def __init__(self, rngs):
        self.conv = layers.TimeFolded(nnx.Conv(16, 16, (3, 3), rngs=rngs))
        self.bn = layers.SeqBatchNorm(16, rngs=rngs)
        self.lif = layers.Spiking(sj.neurons.LIF(beta=0.8, threshold=0.3))
        pool = functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2))
        self.pool = layers.TimeFolded(pool)
        self.drop = layers.SeqDropout(0.5, rngs=rngs)
        self.fc = layers.TimeFolded(nnx.Linear(64, 4, rngs=rngs))
        weight = jax.random.normal(jax.random.key(9), (4, 4)) * 0.5
        self.rec = layers.Spiking(sj.neurons.Recurrent(sj.neurons.LIF(beta=0.9), weight))
        self.out = layers.Spiking(sj.neurons.LI(beta=0.9))
        self.head = layers.TimeFolded(nnx.Linear(4, 2, rngs=rngs))

    def __call__(self, xs):
        s = self.drop(self.pool(self.lif(self.bn(self.conv(xs)))))
        s = s.reshape((*s.shape[:2], -1))
        return self.out(self.head(self.rec(self.fc(s))))


def test_every_layer_type_streams_exactly_in_evaluation_mode():
    model = ConvStack(nnx.Rngs(0))
    model.eval()  # batch statistics over a chunk would differ from those over the sequence
    xs = jax.random.uniform(jax.random.key(1), (T, B, 4, 4, 16), maxval=0.5)
    final = chunks_equal_full(model, xs)
    assert set(final) == {"lif", "rec", "out"}
    assert isinstance(final["rec"], sj.neurons.RecurrentState)


# The zoo models run eagerly, op by op, once per chunk: 4 steps in chunks of 1 and 3 cover a
# chunk of one step, a chunk that ends early and one that crosses the end (4 = 3 + 1).
T_ZOO = 4


def tiny(name):
    overrides = {
        "conv_snn": dict(channels=(4, 8), image_size=12, T=T_ZOO),
        "sew_7bnet_dvs128": dict(width=2, blocks=(2,), image_size=4, T=T_ZOO),
        "spikformer_2_256_dvs128": dict(embed_dim=16, num_heads=2, image_size=16, depth=1, T=T_ZOO),
    }
    return overrides.get(name, {})


@pytest.mark.parametrize(
    "name", ["lif_mlp", "conv_snn", "sew_7bnet_dvs128", "spikformer_2_256_dvs128"]
)
def test_one_model_of_each_zoo_family_streams_exactly(name):
    model = sj.models.create(name, rngs=nnx.Rngs(0), **tiny(name))
    model.eval()
    meta = sj.models.info(name, **tiny(name))
    xs = jax.random.uniform(jax.random.key(2), (T_ZOO, B, *meta.input_shape), maxval=1.5)
    kwargs = {} if meta.family == "small" else {"per_step": True}
    final = chunks_equal_full(model, xs, sizes=(1, 3), **kwargs)
    spiking = [p for p, m in nnx.iter_modules(model) if isinstance(m, layers.Spiking)]
    assert len(final) == len(spiking)


def test_run_under_jit_and_the_state_is_a_plain_pytree():
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
    xs = jax.random.uniform(jax.random.key(3), (6, B, 64))
    state = sj.init_state(model, (B, 64))
    step = nnx.jit(lambda m, x, s: sj.run(m, x, s))
    a, state = step(model, xs[:3], state)
    b, state = step(model, xs[3:], state)
    np.testing.assert_array_equal(jnp.concatenate([a, b]), model(xs))
    assert jax.tree.structure(state) == jax.tree.structure(sj.init_state(model, (B, 64)))
    assert len(nnx.state(model)) == len(
        nnx.state(sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,)))
    )


def test_errors_name_the_layer():
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
    xs = jnp.ones((2, B, 64))
    state = sj.init_state(model, (B, 64))
    missing = {k: v for k, v in state.items() if k != "head.li"}
    with pytest.raises(
        ValueError, match=r"`run`: `state` must hold an entry for spiking layer `head.li`"
    ):
        sj.run(model, xs, missing)
    with pytest.raises(
        ValueError, match=r"`run`: `state` has entries \['other'\] for layers that did not run"
    ):
        sj.run(model, xs, {**state, "other": state["head.li"]})
    with pytest.raises(
        ValueError,
        match=r"`run`: `state\['blocks.0.sn'\].v` has shape \(2, 8\) \(float32\), but layer "
        r"`blocks.0.sn` \(LIF\) runs on steps that need \(3, 8\)",
    ):
        sj.run(model, jnp.ones((2, 3, 64)), state)  # a state built for another batch size
    other = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(9,))
    with pytest.raises(
        ValueError, match=r"`state\['blocks.0.sn'\].v` has shape \(2, 8\).*\(2, 9\)"
    ):
        sj.run(other, xs, state)  # a state of another model
    with pytest.raises(ValueError, match=r"`state\['head.li'\]` must be a LIState of layer"):
        sj.run(model, xs, {**state, "head.li": (state["head.li"].v,)})
    with pytest.raises(ValueError, match=r"`run`: `xs` must be a chunk of at least one time step"):
        sj.run(model, jnp.ones((0, B, 64)), state)
    with pytest.raises(ValueError, match=r"`init_state`: `batch_shape` must be the shape of one"):
        sj.init_state(model, (0, 64))

    class Twice(nnx.Module):
        def __init__(self):
            self.sn = layers.Spiking(sj.neurons.IF())

        def __call__(self, xs):
            return self.sn(self.sn(xs))

    with pytest.raises(ValueError, match=r"`init_state`: spiking layer `sn` runs twice"):
        sj.init_state(Twice(), (B, 3))
