"""A convolutional SNN on N-MNIST, from a local copy.

The network of snnTorch's N-MNIST tutorial (tutorial 7: 12C5-MP2-64C5-MP2-FC10, LIF β = 0.5,
events denoised with a 10 ms filter), which is also the ``conv_nmnist`` benchmark workload; here
with 'same'-padded convolutions followed by batch norm, LIF before pooling, and a leaky-integrator
readout trained with cross-entropy on its mean membrane. The ~300 ms of each sample are binned
into T = 25 frames per polarity at the full 34×34 resolution (34 → 17 → 8, 4,096 features).
Adam, lr 2e-3 with cosine decay, batch 128, 10 epochs.

Needs ``<root>/NMNIST/Train/<digit>/*.bin`` and ``Test/...`` (never downloaded):

    spikejax train experiments/nmnist_conv/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="nmnist_conv",
        seed=0,
        data=DataConfig(
            name="nmnist",
            root="~/data",
            flatten=False,
            denoise_us=10_000.0,
            in_memory=False,
            prefetch=4,
        ),
        model=ModelConfig(
            name="conv_snn",
            options={
                "in_channels": 2,
                "channels": (12, 64),
                "num_classes": 10,
                "image_size": (34, 34),
                "kernel": 5,
                "pool": 2,
                "hidden": (),
                "beta": 0.5,
                "threshold": 1.0,
                "reset": "subtract",
                "surrogate": "atan",
                "T": 25,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=2e-3, schedule="cosine"),
        train=TrainConfig(
            epochs=10,
            batch_size=128,
            num_steps=25,
            eval_every=0,
            log_every=50,
            eval_batch_size=256,
            loss="ce_membrane",
            loss_options={"reduce": "mean"},
        ),
    )
