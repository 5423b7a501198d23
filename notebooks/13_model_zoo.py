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
# # The model zoo
#
# `sj.models` holds the published spiking architectures — SEW-ResNet (18–152, IF or PLIF neurons,
# ResNeXt and wide variants), SEW 7B-Net and Wide-7B-Net for event data, every published
# Spikformer configuration — and two CPU-sized baselines (`lif_mlp`, `conv_snn`). Parameter
# counts are exact to the papers and computed abstractly (no weights are allocated), and MACs per
# time step follow the counting rules of `sj.graph.costs`. Any entry can be built smaller with
# keyword overrides, which is how this notebook runs a Spikformer on a CPU.

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
from flax import nnx

import spikejax as sj

# %% [markdown]
# ## Every entry, its size and its cost
# `available()` lists the names; `info(name)` the input shape, default `T`, neuron and
# configuration; `count_params(name)` and `macs_per_step(name)` need no weights.

# %%
rows = []
for name in sj.models.available():
    info = sj.models.info(name)
    params = sj.models.count_params(name)
    macs = sum(sj.models.macs_per_step(name).values())
    rows.append((name, info.family, info.input_shape, info.T, params, macs))
print(f"{'model':30s} {'family':11s} {'input':>14s} {'T':>3s} {'params':>12s} {'GMACs/step':>10s}")
for name, family, shape, steps, params, macs in rows:
    print(f"{name:30s} {family:11s} {shape!s:>14s} {steps:3d} {params:12,d} {macs / 1e9:10.3f}")

fig, ax = plt.subplots(figsize=(7, 4.5))
for family in sorted({r[1] for r in rows}):
    chosen = [r for r in rows if r[1] == family]
    ax.scatter([r[4] / 1e6 for r in chosen], [r[5] / 1e9 for r in chosen], label=family)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("parameters (millions)")
ax.set_ylabel("GMACs per time step and sample")
ax.set_title(f"{len(rows)} entries of the model zoo")
ax.legend()
plt.show()

# %% [markdown]
# ## A Spikformer, shrunk to fit a laptop
# `create(name, rngs=..., **overrides)` builds an entry with some of its configuration replaced;
# `info(name).overrides` lists what may be changed. Here: the CIFAR-10 Spikformer-4-384 with one
# encoder block of width 64 and 2 time steps. Its graph lists every layer with its shape,
# parameters and MACs.

# %%
overrides = {"depth": 1, "embed_dim": 64, "num_heads": 4, "T": 2}
net = sj.models.create("spikformer_4_384_cifar10", rngs=nnx.Rngs(0), **overrides)
print("parameters:", sj.models.count_params(net))
images = jax.random.uniform(jax.random.key(0), (2, 32, 32, 3))  # a static batch [B, H, W, C]
graph = sj.graph.trace(net, images)
print(graph)
logits, rec = sj.graph.record(net, images)
print("logits", logits.shape)

# %% [markdown]
# ## Where the spikes are
# The firing rate of each spiking layer of the (untrained) network on this batch: the quantity
# that turns MACs into synaptic operations in an energy estimate.

# %%
rates = {name: float(jnp.mean(s)) for name, s in rec.spikes.items()}
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(range(len(rates)), list(rates.values()))
ax.set_xticks(range(len(rates)), list(rates), rotation=60, ha="right", fontsize=7)
ax.set_ylabel("spikes per neuron and step")
ax.set_title("Firing rates of a shrunken Spikformer (random weights)")
plt.show()
print({k: round(v, 3) for k, v in rates.items()})
assert np.isfinite(np.asarray(logits)).all()
