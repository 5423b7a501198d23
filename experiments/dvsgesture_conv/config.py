"""A convolutional SNN on DVS128 Gesture, from a local copy of tonic's preprocessed release.

After the DVS128 Gesture network of Fang et al., "Incorporating learnable membrane time constant
to enhance learning of spiking neural networks", ICCV 2021: five blocks
{conv 3×3 with 128 channels → batch norm → spiking neuron → max-pool 2} on 128×128 frames
(128 → 4), a 512-unit spiking layer with dropout 0.5, and a classifier; T = 16 frames per sample;
Adam, lr 1e-3 with cosine annealing, batch 16. Differences: LIF neurons with a learnable decay β
per neuron (SpikingJelly's τ = 2 form: ``decay_input``, hard reset to 0) instead of PLIF's one
sigmoid-parametrised decay per layer, and a leaky-integrator readout (cross-entropy on the mean
membrane) instead of a voting layer; 64 epochs.

Needs ``<root>/DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy`` and
``ibmGestureTest/...`` (never downloaded):

    spikejax train experiments/dvsgesture_conv/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="dvsgesture_conv",
        seed=0,
        data=DataConfig(
            name="dvs_gesture", root="~/data", flatten=False, in_memory=False, prefetch=4
        ),
        model=ModelConfig(
            name="conv_snn",
            options={
                "in_channels": 2,
                "channels": (128, 128, 128, 128, 128),
                "num_classes": 11,
                "image_size": (128, 128),
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
