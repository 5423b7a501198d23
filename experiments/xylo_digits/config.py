"""A network sized for Xylo: 4x4 digits (16 input channels), 8 classes, 16 LIF neurons.

The data are scikit-learn's bundled digits of the classes 0-7, averaged to 4x4
(``prepare.py`` writes ``data.npz``; 1,154 train / 289 test samples). Pixel intensities in
[0, 1] are fed directly as input current for T = 8 steps; 16 -> 32 LIF (beta = 0.9, theta = 1,
reset by subtraction, ATan surrogate) -> 8 leaky-integrator readout; cross-entropy on the
readout membrane averaged over time; Adam, lr 5e-3, batch 64, 40 epochs.

    .venv/bin/python experiments/xylo_digits/prepare.py
    spikejax train experiments/xylo_digits/config.py --run-dir runs/xylo_digits
    spikejax deploy runs/xylo_digits --chip xylo --strict
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="xylo_digits",
        seed=0,
        data=DataConfig(name="npz", root="experiments/xylo_digits/data.npz", encoding="direct"),
        model=ModelConfig(
            name="lif_mlp",
            options={
                "in_features": 16,
                "hidden": (32,),
                "num_classes": 8,
                "beta": 0.9,
                "threshold": 1.0,
                "reset": "subtract",
                "surrogate": "atan",
                "T": 8,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=5e-3),
        train=TrainConfig(
            epochs=40,
            batch_size=64,
            num_steps=8,
            eval_every=0,
            checkpoint_every=0,
            log_every=9,
            eval_batch_size=289,
            loss="ce_membrane",
            loss_options={"reduce": "mean"},
        ),
    )
