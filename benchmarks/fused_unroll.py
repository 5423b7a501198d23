"""The backends of ``sj.unroll`` on one LIF layer: ms per forward and per forward + backward.

A 16 x 512 LIF layer (the ``lif_layer`` workload's neuron: beta 0.9, threshold 1, subtractive
reset, ATan(2)) over T = 500 and 5,000 steps of input currents. ``fwd`` is
``sj.unroll(...)`` and a weighted spike sum; ``fwd+bwd`` is its gradient with respect to the
input currents and beta (a layer whose decay is trained); ``fwd+bwd_xs`` with respect to the
input currents only (fixed neuron parameters: what the ``lif_layer`` workload's step needs from
the neuron layer). Each (T, backend) is
compiled ahead of time; the timed calls of all variants are interleaved round by round, so that
a shared machine's load falls on all of them alike, and the medians of wall and CPU time (this
process, all threads: less sensitive to other processes than wall time) are reported, with the
load average before and after and the compiler's temporary memory.

Variants: ``scan`` (the reference), ``scan`` with ``unroll=4``, ``scan_vjp``; ``pallas`` only
where a GPU or TPU is present (on the CPU Pallas runs in interpret mode, which checks the kernel
and is not meant to be fast). Every variant's spikes are compared with the scan's (equal, bit
for bit) and its gradients (largest relative difference).

    .venv/bin/python benchmarks/fused_unroll.py --T 500 5000 --rounds 9
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from _harness import cpu_model

import spikejax as sj

B, N = 16, 512
MODES = ("fwd", "fwd+bwd", "fwd+bwd_xs")
RESULTS = Path(__file__).parent / "results"


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unavailable"


def variants() -> dict[str, dict]:
    out = {
        "scan": {"backend": "scan", "unroll": 1},
        "scan_unroll4": {"backend": "scan", "unroll": 4},
        "scan_vjp": {"backend": "scan_vjp", "unroll": 1},
    }
    if jax.default_backend() in ("gpu", "tpu"):
        out["pallas"] = {"backend": "pallas", "unroll": 1}
    return out


def build(T: int, backend: str, unroll: int):
    """The compiled forward and forward + backward, and the compiler's temporary bytes."""

    def loss(beta, xs):
        lif = sj.neurons.LIF(beta=beta, threshold=1.0, surrogate=sj.surrogate.ATan(alpha=2.0))
        _, s = sj.unroll(lif, lif.init_state((B, N)), xs, unroll=unroll, backend=backend)
        w = jnp.linspace(-1.0, 1.0, N, dtype=s.dtype)
        return (s * w).sum(), s

    args = (jax.ShapeDtypeStruct((), jnp.float32), jax.ShapeDtypeStruct((T, B, N), jnp.float32))
    t0 = time.perf_counter()
    fwd = jax.jit(loss).lower(*args).compile()
    grad = jax.jit(jax.grad(loss, argnums=(0, 1), has_aux=True)).lower(*args).compile()
    grad_xs = jax.jit(jax.grad(loss, argnums=1, has_aux=True)).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    memory = {}
    for name, compiled in (("fwd", fwd), ("fwd+bwd", grad), ("fwd+bwd_xs", grad_xs)):
        analysis = compiled.memory_analysis()
        memory[name] = None if analysis is None else int(analysis.temp_size_in_bytes)
    return fwd, grad, grad_xs, compile_s, memory


def timed(call) -> tuple[float, float]:
    """Wall and CPU seconds (this process, all threads) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    jax.block_until_ready(call())
    return time.perf_counter() - t0, time.process_time() - c0


def run(T: int, rounds: int) -> dict:
    rng = np.random.default_rng(0)
    # Currents for the lif_layer workload's layer size: about 12 % of the neurons spike per step.
    xs = jnp.asarray(rng.normal(0.1, 0.6, (T, B, N)), jnp.float32)
    beta = jnp.float32(0.9)
    built = {name: build(T, **v) for name, v in variants().items()}
    ref_spikes = ref_grads = None
    record = {}
    for name, (fwd, grad, grad_xs, compile_s, memory) in built.items():
        (_, spikes) = fwd(beta, xs)
        grads, _ = grad(beta, xs)
        if ref_spikes is None:
            ref_spikes, ref_grads = spikes, grads
        rel = [
            float(jnp.max(jnp.abs(g - r)) / (jnp.max(jnp.abs(r)) + 1e-30))
            for g, r in zip(grads, ref_grads, strict=True)
        ]
        record[name] = {
            "compile_s": round(compile_s, 2),
            "temp_bytes": memory,
            "spikes_equal_scan": bool(jnp.array_equal(spikes, ref_spikes)),
            "spike_rate": float(spikes.mean()),
            "grad_max_rel_diff": {"beta": rel[0], "xs": rel[1]},
            "fwd_ms": [],
            "fwd+bwd_ms": [],
            "fwd_cpu_ms": [],
            "fwd+bwd_cpu_ms": [],
            "fwd+bwd_xs_ms": [],
            "fwd+bwd_xs_cpu_ms": [],
        }
        timed(lambda f=fwd: f(beta, xs))  # warm-up
        timed(lambda g=grad: g(beta, xs))
        timed(lambda g=grad_xs: g(beta, xs))
    for _ in range(rounds):
        for name, (fwd, grad, grad_xs, _, _) in built.items():
            for mode, call in (
                ("fwd", lambda f=fwd: f(beta, xs)),
                ("fwd+bwd", lambda g=grad: g(beta, xs)),
                ("fwd+bwd_xs", lambda g=grad_xs: g(beta, xs)),
            ):
                wall, cpu = timed(call)
                record[name][f"{mode}_ms"].append(1e3 * wall)
                record[name][f"{mode}_cpu_ms"].append(1e3 * cpu)
    for entry in record.values():
        for mode in MODES:
            times, cpu = entry.pop(f"{mode}_ms"), entry.pop(f"{mode}_cpu_ms")
            entry[mode] = {
                "median_ms": round(statistics.median(times), 2),
                "min_ms": round(min(times), 2),
                "median_cpu_ms": round(statistics.median(cpu), 2),
            }
    scan = record["scan"]
    for entry in record.values():
        entry["speedup_vs_scan"] = {
            f"{mode} {what}": round(scan[mode][key] / entry[mode][key], 3)
            for mode in MODES
            for what, key in (("wall", "median_ms"), ("cpu", "median_cpu_ms"))
        }
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: results/)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    result = {
        "benchmark": "fused_unroll",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "shape": {"B": B, "N": N},
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0].device_kind),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "rounds": args.rounds,
        "uptime_before": _uptime(),
        "load_average_before": [round(x, 2) for x in load_before],
        "results": {str(T): run(T, args.rounds) for T in args.T},
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "uptime_after": _uptime(),
    }
    if jax.default_backend() == "cpu":
        result["pallas"] = "not timed: no GPU/TPU (on the CPU Pallas runs in interpret mode)"
    text = json.dumps(result, indent=1)
    print(text)
    out = args.out or RESULTS / f"fused_unroll_{jax.default_backend()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
