"""Population sweeps against sequential runs: wall time of N digits configurations.

The digits LIF network of ``experiments/digits_lif_mlp`` (64 → 128 LIF → 10 LI, T = 8, batch 64,
Adam) for ``--epochs`` epochs; N configurations = 8 learning rates (log-spaced 5e-4 … 1e-2) ×
N/8 seeds. Each variant runs in its own process (a fresh JAX, nothing cached between them):

* ``population``: `spikejax.train.fit_population` of all N (one compiled step);
* ``sequential``: `spikejax.train.fit` of the first ``--sequential`` configurations one
  after the other (each compiles its own steps, as separate ``spikejax train`` runs would).
  Sequential time for N runs is the measured mean per run × N when fewer than N were run
  (``sequential_extrapolated: true``).

Both write complete run directories (metrics, checkpoints at every epoch, summaries; no plots).
Records: wall seconds (end to end, including data, compilation, evaluations and checkpoints),
the summed training-loop seconds, speed-up = sequential / population, the machine's load
average (``uptime``) before and after, CPU count, JAX version and device.

    .venv/bin/python benchmarks/sweep_population.py [--sizes 8 32 128] [--epochs 1]
        [--sequential 8] [--out benchmarks/results/sweep_population.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _configs(n: int, epochs: int):
    import numpy as np

    from spikejax.config import apply_overrides, load_config

    base = load_config(ROOT / "experiments" / "digits_lif_mlp" / "config.py")
    base = apply_overrides(base, [f"train.epochs={epochs}", "data.prefetch=0"])
    lrs = np.geomspace(5e-4, 1e-2, 8)
    return [
        apply_overrides(base, [f"optimizer.lr={float(lrs[i % 8])!r}", f"seed={i // 8}"])
        for i in range(n)
    ]


def _child(variant: str, n: int, count: int, epochs: int) -> dict:
    from spikejax.train import fit, fit_population

    configs = _configs(n, epochs)[:count]
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [Path(tmp) / f"{i:04d}" for i in range(len(configs))]
        started = time.perf_counter()
        if variant == "population":
            summaries = fit_population(configs, dirs, progress=False)
        else:
            summaries = [
                fit(c, d, progress=False, plots=False) for c, d in zip(configs, dirs, strict=True)
            ]
        wall = time.perf_counter() - started
    train = sum(s["train_time_s"] for s in summaries) if variant == "sequential" else (
        summaries[0]["train_time_s"]
    )  # fmt: skip
    return {
        "wall_s": wall,
        "train_loop_s": train,
        "runs": len(configs),
        "steps": summaries[0]["steps"],
        "test_accuracy_final": [s["test_accuracy_final"] for s in summaries],
    }


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _run(variant: str, n: int, count: int, epochs: int) -> dict:
    command = [sys.executable, __file__, "--child", variant, str(n), str(count), str(epochs)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sequential", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/sweep_population.json"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, n, count, epochs = args.child
        print(json.dumps(_child(variant, int(n), int(count), int(epochs))), flush=True)
        return
    import jax

    record = {
        "benchmark": "sweep_population",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": str(jax.devices()[0].device_kind),
        "platform": jax.default_backend(),
        "jax": jax.__version__,
        "cpu_count": os.cpu_count(),
        "epochs": args.epochs,
        "uptime_before": _load(),
        "results": [],
    }
    sequential = _run("sequential", max(args.sizes), args.sequential, args.epochs)
    per_run = sequential["wall_s"] / sequential["runs"]
    record["sequential_measured"] = sequential
    for n in args.sizes:
        population = _run("population", n, n, args.epochs)
        seq_wall = per_run * n
        row = {
            "configs": n,
            "population_wall_s": population["wall_s"],
            "population_train_loop_s": population["train_loop_s"],
            "sequential_wall_s": seq_wall,
            "sequential_extrapolated": n > sequential["runs"],
            "speedup": seq_wall / population["wall_s"],
            "steps_per_run": population["steps"],
            "uptime_after": _load(),
        }
        record["results"].append(row)
        print(json.dumps(row), flush=True)
    record["uptime_after"] = _load()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
