"""The digits network evolved instead of trained: ``spikejax train`` with ``learning.method =
"evolve"``.

64 → 32 LIF (β = 0.9, θ = 1) → 10 leaky-integrator readout (2,410 parameters), direct encoding,
T = 8. Every training batch of 256 digits is one SNES generation of 32 members (σ₀ = 0.05, natural
gradient step 1), whose fitness is minus the batch's cross-entropy on the time-averaged readout;
60 epochs of 5 batches = 300 generations. The same network with BPTT: ``experiments/digits_lif_mlp``
(128 hidden) or ``run.py`` here (32 hidden).

    spikejax train experiments/digits_evolve/config.py
"""

from spikejax.config import Config, DataConfig, LearningConfig, ModelConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="digits_evolve",
        seed=0,
        data=DataConfig(name="digits", encoding="direct"),
        model=ModelConfig(
            name="lif_mlp",
            options={"in_features": 64, "hidden": (32,), "num_classes": 10, "T": 8},
        ),
        train=TrainConfig(
            epochs=60,
            batch_size=256,
            num_steps=8,
            log_every=5,
            eval_batch_size=360,
            loss="ce_membrane",
            loss_options={"reduce": "mean"},
        ),
        learning=LearningConfig(
            "evolve", {"strategy": "snes", "population": 32, "sigma": 0.05, "lr": 1.0}
        ),
    )
