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
# # Training an SNN on the digits with your own loop
#
# `spikejax train` runs a whole experiment from a configuration file (checkpoints, logs, plots).
# This notebook does the same job by hand, so that every piece is visible: scikit-learn's bundled
# handwritten digits (1,797 real 8×8 images, no download), direct encoding over `T` steps, a
# `LIFMLP` (64 → 128 LIF → 10 leaky readout) from the model zoo, cross-entropy on the readout's
# membrane, Adam, and a jit-compiled train step written with Flax NNX. Then it looks inside the
# trained network: spike rasters of the hidden layer and the readout's membrane over time.

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
import time

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_digits

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 30))  # the tests run 2 epochs
T = 8  # time steps per image
BATCH = 64

# %% [markdown]
# ## Data
# The fixed stratified 80/20 split (1,437 training and 360 test images), intensities in [0, 1].
# Direct encoding feeds the same analog image at every step: the first LIF layer turns it into
# spikes. Inputs are time-major, `[T, B, 64]`.

# %%
x_train, y_train = load_digits("train")
x_test, y_test = load_digits("test")
x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)
print(x_train.shape, x_test.shape, np.bincount(y_train))

fig, axes = plt.subplots(1, 10, figsize=(8, 1.2))
for digit, ax in enumerate(axes):
    ax.imshow(x_train[y_train == digit][0].reshape(8, 8), cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Model, loss and one compiled train step
# `LIFMLP` holds its LIF layers' decays and thresholds as array leaves; with the defaults only the
# weights are trained. The loss is `sj.losses.ce_membrane`: softmax cross-entropy of the readout
# membrane averaged over time. `nnx.jit` compiles the whole step (forward over `T` steps with the
# surrogate gradient, backward, Adam update) once.

# %%
model = sj.models.LIFMLP(64, (128,), 10, rngs=nnx.Rngs(0), beta=0.9, T=T)
optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)
print(sj.graph.trace(model, sj.encoding.direct(jnp.asarray(x_test[:2]), T)))


def loss_fn(model, x, y):
    v = model(sj.encoding.direct(x, T))  # [T, B, 10] readout membrane
    return sj.losses.ce_membrane(v, y), v


@nnx.jit
def train_step(model, optimizer, x, y):
    (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def accuracy(model, x, y):
    v = model(sj.encoding.direct(x, T))
    return jnp.mean(jnp.argmax(v.mean(0), -1) == y)


# %% [markdown]
# ## The loop
# Shuffle, step through the batches, evaluate on the test split after every epoch. The loss is
# read back to the host once per epoch, not once per step, so the device never waits.

# %%
rng = np.random.default_rng(0)
history = {"epoch": [], "loss": [], "test accuracy (%)": []}
start = time.perf_counter()
for epoch in range(1, EPOCHS + 1):
    perm = rng.permutation(len(x_train))
    losses = [
        train_step(model, optimizer, x_train[perm[i : i + BATCH]], y_train[perm[i : i + BATCH]])
        for i in range(0, len(perm) - BATCH + 1, BATCH)
    ]
    history["epoch"].append(epoch)
    history["loss"].append(float(jnp.mean(jnp.stack(losses))))
    history["test accuracy (%)"].append(100 * float(accuracy(model, x_test, y_test)))
print(f"{EPOCHS} epochs in {time.perf_counter() - start:.1f} s")
print(f"final test accuracy: {history['test accuracy (%)'][-1]:.2f} %")

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3))
ax_loss.plot(history["epoch"], history["loss"], marker="o")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("training loss")
ax_acc.plot(history["epoch"], history["test accuracy (%)"], marker="o", color="C1")
ax_acc.set_xlabel("epoch")
ax_acc.set_ylabel("test accuracy (%)")
fig.suptitle("Training curves")
plt.show()

# %% [markdown]
# ## Inside the trained network
# `sj.graph.record` runs the model once and returns, next to its output, every spike tensor by the
# name of its layer in the network graph. Below: the hidden layer's spikes for one test image of
# each class (neurons sorted by their overall rate), and the readout membrane of the first one.

# %%
picks = np.array([np.flatnonzero(y_test == digit)[0] for digit in range(10)])
v, rec = sj.graph.record(model, sj.encoding.direct(jnp.asarray(x_test[picks]), T))
((layer, spikes),) = rec.spikes.items()
spikes = np.asarray(spikes)  # [T, 10 samples, 128]
order = np.argsort(spikes.sum((0, 1)))
fig, axes = plt.subplots(1, 10, figsize=(11, 3), sharey=True)
for digit, ax in enumerate(axes):
    ax.imshow(spikes[:, digit, order].T, aspect="auto", cmap="Greys", interpolation="nearest")
    ax.set_title(f"label {digit}", fontsize=9)
    ax.set_xlabel("step")
axes[0].set_ylabel(f"{layer} neuron (by rate)")
fig.suptitle(f"Hidden spikes ({layer}), mean rate {spikes.mean():.2f} spikes per neuron and step")
plt.show()

v = np.asarray(v)  # [T, 10 samples, 10 classes]
fig, ax = plt.subplots(figsize=(6, 3.5))
for k in range(10):
    ax.plot(np.arange(1, T + 1), v[:, 0, k], lw=2.5 if k == 0 else 1, label=str(k))
ax.set_xlabel("time step")
ax.set_ylabel("readout membrane")
ax.set_title(
    f"Readout of test sample {picks[0]} (label 0), predicted {int(v[:, 0].mean(0).argmax())}"
)
ax.legend(title="class", ncol=5, fontsize=8)
plt.show()
