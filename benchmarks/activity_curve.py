"""Event-driven synapses against the dense layer, as the input's activity goes from 0 % to 100 %.

For every activity ``p`` the input is ``[T, B, n_in]`` Bernoulli(p) spikes at the ``shd_mlp``
sizes (B=64, T=100, 700 -> 256, float32; ``benchmarks/_workloads.py``), and three layers of the
same weights are timed, time-folded, on the forward and on a train step (a squared error to a
fixed target, the kernel's and bias's gradients and an SGD update; the input needs no gradient,
as for a first layer):

* ``dense``: ``TimeFolded(nnx.Linear)``;
* ``event``: ``TimeFolded(EventLinear(threshold=1))``, the event path at every activity;
* ``auto``: ``TimeFolded(EventLinear())``, the default threshold choosing per call (that of the
  method that runs: ``layers.default_threshold``; the C++ kernels' on the CPU where available).

Then ``shd_mlp`` itself (700 -> 256 LIF -> 20 LI, cross-entropy on the time-averaged readout,
Adam) at its specified input density (5 %), written with dense and with event layers, against
its dense FLOP floor (FLOPs / this machine's best float32 GEMM rate, as ``run_all.py``).

Calls are interleaved (every repeat times every variant once, in turn) so that load from other
processes spreads over all of them; medians are reported with the load average before and
after. Writes ``activity_curve.json`` and ``activity_curve.png`` into ``--out``::

    .venv/bin/python benchmarks/activity_curve.py --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _harness import cpu_model
from _workloads import BETA, LR, SIZES, THRESHOLD, draw
from flax import nnx

import spikejax as sj
from spikejax import layers

ACTIVITIES = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
VARIANTS = ("dense", "event", "auto")


def default_threshold() -> float:
    """The threshold ``EventLinear()`` takes here: that of the method ``"auto"`` runs."""
    return layers.default_threshold("auto", jnp.float32)


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Milliseconds of every call; each repeat runs every function once, in turn."""
    for fn in fns.values():  # compile and warm up
        jax.block_until_ready(fn())
        jax.block_until_ready(fn())
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(1e3 * (time.perf_counter() - start))
    return times


def _layer(variant: str, n_in: int, n_out: int, *, use_bias: bool) -> nnx.Module:
    rngs = nnx.Rngs(0)
    if variant == "dense":
        inner = nnx.Linear(n_in, n_out, use_bias=use_bias, rngs=rngs)
    elif variant == "event":
        inner = layers.EventLinear(n_in, n_out, threshold=1.0, use_bias=use_bias, rngs=rngs)
    else:
        inner = layers.EventLinear(n_in, n_out, use_bias=use_bias, rngs=rngs)
    return layers.TimeFolded(inner)


def _layer_fns(variant: str, x: jax.Array, target: jax.Array):
    """(forward, train step) of one layer variant on ``x``, jitted, as zero-argument calls."""
    n_in, n_out = x.shape[-1], target.shape[-1]
    graphdef, state = nnx.split(_layer(variant, n_in, n_out, use_bias=True))

    @jax.jit
    def forward(state, x):
        return nnx.merge(graphdef, state)(x)

    def loss(state, x):  # a target: the gradient needs the forward's output
        return 0.5 * jnp.sum((nnx.merge(graphdef, state)(x) - target) ** 2)

    @jax.jit
    def step(state, x):
        grads = jax.grad(loss)(state, x)
        return jax.tree_util.tree_map(lambda p, g: p - LR * g, state, grads)

    return (lambda: forward(state, x)), (lambda: step(state, x))


def curve(activities: Sequence[float], repeats: int) -> list[dict]:
    s = SIZES["shd_mlp"]
    T, B, n_in, n_out = s["T"], s["B"], s["n_in"], s["n_hidden"]
    rng = np.random.default_rng(0)
    target = jnp.asarray(rng.standard_normal((T, B, n_out)), jnp.float32)
    rows = []
    for p in activities:
        x = jnp.asarray((rng.random((T, B, n_in)) < p).astype(np.float32))
        fns = {}
        for variant in VARIANTS:
            fwd, step = _layer_fns(variant, x, target)
            fns[f"fwd/{variant}"], fns[f"step/{variant}"] = fwd, step
        before = load()
        times = interleaved(fns, repeats)
        row = {"activity": p, "spikes": int(jnp.count_nonzero(x)), "load_before": before}
        for name, ms in times.items():
            row[f"{name}_ms"] = round(statistics.median(ms), 3)
        row["load_after"] = load()
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


class SHDMLP(nnx.Module):
    """The ``shd_mlp`` workload written with public layers (weights from ``_workloads.draw``)."""

    def __init__(self, arrays: dict, *, event: bool):
        linear = layers.EventLinear if event else nnx.Linear
        s = SIZES["shd_mlp"]
        self.fc1 = layers.TimeFolded(
            linear(s["n_in"], s["n_hidden"], use_bias=False, rngs=nnx.Rngs(0))
        )
        self.fc2 = layers.TimeFolded(
            linear(s["n_hidden"], s["n_out"], use_bias=False, rngs=nnx.Rngs(0))
        )
        self.fc1.module.kernel[...] = jnp.asarray(arrays["w1"].T)
        self.fc2.module.kernel[...] = jnp.asarray(arrays["w2"].T)
        surrogate = sj.surrogate.ATan(alpha=2.0)
        # The reference scan for the neurons: only the synapses differ between the variants.
        lif = sj.neurons.LIF(beta=BETA, threshold=THRESHOLD, surrogate=surrogate)
        self.lif = layers.Spiking(lif, backend="scan")
        self.li = layers.Spiking(sj.neurons.LI(beta=BETA), backend="scan")

    def __call__(self, x):
        return self.li(self.fc2(self.lif(self.fc1(x)))).mean(0)


