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
# # Deploying to integer chips, and what it costs in energy
#
# A trained float network is quantized to the integer parameters of a neuromorphic core and run
# on a bit-exact emulator of that core's arithmetic: Intel's Loihi (CUBA LIF, as in Lava's
# bit-accurate models) and SynSense's Xylo (core v2, as in XyloSim). The quantized model has the
# same tree structure as the float one, with int32 leaves. Then the energy of the float network is
# estimated from its measured activity on a 45 nm CMOS convention and on Loihi.
#
# The chips' integer semantics are described in the documentation's *Chip semantics* page.

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
import tempfile

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_digits

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 30))  # the tests run 2 epochs
T = 8

# %% [markdown]
# ## A float network to deploy
# The main job's network: 64 → 128 LIF → 10 leaky readout on the digits, direct encoding over
# `T = 8` steps (the training notebook explains the loop). `train` returns the trained model;
# inputs are time-major `[T, N, features]` in [0, 1], which the chips receive as event counts.

# %%
x_train, y_train = load_digits("train")
x_test, y_test = load_digits("test")
x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)


def train(model, x, y, lr):
    optimizer = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        def loss_fn(model):
            return sj.losses.ce_membrane(model(sj.encoding.direct(xb, T)), yb)

        optimizer.update(model, nnx.grad(loss_fn)(model))

    rng = np.random.default_rng(0)
    for _ in range(EPOCHS):
        perm = rng.permutation(len(x))
        for i in range(0, len(perm) - 63, 64):
            step(model, optimizer, x[perm[i : i + 64]], y[perm[i : i + 64]])
    return model


def float_accuracy(model, x, y):
    return float(np.mean(np.argmax(model(sj.encoding.direct(x, T)).mean(0), -1) == y))


model = train(sj.models.LIFMLP(64, (128,), 10, rngs=nnx.Rngs(0), T=T), x_train, y_train, 2e-3)
print(f"float test accuracy: {100 * float_accuracy(model, x_test, y_test):.2f} %")

# %% [markdown]
# ## Loihi, step by step
# 1. `calibrate` runs the float network on training inputs and records each layer's peak
#    membrane and input, so that the integer scale leaves headroom where the float network needs
#    it.
# 2. `quantize` maps weights, decays and thresholds to Loihi's integer fields (8-bit weights with
#    a shared exponent, 12-bit decays, 17-bit threshold mantissa). `input_levels=16` sends an
#    analog pixel in [0, 1] as 0–16 input events.
# 3. `emulate` runs the integer model; its outputs lag the float ones by the core's pipeline
#    latency (one step per layer on Loihi), so the inputs are padded by that many empty steps.

# %%
xs_train = np.asarray(sj.encoding.direct(x_train[:512], T))
xs_test = np.asarray(sj.encoding.direct(x_test, T))
peaks = sj.chip.calibrate(model, xs_train)
loihi = sj.chip.quantize(model, "loihi", input_levels=16, peaks=peaks)
print("sizes", loihi.sizes, {k: v.dtype for k, v in loihi.leaves().items() if "kernel" in k})


def chip_outputs(cm, xs):
    lag = sj.chip.finetune.latency(cm)
    events = sj.chip.encode_inputs(cm, xs)
    events = jnp.concatenate([events, jnp.zeros((lag, *events.shape[1:]), events.dtype)])
    out, stats = sj.chip.emulate(cm, events)
    return np.asarray(sj.chip.outputs_to_float(cm, out)[lag:]), stats


v_loihi, stats = chip_outputs(loihi, xs_test)
v_float = np.asarray(model(jnp.asarray(xs_test)))
loihi_acc = float(np.mean(v_loihi.mean(0).argmax(-1) == y_test))
print(f"Loihi emulator test accuracy: {100 * loihi_acc:.2f} %")
print("saturation counts:", {k: {n: int(c) for n, c in v.items()} for k, v in stats.items()})

w_float = np.asarray(model.blocks[0].fc.kernel[...]).ravel()
w_int = np.asarray(loihi.leaves()["blocks.0.fc.kernel"]).ravel()
fig, (ax_w, ax_v) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_w.scatter(w_float, w_int, s=1)
ax_w.set_xlabel("float weight")
ax_w.set_ylabel("Loihi integer weight")
ax_w.set_title("First layer: one scale per layer")
for k, color in zip(range(3), ("C0", "C1", "C2"), strict=True):
    ax_v.plot(v_float[:, 0, k], color=color, label=f"class {k}, float")
    ax_v.plot(v_loihi[:, 0, k], color=color, ls="--", marker="o", label=f"class {k}, Loihi")
