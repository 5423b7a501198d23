"""A convolutional SNN on Bullying10K, from a local copy of the authors' release.

The DVS action-recognition network of Fang et al. ("Incorporating learnable membrane time constant
to enhance learning of spiking neural networks", ICCV 2021; the DVS128 Gesture recipe of
``experiments/dvsgesture_conv``) applied to Bullying10K's 346 × 260 sensor: five blocks
{conv 3×3 with 128 channels → batch norm → spiking neuron → max-pool 2}, a 512-unit spiking layer
with dropout 0.5 and a classifier; T = 16 frames per recording; Adam, lr 1e-3 with cosine
annealing, batch 16, 64 epochs. Frames are downsampled by 4 in space (87 × 65) so that the
network's size stays that of the DVS128 recipe.

Departures (see README.md): as ``dvsgesture_conv`` (LIF with a learnable decay per neuron instead
of PLIF, a leaky-integrator readout instead of voting); the split is the reader's documented
per-class 4 : 1 split (there is no official one).

Needs ``<root>/Bullying10K/<class>/<recording folder>/<name>.npy`` (never downloaded):

    spikejax train experiments/bullying10k_conv/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="bullying10k_conv",
        seed=0,
        data=DataConfig(
            name="bullying10k",
            root="~/data",
            flatten=False,
            in_memory=False,
            prefetch=4,
            spatial_factor=0.25,
        ),
        model=ModelConfig(
            name="conv_snn",
            options={
                "in_channels": 2,
                "channels": (128, 128, 128, 128, 128),
                "num_classes": 10,
                "image_size": (65, 87),
                "kernel": 3,
                "pool": 2,
                "hidden": (512,),
                "dropout": 0.5,
                "beta": 0.5,
                "threshold": 1.0,
                "reset": "zero",
                "decay_input": True,
                "learn_beta": True,
                "surrogate": "atan",
                "T": 16,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=1e-3, schedule="cosine"),
        train=TrainConfig(
            epochs=64,
            batch_size=16,
            num_steps=16,
            eval_every=0,
            log_every=20,
            eval_batch_size=32,
            loss="ce_membrane",
            loss_options={"reduce": "mean"},
        ),
    )
