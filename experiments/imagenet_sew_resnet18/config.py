"""SEW-ResNet-18 on ImageNet (Fang et al., NeurIPS 2021), the published recipe.

The zoo's ``sew_resnet18``: torchvision's ResNet-18 topology with SEW basic blocks (ADD
connections), IF neurons with the ATan surrogate, the stem convolution computed once on the
static image and repeated for T = 4 steps (``stem="once"``, hence ``data.encoding="none"``).
Images resized to 256 (shorter side) and centre-cropped to 224, normalised with ImageNet's mean
and standard deviation. SGD with momentum 0.9, lr 0.1, no weight decay, batch 256 (8 GPUs × 32),
cosine annealing over the 320 epochs, cross-entropy on the logits. Reported: 63.18 % top-1.

Departures (see README.md): training images get the evaluation transform (no random resized crop
and no horizontal flip: the pipeline has no image augmentation); float32 instead of mixed
precision. Images are decoded by one background thread (Pillow), too slow to keep a GPU busy on
the full dataset.

Needs ``<root>/train/<wnid>/*.JPEG`` and ``<root>/val/<wnid>/*.JPEG`` (never downloaded):

    spikejax train experiments/imagenet_sew_resnet18/config.py --set data.root=/path/to/imagenet
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="imagenet_sew_resnet18",
        seed=0,
        data=DataConfig(
            name="imagenet",
            root="~/data/imagenet",
            encoding="none",
            flatten=False,
            in_memory=False,
            prefetch=8,
        ),
        model=ModelConfig(
            name="sew_resnet18",
            options={
                "connect": "add",
                "neuron": "if",
                "zero_init_residual": False,
                "stem": "once",
                "T": 4,
            },
        ),
        optimizer=OptimizerConfig(
            name="sgd", lr=0.1, momentum=0.9, weight_decay=0.0, schedule="cosine"
        ),
        train=TrainConfig(
            epochs=320,
            batch_size=256,
            num_steps=4,
            eval_every=0,
            log_every=100,
            eval_batch_size=250,
            loss="ce",
        ),
    )
