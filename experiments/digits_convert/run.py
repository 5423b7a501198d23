"""digits_convert: train a ReLU MLP and a QCFS MLP on the bundled digits, convert each to a spiking
network with every method, report test accuracy against T, and deploy one to the Loihi emulator.

    python experiments/digits_convert/run.py --out runs/digits_convert [--seed 0] [--quick]

Writes ``results.json``, ``accuracy_vs_T.md`` and ``accuracy_vs_T.png`` to ``--out``.
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
from spikejax.chip.deploy import deploy
from spikejax.data import load_digits

STEPS = (1, 2, 4, 8, 16, 32, 64)


class MLP(nnx.Module):
    """64 → 128 → 10 with ReLU (or QCFS with ``levels``) after the hidden layer."""

    def __init__(self, *, levels: int | None, rngs: nnx.Rngs):
        self.fc1 = nnx.Linear(64, 128, rngs=rngs)
        self.act = None if levels is None else sj.convert.QCFS(levels, clip=2.0)
        self.fc2 = nnx.Linear(128, 10, rngs=rngs)

    def __call__(self, x):
        h = self.fc1(x)
        h = jax.nn.relu(h) if self.act is None else self.act(h)
        return self.fc2(h)


def train_ann(levels, x, y, *, seed, epochs):
    model = MLP(levels=levels, rngs=nnx.Rngs(seed))
    optimizer = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        def loss_fn(model):
            return optax.softmax_cross_entropy_with_integer_labels(model(xb), yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    order = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = order.permutation(len(x))
        for start in range(0, len(x) - 63, 64):
            idx = perm[start : start + 64]
            step(model, optimizer, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
    return model


def ann_accuracy(model, x, y) -> float:
    return float(np.mean(np.argmax(np.asarray(model(jnp.asarray(x))), -1) == y))


def snn_accuracy_vs_T(snn, x, y) -> dict[int, float]:
    """Accuracy after t steps for every t in STEPS, from one run of max(STEPS) steps."""
    out = np.asarray(jax.jit(lambda s, v: nnx.merge(*s)(v))(nnx.split(snn), jnp.asarray(x)))
    return {t: float(np.mean(np.argmax(out[t - 1], -1) == y)) for t in STEPS if t <= len(out)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/digits_convert", help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed")
    parser.add_argument("--quick", action="store_true", help="a few epochs (for tests)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_numpy_dtype_promotion", "standard")
    x_train, y_train = load_digits("train")
    x_test, y_test = load_digits("test")
    x_train, x_test = x_train.reshape(-1, 64), x_test.reshape(-1, 64)
    epochs = 3 if args.quick else 60
    started = time.time()
    results: dict = {"seed": args.seed, "epochs": epochs, "T": list(STEPS), "methods": {}}
    relu = train_ann(None, x_train, y_train, seed=args.seed, epochs=epochs)
    qcfs = train_ann(8, x_train, y_train, seed=args.seed, epochs=epochs)
    results["ann_accuracy"] = {"relu": ann_accuracy(relu, x_test, y_test)}
    results["ann_accuracy"]["qcfs_L8"] = ann_accuracy(qcfs, x_test, y_test)
    calibration = jnp.asarray(x_train)
    cases = {
        "max": (relu, dict(method="max")),
        "percentile_99.99": (relu, dict(method="percentile", percentile=99.99)),
        "percentile_99.9": (relu, dict(method="percentile", percentile=99.9)),
        "qcfs_L8": (qcfs, dict(method="qcfs")),
    }
    for name, (ann, options) in cases.items():
        snn = sj.convert.ann_to_snn(ann, calibration, T=max(STEPS), **options)
        results["methods"][name] = snn_accuracy_vs_T(snn, x_test, y_test)
    # The chip starts every membrane at 0: convert with v(0) = 0, deploy at T = 32.
    T_chip = 32
    snn = sj.convert.ann_to_snn(
        relu, calibration, method="percentile", percentile=99.99, T=T_chip, v_init=0.0
    )
    float_acc = snn_accuracy_vs_T(snn, x_test, y_test)[T_chip]
    sequence = lambda v: np.broadcast_to(v[None], (T_chip, *v.shape)).astype(np.float32)  # noqa: E731
    data = {
        "x_test": sequence(x_test),
        "y_test": y_test,
        "x_train": sequence(x_train[:512]),
        "y_train": y_train[:512],
    }
    report = deploy(snn, "loihi", out_dir=out / "loihi", data=data, readout="last", qat="never")
    results["loihi"] = {
        "T": T_chip,
        "float_snn_accuracy": float_acc,
        "chip_accuracy": report["chip_accuracy"],
        "float_accuracy_reported": report["float_accuracy"],
        "saturations": report["saturations"],
    }
    results["wall_s"] = round(time.time() - started, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "accuracy_vs_T.md").write_text(table(results))
    plot(results, out / "accuracy_vs_T.png")
    print(table(results))
    return results


def table(results: dict) -> str:
    header = "| method | ANN | " + " | ".join(f"T={t}" for t in STEPS) + " |"
    lines = [header, "|" + "---|" * (len(STEPS) + 2)]
    for name, accs in results["methods"].items():
        ann = results["ann_accuracy"]["qcfs_L8" if name.startswith("qcfs") else "relu"]
        cells = " | ".join(f"{100 * accs[t]:.2f}" for t in STEPS)
        lines.append(f"| {name} | {100 * ann:.2f} | {cells} |")
    chip = results["loihi"]
    lines.append(
        f"\nLoihi emulator (percentile 99.99, v(0) = 0, T = {chip['T']}): float SNN "
        f"{100 * chip['float_snn_accuracy']:.2f} %, chip {100 * chip['chip_accuracy']:.2f} %."
    )
    return "\n".join(lines) + "\n"


def plot(results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, accs in results["methods"].items():
        ax.plot(STEPS, [100 * accs[t] for t in STEPS], marker="o", label=name)
    ax.axhline(100 * results["ann_accuracy"]["relu"], color="k", ls="--", lw=1, label="ReLU ANN")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("digits: converted SNN accuracy against T")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
