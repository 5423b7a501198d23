"""SEW-ResNet-18 on ES-ImageNet: the ES-ImageNet paper's data setup with SEW-ResNet's ImageNet
recipe.

Data as Lin et al. (ES-ImageNet, *Front. Neurosci.* 2021) and their loader: the 8 native time steps
(T = 8, one frame per step), two polarity channels, each sample centred and cropped to 224 × 224.
Network and optimiser as Fang et al. (SEW-ResNet, NeurIPS 2021) on ImageNet: ResNet-18 topology
with SEW basic blocks (ADD), IF neurons with the ATan surrogate, SGD with momentum 0.9, lr 0.1, no
weight decay, batch 256, cosine annealing, cross-entropy on the logits. The stem convolution runs
at every step (``stem="per_step"``): the input is a sequence of event frames, not a static image.

Departures (see README.md): 100 epochs instead of SEW's 320 on ImageNet (ES-ImageNet's events are
the input, and one epoch is 1.26 M samples × 8 steps); no augmentation; float32.

Needs the extracted release ``<root>/ES-imagenet-0.18/{train/,val/,trainlabel.txt,vallabel.txt}``
(never downloaded):

    spikejax train experiments/es_imagenet_sew_resnet18/config.py --set data.root=/path/to/data
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="es_imagenet_sew_resnet18",
        seed=0,
        data=DataConfig(
            name="es_imagenet", root="~/data", flatten=False, in_memory=False, prefetch=8
        ),
        model=ModelConfig(
            name="sew_resnet18",
            options={
                "connect": "add",
                "neuron": "if",
                "zero_init_residual": False,
                "stem": "per_step",
                "in_channels": 2,
                "T": 8,
            },
        ),
        optimizer=OptimizerConfig(
            name="sgd", lr=0.1, momentum=0.9, weight_decay=0.0, schedule="cosine"
        ),
        train=TrainConfig(
            epochs=100,
            batch_size=256,
            num_steps=8,
            eval_every=0,
            log_every=100,
            eval_batch_size=250,
            loss="ce",
        ),
    )
