# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Learning without backpropagation: STDP and evolution
#
# Two ways to train a spiking network that need no gradient through time. **Local plasticity**
# (`sj.plasticity`): spike-timing-dependent rules that change a synapse from the spikes on its two
# sides only; each rule is an optax transformation, so it chains with clipping, optimisers and
# homeostasis inside one jitted step. **Evolution** (`sj.evolve`): a population of perturbed
# copies of the network is evaluated with `vmap` and a strategy (SNES, OpenES, CMA-ES) moves
# towards the fitter ones; any subset of the parameters — here the thresholds and the readout —
# can evolve. Open it in Jupyter with `jupytext --to notebook notebooks/06_plasticity_evolution.py`,
# or run it as a script.

# %% [markdown]
# **Setup.** In the project's environment (`make test` creates `.venv`) spikejax is importable and
# the next cell does nothing. On Colab or a fresh machine it installs spikejax with the extras
# this notebook uses; set `SOURCE` to your clone if spikejax is not on your package index.

# %%
import importlib.util
import os
import subprocess
import sys

SOURCE = "spikejax[data,evolve]"
installed = importlib.util.find_spec("spikejax") is not None
if not installed and not os.environ.get("SPIKEJAX_NOTEBOOK_NO_INSTALL"):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", SOURCE], check=True)

# %%
import jax
import jax.numpy as jnp
import jax.random as jr
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_digits

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 3))  # the tests run 2 epochs
SAMPLES = int(os.environ.get("SPIKEJAX_NOTEBOOK_SAMPLES", 1437))  # training images used
x_train, y_train = load_digits("train")
x_test, y_test = load_digits("test")
x_train, y_train = x_train.reshape(-1, 64)[:SAMPLES], y_train[:SAMPLES]
x_test = x_test.reshape(-1, 64)

# %% [markdown]
# ## The STDP window
# One presynaptic spike at step 10 and one postsynaptic spike at `10 + Δt`: pair STDP changes the
# weight by `A₊ exp(-Δt/τ₊)` when the presynaptic spike comes first (or together) and by
# `-A₋ exp(Δt/τ₋)` otherwise. The rule reads the spike trains of a synapse found in the model's
# graph (`sj.plasticity.synapses`); here we hand it the trains directly.


# %%
class OneSynapse(nnx.Module):
    def __init__(self):
        self.fc = nnx.Linear(1, 1, use_bias=False, rngs=nnx.Rngs(0))
        self.sn = sj.layers.Spiking(sj.neurons.LIF(beta=0.9))

    def __call__(self, xs):
        return self.sn(self.fc(xs))


T_WINDOW = 30
syn = sj.plasticity.synapses(OneSynapse(), jnp.zeros((T_WINDOW, 1, 1)))
rule = sj.plasticity.stdp(syn, a_plus=1.0, a_minus=0.8, tau_plus=4.0, tau_minus=6.0)
w = {"fc": {"kernel": jnp.zeros((1, 1))}}


def spike_at(t):
    return jnp.zeros((T_WINDOW, 1, 1)).at[t, 0, 0].set(1.0)


@jax.jit
@jax.vmap  # every Δt in one compiled call
def delta_w(dt):
    activity = sj.plasticity.Activity({"fc.kernel": spike_at(10)}, {"fc.kernel": spike_at(10 + dt)})
    updates, _ = rule.update(w, rule.init(w), w, activity=activity)
    return -updates["fc"]["kernel"][0, 0]  # the rule emits -Δw, like a gradient


dts = np.arange(-10, 11)
plt.figure(figsize=(5, 3))
plt.plot(dts, delta_w(jnp.asarray(dts)), "o", label="sj.plasticity.stdp")
grid = np.linspace(-10, 10, 201)
plt.plot(
    grid, np.where(grid >= 0, np.exp(-grid / 4.0), -0.8 * np.exp(grid / 6.0)), label="closed form"
)
plt.xlabel("Δt = t_post − t_pre (steps)")
plt.ylabel("Δw")
plt.legend()
plt.show()

# %% [markdown]
# ## An unsupervised STDP layer on the digits
# Diehl & Cook (2015), small: Poisson input spikes drive `n` LIF neurons that inhibit each other;
# STDP (weights kept in [0, 1]), adaptive thresholds and weight normalisation make the neurons
# specialise. The chain below is one optax transformation, applied inside one jitted step.


# %%
class WTA(nnx.Module):
    def __init__(self, n):
        self.fc = nnx.Linear(
            64, n, use_bias=False, kernel_init=nnx.initializers.uniform(0.3), rngs=nnx.Rngs(0)
        )
        lif = sj.neurons.LIF(beta=0.9, threshold=jnp.ones((n,)), reset="zero")
        inhibition = -5.0 * (jnp.ones((n, n)) - jnp.eye(n))
        self.sn = sj.layers.Spiking(
            sj.neurons.Recurrent(lif, inhibition), trainable=("neuron.threshold",)
        )

    def __call__(self, xs):
        return self.sn(self.fc(xs))


