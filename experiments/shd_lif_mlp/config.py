"""A feed-forward LIF network on the Spiking Heidelberg Digits (SHD), from a local copy.

The recipe of the feed-forward SHD baselines (Cramer, Stradmann, Schemmel & Zenke, "The Heidelberg
spiking data sets for the systematic evaluation of spiking neural networks", IEEE TNNLS 33(7),
2022): the 700 cochlear channels binned into 100 time steps, one hidden layer of LIF neurons, a
non-spiking leaky-integrator readout trained with cross-entropy on its maximum membrane over time,
Adam. Here: 700 → 256 LIF (β = 0.9, θ = 1, reset by subtraction, ATan surrogate) → 20 LI
(β = 0.9), lr 1e-3 with cosine decay, batch 64, 40 epochs; the 100 bins span each sample (tonic's
``ToFrame(n_time_bins=100)``), where the paper uses fixed-width bins over 1.4 s.

Needs ``<root>/SHD/shd_train.h5`` and ``shd_test.h5`` (never downloaded):

    spikejax train experiments/shd_lif_mlp/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="shd_lif_mlp",
        seed=0,
        data=DataConfig(name="shd", root="~/data", flatten=True, in_memory=False, prefetch=4),
        model=ModelConfig(
            name="lif_mlp",
            options={
                "in_features": 700,
                "hidden": (256,),
                "num_classes": 20,
                "beta": 0.9,
                "threshold": 1.0,
                "reset": "subtract",
                "surrogate": "atan",
                "T": 100,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=1e-3, schedule="cosine"),
        train=TrainConfig(
            epochs=40,
            batch_size=64,
            num_steps=100,
            log_every=50,
            eval_batch_size=256,
            loss="ce_membrane",
            loss_options={"reduce": "max"},
        ),
    )
