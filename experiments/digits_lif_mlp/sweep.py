"""An Optuna study over the digits LIF network: learning rate, hidden size, β and θ.

20 trials of 15 epochs each (TPE sampler, median pruning on the validation accuracy after every
epoch). The study is kept in ``<out>/study.db``; the table of trials in ``<out>/results.csv``.

    spikejax sweep experiments/digits_lif_mlp/sweep.py --out sweeps/digits_lif_mlp
    spikejax sweep experiments/digits_lif_mlp/sweep.py --out sweeps/digits_lif_mlp --resume

Several machines share one study with ``--storage postgresql://user@host/db`` (each with its own
``--out`` for its runs).
"""

from spikejax.sweep import Choice, Float, Sweep


def get_sweep() -> Sweep:
    return Sweep(
        base="config.py",
        overrides=("train.epochs=15",),
        space={
            "optimizer.lr": Float(3e-4, 1e-2, log=True),
            "model.options.hidden": Choice(((64,), (128,), (256,))),
            "model.options.beta": Float(0.7, 0.98),
            "model.options.threshold": Float(0.5, 2.0),
        },
        trials=20,
        seed=0,
    )
