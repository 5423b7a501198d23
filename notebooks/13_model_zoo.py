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
# time step follow the counting rules of `sj.graph.costs`. A full-size network can be inspected
# layer by layer without allocating it, and any entry can be built smaller with keyword overrides.

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
# ## A full-size Spikformer, abstractly
# `sj.graph.record` runs a model and returns every spike tensor and every layer's MACs. Under
# `jax.eval_shape` nothing is computed or even allocated — the weights of the 9.3 M-parameter
# Spikformer-4-384 for CIFAR-10 are never created — yet the shapes and the counts are exact.

# %%
name = "spikformer_4_384_cifar10"
info = sj.models.info(name)


def forward(images):
    return sj.graph.record(sj.models.create(name, rngs=nnx.Rngs(0)), images)


images = jax.ShapeDtypeStruct((1, *info.input_shape), jnp.float32)  # one static image
logits, rec = jax.eval_shape(forward, images)
print("logits", logits.shape, "| spiking layers:", len(rec.spikes))
for layer, spikes in list(rec.spikes.items())[:6]:
    print(f"  {layer:32s} {spikes.shape}")
macs = dict(rec.macs)
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.bar(range(len(macs)), [m / 1e6 for m in macs.values()])
ax.set_xticks(range(len(macs)), list(macs), rotation=75, ha="right", fontsize=6)
ax.set_ylabel("MMACs per time step")
ax.set_title(f"{name}: {sum(macs.values()) / 1e9:.2f} GMACs per step, T = {info.T}")
plt.show()
assert sum(macs.values()) == sum(sj.models.macs_per_step(name).values())

# %% [markdown]
# ## Building and running an entry
# `create(name, rngs=..., **overrides)` builds an entry with some of its configuration replaced
# (`info(name).overrides` lists what may change). Every model takes time-major input (static
# images are repeated over `T` inside the model) and starts from rest at every call.

# %%
print(sj.models.info("lif_mlp").overrides)
net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(32,), T=4)
x = jax.random.uniform(jax.random.key(0), (4, 3, 64))  # [T, B, features]
out = net(x)
print(out.shape, "parameters:", sj.models.count_params(net))
assert sj.models.count_params(net) == 64 * 32 + 32 + 32 * 10 + 10
