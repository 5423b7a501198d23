"""spikejax on the three canonical workloads as a researcher writes them (the "user path").

The networks of ``_workloads.py`` built from the public layers: ``layers.TimeFolded(EventLinear)``
and ``layers.TimeFolded(EventConv)`` for every fully connected and convolutional layer fed by
spikes (all of them here; the documented choice for spike inputs: event-driven below its
activity threshold, the dense computation above it), ``layers.max_pool``,
``layers.Spiking(LIF / LI)``; trained with ``nnx.Optimizer(model, optax.adam(lr))`` inside an
``nnx.jit`` train step, with ``nnx.value_and_grad``. Nothing is tuned by hand: no custom VJP, no
fused kernels, no donation; the layers choose their own lowering (see ``layers.Conv``). The
weights and data are the workload's, copied into the layers, so the first loss must equal the
reference (checked in the record, as for every framework). Modes as ``spikejax_bench.py``:
``fwd`` (the loss), ``step`` (``lif_layer``: loss and gradient; others: forward, backward,
Adam update). Prints one JSON record (``framework`` "spikejax", ``path`` "user").

With ``--path train`` the step is the project's own training step instead (``spikejax.train``'s
``Steps.train_step``, as ``spikejax train`` runs it: the forward pass through
``spikejax.graph.record``, its loss (``ce_membrane`` for ``shd_mlp``, ``ce_count`` for
``conv_nmnist``), Adam, the neuron-parameter projection and the metrics; state donated). ``fwd``
is then its evaluation step. ``lif_layer`` has no such loss (its loss is the spike count).

    .venv/bin/python benchmarks/user_path_bench.py --workload conv_nmnist --mode step
    .venv/bin/python benchmarks/user_path_bench.py --workload conv_nmnist --mode step --path train
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _harness import Timer, parse_args, report, time_calls
from _workloads import BETA, LR, THRESHOLD, draw
from flax import nnx

import spikejax as sj
from spikejax import layers

SURROGATE = sj.surrogate.ATan(alpha=2.0)


def lif() -> layers.Spiking:
    """LIF with the workload's fixed β and θ (nothing of the neuron is trained)."""
    neuron = sj.neurons.LIF(beta=BETA, threshold=THRESHOLD, reset="subtract", surrogate=SURROGATE)
    return layers.Spiking(neuron, trainable=())


def linear(w: np.ndarray, b: np.ndarray | None = None) -> layers.TimeFolded:
    """``TimeFolded(EventLinear)`` (its inputs are spikes) holding the PyTorch-layout weight ``w``
    ``(out, in)``; with the default threshold and method, as a researcher leaves them."""
    n_out, n_in = w.shape
    fc = layers.EventLinear(n_in, n_out, use_bias=b is not None, rngs=nnx.Rngs(0))
    fc.kernel[...] = jnp.asarray(w.T)
    if b is not None:
        fc.bias[...] = jnp.asarray(b)
    return layers.TimeFolded(fc)


