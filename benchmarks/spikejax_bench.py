"""spikejax on the three canonical workloads (see ``_workloads.py`` and the README).

Public API only: ``sj.neurons.LIF`` / ``sj.neurons.LI``, ``sj.unroll``, ``sj.layers.conv2d_im2col``.
Stateless layers (linear, conv, pool) run once on the time-folded ``[T*B, ...]`` batch outside the
scan; the scans contain only the elementwise neuron updates. The train step is one jitted function
(forward, loss, backward, Adam) whose parameters and optimizer state are donated, compiled ahead of
time. Prints one JSON record.

    .venv/bin/python benchmarks/spikejax_bench.py --workload shd_mlp --mode step
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _harness import parse_args, report, time_calls
from _jax_call import compiled_call
from _workloads import BETA, LR, THRESHOLD, draw

import spikejax as sj

SURROGATE = sj.surrogate.ATan(alpha=2.0)
LIF = sj.neurons.LIF(beta=BETA, threshold=THRESHOLD, reset="subtract", surrogate=SURROGATE)
LI = sj.neurons.LI(beta=BETA)

# Steps that lax.scan unrolls per loop iteration (1: on XLA:CPU an unrolled body recomputes the
# neuron's chain of steps in every output fusion), time window and remat, per workload.
UNROLL = {"lif_layer": 1, "shd_mlp": 1, "conv_nmnist": 1}
WINDOW = {"lif_layer": 500, "shd_mlp": 100, "conv_nmnist": 25}
REMAT = {"lif_layer": False, "shd_mlp": False, "conv_nmnist": False}


def check_surrogate() -> float:
    """Max relative error of ATan(α=2)'s gradient against the specification 1/(1 + (π(h−1))²)."""
    h = jnp.linspace(-2.0, 4.0, 1001, dtype=jnp.float32)
    got = jax.grad(lambda h: sj.surrogate.spike(h - THRESHOLD, SURROGATE).sum())(h)
    want = 1.0 / (1.0 + (np.pi * (np.asarray(h, np.float64) - THRESHOLD)) ** 2)
    return float(np.max(np.abs(np.asarray(got, np.float64) - want) / want))


def dense(x, w, b=None):
    """``x @ w.T (+ b)`` on time-folded ``x`` ``[T, B, in]``; ``w`` in PyTorch layout (out, in)."""
    T, B, n_in = x.shape
    y = jax.lax.dot_general(x.reshape(T * B, n_in), w, (((1,), (1,)), ((), ())))
    if b is not None:
        y = y + b
    return y.reshape(T, B, w.shape[0])


def cross_entropy(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def max_pool2(x):
    """2×2 max pool, stride 2, floor, on NHWC ``x``."""
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, : 2 * h2, : 2 * w2, :].reshape(n, h2, 2, w2, 2, c)
    return x.max(axis=(2, 4))


# ----------------------------------------------------------------------------------- networks
#
# Each network is written for one window of time steps: ``window(params, states, x_w) -> (states,
# sums)`` runs every layer on the window's ``[W, B, ...]`` inputs (stateless layers time-folded
# over the window, neurons through ``sj.unroll`` from the carried states) and returns partial sums
# that ``finish`` turns into the loss. With one window (W = T) this is the plain time-folded
# network; with several, the windows run in a ``lax.scan`` and every intermediate is O(W), not
# O(T) (see ``run_windows``). The sums are exact spike counts or time sums, so the loss is the same.


def lif_layer_init(B):
    return (LIF.init_state((B, 512)),)


def lif_layer_window(params, states, x, unroll, conv):
    (v1,) = states
    v1, s1 = sj.unroll(LIF, v1, dense(x, params["w"]), unroll=unroll)
    return (v1,), (s1.sum(),)


def lif_layer_finish(sums, y, shape):
    (count,) = sums
    T, B, N = shape
    return count, count / (T * B * N)


def shd_mlp_init(B):
    return LIF.init_state((B, 256)), LI.init_state((B, 20))


def shd_mlp_window(params, states, x, unroll, conv):
    v1, u0 = states
    v1, s1 = sj.unroll(LIF, v1, dense(x, params["w1"]), unroll=unroll)
    u0, u = sj.unroll(LI, u0, dense(s1, params["w2"]), unroll=unroll)
    return (v1, u0), (u.sum(axis=0), s1.sum())


def shd_mlp_finish(sums, y, shape):
    u_sum, count = sums
    T, B, _ = shape
    return cross_entropy(u_sum / T, y), count / (T * B * 256)


