"""Plasticity on a real model: which kernels are plastic, one jitted step that chains STDP,
homeostasis and a gradient optimiser, and the named errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import spikejax as sj
from spikejax import plasticity as sp

T, B = 6, 3


class WTA(nnx.Module):
    """Input -> plastic layer with adaptive thresholds -> readout (trained by gradient)."""

    def __init__(self):
        rngs = nnx.Rngs(0)
        self.fc = nnx.Linear(5, 4, use_bias=False, rngs=rngs)
        self.sn = sj.layers.Spiking(
            sj.neurons.LIF(beta=0.8, threshold=jnp.full((4,), 0.5)), trainable=("threshold",)
        )
        self.head = nnx.Linear(4, 2, rngs=rngs)

    def __call__(self, xs):
        return self.head(self.sn(self.fc(xs)))


def test_synapses_finds_the_kernels_that_drive_spiking_neurons():
    net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(6, 5))
    syn = sp.synapses(net, jnp.zeros((T, B, 64)))
    assert list(syn) == ["blocks.0.fc.kernel", "blocks.1.fc.kernel"]
    assert syn["blocks.1.fc.kernel"].post == "blocks.1.sn"
    assert syn["blocks.1.fc.kernel"].pre_shape == (B, 6)
    chosen = sp.synapses(net, jnp.zeros((T, B, 64)), params=["blocks.1.fc.kernel"])
    assert list(chosen) == ["blocks.1.fc.kernel"]


@pytest.mark.parametrize(
    "params, match",
    [
        (["head.fc.kernel"], "parameter `head.fc.kernel` has no recorded pre- and postsynaptic"),
        (["blocks.0.fc.bias"], "parameter `blocks.0.fc.bias` has no recorded"),
        ([], "`params` must be a non-empty sequence"),
    ],
)
def test_synapses_names_a_parameter_without_traces(params, match):
    net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(6,))
    with pytest.raises(ValueError, match=match):
        sp.synapses(net, jnp.zeros((T, B, 64)), params=params)


def test_one_jitted_step_chains_stdp_homeostasis_and_gradients():
    net = WTA()
    xs = jnp.asarray(np.random.default_rng(0).random((T, B, 5)) < 0.5, jnp.float32)
    y = jnp.array([0, 1, 1])
    syn = sp.synapses(net, xs)
    assert list(syn) == ["fc.kernel"]
    lr = 0.5
    tx = optax.chain(
        sp.stdp(syn, a_plus=0.05, a_minus=0.04, tau_plus=3.0, tau_minus=3.0),
        sp.adaptive_threshold(syn, increment=0.01, tau=100.0, rest=0.5),
        optax.sgd(lr),
        sp.clip_weights(syn, w_min=-0.2, w_max=0.6),
    )
    optimizer = nnx.Optimizer(net, tx, wrt=nnx.Param)
    before = jax.tree.map(jnp.copy, nnx.to_pure_dict(nnx.state(net, nnx.Param)))

    @nnx.jit
    def step(net, optimizer, xs, y):
        def loss_fn(net):
            out, activity = sp.record(net, xs, syn)
            logits = jnp.mean(out, axis=0)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            return loss, activity

        (_, activity), grads = nnx.value_and_grad(loss_fn, has_aux=True)(net)
        with jax.numpy_dtype_promotion("standard"):
            optimizer.update(net, grads, activity=activity)
        return activity, grads

    activity, grads = step(net, optimizer, xs, y)
    after = nnx.to_pure_dict(nnx.state(net, nnx.Param))
    # The plastic kernel moved by lr · Δw of the rule alone (clipped), its gradient ignored.
    alone = sp.stdp(syn, a_plus=0.05, a_minus=0.04, tau_plus=3.0, tau_minus=3.0)
    params = {"fc": {"kernel": before["fc"]["kernel"]}}
    neg_dw, _ = alone.update(params, alone.init(params), params, activity=activity)
    want = np.clip(before["fc"]["kernel"] - lr * neg_dw["fc"]["kernel"], -0.2, 0.6)
    np.testing.assert_allclose(after["fc"]["kernel"], want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(after["fc"]["kernel"], before["fc"]["kernel"])
    # The readout followed its gradient.
    for name in ("kernel", "bias"):
        want = before["head"][name] - lr * grads["head"][name][...]
        np.testing.assert_allclose(after["head"][name], want, rtol=1e-5, atol=1e-7)
    # The thresholds: lr · (increment · spikes per sample - (1 - e^{-T/τ}) (θ - rest)).
    spikes = np.asarray(activity.post["fc.kernel"]).sum(axis=(0, 1)) / B
    theta = before["sn"]["params"]["threshold"]
    change = 0.01 * spikes - (1 - math.exp(-T / 100.0)) * (theta - 0.5)
    np.testing.assert_allclose(after["sn"]["params"]["threshold"], theta + lr * change, rtol=1e-5)
    assert spikes.sum() > 0


def test_normalize_and_clip_are_projections_of_the_final_update():
    w = {"fc": {"kernel": jnp.array([[1.0, 0.0], [3.0, 0.0]]), "bias": jnp.ones(2)}}
    u = {"fc": {"kernel": jnp.array([[1.0, 0.0], [-1.0, 0.0]]), "bias": jnp.ones(2)}}
    tx = sp.normalize_weights(["fc.kernel"], total=2.0)
    got, _ = tx.update(u, tx.init(w), w)
    new = optax.apply_updates(w, got)
    np.testing.assert_allclose(new["fc"]["kernel"], [[1.0, 0.0], [1.0, 0.0]])  # zero column kept
    np.testing.assert_allclose(new["fc"]["bias"], [2.0, 2.0])  # not named: update untouched
    tx = sp.clip_weights(["fc.kernel"], w_min=0.0, w_max=2.5)
    got, _ = tx.update(u, tx.init(w), w)
    np.testing.assert_allclose(optax.apply_updates(w, got)["fc"]["kernel"], [[2.0, 0], [2.0, 0]])
    with pytest.raises(ValueError, match=r"parameters \['x.kernel'\] must be leaves"):
        sp.clip_weights(["x.kernel"], w_min=0.0, w_max=1.0).init(w)
    with pytest.raises(ValueError, match="`w_min` must be < `w_max`"):
        sp.clip_weights(["fc.kernel"], w_min=1.0, w_max=1.0)


def test_adaptive_threshold_needs_a_trainable_threshold_and_finds_a_wrapped_one():
    class Inhibited(nnx.Module):
        def __init__(self, trainable):
            self.fc = nnx.Linear(5, 3, use_bias=False, rngs=nnx.Rngs(0))
            lif = sj.neurons.LIF(beta=0.9, threshold=jnp.ones((3,)))
            self.sn = sj.layers.Spiking(
                sj.neurons.Recurrent(lif, -jnp.ones((3, 3))), trainable=trainable
            )

        def __call__(self, xs):
            return self.sn(self.fc(xs))

    net = Inhibited(("neuron.threshold",))
    syn = sp.synapses(net, jnp.zeros((T, B, 5)))
    tx = sp.adaptive_threshold(syn, increment=0.1, tau=10.0)
    params = nnx.state(net, nnx.Param)
    tx.init(params)  # finds sn.params.neuron.threshold
    fixed = Inhibited(())
    syn = sp.synapses(fixed, jnp.zeros((T, B, 5)))
    with pytest.raises(ValueError, match=r"neurons `sn` driven by `fc\.kernel` must have one"):
        sp.adaptive_threshold(syn).init(nnx.state(fixed, nnx.Param))
