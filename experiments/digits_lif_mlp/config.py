"""The main job: a two-layer LIF network on scikit-learn's bundled handwritten digits.

1,797 real 8×8 images in the fixed stratified 80/20 split of :mod:`spikejax.data.digits`
(1,437 train / 360 test). Pixel intensities in [0, 1] are fed directly as input current for
T = 8 steps (direct encoding), 64 → 128 LIF (β = 0.9, θ = 1, reset by subtraction, ATan
surrogate) → 10 leaky-integrator readout (β = 0.9); cross-entropy on the readout membrane
averaged over time; Adam, lr 2e-3, batch 64, 40 epochs.

    spikejax train experiments/digits_lif_mlp/config.py [--set seed=1 ...]
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="digits_lif_mlp",
        seed=0,
        data=DataConfig(name="digits", encoding="direct"),
        model=ModelConfig(
            name="lif_mlp",
            options={
                "in_features": 64,
                "hidden": (128,),
                "num_classes": 10,
                "beta": 0.9,
                "threshold": 1.0,
                "reset": "subtract",
                "surrogate": "atan",
                "T": 8,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=2e-3),
        train=TrainConfig(
            epochs=40,
            batch_size=64,
            num_steps=8,
            eval_every=0,  # at the end of every epoch
            checkpoint_every=0,  # at every evaluation
            log_every=11,
            eval_batch_size=360,
            loss="ce_membrane",
            loss_options={"reduce": "mean"},
        ),
    )
