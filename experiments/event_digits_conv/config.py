"""A convolutional SNN on event-camera digits (scikit-learn's digits under a simulated DVS).

Each 8×8 digit is upsampled to 24×24 on a 34×34 sensor and moved in N-MNIST's three saccades in
front of a simulated DVS (:class:`spikejax.data.EventDigits`; the fixed 1,437 / 360 split of the
digits). The ~300 ms of events are binned into T = 16 frames per polarity and downsampled ×0.5 to
17×17. Network: [conv 3×3 → SeqBatchNorm → LIF → max-pool 2] with 16 and 32 channels
(17 → 8 → 4), flatten (512) → 10 leaky-integrator readout; LIF β = 0.5, θ = 1, reset by
subtraction, ATan surrogate. Cross-entropy on the time-averaged readout membrane; Adam, lr 2e-3
with cosine decay, batch 32, 15 epochs.

    spikejax train experiments/event_digits_conv/config.py [--set seed=1 ...]

Simulating the events of the 1,797 digits takes about a minute per run; to cache them on disk
(about 145 MB) add ``--set data.cache_dir=~/.cache/spikejax``.
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="event_digits_conv",
        seed=0,
        data=DataConfig(
            name="event_digits",
            flatten=False,
            spatial_factor=0.5,
            in_memory=True,
            cache_dir=None,
        ),
        model=ModelConfig(
            name="conv_snn",
            options={
                "in_channels": 2,
                "channels": (16, 32),
                "num_classes": 10,
                "image_size": (17, 17),
                "kernel": 3,
                "pool": 2,
                "hidden": (),
                "beta": 0.5,
                "threshold": 1.0,
                "reset": "subtract",
                "surrogate": "atan",
                "T": 16,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=2e-3, schedule="cosine"),
        train=TrainConfig(
            epochs=15,
            batch_size=32,
            num_steps=16,
            eval_every=0,
            checkpoint_every=0,
            log_every=22,
            eval_batch_size=120,
            loss="ce_membrane",
            loss_options={"reduce": "mean"},
        ),
    )
