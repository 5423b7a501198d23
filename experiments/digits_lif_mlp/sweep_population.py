"""A population sweep of the digits LIF network: 4 learning rates × 2 values of β × 4 seeds.

The 32 configurations share the network's shapes, so they train as one population: one
compiled step ``vmap``-ed over the runs (``spikejax.train.fit_population``). Each run writes its
own run directory under ``<out>/runs/``; ``<out>/results.csv`` lists them all.

    spikejax sweep experiments/digits_lif_mlp/sweep_population.py --out sweeps/digits_population
"""

from spikejax.sweep import Sweep


def get_sweep() -> Sweep:
    return Sweep(
        base="config.py",
        overrides=("train.epochs=10",),
        grid={
            "optimizer.lr": (5e-4, 1e-3, 2e-3, 5e-3),
            "model.options.beta": (0.8, 0.9),
            "seed": (0, 1, 2, 3),
        },
    )
