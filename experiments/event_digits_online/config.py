"""Online learning on event-camera digits: e-prop (default), OTTT and BPTT on a LIF MLP.

The digits of ``event_digits_conv`` seen by the simulated DVS (`spikejax.data.EventDigits`),
binned into T = 16 frames per polarity, downsampled ×0.5 to 17×17 and flattened (578 inputs)
→ 128 LIF (β = 0.9) → 10 leaky-integrator readout; the mean of the per-step cross-entropies
(TET); Adam, lr 2e-3, batch 32, 10 epochs. Select the method with
``--set train.gradient=ottt`` (``bptt``, ``tbptt``). Cache the simulated events with
``--set data.cache_dir=~/.cache/spikejax``.

    spikejax train experiments/event_digits_online/config.py [--set train.gradient=bptt ...]
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="event_digits_online",
        seed=0,
        data=DataConfig(name="event_digits", flatten=True, spatial_factor=0.5, in_memory=True),
        model=ModelConfig(
            name="lif_mlp",
            options={
                "in_features": 578,
                "hidden": (128,),
                "num_classes": 10,
                "beta": 0.9,
                "threshold": 1.0,
                "reset": "subtract",
                "surrogate": "atan",
                "T": 16,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=2e-3),
        train=TrainConfig(
            epochs=10,
            batch_size=32,
            num_steps=16,
            eval_every=0,
            checkpoint_every=0,
            log_every=20,
            eval_batch_size=120,
            loss="tet",
            gradient="eprop",
        ),
    )
