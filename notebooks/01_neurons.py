# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Neurons, surrogates and BPTT in spikejax
#
# A neuron is a pytree of parameters with a `step(state, x) -> (state, out)` function;
# `sj.unroll` scans it over the leading time axis. This notebook drives a few neuron models with the
# same input, compares surrogate gradients, and shows checkpointed BPTT giving identical gradients.
# Open it in Jupyter with `jupytext --to notebook notebooks/01_neurons.py`, or run it as a script.

# %%
import os

import jax
import jax.numpy as jnp
import numpy as np

import spikejax as sj

T = int(os.environ.get("SPIKEJAX_NOTEBOOK_T", 200))  # the tests run this notebook with a short T

# %% [markdown]
# ## Same input, different dynamics
# A slowly rising current: IF integrates without leak, LIF leaks, ALIF raises its threshold after
# each spike, CubaLIF filters the input through a synaptic current first.

# %%
xs = jnp.linspace(0.0, 0.4, T)[:, None]  # [T, neurons=1]
models = {
    "IF": sj.neurons.IF(),
    "LIF": sj.neurons.LIF.from_tau(10.0),
    "ALIF": sj.neurons.ALIF.from_tau(10.0, 100.0, gamma=1.0),
    "CubaLIF": sj.neurons.CubaLIF.from_tau(5.0, 10.0),
}
counts = {}
for name, neuron in models.items():
    _, spikes = sj.unroll(neuron, neuron.init_state((1,)), xs)
    counts[name] = int(spikes.sum())
print(counts)
assert counts["IF"] >= counts["LIF"]  # leak only removes charge
assert counts["ALIF"] <= counts["LIF"]  # adaptation only raises the threshold

# %% [markdown]
# ## Surrogate gradients
# The forward pass is always the exact step; only the backward pass differs.

# %%
x = jnp.linspace(-2.0, 2.0, 9)
for surrogate in [
    sj.surrogate.ATan(),
    sj.surrogate.Sigmoid(),
    sj.surrogate.FastSigmoid(),
    sj.surrogate.Triangle(),
    sj.surrogate.Rectangle(),
]:
    grad = jax.vmap(jax.grad(lambda v, s=surrogate: sj.surrogate.spike(v, s)))(x)
    print(f"{type(surrogate).__name__:12s}", np.round(np.asarray(grad), 3))

# %% [markdown]
# ## Checkpointed BPTT
# `remat=True` stores only ~sqrt(T) states and recomputes the rest in the backward pass; the
# gradient is the same.

# %%
key = jax.random.key(0)
currents = jax.random.uniform(key, (T, 4, 16), maxval=0.5)
lif = sj.neurons.LIF(beta=jnp.full((16,), 0.9))


def loss(neuron, remat):
    _, s = sj.unroll(neuron, neuron.init_state((4, 16)), currents, remat=remat)
    return s.mean()


g_plain = jax.grad(loss)(lif, False)
g_remat = jax.grad(loss)(lif, True)
np.testing.assert_allclose(g_plain.beta, g_remat.beta, rtol=1e-6)
print("max |d loss / d beta|:", float(jnp.abs(g_plain.beta).max()))
