"""Shared pieces of the chip emulator benchmarks: a random MLP quantized for a chip, and timing.

The network is ``Linear → LIF(β=0.9, θ=1) → Linear → LI`` with weights ``N(0, 1/n_in)`` scaled so
that the hidden layer fires at a moderate rate on Bernoulli input spikes; it is quantized with the
chip's default settings. The emulator is timed with its jit compilation separated out: the
compiled function is built once (``compile_s``), then called ``repeats`` times on the same batch.
"""

from __future__ import annotations

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax import chip
from spikejax.layers import Spiking
from spikejax.neurons import LI, LIF

B, T, P_IN = 64, 200, 0.1


class MLP(nnx.Module):
    """``Linear → LIF → Linear → LI`` (the shape chip.quantize maps)."""

    def __init__(self, n_in: int, n_hid: int, n_out: int, gain: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        rngs = nnx.Rngs(seed)
        self.fc1 = nnx.Linear(n_in, n_hid, rngs=rngs)
        self.fc1.kernel[...] = jnp.asarray(
            rng.normal(0, gain / np.sqrt(n_in * P_IN), (n_in, n_hid)), jnp.float32
        )
        self.lif = Spiking(LIF(beta=jnp.full((n_hid,), 0.9), threshold=jnp.ones((n_hid,))))
        self.fc2 = nnx.Linear(n_hid, n_out, rngs=rngs)
        self.out = Spiking(LI(beta=jnp.full((n_out,), 0.9)))

    def __call__(self, x):  # x: [T, B, n_in]; nnx.Linear acts on the last axis
        return self.out(self.fc2(self.lif(self.fc1(x))))


def setup(profile: str, n_in: int, n_hid: int, n_out: int, gain: float = 0.5):
    """The quantized model and a batch of input spikes ``[T, B, n_in]``."""
    model = MLP(n_in, n_hid, n_out, gain)
    x = (np.random.default_rng(1).random((T, B, n_in)) < P_IN).astype(np.float32)
    peaks = chip.calibrate(model, x)
    cm = chip.quantize(model, profile, peaks=peaks)
    return cm, jnp.asarray(x.astype(np.int32))


def timed(fn, *args, batch: int, repeats: int = 7) -> tuple[dict, object]:
    """Compile ``jax.jit(fn)`` for ``args`` (timed apart), call it once, then time ``repeats``
    calls; returns the timings and the last output."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - start
    out = jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    timing = {
        "compile_s": round(compile_s, 3),
        "median_ms": round(1e3 * median, 3),
        "min_ms": round(1e3 * min(times), 3),
        "per_sample_ms": round(1e3 * median / batch, 4),
        "repeats": repeats,
    }
    return timing, out


def time_emulator(cm, x, *, exact: bool = False, repeats: int = 7) -> dict:
    """Compile time, then median and minimum wall time of ``emulate`` over ``repeats`` calls
    (``jax.jit`` of the public ``chip.emulate`` with the quantized model closed over, as a user
    jits it)."""

    def run(x):
        return chip.emulate(cm, x, exact=exact)

    timing, (out, stats) = timed(run, x, batch=x.shape[1], repeats=repeats)
    ref, _ = chip.emulate(cm, x, exact=exact)
    assert np.array_equal(np.asarray(ref), np.asarray(out))
    per_step_us = round(1e3 * timing["median_ms"] / x.shape[0], 2)
    return {**timing, "per_step_us": per_step_us, "stats": jax.tree.map(int, stats)}


def environment() -> dict:
    return {
        "backend": jax.default_backend(),
        "device": str(jax.devices()[0].device_kind),
        "batch": B,
        "T": T,
        "p_in": P_IN,
    }
