"""Quickstart: train a two-layer LIF network on scikit-learn's bundled handwritten digits.

1,797 real 8x8 images, a fixed stratified 80/20 split, pixel intensities fed directly as input
current for T steps, 64 -> 128 LIF -> 10 leaky readout, cross-entropy on the mean readout membrane.

    python experiments/digits_lif_mlp/train.py [--epochs 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import spikejax as sj


class DigitsSNN(nnx.Module):
    def __init__(self, *, hidden: int = 128, beta: float = 0.9, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(64, hidden, rngs=rngs)
        self.lif = sj.layers.Spiking(sj.neurons.LIF(beta=jnp.full((hidden,), beta)))
        self.fc2 = nnx.Linear(hidden, 10, rngs=rngs)
        self.readout = sj.layers.Spiking(sj.neurons.LI(beta=jnp.full((10,), beta)))

    def __call__(self, xs):  # [T, B, 64] -> membrane [T, B, 10]
        spikes = self.lif(self.fc1(xs))  # nnx.Linear acts on the last axis: time stays folded
        return self.readout(self.fc2(spikes))


def load(seed: int):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return train_test_split(
        x, digits.target, test_size=0.2, stratify=digits.target, random_state=seed
    )


@nnx.jit(static_argnums=3)
def train_step(model, optimizer, batch, num_steps):
    x, y = batch

    def loss_fn(model):
        membrane = model(sj.encoding.direct(x, num_steps))  # the same current at every step
        return sj.losses.ce_membrane(membrane, y, reduce="mean")

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


@nnx.jit(static_argnums=2)
def predict(model, x, num_steps):
    return sj.readout.membrane_mean(model(sj.encoding.direct(x, num_steps))).argmax(-1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x_train, x_test, y_train, y_test = load(args.seed)
    model = DigitsSNN(rngs=nnx.Rngs(args.seed))
    optimizer = nnx.Optimizer(model, optax.adam(args.lr), wrt=nnx.Param)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = rng.permutation(len(x_train))
        n_batches = len(order) // args.batch_size  # drop the ragged last batch: one compiled shape
        losses = []
        for b in range(n_batches):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            batch = (jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx]))
            losses.append(train_step(model, optimizer, batch, args.num_steps))
        if (epoch + 1) % 10 == 0 or epoch == 0:
            print(f"epoch {epoch + 1:3d}  loss {float(jnp.stack(losses).mean()):.4f}")
    predictions = predict(model, jnp.asarray(x_test), args.num_steps)
    accuracy = float((np.asarray(predictions) == y_test).mean())
    elapsed = time.perf_counter() - start
    print(
        f"test accuracy {accuracy:.4f} on {len(y_test)} held-out digits ({elapsed:.1f} s training)"
    )
    return accuracy


if __name__ == "__main__":
    jax.config.update("jax_numpy_rank_promotion", "raise")
    main()