N, T, BATCH = 25, 40, 16


def poisson(images, key):
    return (jr.uniform(key, (T, *images.shape)) < 0.4 * images).astype(jnp.float32)


layer = WTA(N)
syn = sj.plasticity.synapses(layer, jnp.zeros((T, BATCH, 64)))
tx = optax.chain(
    sj.plasticity.stdp(
        syn, a_plus=0.01, a_minus=0.006, tau_plus=4.0, tau_minus=4.0, w_min=0.0, w_max=1.0
    ),
    sj.plasticity.adaptive_threshold(syn, increment=0.05, tau=2e4, rest=1.0),
    optax.sgd(1.0),
    sj.plasticity.normalize_weights(syn, total=6.0),
    sj.plasticity.clip_weights(syn, w_min=0.0, w_max=1.0),
)
optimizer = nnx.Optimizer(layer, tx, wrt=nnx.Param)


@nnx.jit
def stdp_step(layer, optimizer, images, key):
    _, activity = sj.plasticity.record(layer, poisson(images, key), syn)
    no_gradient = jax.tree.map(jnp.zeros_like, nnx.state(layer, nnx.Param))
    optimizer.update(layer, no_gradient, activity=activity)


key = jr.key(0)
for epoch in range(EPOCHS):
    order = np.random.default_rng(epoch).permutation(len(x_train))
    for i in range(len(x_train) // BATCH):
        images = jnp.asarray(x_train[order[i * BATCH : (i + 1) * BATCH]])
        stdp_step(layer, optimizer, images, jr.fold_in(key, epoch * 1000 + i))

fig, axes = plt.subplots(5, 5, figsize=(5, 5))
kernel = np.asarray(layer.fc.kernel[...])
for j, ax in enumerate(axes.ravel()):
    ax.imshow(kernel[:, j].reshape(8, 8), cmap="gray_r")
    ax.axis("off")
fig.suptitle("receptive fields after STDP")
plt.show()

# %% [markdown]
# The frozen layer's spike counts, read out by a linear classifier (logistic regression trained
# with optax).


# %%
@nnx.jit
def counts(layer, images, key):
    return jnp.sum(layer(poisson(images, key)), axis=0)


f_train = np.asarray(counts(layer, jnp.asarray(x_train), jr.key(1)))
f_test = np.asarray(counts(layer, jnp.asarray(x_test), jr.key(2)))
mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
a, b = jnp.asarray((f_train - mu) / sd), jnp.asarray((f_test - mu) / sd)
readout = {"w": jnp.zeros((N, 10)), "b": jnp.zeros(10)}
adam = optax.adam(0.01)
state = adam.init(readout)


@jax.jit
def readout_step(readout, state):
    def loss(p):
        return optax.softmax_cross_entropy_with_integer_labels(a @ p["w"] + p["b"], y_train).mean()

    updates, state = adam.update(jax.grad(loss)(readout), state)
    return optax.apply_updates(readout, updates), state


for _ in range(500):
    readout, state = readout_step(readout, state)
accuracy = np.mean(np.argmax(b @ readout["w"] + readout["b"], axis=1) == y_test)
print(f"linear readout of {N} STDP neurons: test accuracy {accuracy:.3f}")

# %% [markdown]
# ## Evolving thresholds and the readout
# A LIF network of the zoo; SNES evolves only its thresholds and its readout layer (the hidden
# weights stay as initialised). The fitness is minus the cross-entropy on a batch; the whole
# population is one `vmap` inside the jitted generation.

# %%
net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(32,), T=8)
xs_train = jnp.asarray(x_train)


def fitness(model, batch):
    images, labels = batch
    logits = jnp.mean(model(jnp.broadcast_to(images, (8, *images.shape))), axis=0)
    return -optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


evolution = sj.evolve.Evolution(
    net,
    fitness,
    strategy="snes",
    population=32,
    params=["*.threshold", "head.*"],
    sigma=0.1,
    lr=1.0,
)
print("evolving", evolution.genome.paths, f"({evolution.genome.size} numbers)")
generation = jax.jit(evolution.step)
state = evolution.init(key=jr.key(0))
best = []
for g in range(25 * EPOCHS):
    pick = np.random.default_rng(g).choice(len(x_train), min(128, len(x_train)), replace=False)
    state, metrics = generation(state, (xs_train[pick], jnp.asarray(y_train[pick])), jr.key(g))
    best.append(float(metrics["best"]))

plt.figure(figsize=(5, 3))
plt.plot(best)
plt.xlabel("generation")
plt.ylabel("best fitness (−cross-entropy)")
plt.show()
evolved = evolution.model(state)
logits = jnp.mean(evolved(jnp.broadcast_to(jnp.asarray(x_test), (8, *x_test.shape))), axis=0)
print(f"evolved network: test accuracy {float(jnp.mean(jnp.argmax(logits, 1) == y_test)):.3f}")
