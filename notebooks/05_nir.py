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
# # NIR: moving spiking networks between simulators and chips
#
# [NIR](https://neuroir.org) (the Neuromorphic Intermediate Representation) describes a spiking
# network as a graph of continuous-time primitives (`Affine`, `Conv2d`, `LIF`, `CubaLIF`, `Delay`,
# ...) that simulators and neuromorphic chips read. This notebook trains a LIF network on the
# digits, exports it to a NIR file with `sj.nir.write`, loads the file back with `sj.nir.load` and
# checks that the reloaded network spikes exactly like the trained one; then it loads a NIR graph
# written by hand — a recurrent current-based network with a delay line — and runs it. Open it in
# Jupyter with `jupytext --to notebook notebooks/05_nir.py`, or run it as a script.

# %% [markdown]
# **Setup.** In the project's environment (`make test` creates `.venv`) spikejax is importable and
# the next cell does nothing. On Colab or a fresh machine it installs spikejax with the extras
# this notebook uses; set `SOURCE` to your clone if spikejax is not on your package index.

# %%
import importlib.util
import os
import subprocess
import sys
import tempfile

SOURCE = "spikejax[data,nir]"
installed = importlib.util.find_spec("spikejax") is not None
if not installed and not os.environ.get("SPIKEJAX_NOTEBOOK_NO_INSTALL"):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", SOURCE], check=True)

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import nir
import numpy as np
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_digits

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 20))  # the tests run 2 epochs
T, DT = 8, 1e-3  # 8 steps of 1 ms
x_train, y_train = load_digits("train")
x_test, y_test = load_digits("test")


def time_major(x):
    """Direct encoding: the 64 pixel intensities as input current at every step, [T, B, 64]."""
    return jnp.broadcast_to(jnp.asarray(x.reshape(len(x), 64)), (T, len(x), 64))


# %% [markdown]
# ## A LIF network that NIR can describe exactly
# NIR neurons reset the membrane to `v_reset` after a spike, so the hidden layer uses the hard
# reset (`reset="zero"`); the readout is a leaky integrator whose membrane, averaged over time,
# gives the class scores. Everything else is the `lif_mlp` of the digits experiment.

# %%
model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(128,), reset="zero", T=T)
optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)


@nnx.jit
def step(model, optimizer, x, y):
    def loss_fn(model):
        logits = model(x).mean(0)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    grads = nnx.grad(loss_fn)(model)
    with jax.numpy_dtype_promotion("standard"):
        optimizer.update(model, grads)


rng = np.random.default_rng(0)
for _ in range(EPOCHS):
    perm = rng.permutation(len(x_train))
    for i in range(0, len(perm) - 63, 64):
        idx = perm[i : i + 64]
        step(model, optimizer, time_major(x_train[idx]), jnp.asarray(y_train[idx]))
xs = time_major(x_test)
accuracy = float(np.mean(np.argmax(model(xs).mean(0), -1) == y_test))
print(f"test accuracy after {EPOCHS} epochs: {100 * accuracy:.1f} %")

# %% [markdown]
# ## Export, reload, compare
# `sj.nir.write` reads the model's network graph and writes NIR's primitives: each `nnx.Linear`
# becomes an `Affine` node and each neuron layer a `LIF`/`LI` node whose time constant and input
# resistance reproduce the discrete neuron at `dt` (`τ = dt/(1 − β)`, `R = τ/dt`). The file holds
# numbers only; `sj.nir.load` turns it into an ordinary spikejax model.

# %%
path = os.path.join(tempfile.mkdtemp(), "digits.nir")
graph = sj.nir.write(path, model, xs[:, :2], dt=DT)
for name, node in graph.nodes.items():
    print(f"{name:12s} {type(node).__name__}")
print("edges:", graph.edges)

loaded = sj.nir.load(path, dt=DT)
print(sj.graph.trace(loaded, xs[:, :2]))

out, rec = sj.graph.record(model, xs)
out_loaded, rec_loaded = sj.graph.record(loaded, xs)
spikes, spikes_loaded = rec.spikes["blocks.0.sn"], rec_loaded.spikes["layers.blocks_0_sn"]
identical = bool(jnp.array_equal(spikes, spikes_loaded))
reloaded_accuracy = float(np.mean(np.argmax(out_loaded.mean(0), -1) == y_test))
print(f"hidden spikes identical: {identical} ({int(spikes.sum())} spikes)")
print(f"largest readout difference: {float(jnp.abs(out - out_loaded).max()):.2e}")
print(f"reloaded test accuracy: {100 * reloaded_accuracy:.1f} %")
assert identical and reloaded_accuracy == accuracy

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
for ax, s, title in zip(
    axes, (spikes, spikes_loaded), ("trained", "reloaded from NIR"), strict=True
):
    t, n = np.nonzero(np.asarray(s[:, 0]))
    ax.scatter(t, n, marker="|", s=60)
    ax.set(title=f"hidden spikes, test digit 0 ({title})", xlabel="step")
axes[0].set_ylabel("neuron")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A NIR graph written by hand
# A current-based LIF layer with recurrent weights and a delay line feeding a leaky-integrator
# readout, with time constants in seconds as NIR states them. The recurrent edge
# `rec → cuba` reads the previous step's spikes; `cuba → delay` delays every neuron by its own
# number of milliseconds. `sj.nir.load` runs the cycle step by step inside one scan.

# %%
n = 8
rng = np.random.default_rng(1)
nodes = {
    "input": nir.Input(input_type={"input": np.array([2])}),
    "fc": nir.Affine(weight=rng.uniform(0, 1, (n, 2)).astype(np.float32), bias=np.zeros(n)),
    "cuba": nir.CubaLIF(
        tau_syn=np.full(n, 2e-3),
        tau_mem=np.full(n, 5e-3),
        r=np.full(n, 2.0),
        v_leak=np.zeros(n),
        v_threshold=np.full(n, 0.3),
        v_reset=np.zeros(n),
        w_in=np.full(n, 1.0),
    ),
    "rec": nir.Linear(weight=rng.normal(0, 0.3, (n, n)).astype(np.float32)),
    "delay": nir.Delay(delay=np.arange(n) * DT),
    "readout": nir.LI(tau=np.full(n, 4e-3), r=np.ones(n), v_leak=np.zeros(n)),
    "output": nir.Output(output_type={"output": np.array([n])}),
}
edges = [
    ("input", "fc"),
    ("fc", "cuba"),
    ("cuba", "rec"),
    ("rec", "cuba"),
    ("cuba", "delay"),
    ("delay", "readout"),
    ("readout", "output"),
]
hand = sj.nir.load(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), dt=DT)
steps = 60
drive = jnp.zeros((steps, 1, 2)).at[5:25].set(1.0)  # a 20 ms pulse on both inputs
membrane = hand(drive)
print(sj.graph.trace(hand, jnp.zeros((steps, 2, 2))))

plt.figure(figsize=(8, 3))
plt.plot(np.asarray(membrane[:, 0]))
plt.axvspan(5, 25, color="0.9")
plt.xlabel("step (1 ms)")
plt.ylabel("readout membrane")
plt.title(
    "hand-written NIR graph: each readout neuron sees the spikes one step later than the last"
)
plt.show()
