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
# # Quickstart: neurons, surrogate gradients, unrolling over time, rasters
#
# A neuron in spikejax is a pytree: its numbers (decay `beta`, `threshold`, ...) are array leaves
# that an optimizer or a chip quantizer can see, and `step(state, x) -> (state, spikes)` is one
# time step. `sj.unroll` scans a neuron over the leading (time) axis of its input. There is no
# hidden state to reset: every run starts from the state you pass.
#
# This notebook drives four neuron models with the same input and plots their membranes and
# spikes, compares the surrogate gradients, draws a raster of a hundred neurons driven by Poisson
# spike trains, and checks that checkpointed BPTT gives the same gradient as plain BPTT.

# %% [markdown]
# **Setup.** In the project's environment (`make test` creates `.venv`) spikejax is importable and
# the next cell does nothing. On Colab or a fresh machine it installs spikejax with the extras the
# notebooks use; set `SOURCE` to your clone (a path or a `git+https://…` URL) if spikejax is not
# on your package index.

# %%
import importlib.util
import os
import subprocess
import sys

SOURCE = "spikejax[data,train]"
installed = importlib.util.find_spec("spikejax") is not None
if not installed and not os.environ.get("SPIKEJAX_NOTEBOOK_NO_INSTALL"):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", SOURCE], check=True)

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import spikejax as sj

T = int(os.environ.get("SPIKEJAX_NOTEBOOK_T", 200))  # time steps; the tests use 40

# %% [markdown]
# ## Same input, different dynamics
# A slowly rising input current. `IF` integrates without leak, `LIF` leaks (decay β per step),
# `ALIF` raises its threshold after each spike, `CubaLIF` first filters the input through a
# synaptic current. `sj.unroll` returns the final state and the spikes; to look at the membrane at
# every step, scan the neuron's `step` yourself and keep the state.

# %%
xs = jnp.linspace(0.0, 0.4, T)[:, None]  # [T, neurons=1]
models = {
    "IF": sj.neurons.IF(),
    "LIF": sj.neurons.LIF.from_tau(10.0),
    "ALIF": sj.neurons.ALIF.from_tau(10.0, 100.0, gamma=1.0),
    "CubaLIF": sj.neurons.CubaLIF.from_tau(5.0, 10.0),
}


def membrane_and_spikes(neuron, xs):
    def body(state, x):
        state, spikes = neuron.step(state, x)
        return state, (state.v, spikes)

    _, (v, s) = jax.lax.scan(body, neuron.init_state(xs.shape[1:]), xs)
    return np.asarray(v[:, 0]), np.asarray(s[:, 0])


fig, axes = plt.subplots(len(models), 1, figsize=(7, 6), sharex=True)
counts = {}
for ax, (name, neuron) in zip(axes, models.items(), strict=True):
    v, s = membrane_and_spikes(neuron, xs)
    _, spikes = sj.unroll(neuron, neuron.init_state((1,)), xs)
    np.testing.assert_array_equal(s, np.asarray(spikes[:, 0]))  # the same run as sj.unroll
    counts[name] = int(s.sum())
    ax.plot(v, lw=1, label="membrane v (after reset)")
    ax.vlines(np.flatnonzero(s), 1.05, 1.3, color="k", lw=1, label="spike")
    ax.set_ylabel(name)
axes[0].legend(loc="upper left", fontsize=8)
axes[-1].set_xlabel("time step")
fig.suptitle("One neuron of each model, input rising from 0 to 0.4 per step")
plt.show()
print(counts)
assert counts["IF"] >= counts["LIF"]  # leak only removes charge
assert counts["ALIF"] <= counts["LIF"]  # adaptation only raises the threshold

# %% [markdown]
# ## Surrogate gradients
# The forward pass is always the exact step Θ(v − θ); only the backward pass differs. Each
# surrogate is defined by a smooth function whose derivative is used as the spike's gradient.

# %%
x = jnp.linspace(-2.0, 2.0, 201)
surrogates = [
    sj.surrogate.ATan(),
    sj.surrogate.Sigmoid(),
    sj.surrogate.FastSigmoid(),
    sj.surrogate.Triangle(),
    sj.surrogate.Rectangle(),
]
fig, ax = plt.subplots(figsize=(6, 3.5))
for surrogate in surrogates:
    grad = jax.vmap(jax.grad(lambda v, s=surrogate: sj.surrogate.spike(v, s)))(x)
    ax.plot(x, grad, label=type(surrogate).__name__)
ax.set_xlabel("v − θ")
ax.set_ylabel("d spike / dv (backward pass)")
ax.set_title("Surrogate gradients with their default parameters")
ax.legend()
plt.show()

# %% [markdown]
# ## A raster of a spiking layer
# A hundred LIF neurons with random input weights, driven by Poisson spike trains of 20 inputs
# whose rates rise from 0 to 0.5 spikes per step. Rows are neurons sorted by their firing rate.

# %%
key_in, key_w = jax.random.split(jax.random.key(0))
rates = jnp.linspace(0.0, 0.5, 20)
inputs = sj.encoding.poisson(rates, T, key=key_in)  # [T, 20]
weights = jax.random.normal(key_w, (20, 100)) * 0.4
lif = sj.neurons.LIF(beta=0.9)
_, spikes = sj.unroll(lif, lif.init_state((100,)), inputs @ weights)  # [T, 100]
spikes = np.asarray(spikes)
order = np.argsort(spikes.sum(0))
fig, (ax_in, ax_out) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(1, 3))
ax_in.imshow(np.asarray(inputs).T, aspect="auto", cmap="Greys", interpolation="nearest")
ax_in.set_ylabel("input")
t, n = np.nonzero(spikes[:, order])
ax_out.scatter(t, n, s=2, c="k", marker="|")
ax_out.set_ylim(-0.5, 99.5)
ax_out.set_xlabel("time step")
ax_out.set_ylabel("LIF neuron (by rate)")
fig.suptitle(f"{int(spikes.sum())} spikes of 100 LIF neurons in {T} steps")
plt.show()

# %% [markdown]
# ## Checkpointed BPTT
# `remat=True` stores only about √T states in the forward pass and recomputes the rest in the
# backward pass; the gradient is the same.

# %%
currents = jax.random.uniform(jax.random.key(1), (T, 4, 16), maxval=0.5)
lif = sj.neurons.LIF(beta=jnp.full((16,), 0.9))


def loss(neuron, remat):
    _, s = sj.unroll(neuron, neuron.init_state((4, 16)), currents, remat=remat)
    return s.mean()


g_plain = jax.grad(loss)(lif, False)
g_remat = jax.grad(loss)(lif, True)
np.testing.assert_allclose(g_plain.beta, g_remat.beta, rtol=1e-6)
print("max |d loss / d beta|:", float(jnp.abs(g_plain.beta).max()))
