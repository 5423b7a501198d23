"""SEW Wide-7B-Net on CIFAR10-DVS (Fang et al., NeurIPS 2021), the published recipe.

c64k1s1-BN-PLIF-{SEW Block(c64)-MPk2s2}×4-c128k1s1-BN-PLIF-{SEW Block(c128)-MPk2s2}×3-FC10 (the
zoo's ``sew_wide7bnet_cifar10dvs``, ADD connections, the official 1×1 channel-up convolutions),
T = 16 frames of 128×128×2. SGD with momentum 0.9, lr 0.01, no weight decay, cosine annealing
over the 64 epochs (CosineAnnealingLR, T_max = 64), batch 16, no augmentation, cross-entropy on
the logits. The first 90 % of each class (files ordered by path) trains, the rest tests (the
official code's ``split_to_train_test_set(0.9, …)`` without shuffling). Reported: 74.4 % (best
test accuracy during training).

Departures (see README.md): frames split the recording into 16 equal time bins instead of 16
bins of equal event count; float32 instead of mixed precision.

Needs ``<root>/CIFAR10DVS/<class>/<name>.aedat4`` (never downloaded):

    spikejax train experiments/cifar10dvs_sew_wide7bnet/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="cifar10dvs_sew_wide7bnet",
        seed=0,
        data=DataConfig(
            name="cifar10_dvs", root="~/data", flatten=False, in_memory=False, prefetch=4
        ),
        model=ModelConfig(
            name="sew_wide7bnet_cifar10dvs",
            options={
                "connect": "add",
                "neuron": "plif",
                "zero_init_residual": False,
                "up_kernel_size": 1,
                "T": 16,
            },
        ),
        optimizer=OptimizerConfig(
            name="sgd", lr=0.01, momentum=0.9, weight_decay=0.0, schedule="cosine"
        ),
        train=TrainConfig(
            epochs=64,
            batch_size=16,
            num_steps=16,
            eval_every=0,
            log_every=50,
            eval_batch_size=16,
            loss="ce",
        ),
    )