def shd_mlp(repeats: int, sgemm: float) -> dict:
    arrays = draw("shd_mlp")
    x, y = jnp.asarray(arrays["x"]), jnp.asarray(arrays["y"])
    fns, losses = {}, {}
    for variant in ("dense", "event"):
        model = SHDMLP(arrays, event=variant == "event")
        graphdef, state = nnx.split(model)
        tx = optax.adam(LR)
        opt_state = tx.init(state)

        def loss(state, x, y, graphdef=graphdef):
            logits = nnx.merge(graphdef, state)(x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        @jax.jit
        def step(state, opt_state, x, y, loss=loss, tx=tx):
            value, grads = jax.value_and_grad(loss)(state, x, y)
            updates, opt_state = tx.update(grads, opt_state, state)
            return optax.apply_updates(state, updates), opt_state, value

        forward = jax.jit(loss)
        losses[variant] = float(forward(state, x, y))
        fns[f"fwd/{variant}"] = lambda f=forward, s=state: f(s, x, y)
        fns[f"step/{variant}"] = lambda f=step, s=state, o=opt_state: f(s, o, x, y)
    before = load()
    times = interleaved(fns, repeats)
    n = SIZES["shd_mlp"]
    rows = n["T"] * n["B"]
    gflop = {
        "fwd": 2 * rows * (n["n_in"] * n["n_hidden"] + n["n_hidden"] * n["n_out"]) / 1e9,
        "step": 2 * rows * (2 * n["n_in"] * n["n_hidden"] + 3 * n["n_hidden"] * n["n_out"]) / 1e9,
    }
    out = {
        "input_activity": float(jnp.mean(x)),
        "first_loss": losses,
        "load_before": before,
        "load_after": load(),
    }
    for name, ms in times.items():
        out[f"{name}_ms"] = round(statistics.median(ms), 3)
    for mode in ("fwd", "step"):
        out[f"{mode}/floor_ms"] = round(1e3 * gflop[mode] / sgemm, 3)
    print(json.dumps(out), flush=True)
    return out


def sgemm_gflops() -> float:
    """GFLOP/s of the fastest of 10 float32 2048³ matmuls (the floor's rate, as run_all.py)."""
    n = 2048
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(jnp.matmul)
    f(a, a).block_until_ready()
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        f(a, a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return round(2 * n**3 / best / 1e9, 1)


def plot(rows: list[dict], shd: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    # 0 % cannot sit on a log axis: it is drawn at half the smallest nonzero activity.
    nonzero = [r["activity"] for r in rows if r["activity"] > 0]
    zero_at = min(nonzero) / 2 if nonzero else 1e-3
    xs = [100 * (r["activity"] or zero_at) for r in rows]
    styles = {
        "dense": ("k", "s", "dense nnx.Linear"),
        "event": ("C0", "o", "event path"),
        "auto": ("C3", "x", f"EventLinear (threshold {default_threshold():g})"),
    }
    for ax, mode in zip(axes, ("fwd", "step"), strict=True):
        for variant, (color, marker, label) in styles.items():
            ax.plot(
                xs,
                [r[f"{mode}/{variant}_ms"] for r in rows],
                marker=marker,
                color=color,
                label=label,
            )
        ax.axvline(100 * default_threshold(), color="C3", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input activity, % nonzero (leftmost point: 0 %)")
        ax.set_ylabel("median ms per call")
        ax.set_title({"fwd": "forward", "step": "train step"}[mode] + ", 6400 x 700 -> 256")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"shd_mlp at {100 * shd['input_activity']:.1f} % input: step dense "
        f"{shd['step/dense_ms']:.1f} ms, event {shd['step/event_ms']:.1f} ms, floor "
        f"{shd['step/floor_ms']:.1f} ms",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--activities",
        type=float,
        nargs="+",
        default=list(ACTIVITIES),
        help="input activities as fractions (default: 0 to 1)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start_load = load()
    sgemm = sgemm_gflops()
    rows = curve(args.activities, args.repeats)
    shd = shd_mlp(args.repeats, sgemm)
    result = {
        "meta": {
            "cpu": cpu_model(),
            "backend": jax.default_backend(),
            "device": str(jax.devices()[0]),
            "jax": jax.__version__,
            "cores": os.cpu_count(),
            "repeats": args.repeats,
            "sgemm_gflops": sgemm,
            "event_method": layers.resolve_method("auto", jnp.float32),
            "event_threshold": default_threshold(),
            "load_start": start_load,
            "load_end": load(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "sizes": {k: SIZES["shd_mlp"][k] for k in ("B", "T", "n_in", "n_hidden")},
        },
        "curve": rows,
        "shd_mlp": shd,
    }
    (args.out / "activity_curve.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(rows, shd, args.out / "activity_curve.png")
    return result


if __name__ == "__main__":
    main()
