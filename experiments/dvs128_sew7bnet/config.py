"""SEW 7B-Net on DVS128 Gesture (Fang et al., NeurIPS 2021), the published recipe.

c32k1s1-BN-PLIF-{SEW Block(c32)-MPk2s2}×7-FC11 (the zoo's ``sew_7bnet_dvs128``, ADD connections,
the official 1×1 stem), every block starting as its shortcut (``zero_init_residual``, as in the
published run's arguments), T = 16 frames of 128×128×2. SGD with momentum 0.9, lr 1e-3, no
weight decay, batch 16, 192 epochs, cross-entropy on the logits (the mean over T of the
classifier output). Reported: 97.92 % (best test accuracy during training).

Departures (the pipeline has no equivalent; see README.md): the learning rate follows a cosine
decay to 0 over the run instead of StepLR(64 epochs, ×0.1); frames split the recording into 16
equal time bins instead of 16 bins of equal event count; no random choice of 12 of the 16
frames for training; float32 instead of mixed precision.

Needs ``<root>/DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy`` and
``ibmGestureTest/...`` (tonic's preprocessed release, never downloaded):

    spikejax train experiments/dvs128_sew7bnet/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="dvs128_sew7bnet",
        seed=0,
        data=DataConfig(
            name="dvs_gesture", root="~/data", flatten=False, in_memory=False, prefetch=4
        ),
        model=ModelConfig(
            name="sew_7bnet_dvs128",
            options={
                "connect": "add",
                "neuron": "plif",
                "zero_init_residual": True,
                "up_kernel_size": 1,
                "T": 16,
            },
        ),
        optimizer=OptimizerConfig(
            name="sgd", lr=1e-3, momentum=0.9, weight_decay=0.0, schedule="cosine"
        ),
        train=TrainConfig(
            epochs=192,
            batch_size=16,
            num_steps=16,
            eval_every=0,
            log_every=18,
            eval_batch_size=16,
            loss="ce",
        ),
    )
