"""Event-driven convolutions against the dense one, as the input's activity goes from 0 % to 100 %.

At the sizes of ``conv_nmnist``'s two convolutions (``benchmarks/_workloads.py``: T=25, B=32
frames time-folded; conv1 34 x 34 x 2 -> 12, conv2 15 x 15 x 12 -> 64, 5 x 5, valid, float32),
for every activity ``p`` the input is Bernoulli(p) spikes and three layers of the same weights
are timed on the forward and on a train step (a squared error to a fixed target, the kernel's and
bias's gradients and an SGD update; the input needs no gradient, as for a first layer):

* ``dense``: ``layers.Conv`` (XLA's convolution; on the CPU, its ``"native"`` lowering);
* ``event``: ``layers.EventConv(threshold=1)``, the event path at every activity;
* ``auto``: ``layers.EventConv()``, `layers.EVENT_CONV_THRESHOLD` choosing per call.

The event path runs where the C++ CPU kernels do (float32 on the CPU); elsewhere all three are
the dense convolution. Calls are interleaved as in ``activity_curve.py``. Writes
``activity_curve_conv.json`` and ``activity_curve_conv.png`` into ``--out``::

    .venv/bin/python benchmarks/activity_curve_conv.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import jax
import jax.numpy as jnp
import numpy as np
from _harness import cpu_model
from _workloads import LR, SIZES
from activity_curve import interleaved, load
from flax import nnx

import spikejax as sj
from spikejax import layers

ACTIVITIES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
VARIANTS = ("dense", "event", "auto")
#: name -> (input height = width, input channels, output channels), 5 x 5 kernels.
CONVS = {"conv1": (34, 2, 12), "conv2": (15, 12, 64)}
KERNEL = (5, 5)


def _layer(variant: str, c_in: int, c_out: int) -> nnx.Module:
    rngs = nnx.Rngs(0)
    if variant == "dense":
        return layers.Conv(c_in, c_out, KERNEL, padding="VALID", rngs=rngs)
    threshold = 1.0 if variant == "event" else None
    return layers.EventConv(c_in, c_out, KERNEL, padding="VALID", threshold=threshold, rngs=rngs)


def _fns(variant: str, x: jax.Array, target: jax.Array):
    graphdef, state = nnx.split(_layer(variant, x.shape[-1], target.shape[-1]))

    @jax.jit
    def forward(state, x):
        return nnx.merge(graphdef, state)(x)

    def loss(state, x):
        return 0.5 * jnp.sum((nnx.merge(graphdef, state)(x) - target) ** 2)

    @jax.jit
    def step(state, x):
        grads = jax.grad(loss)(state, x)
        return jax.tree_util.tree_map(lambda p, g: p - LR * g, state, grads)

    return (lambda: forward(state, x)), (lambda: step(state, x))


def curve(name: str, activities: Sequence[float], repeats: int) -> list[dict]:
    size, c_in, c_out = CONVS[name]
    frames = SIZES["conv_nmnist"]["T"] * SIZES["conv_nmnist"]["B"]
    out = size - KERNEL[0] + 1
    rng = np.random.default_rng(0)
    target = jnp.asarray(rng.standard_normal((frames, out, out, c_out)), jnp.float32)
    rows = []
    for p in activities:
        x = jnp.asarray((rng.random((frames, size, size, c_in)) < p).astype(np.float32))
        fns = {}
        for variant in VARIANTS:
            fns[f"fwd/{variant}"], fns[f"step/{variant}"] = _fns(variant, x, target)
        before = load()
        times = interleaved(fns, repeats)
        row = {"layer": name, "activity": p, "spikes": int(jnp.count_nonzero(x))}
        row["load_before"] = before
        for key, ms in times.items():
            row[f"{key}_ms"] = round(statistics.median(ms), 3)
        row["load_after"] = load()
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    nonzero = [r["activity"] for r in rows if r["activity"] > 0]
    zero_at = min(nonzero) / 2 if nonzero else 1e-3
    styles = {
        "dense": ("k", "s", "dense layers.Conv"),
        "event": ("C0", "o", "event path"),
        "auto": ("C3", "x", f"EventConv (threshold {layers.EVENT_CONV_THRESHOLD:g})"),
    }
    for row_axes, name in zip(axes, CONVS, strict=True):
        mine = [r for r in rows if r["layer"] == name]
        xs = [100 * (r["activity"] or zero_at) for r in mine]
        size, c_in, c_out = CONVS[name]
        for ax, mode in zip(row_axes, ("fwd", "step"), strict=True):
            for variant, (color, marker, label) in styles.items():
                ys = [r[f"{mode}/{variant}_ms"] for r in mine]
                ax.plot(xs, ys, marker=marker, color=color, label=label)
            ax.axvline(100 * layers.EVENT_CONV_THRESHOLD, color="C3", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("input activity, % nonzero (leftmost point: 0 %)")
            ax.set_ylabel("median ms per call")
            what = {"fwd": "forward", "step": "train step"}[mode]
            ax.set_title(f"{name} {what}, 800 x {size}² x {c_in} -> {c_out}, 5 x 5")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--activities", type=float, nargs="+", default=list(ACTIVITIES))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start_load = load()
    rows = [row for name in CONVS for row in curve(name, args.activities, args.repeats)]
    result = {
        "meta": {
            "cpu": cpu_model(),
            "backend": jax.default_backend(),
            "jax": jax.__version__,
            "cores": os.cpu_count(),
            "repeats": args.repeats,
            "native_kernels": sj.kernels.native_status().available,
            "event_threshold": layers.EVENT_CONV_THRESHOLD,
            "load_start": start_load,
            "load_end": load(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },
        "curve": rows,
    }
    (args.out / "activity_curve_conv.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(rows, args.out / "activity_curve_conv.png")
    return result


if __name__ == "__main__":
    main()
