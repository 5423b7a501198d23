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
# # From a trained ANN to a spiking network: conversion on the digits
#
# Train a small ReLU network on scikit-learn's bundled digits, convert it to integrate-and-fire
# neurons with `sj.convert.ann_to_snn`, and watch the spiking network's accuracy approach the
# ANN's as the number of time steps grows. Then train the same network with the QCFS activation,
# whose conversion is accurate after a handful of steps. Open it in Jupyter with
# `jupytext --to notebook notebooks/02_conversion.py`, or run it as a script.

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
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_digits

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 40))  # the tests run 2 epochs
x_train, y_train = load_digits("train")
x_test, y_test = load_digits("test")
x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)

# %% [markdown]
# ## The ANN
# A plain NNX module: the converter reads it through its network graph, so nothing about it needs
# to be declared. `act` is ReLU, or `sj.convert.QCFS(levels)` for the second network.


# %%
class MLP(nnx.Module):
    def __init__(self, act, rngs):
        self.fc1 = nnx.Linear(64, 128, rngs=rngs)
        self.act = act
        self.fc2 = nnx.Linear(128, 10, rngs=rngs)

    def __call__(self, x):
        h = self.fc1(x)
        return self.fc2(jax.nn.relu(h) if self.act is None else self.act(h))


def train(model):
    optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        def loss_fn(model):
            return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

        grads = nnx.grad(loss_fn)(model)
        with jax.numpy_dtype_promotion("standard"):
            optimizer.update(model, grads)

    rng = np.random.default_rng(0)
    for _ in range(EPOCHS):
        perm = rng.permutation(len(x_train))
        for i in range(0, len(perm) - 63, 64):
            step(model, optimizer, x_train[perm[i : i + 64]], y_train[perm[i : i + 64]])
    return model


relu = train(MLP(None, nnx.Rngs(0)))
ann_accuracy = float(np.mean(np.argmax(relu(x_test), -1) == y_test))
print(sj.graph.trace(relu, x_test[:8]))
print(f"ANN test accuracy: {100 * ann_accuracy:.2f} %")

# %% [markdown]
# ## Conversion
# Every ReLU becomes a layer of soft-reset IF neurons whose threshold is the layer's clipping level
# λ, measured on calibration data: the largest activation (`"max"`) or a robust percentile. The
# readout accumulates the logits, so `out[t]` holds the prediction after `t + 1` steps.

# %%
T = 64
curves = {}
for method, options in {"max": {}, "percentile": {"percentile": 99.9}}.items():
    snn = sj.convert.ann_to_snn(relu, x_train, method=method, T=T, **options)
    out = snn(x_test)  # [T, B, 10]
    curves[method] = np.mean(np.argmax(out, -1) == y_test[None], axis=1)
print(sj.graph.trace(snn, x_test[:8]))

# %% [markdown]
# ## QCFS: accurate after a few steps
# The quantisation–clip–floor–shift activation trains the ANN on the values a spiking layer can
# represent in few steps; its conversion uses the trained λ as threshold and starts every membrane
# at θ/2.

# %%
qcfs = train(MLP(sj.convert.QCFS(8, clip=2.0), nnx.Rngs(0)))
snn = sj.convert.ann_to_snn(qcfs, x_train, method="qcfs", T=T)
curves["qcfs (L = 8)"] = np.mean(np.argmax(snn(x_test), -1) == y_test[None], axis=1)

fig, ax = plt.subplots(figsize=(6, 4))
for name, accuracy in curves.items():
    ax.plot(np.arange(1, T + 1), 100 * accuracy, label=name)
ax.axhline(100 * ann_accuracy, color="k", ls="--", lw=1, label="ReLU ANN")
ax.set_xscale("log", base=2)
ax.set_xlabel("time steps")
ax.set_ylabel("test accuracy (%)")
ax.legend()
plt.show()
for name, accuracy in curves.items():
    print(f"{name:>14}: T=4 {100 * accuracy[3]:.2f} %, T=32 {100 * accuracy[31]:.2f} %")

# %% [markdown]
# ## Energy
# The converted network is an ordinary spikejax model: its energy is estimated from its real
# activity like any other (the first layer reads the analog pixels, so it is charged as MACs).

# %%
report = sj.energy.estimate(snn, jnp.asarray(x_test[:32]))
print(report.table())
