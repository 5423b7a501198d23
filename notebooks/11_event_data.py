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
# # Event data: streams, tonic transforms and frames
#
# Event cameras (DVS) and silicon cochleas emit a stream of events `(x, y, t, p)`: a pixel, a time
# in µs and a polarity (brighter / darker). spikejax uses tonic's event format (a NumPy structured
# array) and tonic's transforms, and turns streams into time-major frames for the models.
#
# To stay offline and small, this notebook uses spikejax's event-camera digits: scikit-learn's 8×8
# digits moved in N-MNIST's three saccades in front of a simulated DVS (34×34 pixels, ~300 ms per
# sample). The real datasets (N-MNIST, SHD, DVS128 Gesture, CIFAR10-DVS) are read from local
# copies by `spikejax.data` in exactly the same format.

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
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import tonic.transforms
from flax import nnx

import spikejax as sj
from spikejax.data import EVENT_DTYPE, ToFrames, load_digits, saccade_events

SENSOR = (34, 34, 2)  # tonic's sensor_size: (width, height, polarities)
STEPS = int(os.environ.get("SPIKEJAX_NOTEBOOK_T", 100))  # rendered frames per saccade; tests: 40

# %% [markdown]
# ## One event stream
# Each event is a row of a structured array with fields `x, y, t, p`. Over time the three
# saccades show as three bursts: the simulated sensor only responds while the digit moves.

# %%
images, labels = load_digits("test")
events = saccade_events(images[0], steps_per_saccade=STEPS, seed=0)
print(f"label {labels[0]}: {len(events)} events, dtype {events.dtype}")
print(events[:5])

on, off = events[events["p"] == 1], events[events["p"] == 0]
fig, (ax_t, ax_xy) = plt.subplots(1, 2, figsize=(10, 3.5), width_ratios=(2, 1))
ax_t.hist([on["t"] / 1000, off["t"] / 1000], bins=60, stacked=True, label=["ON", "OFF"])
ax_t.set_xlabel("time (ms)")
ax_t.set_ylabel("events per bin")
ax_t.set_title("Three saccades, three bursts")
ax_t.legend()
ax_xy.scatter(on["x"], on["y"], s=1, c="tab:red", label="ON")
ax_xy.scatter(off["x"], off["y"], s=1, c="tab:blue", label="OFF")
ax_xy.set_xlim(0, 33)
ax_xy.set_ylim(33, 0)
ax_xy.set_aspect("equal")
ax_xy.set_title("All events on the sensor")
plt.show()

# %% [markdown]
# ## tonic transforms on the raw stream
# Any tonic transform works on these arrays. Below, sensor noise is added by hand (uniform random
# events at 5 % of the stream's count), then removed with `tonic.transforms.Denoise`, which keeps
# an event only if a neighbouring pixel fired within `filter_time` µs before it.

# %%
rng = np.random.default_rng(0)
n_noise = len(events) // 20
noise = np.zeros(n_noise, EVENT_DTYPE)
noise["x"] = rng.integers(0, 34, n_noise)
noise["y"] = rng.integers(0, 34, n_noise)
noise["t"] = rng.integers(0, events["t"].max(), n_noise)
noise["p"] = rng.integers(0, 2, n_noise)
noisy = np.sort(np.concatenate([events, noise]), order="t")
denoised = tonic.transforms.Denoise(filter_time=5_000)(noisy)
downsampled = tonic.transforms.Downsample(spatial_factor=0.5)(denoised)
print(f"{len(noisy)} events with noise, {len(denoised)} after Denoise")
print(f"x range after Downsample(0.5): {downsampled['x'].min()}…{downsampled['x'].max()}")

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, (title, ev) in zip(
    axes,
    {"clean": events, "with noise": noisy, "Denoise(5 ms)": denoised}.items(),
    strict=True,
):
    image = np.zeros((34, 34))
    np.add.at(image, (ev["y"], ev["x"]), 1)
    ax.imshow(image, cmap="magma")
    ax.set_title(f"{title}: {len(ev)}")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Frames for a model
# `spikejax.data.ToFrames` chains tonic's `Denoise`, `Downsample` and `ToFrame` with their exact
# slicing conventions and returns float32 frames `[T, polarities, height, width]`, counting the
# events of each slice per pixel and polarity. Here: 10 frames of 30 ms.

# %%
to_frames = ToFrames(SENSOR, time_window=30_000, start_time=0, end_time=300_000)
frames = to_frames(events)
print(frames.shape, frames.dtype, f"{int(frames.sum())} events counted")

fig, axes = plt.subplots(2, len(frames), figsize=(12, 2.6))
for t, frame in enumerate(frames):
    for row, (pol, cmap) in enumerate([(1, "Reds"), (0, "Blues")]):
        axes[row, t].imshow(frame[pol], cmap=cmap, vmin=0, vmax=frames.max())
        axes[row, t].axis("off")
    axes[0, t].set_title(f"{30 * t}–{30 * (t + 1)} ms", fontsize=8)
fig.suptitle("ToFrames(time_window=30 ms): ON (top) and OFF (bottom) counts per frame")
plt.show()

# %% [markdown]
# ## A batch through a convolutional SNN
# The models want time-major channels-last batches, `[T, B, H, W, C]`. A small `ConvSNN` from the
# zoo (untrained here: see the training notebook for a loop) runs on a batch of eight samples;
# `sj.graph.record` returns the spikes of every layer, whose firing rates are plotted.

# %%
batch = np.stack(
    [
        to_frames(saccade_events(im, steps_per_saccade=STEPS, seed=i))
        for i, im in enumerate(images[:8])
    ]
)  # [B, T, C, H, W]
xs = jnp.asarray(np.transpose(batch, (1, 0, 3, 4, 2)))  # [T, B, H, W, C]
net = sj.models.ConvSNN(2, (8, 16), 10, image_size=(34, 34), pool=2, rngs=nnx.Rngs(0))
out, rec = sj.graph.record(net, xs)
print(sj.graph.trace(net, xs))
rates = {name: float(s.mean()) for name, s in rec.spikes.items()}
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(rates), list(rates.values()))
ax.set_ylabel("spikes per neuron and step")
ax.set_title(f"Firing rates of an untrained ConvSNN, batch {xs.shape[1]}")
plt.show()
