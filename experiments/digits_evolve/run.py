"""digits_evolve: evolve a small spiking network on the bundled digits with SNES and OpenES
(every weight; and SNES with a connectivity mask), and train the same network with BPTT.

    python experiments/digits_evolve/run.py --out runs/digits_evolve [--generations 300]
        [--population 64] [--quick]

Writes ``results.json`` and ``results.md`` to ``--out``: test accuracy of each, evaluations
(population members × generations) per second after compilation, and the machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_digits


def network(T):
    """64 → 32 LIF → 10 leaky-integrator readout (2,410 parameters), direct encoding."""
    return sj.models.create("lif_mlp", rngs=nnx.Rngs(0), in_features=64, hidden=(32,), T=T)


def inputs(images, T):
    return jnp.broadcast_to(images, (T, *images.shape))


def logits(model, images, T):
    return jnp.mean(model(inputs(images, T)), axis=0)


def accuracy(model, x, y, T):
    return float(jnp.mean(jnp.argmax(logits(model, jnp.asarray(x), T), axis=1) == y))


def evolve_run(strategy, args, x_train, y_train, x_test, y_test, *, mask=False):
    T, batch = args.T, args.batch

    def fitness(model, data):
        images, labels = data
        z = logits(model, images, T)
        return -optax.softmax_cross_entropy_with_integer_labels(z, labels).mean()

    ev = sj.evolve.Evolution(
        network(T), fitness, strategy=strategy, population=args.population,
        sigma=args.sigma[strategy], lr=args.lr[strategy], mask=mask, mask_init=args.sigma[strategy],
    )  # fmt: skip
    xs, ys = jnp.asarray(x_train), jnp.asarray(y_train)

    @jax.jit
    def generations(state, key, count_key):
        def one(state, key):
            pick = jr.choice(jr.fold_in(key, 7), xs.shape[0], (batch,), replace=False)
            state, metrics = ev.step(state, (xs[pick], ys[pick]), key)
            return state, (metrics["best"], metrics["density"])

        return jax.lax.scan(one, state, jr.split(key, args.chunk))

    state = ev.init(key=jr.key(args.seed))
    key = jr.key(args.seed + 1)
    started = time.perf_counter()
    # Two untimed calls: the state from init has other (weak) types than a step's output, so
    # the second call compiles once more.
    for i in range(2):
        state, _ = generations(state, jr.fold_in(key, i), None)
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    best = []
    for i in range(2, args.generations // args.chunk):
        state, (b, _) = generations(state, jr.fold_in(key, i), None)
        best.append(np.asarray(b))
    jax.block_until_ready(state)
    seconds = time.perf_counter() - started
    evaluated = (args.generations // args.chunk - 2) * args.chunk * args.population
    model = ev.model(state)
    return {
        "method": f"{strategy}{' + mask' if mask else ''}",
        "generations": args.generations // args.chunk * args.chunk,
        "population": args.population,
        "genome": ev.genome.size,
        "test_acc": accuracy(model, x_test, y_test, T),
        "train_acc": accuracy(model, x_train, y_train, T),
        "evals_per_s": evaluated / seconds,
        "warmup_s": compile_s,  # the first two calls: compilation and 2 × chunk generations
        "run_s": seconds,
        "density": float(ev.genome.density(ev.mean(state))),
        "final_batch_fitness": float(best[-1][-1]) if best else None,
    }


def bptt_run(args, x_train, y_train, x_test, y_test):
    model = network(args.T)
    optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, images, labels):
        def loss(model):
            z = logits(model, images, args.T)
            return optax.softmax_cross_entropy_with_integer_labels(z, labels).mean()

        grads = nnx.grad(loss)(model)
        with jax.numpy_dtype_promotion("standard"):
            optimizer.update(model, grads)

    started = time.perf_counter()
    n = len(x_train) // 64
    for epoch in range(args.bptt_epochs):
        order = np.random.default_rng(epoch).permutation(len(x_train))
        for i in range(n):
            pick = order[i * 64 : (i + 1) * 64]
            step(model, optimizer, jnp.asarray(x_train[pick]), jnp.asarray(y_train[pick]))
    seconds = time.perf_counter() - started
    return {
        "method": "bptt (adam 2e-3, batch 64)",
        "epochs": args.bptt_epochs,
        "test_acc": accuracy(model, x_test, y_test, args.T),
        "train_acc": accuracy(model, x_train, y_train, args.T),
        "run_s": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=20, help="generations per compiled call")
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--bptt-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="40 generations, population 16")
    parser.add_argument("--mask-only", action="store_true", help="only SNES with a mask")
    args = parser.parse_args()
    if args.quick:
        args.generations, args.population, args.chunk, args.bptt_epochs = 40, 16, 10, 2
    args.sigma = {"snes": 0.05, "open_es": 0.03}
    args.lr = {"snes": 1.0, "open_es": 0.03}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)
    load = {"before": os.getloadavg()}
    rows = []
    if not args.mask_only:
        rows.append(evolve_run("snes", args, x_train, y_train, x_test, y_test))
        rows.append(evolve_run("open_es", args, x_train, y_train, x_test, y_test))
    rows.append(evolve_run("snes", args, x_train, y_train, x_test, y_test, mask=True))
    if not args.mask_only:
        rows.append(bptt_run(args, x_train, y_train, x_test, y_test))
    load["after"] = os.getloadavg()
    results = {
        "args": {k: v for k, v in vars(args).items()},
        "rows": rows,
        "loadavg": load,
        "devices": [str(d) for d in jax.devices()],
        "cpus": os.cpu_count(),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| method | generations × population | test acc | train acc | evaluations/s | "
        "density | time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "generations" in r:
            budget = f"{r['generations']} × {r['population']}"
            rate, density = f"{r['evals_per_s']:.0f}", f"{r['density']:.2f}"
        else:
            budget, rate, density = f"{r['epochs']} epochs", "–", "1.00"
        lines.append(
            f"| {r['method']} | {budget} | {r['test_acc']:.3f} | {r['train_acc']:.3f} | {rate} "
            f"| {density} | {r['run_s']:.1f} |"
        )
    lines.append(
        f"\nLoad average (1, 5, 15 min) before: {load['before']}, after: {load['after']} on "
        f"{os.cpu_count()} CPUs."
    )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
