"""Online learning on scikit-learn's digits: e-prop (default), OTTT, truncated BPTT and BPTT.

The network and data of ``digits_lif_mlp`` (64 → 128 LIF → 10 leaky-integrator readout, direct
encoding, T = 8) trained on the mean of the per-step cross-entropies (TET), so that every
gradient method optimises the same objective; select the method with
``--set train.gradient=ottt`` (``bptt``, ``tbptt`` with ``train.gradient_options.window``).

    spikejax train experiments/digits_online/config.py [--set train.gradient=ottt ...]
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="digits_online",
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
            eval_every=0,
            checkpoint_every=0,
            log_every=20,
            eval_batch_size=360,
            loss="tet",
            gradient="eprop",
        ),
    )
