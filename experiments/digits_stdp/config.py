"""STDP inside ``spikejax train``: ``learning.method = "stdp"``.

64 → 100 LIF (β = 0.9, θ = 1) → 10 leaky-integrator readout on the digits with Poisson input
(max rate 0.4), T = 40. The hidden kernel learns by pair STDP (A₊ = 0.2, A₋ = 0.12,
τ₊ = τ₋ = 4 steps, weights clipped to [0, 1], each neuron's incoming weights normalised to 6)
while the readout and the hidden bias follow the gradient of the cross-entropy; both pass through
SGD with lr 0.05 (so a plastic weight moves by 0.05 Δw: effectively A₊ = 0.01, A₋ = 0.006).
Unlike ``run.py`` (the Diehl & Cook protocol: lateral inhibition, adaptive thresholds, the
unsupervised layer first and the readout on the frozen layer), this network has no competition
between its neurons, and the readout learns while the layer changes. It shows the plumbing, not a
good classifier: measured (one run, seed 0, 5 epochs, loaded 2-core CPU) 14.7 % test accuracy,
the hidden neurons firing at 0.017 spikes per step; without inhibition they learn near-identical
weights.

    spikejax train experiments/digits_stdp/config.py
"""

from spikejax.config import (
    Config,
    DataConfig,
    LearningConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
)


def get_config() -> Config:
    return Config(
        name="digits_stdp",
        seed=0,
        data=DataConfig(name="digits", encoding="poisson", encoding_options={"max_rate": 0.4}),
        model=ModelConfig(
            name="lif_mlp",
            options={"in_features": 64, "hidden": (100,), "num_classes": 10, "T": 40},
        ),
        optimizer=OptimizerConfig(name="sgd", lr=0.05),
        train=TrainConfig(epochs=5, batch_size=16, num_steps=40, log_every=20, eval_batch_size=360),
        learning=LearningConfig(
            "stdp",
            {
                "a_plus": 0.2,
                "a_minus": 0.12,
                "tau_plus": 4.0,
                "tau_minus": 4.0,
                "w_min": 0.0,
                "w_max": 1.0,
                "normalize": 6.0,
            },
        ),
    )
