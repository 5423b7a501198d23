"""lif_layer at long T: memory and time of one BPTT step (dL/dw), with and without ``remat``.

Variants (each in its own process, so peak RSS is its own):

* ``plain``: ``sj.unroll`` over all T (every step's residuals are kept).
* ``remat``: ``sj.unroll(..., remat=True)``: checkpointed BPTT, residuals O(sqrt T), chunks of
  ``ceil(sqrt T)`` steps.
* ``remat-divisor``: ``remat=`` a divisor of T near sqrt(T): when ``ceil(sqrt T)`` does not divide
  T, ``unroll`` slices the inputs and concatenates the outputs, two ``[T, B, N]`` copies that cost
  as much memory as checkpointing saves; whole chunks avoid them.
* ``truncated``: ``sj.truncated_unroll(..., window=500)``: gradients reach back at most 500 steps.
* ``truncated+remat``: both.
* ``windowed+remat``: the layer itself (``x @ w.T``), the neuron and the loss run window by window
  (500 steps) under ``jax.checkpoint`` inside one ``lax.scan``; the currents ``[T, B, N]`` are never
  materialised, only the window being (re)computed. Same loss and gradient as ``plain``.

Data: ``default_rng(0)`` spikes ``x`` (T, 16, 512) with p = 0.1, then ``w`` U(512), float32 (the
lif_layer draws at a different T). Prints one JSON record per (T, variant): XLA's
``memory_analysis`` (arguments, outputs, temporaries), the peak RSS of compiling and running the
step (``peak_rss_MiB``: the process with its data, sampled while compiling and running),
compile seconds and ms per step.

    .venv/bin/python benchmarks/long_sequence.py [--T 5000 20000] [--variants plain remat ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

B, N, P_IN, WINDOW = 16, 512, 0.1, 500
VARIANTS = ("plain", "remat", "remat-divisor", "truncated", "truncated+remat", "windowed+remat")


def divisor_near_sqrt(T: int) -> int:
    """The divisor of T closest to sqrt(T) (whole remat chunks: no slicing copies)."""
    return min((d for d in range(1, T + 1) if T % d == 0), key=lambda d: abs(d - T**0.5))


def _data(T: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.empty((T, B, N), np.float32)
    for t in range(0, T, 500):  # the same stream as one rng.random((T, B, N)) call
        x[t : t + 500] = rng.random((min(500, T - t), B, N)) < P_IN
    a = 3.0 / np.sqrt(N)
    w = rng.uniform(-a, a, size=(N, N)).astype(np.float32)
    return x, w


def _loss_fn(variant: str):
    import jax
    import jax.numpy as jnp

    import spikejax as sj

    lif = sj.neurons.LIF(beta=0.9, reset="subtract", surrogate=sj.surrogate.ATan(alpha=2.0))

    def currents(x, w):
        T = x.shape[0]
        return jax.lax.dot_general(x.reshape(T * B, N), w, (((1,), (1,)), ((), ()))).reshape(
            T, B, N
        )

    def loss(w, x):
        state0 = lif.init_state((B, N), x.dtype)
        if variant == "plain":
            return sj.unroll(lif, state0, currents(x, w))[1].sum()
        if variant == "remat":
            return sj.unroll(lif, state0, currents(x, w), remat=True)[1].sum()
        if variant == "remat-divisor":
            chunk = divisor_near_sqrt(x.shape[0])
            return sj.unroll(lif, state0, currents(x, w), remat=chunk)[1].sum()
        if variant == "truncated":
            return sj.truncated_unroll(lif, state0, currents(x, w), window=WINDOW)[1].sum()
        if variant == "truncated+remat":
            out = sj.truncated_unroll(lif, state0, currents(x, w), window=WINDOW, remat=True)
            return out[1].sum()
        # windowed+remat: layer, neuron and loss per window, recomputed in the backward pass.
        T = x.shape[0]
        if T % WINDOW:
            raise ValueError(f"`windowed+remat`: T must be a multiple of {WINDOW}; got {T}.")

        @jax.checkpoint
        def window(state, xw):
            state, spikes = sj.unroll(lif, state, currents(xw, w))
            return state, spikes.sum()

        _, sums = jax.lax.scan(window, state0, x.reshape(T // WINDOW, WINDOW, B, N))
        return jnp.sum(sums)

    return loss


def _rss_mib(field: str) -> float | None:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak since the last reset) of this process, MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


class _PeakRSS:
    """Highest ``VmRSS`` seen by a 2 ms sampling thread while the ``with`` block runs, MiB.

    (The process's lifetime peak would include building the data, which is larger than the
    training step for the windowed variant.)
    """

    def __enter__(self):
        import threading

        self.peak = _rss_mib("VmRSS") or 0.0
        self._stop = threading.Event()

        def sample():
            while not self._stop.wait(0.002):
                self.peak = max(self.peak, _rss_mib("VmRSS") or 0.0)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def child(T: int, variant: str, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    # Compiled ahead of time from shapes, before the data exists: compiling while the [T, B, N]
    # input is resident peaked ~0.6 GiB higher (transiently) in this setup.
    step = jax.jit(jax.value_and_grad(_loss_fn(variant)))
    t0 = time.perf_counter()
    compiled = step.lower(
        jax.ShapeDtypeStruct((N, N), jnp.float32), jax.ShapeDtypeStruct((T, B, N), jnp.float32)
    ).compile()
    compile_s = time.perf_counter() - t0
    x_np, w_np = _data(T)
    # Owned device copies: a jax array that aliases the numpy buffer (``jnp.asarray`` may not
    # copy on CPU) was copied again inside every call of the step (+1.2 GiB at T = 20,000).
    x, w = jax.block_until_ready((jnp.asarray(x_np).copy(), jnp.asarray(w_np).copy()))
    del x_np, w_np
    gc.collect()
    resident_before = _rss_mib("VmRSS")
    sampler = _PeakRSS().__enter__()
    mem = compiled.memory_analysis()
    t0 = time.perf_counter()
    loss, grad = jax.block_until_ready(compiled(w, x))
    first_ms = 1e3 * (time.perf_counter() - t0)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(w, x))
        times.append(time.perf_counter() - t0)
    sampler.__exit__()
    mib = 2**20
    return {
        "benchmark": "long_sequence",
        "T": T,
        "variant": variant,
        "window": WINDOW if "truncated" in variant or "windowed" in variant else None,
        "remat_chunk": divisor_near_sqrt(T) if variant == "remat-divisor" else None,
        "loss": float(loss),
        "grad_abs_sum": float(jnp.abs(grad).sum()),
        "compile_s": round(compile_s, 3),
        "first_call_ms": round(first_ms, 1),
        "median_ms": round(1e3 * statistics.median(times), 1),
        "min_ms": round(1e3 * min(times), 1),
        "xla_argument_MiB": round(mem.argument_size_in_bytes / mib, 1),
        "xla_output_MiB": round(mem.output_size_in_bytes / mib, 1),
        "xla_temp_MiB": round(mem.temp_size_in_bytes / mib, 1),
        "rss_before_MiB": resident_before,
        "peak_rss_MiB": sampler.peak,
        "peak_rss_incl_setup_MiB": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
        "input_MiB": round(T * B * N * 4 / mib, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("T", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help="also append the records to this JSON-lines file")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.repeats)), flush=True)
        return
    for T in args.T:
        for variant in args.variants:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                str(T),
                variant,
                "--repeats",
                str(args.repeats),
            ]
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                check=False,
                env=dict(os.environ),
                cwd=Path(__file__).parent,
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            record = (
                json.loads(lines[-1])
                if lines
                else {
                    "benchmark": "long_sequence",
                    "T": T,
                    "variant": variant,
                    "error": (proc.stderr or "")[-1500:],
                }
            )
            print(json.dumps(record), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
