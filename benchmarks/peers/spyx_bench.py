"""Spyx on the three canonical workloads (Flax NNX layers time-folded, ``spyx.nn.run`` per neuron).

Closest equivalent: ``spyx.nn.LIF(beta=0.9, threshold=1, activation=spyx.axn.custom(...))`` with
the reference surrogate ``1/(1 + (πx)²)`` (Spyx's own ``axn.arctan(k)`` is ``1/((1 + (kπx)²)π)``),
and ``spyx.nn.LI(beta=0.9)`` for the readout, which is exactly ``u[t] = 0.9 u[t-1] + I[t]``.
Known deviation: Spyx's LIF reads the spike from the previous membrane and subtracts an undecayed
threshold (``S[t] = Θ(V[t-1] - θ)``, ``V[t] = βV[t-1] + I[t] - S[t]θ``), a one-step lag, so its
first losses differ. Stateless layers are ``nnx.Linear``/``nnx.Conv`` applied to all time steps at
once (NHWC), the train step is ``jax.jit`` with donated parameters and optimizer state, compiled
ahead of time. Prints one JSON record.

    .venv-bench/bin/python benchmarks/peers/spyx_bench.py --workload shd_mlp --mode step
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np
import optax
import spyx
from _harness import parse_args, report, time_calls
from _jax_call import compiled_call
from _workloads import BETA, LR, THRESHOLD, draw
from flax import nnx

DEVIATION = "LIF spikes from the previous membrane (one-step lag), undecayed threshold subtracted"


def _activation():
    return spyx.axn.custom(bwd=lambda x: 1.0 / (1.0 + (jnp.pi * x) ** 2))


def _linear(w, b=None):
    layer = nnx.Linear(w.shape[1], w.shape[0], use_bias=b is not None, rngs=nnx.Rngs(0))
    layer.kernel.value = jnp.asarray(w.T)
    if b is not None:
        layer.bias.value = jnp.asarray(b)
    return layer


def _conv(w, b):
    o, c, kh, kw = w.shape
    layer = nnx.Conv(c, o, (kh, kw), padding="VALID", rngs=nnx.Rngs(0))
    layer.kernel.value = jnp.asarray(np.transpose(w, (2, 3, 1, 0)))
    layer.bias.value = jnp.asarray(b)
    return layer


class LIFLayer(nnx.Module):
    def __init__(self, w):
        self.fc = _linear(w)
        self.lif = spyx.nn.LIF(
            (w.shape[0],),
            beta=BETA,
            threshold=THRESHOLD,
            activation=_activation(),
            rngs=nnx.Rngs(0),
        )

    def __call__(self, x):
        s1, _ = spyx.nn.run(self.lif, self.fc(x))
        return s1.sum(), s1.mean()


class SHDMLP(nnx.Module):
    def __init__(self, w1, w2):
        self.fc1, self.fc2 = _linear(w1), _linear(w2)
        self.lif = spyx.nn.LIF(
            (w1.shape[0],),
            beta=BETA,
            threshold=THRESHOLD,
            activation=_activation(),
            rngs=nnx.Rngs(0),
        )
        self.li = spyx.nn.LI((w2.shape[0],), beta=BETA, rngs=nnx.Rngs(0))

    def __call__(self, x, y):
        s1, _ = spyx.nn.run(self.lif, self.fc1(x))
        u, _ = spyx.nn.run(self.li, self.fc2(s1))
        loss = optax.softmax_cross_entropy_with_integer_labels(u.mean(0), y).mean()
        return loss, s1.mean()


class ConvNMNIST(nnx.Module):
    def __init__(self, a):
        self.conv1, self.conv2 = _conv(a["c1w"], a["c1b"]), _conv(a["c2w"], a["c2b"])
        # fc columns reordered from (C, H, W) to NHWC flattening (H, W, C).
        fcw = a["fcw"].reshape(10, 64, 5, 5).transpose(0, 2, 3, 1).reshape(10, 1600)
        self.fc = _linear(fcw, a["fcb"])
        self.lif1 = spyx.nn.LIF(
            (15, 15, 12), beta=BETA, threshold=THRESHOLD, activation=_activation(), rngs=nnx.Rngs(0)
        )
        self.lif2 = spyx.nn.LIF(
            (5, 5, 64), beta=BETA, threshold=THRESHOLD, activation=_activation(), rngs=nnx.Rngs(0)
        )
        self.lif3 = spyx.nn.LIF(
            (10,), beta=BETA, threshold=THRESHOLD, activation=_activation(), rngs=nnx.Rngs(0)
        )

    def __call__(self, x, y):
        T, B = x.shape[:2]
        h = x.reshape(T * B, *x.shape[2:])  # NHWC frames (transposed when loaded)
        c1 = nnx.max_pool(self.conv1(h), (2, 2), (2, 2))
        s1, _ = spyx.nn.run(self.lif1, c1.reshape(T, B, *c1.shape[1:]))
        c2 = nnx.max_pool(self.conv2(s1.reshape(T * B, *s1.shape[2:])), (2, 2), (2, 2))
        s2, _ = spyx.nn.run(self.lif2, c2.reshape(T, B, *c2.shape[1:]))
        s3, _ = spyx.nn.run(self.lif3, self.fc(s2.reshape(T, B, -1)))
        loss = optax.softmax_cross_entropy_with_integer_labels(s3.sum(0), y).mean()
        return loss, s1.mean()


def build(workload: str):
    a = draw(workload)
    if workload == "conv_nmnist":
        # Flax convolutions are channels-last: frames handed over as [T, B, H, W, C], transposed
        # once here, outside the timed step (as for spikejax).
        a["x"] = np.ascontiguousarray(a["x"].transpose(0, 1, 3, 4, 2))
    data = [jnp.asarray(a["x"])]
    if "y" in a:
        data.append(jnp.asarray(a["y"].astype(np.int32)))
    if workload == "lif_layer":
        model = LIFLayer(a["w"])
    elif workload == "shd_mlp":
        model = SHDMLP(a["w1"], a["w2"])
    else:
        model = ConvNMNIST(a)
    # Only the weights train; Spyx's beta parameters are held fixed like the reference.
    weights = nnx.All(nnx.Param, nnx.Not(nnx.PathContains("lif")), nnx.Not(nnx.PathContains("li")))
    graphdef, params, rest = nnx.split(model, weights, ...)

    def loss_fn(params, *data):
        return nnx.merge(graphdef, params, rest)(*data)

    return loss_fn, params, data


def main():
    args = parse_args(__doc__.splitlines()[0])
    loss_fn, params, data = build(args.workload)
    _, rate1 = jax.jit(loss_fn)(params, *data)
    rate1 = float(rate1)

    call, _, compile_s = compiled_call(
        loss_fn, params, data, mode=args.mode, workload=args.workload, lr=LR
    )
    timing = time_calls(call, warmup=args.warmup, repeats=args.repeats)
    report(
        framework="spyx",
        version=spyx.__version__,
        workload=args.workload,
        mode=args.mode,
        timing=timing,
        compile_s=compile_s,
        loss0=float(timing["first_result"]),
        rate1=rate1,
        deviation=DEVIATION,
        extra={"jax": jax.__version__, "backend": jax.default_backend()},
    )


if __name__ == "__main__":
    main()