def conv_nmnist_init(B):
    return (
        LIF.init_state((B, 15, 15, 12)),
        LIF.init_state((B, 5, 5, 64)),
        LIF.init_state((B, 10)),
    )


def conv_nmnist_window(params, states, x, unroll, conv):
    v1, v2, v3 = states
    T, B = x.shape[:2]
    # NHWC frames (see `build`), time folded into the batch; PyTorch (O, C, kh, kw) -> HWIO.
    h = x.reshape(T * B, *x.shape[2:])
    k1 = jnp.transpose(params["c1w"], (2, 3, 1, 0))
    k2 = jnp.transpose(params["c2w"], (2, 3, 1, 0))
    c1 = conv(h, k1, params["c1b"])  # conv + bias + 2x2 max pool
    v1, s1 = sj.unroll(LIF, v1, c1.reshape(T, B, *c1.shape[1:]), unroll=unroll)
    c2 = conv(s1.reshape(T * B, *s1.shape[2:]), k2, params["c2b"])
    v2, s2 = sj.unroll(LIF, v2, c2.reshape(T, B, *c2.shape[1:]), unroll=unroll)
    # fc weight columns are in (C, H, W) order; reorder them to match the NHWC flattening.
    n_out = params["fcw"].shape[0]
    _, h2, w2, c2_channels = c2.shape
    fcw = params["fcw"].reshape(n_out, c2_channels, h2, w2)
    fcw = jnp.transpose(fcw, (0, 2, 3, 1)).reshape(n_out, -1)
    v3, s3 = sj.unroll(LIF, v3, dense(s2.reshape(T, B, -1), fcw, params["fcb"]), unroll=unroll)
    return (v1, v2, v3), (s3.sum(axis=0), s1.sum())


def conv_nmnist_finish(sums, y, shape):
    s3_count, count = sums
    T, B = shape[:2]
    return cross_entropy(s3_count, y), count / (T * B * 15 * 15 * 12)


NETWORKS = {
    "lif_layer": (lif_layer_init, lif_layer_window, lif_layer_finish),
    "shd_mlp": (shd_mlp_init, shd_mlp_window, shd_mlp_finish),
    "conv_nmnist": (conv_nmnist_init, conv_nmnist_window, conv_nmnist_finish),
}


