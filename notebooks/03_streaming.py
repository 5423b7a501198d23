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
# # Time as an axis: online learning, streaming inference, early decisions
#
# A spiking network carries its state from one time step to the next, so it can learn while the
# data streams in, keep running on a stream that never ends, and stop as soon as it is sure. This
# notebook trains a LIF network on event-camera digits with e-prop (a gradient computed forward
# in time, memory independent of the sequence length), runs it on a stream in chunks with
# `sj.init_state` / `sj.run`, measures accuracy against the time steps an early decision needs,
# and feeds recorded event streams bin by bin as a live system would see them. Open it in
# Jupyter with `jupytext --to notebook notebooks/03_streaming.py`, or run it as a script.

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
from spikejax.data import EventDigits, ToFrames

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 15))  # the tests run 2 epochs
SAMPLES = int(os.environ.get("SPIKEJAX_NOTEBOOK_SAMPLES", 1437))  # training digits; tests: 64
T, BIN_US = 16, 18_750  # 16 bins of 18.75 ms cover the ~300 ms of a sample

# %% [markdown]
# ## Event digits in fixed bins of event time
# Each 8×8 digit moves in three saccades in front of a simulated event camera
# (`sj.data.EventDigits`). The frames are cut at fixed times — bin `k` holds the events of
# `[k·18.75 ms, (k+1)·18.75 ms)` — exactly the bins a live stream delivers later in this
# notebook, downsampled ×0.5 to 17×17 and flattened (578 inputs).

# %%
to_frames = ToFrames(
    EventDigits.sensor_size,
    time_window=BIN_US,
    start_time=0,
    end_time=T * BIN_US,
    spatial_factor=0.5,
)


def frames_of(dataset, n):
    xs, ys = zip(*(dataset[i] for i in range(n)), strict=True)
    x = np.stack([to_frames(ev).reshape(T, -1) for ev in xs], axis=1)  # [T, N, 578]
    return jnp.asarray(x, jnp.float32), jnp.asarray(ys, jnp.int32)


train_events, test_events = EventDigits("train"), EventDigits("test")
x_train, y_train = frames_of(train_events, min(SAMPLES, len(train_events)))
x_test, y_test = frames_of(test_events, min(max(SAMPLES // 4, 16), len(test_events)))
print("train", x_train.shape, "test", x_test.shape)

# %% [markdown]
# ## Online learning with e-prop
# `sj.online.OnlineGradient` runs the network one step at a time and keeps, for every synapse,
# an eligibility trace of how the neuron's state depends on it; the learning signal of each step
# is the per-step cross-entropy backpropagated through that one step. Nothing of earlier steps
# is stored. With a leaky-integrator readout the hidden layer's traces are low-pass filtered with
# the readout's leak κ before they meet the learning signal (Bellec et al. 2020), which carries
# the credit that reaches later steps through the readout's memory: on one layer like this one
# the gradient is BPTT's up to float rounding. First, how close is it on one batch?

# %%
model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), in_features=578, hidden=(128,), T=T)
online = sj.online.OnlineGradient(model, x_train[:, :32], method="eprop")


def bptt_grads(model, xs, ys):
    def loss(model):
        return sj.losses.tet(model(xs), ys)

    return nnx.grad(loss)(model)


eprop = online.value_and_grad(model, x_train[:, :32], y_train[:32]).grads
bptt = bptt_grads(model, x_train[:, :32], y_train[:32])
for layer in ("blocks", "head"):
    a = jax.tree.leaves(eprop[layer])
    b = jax.tree.leaves(bptt[layer])
    cos = sum(float(jnp.vdot(u, v)) for u, v in zip(a, b, strict=True)) / (
        np.sqrt(sum(float(jnp.vdot(u, u)) for u in a))
        * np.sqrt(sum(float(jnp.vdot(v, v)) for v in b))
    )
    print(f"{layer}: cosine(e-prop, BPTT) = {cos:.3f}")

# %% [markdown]
# Training: an ordinary optax loop whose gradient comes from e-prop.

# %%
optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)


