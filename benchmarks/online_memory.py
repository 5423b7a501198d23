"""Peak memory and time per step of one gradient: BPTT, checkpointed BPTT, truncated BPTT, OTTT
and e-prop, for T = 100, 1,000 and 10,000 steps.

The network is the zoo's ``lif_mlp`` (64 → 128 LIF → 10 LI readout, batch 16) and every method
differentiates the same objective, the mean over steps of the per-step cross-entropy (TET). For
each (method, T): XLA's compiled temporary memory of the gradient (``memory_analysis``, which
does not depend on what else runs on the machine), the input's own size for comparison, and the
median wall time of one gradient divided by T. Writes one JSON record per line to stdout and the
list to ``benchmarks/results/online_memory.json``.

    .venv/bin/python benchmarks/online_memory.py [--T 100 1000 10000] [--out PATH]
"""

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
from flax import nnx

import spikejax as sj
from spikejax.online import OnlineGradient, ce_step

B, F, HIDDEN = 16, 64, 128
METHODS = ("bptt", "remat", "tbptt_50", "ottt", "eprop")


def gradient_fn(method: str, T: int):
    remat = method == "remat"
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(HIDDEN,), remat=remat)
    graphdef, state = nnx.split(model)
    labels = jnp.arange(B) % 10
    example = jax.ShapeDtypeStruct((T, B, F), jnp.float32)
    online = None
    if method in ("ottt", "eprop"):
        online = OnlineGradient(
            model, example, method=method, decay=0.9 if method == "ottt" else None
        )

    def fn(state, xs):
        model = nnx.merge(graphdef, state)
        if online is not None:
            return online.value_and_grad(model, xs, labels).grads
        if method == "tbptt_50":
            return sj.train.truncated_bptt(model, xs, labels, 50, ce_step)[2]

        def loss(model):
            return jnp.mean(jax.vmap(lambda o: ce_step(o, labels))(model(xs)))

        return nnx.grad(loss)(model)

    return jax.jit(fn), state


def measure(method: str, T: int, repeats: int) -> dict:
    fn, state = gradient_fn(method, T)
    xs = jr.uniform(jr.key(0), (T, B, F))
    start = time.perf_counter()
    compiled = fn.lower(state, xs).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(state, xs))
        times.append(time.perf_counter() - start)
    return {
        "benchmark": "online_memory",
        "method": method,
        "T": T,
        "batch": B,
        "temp_MiB": round(analysis.temp_size_in_bytes / 2**20, 3),
        "input_MiB": round(xs.size * 4 / 2**20, 3),
        "compile_s": round(compile_s, 2),
        "us_per_step": round(1e6 * statistics.median(times) / T, 1),
        "backend": jax.default_backend(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--T", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "online_memory.json")
    )
    args = parser.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    records = []
    for T in args.T:
        for method in METHODS:
            record = measure(method, T, args.repeats) | {"uptime_before": load}
            print(json.dumps(record), flush=True)
            records.append(record)
            load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    meta = {"cpu_count": os.cpu_count(), "uptime_after": load, "jax": jax.__version__}
    Path(args.out).write_text(json.dumps({"meta": meta, "records": records}, indent=1) + "\n")


if __name__ == "__main__":
    main()
