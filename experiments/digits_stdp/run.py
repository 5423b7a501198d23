"""digits_stdp: an unsupervised STDP layer with lateral inhibition and adaptive thresholds
(Diehl & Cook 2015, sized for a CPU) on the bundled 8×8 digits, read out by a linear classifier
trained on the frozen layer's spike counts.

    python experiments/digits_stdp/run.py --out runs/digits_stdp [--neurons 25 50 100]
        [--epochs 1 3] [--quick]

Writes ``results.json``, ``results.md`` and ``receptive_fields.png`` (the learned weights of the
largest layer, one 8×8 image per neuron) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
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


class DiehlCook(nnx.Module):
    """64 Poisson inputs → ``n`` LIF neurons (plastic weights in [0, 1], per-neuron adaptive
    thresholds) that inhibit each other with fixed weights ``-inhibition``."""

    def __init__(self, n: int, *, inhibition: float, rngs: nnx.Rngs):
        self.fc = nnx.Linear(
            64, n, use_bias=False, kernel_init=nnx.initializers.uniform(0.3), rngs=rngs
        )
        lateral = -inhibition * (jnp.ones((n, n)) - jnp.eye(n))
        lif = sj.neurons.LIF(beta=0.9, threshold=jnp.ones((n,)), reset="zero")
        self.sn = sj.layers.Spiking(
            sj.neurons.Recurrent(lif, lateral), trainable=("neuron.threshold",)
        )

    def __call__(self, xs):
        return self.sn(self.fc(xs))


def encode(images, T, key, rate):
    """Poisson spikes ``[T, B, 64]``: each pixel fires with probability ``rate · intensity``."""
    return (jr.uniform(key, (T, *images.shape)) < rate * images).astype(jnp.float32)


def train_layer(n, epochs, x_train, args, key):
    model = DiehlCook(n, inhibition=args.inhibition, rngs=nnx.Rngs(0))
    example = jnp.zeros((args.T, args.batch, 64))
    syn = sj.plasticity.synapses(model, example)
    tx = optax.chain(
        sj.plasticity.stdp(
            syn, a_plus=args.a_plus, a_minus=args.a_minus, tau_plus=4.0, tau_minus=4.0,
            dependence=args.dependence, w_min=0.0, w_max=1.0,
        ),
        sj.plasticity.adaptive_threshold(syn, increment=args.theta_plus, tau=2e4, rest=1.0),
        optax.sgd(1.0),
        sj.plasticity.normalize_weights(syn, total=args.total),
        sj.plasticity.clip_weights(syn, w_min=0.0, w_max=1.0),
    )  # fmt: skip
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, images, key):
        xs = encode(images, args.T, key, args.rate)
        _, activity = sj.plasticity.record(model, xs, syn)
        grads = jax.tree.map(jnp.zeros_like, nnx.state(model, nnx.Param))
        with jax.numpy_dtype_promotion("standard"):
            optimizer.update(model, grads, activity=activity)
        return jnp.mean(activity.post["fc.kernel"])

    rates = []
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(len(x_train))
        for i in range(len(x_train) // args.batch):
            images = jnp.asarray(x_train[order[i * args.batch : (i + 1) * args.batch]])
            rates.append(float(step(model, optimizer, images, jr.fold_in(key, epoch * 10_000 + i))))
    return model, float(np.mean(rates[-20:]))


def features(model, images, args, key):
    """Spike counts of the frozen layer ``[N, n]`` (one Poisson presentation per image)."""

    @nnx.jit
    def counts(model, images, key):
        return jnp.sum(model(encode(images, args.T, key, args.rate)), axis=0)

    out = [
        counts(model, jnp.asarray(images[i : i + 256]), jr.fold_in(key, i))
        for i in range(0, len(images), 256)
    ]
    return np.concatenate([np.asarray(o) for o in out])


def linear_readout(f_train, y_train, f_test, y_test, steps=1500):
    """Multinomial logistic regression (Adam, L2 1e-4) on standardised features."""
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    a, b = jnp.asarray((f_train - mu) / sd), jnp.asarray((f_test - mu) / sd)
    w = {"w": jnp.zeros((a.shape[1], 10)), "b": jnp.zeros(10)}
    opt = optax.adam(0.01)
    state = opt.init(w)
    y = jnp.asarray(y_train)

    @jax.jit
    def step(w, state):
        def loss(w):
            logits = a @ w["w"] + w["b"]
            ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            return ce + 1e-4 * jnp.sum(w["w"] ** 2)

        g = jax.grad(loss)(w)
        updates, state = opt.update(g, state)
        return optax.apply_updates(w, updates), state

    for _ in range(steps):
        w, state = step(w, state)
    predict = lambda x: np.asarray(jnp.argmax(x @ w["w"] + w["b"], axis=1))  # noqa: E731
    return float(np.mean(predict(a) == y_train)), float(np.mean(predict(b) == y_test))


def plot_fields(model, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kernel = np.asarray(model.fc.kernel[...])
    n = kernel.shape[1]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols, rows))
    for j, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if j < n:
            ax.imshow(kernel[:, j].reshape(8, 8), cmap="gray_r")
    fig.suptitle(f"STDP receptive fields of {n} neurons (weights into each neuron, 8×8)")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--neurons", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--T", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.4)
    parser.add_argument("--inhibition", type=float, default=5.0)
    parser.add_argument("--a-plus", type=float, default=0.01)
    parser.add_argument("--a-minus", type=float, default=0.006)
    parser.add_argument("--theta-plus", type=float, default=0.05)
    parser.add_argument("--total", type=float, default=6.0)
    parser.add_argument("--dependence", default="additive")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run: 10 neurons, 1 epoch")
    args = parser.parse_args()
    if args.quick:
        args.neurons, args.epochs = [10], [1]
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)
    key = jr.key(args.seed)
    rows = []
    pixels = linear_readout(x_train, y_train, x_test, y_test)
    for n in args.neurons:
        untrained = DiehlCook(n, inhibition=args.inhibition, rngs=nnx.Rngs(0))
        f_tr = features(untrained, x_train, args, jr.fold_in(key, 1))
        f_te = features(untrained, x_test, args, jr.fold_in(key, 2))
        train_acc, test_acc = linear_readout(f_tr, y_train, f_te, y_test)
        rows.append({"neurons": n, "epochs": 0, "train_s": 0.0, "rate": None,
                     "train_acc": train_acc, "test_acc": test_acc})  # fmt: skip
        for epochs in args.epochs:
            started = time.perf_counter()
            model, rate = train_layer(n, epochs, x_train, args, jr.fold_in(key, 3))
            seconds = time.perf_counter() - started
            f_tr = features(model, x_train, args, jr.fold_in(key, 1))
            f_te = features(model, x_test, args, jr.fold_in(key, 2))
            train_acc, test_acc = linear_readout(f_tr, y_train, f_te, y_test)
            rows.append({"neurons": n, "epochs": epochs, "train_s": seconds, "rate": rate,
                         "train_acc": train_acc, "test_acc": test_acc})  # fmt: skip
            print(rows[-1], flush=True)
        if n == max(args.neurons):
            plot_fields(model, out / "receptive_fields.png")
    results = {"args": vars(args), "pixels_readout": pixels, "rows": rows}
    (out / "results.json").write_text(json.dumps(results, indent=2))
    lines = [
        "| neurons | STDP epochs | readout train acc | readout test acc | layer rate "
        "| STDP time (s) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rate = "–" if r["rate"] is None else f"{r['rate']:.3f}"
        lines.append(
            f"| {r['neurons']} | {r['epochs']} | {r['train_acc']:.3f} | {r['test_acc']:.3f} | "
            f"{rate} | {r['train_s']:.1f} |"
        )
    lines.append(f"\nLinear readout of the raw pixels: train {pixels[0]:.3f}, test {pixels[1]:.3f}")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