@nnx.jit
def train_step(model, optimizer, xs, ys):
    result = online.value_and_grad(model, xs, ys)
    with jax.numpy_dtype_promotion("standard"):
        optimizer.update(model, result.grads)
    return result.loss


rng = np.random.default_rng(0)
batch = 32
history = []
for _epoch in range(EPOCHS):
    order = rng.permutation(x_train.shape[1])
    for start in range(0, len(order) - batch + 1, batch):
        idx = order[start : start + batch]
        history.append(float(train_step(model, optimizer, x_train[:, idx], y_train[idx])))
outputs = model(x_test)
accuracy = float(jnp.mean(jnp.argmax(outputs.mean(0), -1) == y_test))
print(f"test accuracy after {EPOCHS} epochs of e-prop: {100 * accuracy:.1f} %")
plt.plot(history)
plt.xlabel("step")
plt.ylabel("loss (mean per-step cross-entropy)")
plt.show()

# %% [markdown]
# ## Streaming inference
# `sj.init_state(model, batch_shape)` is the resting state of every neuron layer, an explicit
# pytree; `sj.run(model, chunk, state)` continues from it and returns the state after the chunk.
# Any chunking of the stream gives the same outputs as one run over all of it.

# %%
state = sj.init_state(model, x_test.shape[1:])
print({path: s.v.shape for path, s in state.items()})
chunks = []
for start in range(0, T, 5):  # chunks of 5, 5, 5 and 1 steps
    out, state = sj.run(model, x_test[start : start + 5], state)
    chunks.append(out)
print("chunked == full run:", bool(jnp.allclose(jnp.concatenate(chunks), outputs, atol=1e-5)))

# %% [markdown]
# ## Early decisions
# Each sample stops at the first step where the two largest class probabilities of its
# accumulated readout differ by at least a threshold (`sj.readout.early_decision`). The curve
# below shows accuracy against the mean number of steps used, next to running every sample for a
# fixed number of steps.

# %%
thresholds = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
rows = sj.readout.early_exit_curve(outputs, np.asarray(y_test), thresholds)
early = [r for r in rows if "threshold" in r]
fixed = [r for r in rows if "steps" in r]
plt.plot([r["steps"] for r in fixed], [100 * r["accuracy"] for r in fixed], "o-", label="fixed T")
plt.plot(
    [r["mean_steps"] for r in early],
    [100 * r["accuracy"] for r in early],
    "s-",
    label="early decision (thresholds)",
)
plt.xlabel("time steps used (mean)")
plt.ylabel("test accuracy (%)")
plt.legend()
plt.show()
for r in early:
    share = f"{100 * r['accuracy']:.1f} % at {r['mean_steps']:.2f} steps"
    print(f"threshold {r['threshold']:.2f}: {share}")

# %% [markdown]
# ## Real-time event input
# `sj.readout.EventStream` takes a recorded stream as it arrives: every 18.75 ms of event time
# becomes one frame, which goes through the network in one compiled step with the state carried.
# The decision is the early-decision rule applied as the bins come in; its latency is the event
# time at the end of the decision bin.

# %%
stream = sj.readout.EventStream(model, EventDigits.sensor_size, bin_us=BIN_US, spatial_factor=0.5)
results = [
    stream(test_events[i][0], threshold=0.9, t_start=0, duration_us=T * BIN_US)
    for i in range(x_test.shape[1])
]
latency_ms = np.array([r.latency_us for r in results]) / 1e3
correct = np.mean([r.prediction == int(y) for r, y in zip(results, y_test, strict=True)])
wall_us = 1e6 * np.median(np.concatenate([r.wall_s[1:] for r in results]))
print(
    f"streamed accuracy {100 * correct:.1f} %, mean latency {latency_ms.mean():.0f} ms of event "
    f"time, {wall_us:.0f} µs wall-clock per bin, compiled {stream.traces} time(s)"
)
sj.viz.plot_stream_decision(results[0], label=int(y_test[0]))

# %%
plt.hist(latency_ms, bins=np.arange(0, T + 1) * BIN_US / 1e3)
plt.xlabel("decision latency (ms of event time)")
plt.ylabel("test samples")
plt.show()
