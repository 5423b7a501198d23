"""cifar10_convert: VGG-16 with QCFS activations on CIFAR-10, converted to a spiking network.

The published recipe (Bu et al., ICLR 2022): VGG-16 with batch norm and average pooling, QCFS
with L = 4 levels after every convolution and hidden linear layer, SGD (momentum 0.9, lr 0.1,
cosine decay over 300 epochs, weight decay 5e-4), batch 128, random crop (padding 4) and
horizontal flip; converted with θ = λ and v(0) = θ/2, evaluated at T = 1 … 64.

    python experiments/cifar10_convert/run.py --root ~/data --out runs/cifar10_convert

needs ``<root>/cifar-10-batches-py/`` (never downloaded). ``--width``, ``--epochs``,
``--limit`` and ``--steps`` shrink the run (the tests use a tiny CIFAR-format file).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import spikejax as sj
from spikejax.data import load_cifar10

CONFIG = (64, 64, "A", 128, 128, "A", 256, 256, 256, "A", 512, 512, 512, "A", 512, 512, 512, "A")


def average_pool(x):
    """2×2 average pooling, stride 2 (the only pooling with an exact conversion)."""
    window = (1, 2, 2, 1)
    return jax.lax.reduce_window(x, 0.0, jax.lax.add, window, window, "VALID") / 4.0


class VGG16(nnx.Module):
    """VGG-16 with batch norm, QCFS activations and average pooling; ``width`` divides channels."""

    def __init__(self, *, levels: int, width: int, rngs: nnx.Rngs):
        convs, norms, acts = [], [], []
        channels = 3
        for item in CONFIG:
            if item == "A":
                continue
            out = max(1, item // width)
            convs.append(sj.layers.Conv(channels, out, (3, 3), padding=((1, 1), (1, 1)), rngs=rngs))
            norms.append(nnx.BatchNorm(out, momentum=0.9, epsilon=1e-5, rngs=rngs))
            acts.append(sj.convert.QCFS(levels, clip=8.0))
            channels = out
        hidden = max(1, 4096 // width)
        self.convs, self.norms, self.acts = nnx.List(convs), nnx.List(norms), nnx.List(acts)
        self.fc1 = nnx.Linear(channels, hidden, rngs=rngs)
        self.act1 = sj.convert.QCFS(levels, clip=8.0)
        self.fc2 = nnx.Linear(hidden, hidden, rngs=rngs)
        self.act2 = sj.convert.QCFS(levels, clip=8.0)
        self.fc3 = nnx.Linear(hidden, 10, rngs=rngs)

    def __call__(self, x):
        layer = 0
        for item in CONFIG:
            if item == "A":
                x = average_pool(x)
            else:
                x = self.acts[layer](self.norms[layer](self.convs[layer](x)))
                layer += 1
        x = x.reshape((x.shape[0], -1))
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random 32×32 crop of the image padded by 4 (zeros), and a horizontal flip half the time."""
    padded = np.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)))
    out = np.empty_like(images)
    for i, (dy, dx) in enumerate(rng.integers(0, 9, (len(images), 2))):
        crop = padded[i, dy : dy + 32, dx : dx + 32]
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def train(model, x, y, *, epochs: int, batch: int, lr: float, seed: int) -> None:
    steps = max(1, epochs * (len(x) // batch))
    schedule = optax.cosine_decay_schedule(lr, steps)
    tx = optax.chain(optax.add_decayed_weights(5e-4), optax.sgd(schedule, momentum=0.9))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        def loss_fn(model):
            return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        perm = rng.permutation(len(x))
        for start in range(0, len(x) - batch + 1, batch):
            idx = perm[start : start + batch]
            step(model, optimizer, jnp.asarray(augment(x[idx], rng)), jnp.asarray(y[idx]))
    model.eval()


def accuracy_vs_T(snn, x, y, steps, batch: int) -> dict[int, float]:
    run = jax.jit(lambda s, v: nnx.merge(*s)(v))
    split = nnx.split(snn)
    correct = np.zeros(len(steps))
    for start in range(0, len(x), batch):
        out = np.asarray(run(split, jnp.asarray(x[start : start + batch])))
        labels = y[start : start + batch]
        correct += [np.sum(np.argmax(out[t - 1], -1) == labels) for t in steps]
    return {t: float(c / len(x)) for t, c in zip(steps, correct, strict=True)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder holding cifar-10-batches-py/")
    parser.add_argument("--out", default="runs/cifar10_convert", help="output directory")
    parser.add_argument("--levels", type=int, default=4, help="QCFS levels L")
    parser.add_argument("--epochs", type=int, default=300, help="training epochs")
    parser.add_argument("--batch", type=int, default=128, help="batch size")
    parser.add_argument("--lr", type=float, default=0.1, help="peak SGD learning rate")
    parser.add_argument("--width", type=int, default=1, help="divide every layer's width by this")
    parser.add_argument(
        "--limit", type=int, default=None, help="use the first N images of each split"
    )
    parser.add_argument("--steps", default="1,2,4,8,16,32,64", help="time steps to evaluate")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = tuple(int(s) for s in args.steps.split(","))
    x_train, y_train = load_cifar10(args.root, "train", normalize=True)
    x_test, y_test = load_cifar10(args.root, "test", normalize=True)
    if args.limit is not None:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
        x_test, y_test = x_test[: args.limit], y_test[: args.limit]
    started = time.time()
    model = VGG16(levels=args.levels, width=args.width, rngs=nnx.Rngs(args.seed))
    batch = min(args.batch, len(x_train))
    train(model, x_train, y_train, epochs=args.epochs, batch=batch, lr=args.lr, seed=args.seed)
    logits = np.concatenate(
        [np.asarray(model(jnp.asarray(x_test[i : i + 256]))) for i in range(0, len(x_test), 256)]
    )
    ann = float(np.mean(np.argmax(logits, -1) == y_test))
    snn = sj.convert.ann_to_snn(model, x_train[:batch], method="qcfs", T=max(steps))
    results = {
        "config": vars(args),
        "ann_accuracy": ann,
        "snn_accuracy": accuracy_vs_T(snn, x_test, y_test, steps, batch=64),
        "params": sj.graph.trace(model, x_test[:2]).params,
        "wall_s": round(time.time() - started, 1),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
