"""Memory and time of BPTT through a 512-neuron LIF layer, plain vs checkpointed (`remat=True`).

For each T: XLA's compiled temporary memory of the gradient (from `memory_analysis`), the size of
the [T, B, N] spike output for comparison, and the median wall time of one gradient. Prints one
JSON record per (T, remat).

    .venv/bin/python benchmarks/remat_memory.py [--T 500 2000 8000]
"""

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import spikejax as sj

B, N = 16, 512


def run(T: int, remat: bool, repeats: int = 3) -> dict:
    def loss(beta, currents):
        lif = sj.neurons.LIF(beta=beta)
        _, spikes = sj.unroll(lif, lif.init_state(currents.shape[1:]), currents, remat=remat)
        return spikes.sum()

    grad = jax.jit(jax.grad(loss))
    beta = jnp.full((N,), 0.9)
    currents = jnp.asarray(np.random.default_rng(0).uniform(0, 0.3, (T, B, N)), jnp.float32)
    start = time.perf_counter()
    compiled = grad.lower(beta, currents).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compiled(beta, currents).block_until_ready()
        times.append(time.perf_counter() - start)
    output_bytes = T * B * N * 4
    return {
        "benchmark": "remat_memory",
        "T": T,
        "remat": remat,
        "temp_MiB": round(analysis.temp_size_in_bytes / 2**20, 2),
        "spike_output_MiB": round(output_bytes / 2**20, 2),
        "compile_s": round(compile_s, 3),
        "median_ms": round(1e3 * statistics.median(times), 2),
        "backend": jax.default_backend(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--T", type=int, nargs="+", default=[500, 2000, 8000])
    args = parser.parse_args()
    for T in args.T:
        for remat in (False, True):
            print(json.dumps(run(T, remat)), flush=True)


if __name__ == "__main__":
    main()