def run_windows(window_fn, states0, x, window: int, remat: bool):
    """Sum ``window_fn``'s partial sums over consecutive ``window``-step windows of ``x``.

    With ``remat`` each window is a ``jax.checkpoint``: the backward pass keeps only the neuron
    states between windows and recomputes one window at a time.
    """
    T = x.shape[0]
    if T % window:
        raise ValueError(f"`run_windows`: `window` must divide T={T}; got {window}.")
    body = jax.checkpoint(window_fn) if remat else window_fn
    if window == T:
        return body(states0, x)[1]
    xs = x.reshape(T // window, window, *x.shape[1:])
    _, sums = jax.lax.scan(body, states0, xs)
    return jax.tree_util.tree_map(lambda a: a.sum(axis=0), sums)


CONVS = {
    # im2col in chunks with bias and pooling fused (spikejax.layers.conv2d_im2col)
    "im2col": lambda x, k, b: sj.layers.conv2d_im2col(x, k, b, max_pool=2),
    # im2col, then bias and pooling as separate XLA ops
    "im2col-unfused": lambda x, k, b: max_pool2(sj.layers.conv2d_im2col(x, k) + b),
    # XLA's own convolution and reduce_window max pooling
    "lax-window": lambda x, k, b: jax.lax.reduce_window(
        jax.lax.conv_general_dilated(
            x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        + b,
        -jnp.inf,
        jax.lax.max,
        (1, 2, 2, 1),
        (1, 2, 2, 1),
        "VALID",
    ),
    # XLA's own convolution, then spikejax.layers.max_pool (gradient from an int8 argmax index)
    "lax-pool": lambda x, k, b: sj.layers.max_pool(
        jax.lax.conv_general_dilated(
            x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        + b,
        2,
    ),
    # XLA's own convolution
    "lax": lambda x, k, b: max_pool2(
        jax.lax.conv_general_dilated(
            x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        + b
    ),
}


def profile(call, directory: str, calls: int = 3, top: int = 25) -> None:
    """Trace ``calls`` calls with ``jax.profiler`` and print the XLA ops that took longest (stderr).

    Ops that run asynchronously on XLA's thread pool (some dots) are under-reported: their trace
    event covers the launch only; ``ThunkExecutor::Execute (wait for completion)`` is the total.
    """
    import collections
    import glob
    import gzip
    import json

    with jax.profiler.trace(directory, create_perfetto_trace=True):
        for _ in range(calls):
            call()
    path = sorted(glob.glob(f"{directory}/**/perfetto_trace.json.gz", recursive=True))[-1]
    with gzip.open(path) as f:
        events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    total, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not e["name"].startswith("$"):
            total[e["name"]] += e["dur"]
            count[e["name"]] += 1
    for name, us in total.most_common(top):
        per_call = us / calls / 1e3
        print(f"{per_call:9.2f} ms/call  x{count[name] / calls:6.1f}  {name}", file=sys.stderr)


def build(workload: str, unroll: int, conv: str, window: int, remat: bool):
    """``(loss_fn(params, *data) -> (loss, rate1), params, data)`` for ``workload``."""
    arrays = draw(workload)
    if workload == "conv_nmnist":
        # JAX convolutions are channels-last: the frames are handed over as [T, B, H, W, C] (what
        # a JAX data loader yields), transposed once here, outside the timed step.
        arrays["x"] = np.ascontiguousarray(arrays["x"].transpose(0, 1, 3, 4, 2))
    x = jnp.asarray(arrays["x"])
    y = jnp.asarray(arrays["y"].astype(np.int32)) if "y" in arrays else None
    data = [x] if y is None else [x, y]
    params = {k: jnp.asarray(v) for k, v in arrays.items() if k not in ("x", "y")}
    init, window_fn, finish = NETWORKS[workload]

    def loss_fn(params, x, y=None):
        def one_window(states, xw):
            return window_fn(params, states, xw, unroll, CONVS[conv])

        sums = run_windows(one_window, init(x.shape[1]), x, window, remat)
        return finish(sums, y, x.shape)

    return loss_fn, params, data


def main():
    def extra(parser):
        parser.add_argument("--unroll", type=int, default=None)
        parser.add_argument("--window", type=int, default=None, help="time steps per window")
        parser.add_argument("--remat", choices=("yes", "no"), default=None)
        parser.add_argument("--conv", choices=tuple(CONVS), default="lax-pool")
        parser.add_argument("--profile", metavar="DIR", help="also trace 3 calls into DIR")

    args = parse_args(__doc__.splitlines()[0], extra=extra)
    unroll = args.unroll or UNROLL[args.workload]
    window = args.window or WINDOW[args.workload]
    remat = REMAT[args.workload] if args.remat is None else args.remat == "yes"
    loss_fn, params, data = build(args.workload, unroll, args.conv, window, remat)

    # Layer-1 spike rate and loss at the initial weights (not timed).
    loss0_probe, rate1 = jax.jit(loss_fn)(params, *data)
    rate1 = float(rate1)

    call, compiled, compile_s = compiled_call(
        loss_fn, params, data, mode=args.mode, workload=args.workload, lr=LR
    )
    timing = time_calls(call, warmup=args.warmup, repeats=args.repeats)
    loss0 = float(timing["first_result"])
    if args.profile:
        profile(call, args.profile)
    extra_fields = {
        "unroll": unroll,
        "window": window,
        "remat": remat,
        "surrogate_max_rel_err": check_surrogate(),
        "probe_loss0": float(loss0_probe),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        # As the process ran them: importing spikejax adds its XLA:CPU convolution flag.
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        # The glibc malloc settings importing spikejax made (spikejax/_malloc.py).
        "malloc": sj.process_settings()["malloc"],
        # The JAX options importing spikejax set (spikejax/_dispatch.py).
        "jax_config": sj.process_settings()["jax_config"],
        # Whether the C++ CPU kernels ran (EventLinear, the LIF forward), and if not why.
        "native_kernels": sj.kernels.native_status().reason or "available",
    }
    if args.workload == "conv_nmnist":
        extra_fields["conv"] = args.conv
    cost = compiled.cost_analysis()
    if isinstance(cost, list):
        cost = cost[0] if cost else {}
    if cost:
        extra_fields["xla_gflop"] = round(float(cost.get("flops", math.nan)) / 1e9, 3)
    memory = compiled.memory_analysis()
    if memory is not None:
        extra_fields["xla_temp_MiB"] = round(memory.temp_size_in_bytes / 2**20, 1)
    report(
        framework="spikejax",
        version=sj.__version__,
        workload=args.workload,
        mode=args.mode,
        timing=timing,
        compile_s=compile_s,
        loss0=loss0,
        rate1=rate1,
        extra=extra_fields,
    )


if __name__ == "__main__":
    main()
