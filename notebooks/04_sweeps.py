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
# # Hyperparameter sweeps: many runs in one jit, and Optuna studies
#
# Small spiking networks train many-at-once: configurations that share their shapes (learning
# rates, weight decay, seeds, a neuron's β and θ) become one *population*, `vmap`-ed inside one
# compiled step, each member writing its own run directory exactly as `spikejax train` would.
# Spaces whose shapes differ (hidden sizes, categorical choices) go to an Optuna study instead:
# TPE sampling, pruning on the validation accuracy, an SQLite file or a PostgreSQL server as
# storage. Open it in Jupyter with `jupytext --to notebook notebooks/04_sweeps.py`, or run it as a
# script.

# %% [markdown]
# **Setup.** In the project's environment (`make test` creates `.venv`) spikejax is importable and
# the next cell does nothing. On Colab or a fresh machine it installs spikejax with the extras this
# notebook uses; set `SOURCE` to your clone (a path or a `git+https://…` URL) if spikejax is not
# on your package index.

# %%
import importlib.util
import os
import subprocess
import sys

SOURCE = "spikejax[data,train,sweep]"
installed = importlib.util.find_spec("spikejax") is not None
if not installed and not os.environ.get("SPIKEJAX_NOTEBOOK_NO_INSTALL"):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", SOURCE], check=True)

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from spikejax.config import (
    Config,
    DataConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
    apply_overrides,
    to_dict,
)
from spikejax.train import fit_population, read_metrics

EPOCHS = int(os.environ.get("SPIKEJAX_NOTEBOOK_EPOCHS", 15))  # the tests run 2 epochs
SAMPLES = os.environ.get("SPIKEJAX_NOTEBOOK_SAMPLES")  # the tests use 64 samples per split
TRIALS = int(os.environ.get("SPIKEJAX_NOTEBOOK_TRIALS", 4))  # the tests run 2
LIMIT = None if SAMPLES is None else int(SAMPLES)
work = Path(tempfile.mkdtemp(prefix="sweeps-"))

base = Config(
    name="digits_sweep",
    data=DataConfig(name="digits", limit=LIMIT),
    model=ModelConfig(
        "lif_mlp",
        {
            "in_features": 64,
            "hidden": (64,),
            "num_classes": 10,
            "T": 8,
            "beta": 0.9,
            "threshold": 1.0,
        },
    ),
    optimizer=OptimizerConfig(name="adam", lr=2e-3),
    train=TrainConfig(epochs=EPOCHS, batch_size=32, num_steps=8, log_every=10),
)

# %% [markdown]
# ## A population: 6 learning rates × 2 values of β, one compiled step
# `fit_population` takes the configurations and one run directory each. The optimizer's numbers
# live in the optimizer state (`optax.inject_hyperparams`) and β is a variable of the model, so
# all twelve share one tree structure and train together.

# %%
lrs = np.geomspace(3e-4, 2e-2, 6)
betas = (0.8, 0.95)
configs = [
    apply_overrides(base, [f"optimizer.lr={float(lr)!r}", f"model.options.beta={beta}"])
    for beta in betas
    for lr in lrs
]
dirs = [work / "population" / f"{i:02d}" for i in range(len(configs))]
summaries = fit_population(configs, dirs, progress=False)
print("compiled train steps:", summaries[0]["traces"]["train"], "for", len(configs), "runs")

# %%
accuracy = np.array([s["val_accuracy_best"] for s in summaries]).reshape(len(betas), len(lrs))
fig, ax = plt.subplots(figsize=(5, 3.2))
for row, beta in zip(accuracy, betas, strict=True):
    ax.semilogx(lrs, 100 * row, "o-", label=f"β = {beta}")
ax.set_xlabel("learning rate")
ax.set_ylabel("best validation accuracy (%)")
ax.legend()
plt.show()

# %% [markdown]
# Every member is an ordinary run directory: its `metrics.jsonl`, checkpoints and `summary.json`
# are what `spikejax train` writes, and `spikejax eval` reads it.

# %%
records = read_metrics(dirs[int(np.argmax(accuracy))])
print([r for r in records if r["split"] == "eval"][-1])

# %% [markdown]
# ## An Optuna study over shapes and choices
# A sweep file defines `get_sweep()`; `space` makes it an Optuna study. `spikejax sweep FILE --out
# DIR` runs it from the shell (add `--storage postgresql://…` to share the study between machines,
# `--resume` to continue it); here we call the same function.

# %%
sweep_file = work / "sweep.py"
sweep_file.write_text(f"""
from spikejax.config import from_dict
from spikejax.sweep import Choice, Float, Sweep

def get_sweep():
    return Sweep(
        base=from_dict({to_dict(base)!r}),
        space={{
            "optimizer.lr": Float(3e-4, 2e-2, log=True),
            "model.options.hidden": Choice(((32,), (64,), (128,))),
        }},
        trials={TRIALS},
        startup_trials=2,
    )
""")
from spikejax.sweep import run_sweep

rows = run_sweep(sweep_file, work / "study", progress=False)
for row in rows:
    print(row["trial"], row["state"], row["model.options.hidden"], f"{row['optimizer.lr']:.2e}",
          row["value"])  # fmt: skip
print(sorted(p.name for p in (work / "study").iterdir()))

# %%
history = plt.imread(work / "study" / "plots" / "optimization_history.png")
plt.figure(figsize=(6, 4))
plt.imshow(history)
plt.axis("off")
plt.show()

# %%
json.loads((work / "study" / "sweep.json").read_text())["sweep"]["space"]