ax_v.set_xlabel("time step")
ax_v.set_ylabel("readout membrane (float units)")
ax_v.set_title(f"Test sample 0 (label {y_test[0]})")
ax_v.legend(fontsize=7, ncol=2)
plt.show()

# %% [markdown]
# ## Xylo, with `deploy`
# Xylo has 16 input channels and 8 readout neurons, so the digits are averaged to 4×4 and kept to
# the classes 0–7 (as in `experiments/xylo_digits`). `sj.chip.deploy.deploy` does everything
# above for one chip: calibrates, quantizes, checks the resources (`strict=True` refuses a
# network that does not fit), emulates, fine-tunes on the chip's exact forward pass when
# post-training quantization loses more than a point, and writes the vendor-layout parameters.


# %%
def xylo_split(x, y):
    small = x.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)
    return small[y < 8], y[y < 8]


xs_tr, ys_tr = xylo_split(x_train, y_train)
xs_te, ys_te = xylo_split(x_test, y_test)
small = train(sj.models.LIFMLP(16, (32,), 8, rngs=nnx.Rngs(0), T=T), xs_tr, ys_tr, 5e-3)
print([(r["resource"], r["used"], r["limit"]) for r in sj.chip.fit.fit(small, "xylo")])
data = {
    "x_train": np.asarray(sj.encoding.direct(xs_tr, T)),
    "y_train": ys_tr,
    "x_test": np.asarray(sj.encoding.direct(xs_te, T)),
    "y_test": ys_te,
}
with tempfile.TemporaryDirectory() as out_dir:
    report = sj.chip.deploy.deploy(
        small, "xylo", out_dir=out_dir, data=data, strict=True, qat_epochs=min(EPOCHS, 3)
    )
    print("files:", sorted(report["files"]))
for key in ("float_accuracy", "ptq_accuracy", "qat_accuracy", "chip_accuracy", "saturations"):
    print(f"{key:>15}: {report[key]}")

# %% [markdown]
# ## Energy from real activity
# `sj.energy.estimate` counts each layer's operations from the spikes it actually receives:
# a layer whose input is binary costs one accumulate (AC) per spike and synapse, a layer whose
# input is real-valued (here the first one, reading the analog pixels at every step) costs one
# multiply–accumulate (MAC) per synapse and step. The 45 nm CMOS profile prices both (Horowitz
# 2014: 4.6 pJ per 32-bit MAC, 0.9 pJ per AC); the equivalent ANN does every MAC once.
# On the Loihi profile (Davies et al. 2018), synaptic operations have a price but MACs do not:
# the analog first layer is listed as unpriced rather than guessed.

# %%
xb = jnp.asarray(xs_test[:, :128])
reports = {p: sj.energy.estimate(model, xb, profile=p) for p in ("cmos45nm_fp32", "loihi")}
print(reports["cmos45nm_fp32"].table())
fp32 = reports["cmos45nm_fp32"]
print(
    f"E_SNN / E_ANN = {fp32.ratio:.2f}: the first layer's MACs are repeated at each of the {T} "
    "steps, while the ANN computes them once."
)

fig, ax = plt.subplots(figsize=(7, 3.5))
names = [r.name for r in fp32.rows]
width = 0.35
for i, (profile, rep) in enumerate(reports.items()):
    energies = [0.0 if r.energy is None else r.energy / 1e3 for r in rep.rows]
    ax.bar(np.arange(len(names)) + i * width, energies, width, label=profile)
    for j, r in enumerate(rep.rows):
        if r.energy is None:
            ax.annotate("unpriced", (j + i * width, 0), ha="center", va="bottom", fontsize=8)
ax.axhline(fp32.e_ann / 1e3, color="k", ls="--", lw=1, label="ANN total (fp32)")
ax.set_xticks(np.arange(len(names)) + width / 2, names)
ax.set_ylabel("energy per sample (nJ)")
ax.set_title("Per-layer energy from measured activity")
ax.legend()
plt.show()