def conv(w: np.ndarray, b: np.ndarray) -> layers.TimeFolded:
    """``TimeFolded(layers.EventConv)`` (its inputs are spikes; valid, stride 1, bias) holding
    ``w`` ``(out, in, kh, kw)``, with the default threshold and lowering."""
    c_out, c_in, kh, kw = w.shape
    layer = layers.EventConv(c_in, c_out, (kh, kw), padding="VALID", rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.asarray(w.transpose(2, 3, 1, 0))
    layer.bias[...] = jnp.asarray(b)
    return layers.TimeFolded(layer)


class LIFLayer(nnx.Module):
    def __init__(self, a):
        self.fc, self.lif = linear(a["w"]), lif()

    def __call__(self, x):
        return self.lif(self.fc(x))


class SHDMLP(nnx.Module):
    def __init__(self, a):
        self.fc1, self.lif1 = linear(a["w1"]), lif()
        self.fc2 = linear(a["w2"])
        self.li = layers.Spiking(sj.neurons.LI(beta=BETA), trainable=())

    def __call__(self, x):
        s1 = self.lif1(self.fc1(x))
        return self.li(self.fc2(s1)), s1


class ConvNMNIST(nnx.Module):
    def __init__(self, a):
        self.conv1, self.lif1 = conv(a["c1w"], a["c1b"]), lif()
        self.conv2, self.lif2 = conv(a["c2w"], a["c2b"]), lif()
        # The fc columns are in PyTorch's (C, H, W) flattening order; ours is (H, W, C).
        fcw = a["fcw"].reshape(10, 64, 5, 5).transpose(0, 2, 3, 1).reshape(10, 1600)
        self.fc, self.lif3 = linear(fcw, a["fcb"]), lif()

    def __call__(self, x):  # x: [T, B, 34, 34, 2]
        s1 = self.lif1(layers.max_pool(self.conv1(x), 2))
        s2 = self.lif2(layers.max_pool(self.conv2(s1), 2))
        return self.lif3(self.fc(s2.reshape(*s2.shape[:2], -1))), s1


def cross_entropy(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def lif_layer_loss(model, x, y):
    s = model(x)
    return s.sum(), s.mean()


def shd_mlp_loss(model, x, y):
    u, s1 = model(x)
    return cross_entropy(u.mean(axis=0), y), s1.mean()


def conv_nmnist_loss(model, x, y):
    s3, s1 = model(x)
    return cross_entropy(s3.sum(axis=0), y), s1.mean()


NETWORKS = {
    "lif_layer": (LIFLayer, lif_layer_loss),
    "shd_mlp": (SHDMLP, shd_mlp_loss),
    "conv_nmnist": (ConvNMNIST, conv_nmnist_loss),
}


def build(workload: str):
    """``(model, loss_fn(model, x, y) -> (loss, rate1), x, y)`` from the workload's arrays."""
    arrays = draw(workload)
    if workload == "conv_nmnist":  # channels last, as a JAX data loader yields frames
        arrays["x"] = np.ascontiguousarray(arrays["x"].transpose(0, 1, 3, 4, 2))
    x = jnp.asarray(arrays["x"])
    y = jnp.asarray(arrays["y"].astype(np.int32)) if "y" in arrays else jnp.zeros((), jnp.int32)
    net, loss_fn = NETWORKS[workload]
    return net(arrays), loss_fn, x, y


def user_path_call(workload: str, mode: str, model: nnx.Module, loss_fn, x, y):
    """``(call, compile_s)`` for the ``nnx.jit`` step a researcher writes."""
    fn, extra = step_function(workload, mode, loss_fn)
    call_args = [model]
    if extra:
        call_args.append(nnx.Optimizer(model, optax.adam(LR), wrt=nnx.Param))
    # Compile time: tracing and compiling the step ahead of time (the timed calls then compile
    # again through nnx.jit's own cache, counted in the first call only).
    with Timer() as compile_timer:
        fn.lower(*call_args, x, y).compile()

    def call():
        out = fn(*call_args, x, y)
        return jax.block_until_ready(out[0] if isinstance(out, tuple) else out)

    return call, compile_timer.seconds


def step_function(workload: str, mode: str, loss_fn):
    """The ``nnx.jit`` function a researcher writes for ``mode`` and its extra arguments."""
    if mode == "fwd":

        @nnx.jit
        def forward(model, x, y):
            return loss_fn(model, x, y)[0]

        return forward, ()
    if workload == "lif_layer":  # loss and gradient only, as every framework's lif_layer step

        @nnx.jit
        def grad_step(model, x, y):
            (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y)
            return loss, grads

        return grad_step, ()

    @nnx.jit
    def train_step(model, optimizer, x, y):
        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y)
        optimizer.update(model, grads)
        return loss

    return train_step, ("optimizer",)


class Outputs(nnx.Module):
    """The network's output alone (what `spikejax.train` reads), without layer 1's spikes."""

    def __init__(self, net: nnx.Module):
        self.net = net

    def __call__(self, x):
        return self.net(x)[0]


TRAIN_LOSS = {"shd_mlp": "ce_membrane", "conv_nmnist": "ce_count"}


def train_path_call(workload: str, mode: str, model: nnx.Module, x, y):
    """``(call, compile_s)`` for the project's own train (or evaluation) step."""
    from spikejax.config import Config, OptimizerConfig, TrainConfig
    from spikejax.train import Steps, build_optimizer

    config = Config(train=TrainConfig(loss=TRAIN_LOSS[workload], batch_size=int(x.shape[1])))
    tx, schedule = build_optimizer(OptimizerConfig(name="adam", lr=LR), 1000)
    steps = Steps(config, Outputs(model), tx, schedule, lambda x, key: x)
    if mode == "fwd":
        mask, index = jnp.ones(y.shape, bool), steps.counter(0)
        model_state = steps.initial_state["model"]
        with Timer() as compile_timer:
            steps.eval_step.lower(model_state, x, y, mask, index).compile()

        def call():  # the summed loss of the batch, over its size: the mean loss
            sums, _ = steps.eval_step(model_state, x, y, mask, index)
            return jax.block_until_ready(sums["loss"] / sums["count"])

        return call, compile_timer.seconds
    holder = {"state": steps.initial_state, "step": 0}
    with Timer() as compile_timer:
        steps.train_step.lower(holder["state"], x, y, steps.counter(0)).compile()

    def call():
        holder["state"], metrics = steps.train_step(
            holder["state"], x, y, steps.counter(holder["step"])
        )
        holder["step"] += 1
        return jax.block_until_ready(metrics["loss"])

    return call, compile_timer.seconds


def main():
    def extra(parser):
        parser.add_argument("--path", choices=("user", "train"), default="user")

    args = parse_args(__doc__.splitlines()[0], extra=extra)
    if args.path == "train" and args.workload not in TRAIN_LOSS:
        print(json.dumps({"error": f"--path train: {args.workload} has no spikejax.train loss"}))
        return
    model, loss_fn, x, y = build(args.workload)
    rate1 = float(nnx.jit(loss_fn)(model, x, y)[1])  # layer-1 rate at the initial weights
    if args.path == "train":
        call, compile_s = train_path_call(args.workload, args.mode, model, x, y)
    else:
        call, compile_s = user_path_call(args.workload, args.mode, model, loss_fn, x, y)
    timing = time_calls(call, warmup=args.warmup, repeats=args.repeats)
    report(
        framework="spikejax",
        version=sj.__version__,
        workload=args.workload,
        mode=args.mode,
        timing=timing,
        compile_s=compile_s,
        loss0=float(timing["first_result"]),
        rate1=rate1,
        extra={
            "path": args.path,
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
        },
    )


if __name__ == "__main__":
    main()
