"""Spikformer-2-256 on CIFAR10-DVS (Zhou et al., ICLR 2023), the published recipe.

The zoo's ``spikformer_2_256_cifar10dvs``: SPS with four 3×3 stride-2 max-pools (128 → 8, 64
tokens), two blocks of spiking self-attention (16 heads, scale 0.25 as in the code, no q/k/v
bias, Q(KᵀV)) and MLP (ratio 4), LIF neurons (τ = 2) with the Sigmoid surrogate, T = 16 frames of
128×128×2. AdamW, lr 1e-3 (the code's value; the paper's 0.1 is taken as a typo), weight decay
0.06, batch 16, 10 epochs of linear warm-up then cosine decay, 96 + 10 epochs, cross-entropy on
the logits. The first 90 % of each class (files ordered by path) trains, the rest tests.
Reported: 80.9 % at T = 16 (78.9 % at T = 10).

The warm-up is counted in steps: 10 epochs of 9,000 training recordings at batch 16 (562 steps
per epoch).

Departures (see README.md): no random flips, NDA-style augmentation, mixup or label smoothing;
frames split the recording into 16 equal time bins instead of 16 bins of equal event count; the
schedule decays to 0 over all 106 epochs (timm: to 1e-5 over 96, then 10 cool-down epochs).

Needs ``<root>/CIFAR10DVS/<class>/<name>.aedat4`` (never downloaded):

    spikejax train experiments/cifar10dvs_spikformer/config.py --set data.root=/path/to/datasets
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="cifar10dvs_spikformer",
        seed=0,
        data=DataConfig(
            name="cifar10_dvs", root="~/data", flatten=False, in_memory=False, prefetch=4
        ),
        model=ModelConfig(
            name="spikformer_2_256_cifar10dvs",
            options={
                "embed_dim": 256,
                "num_heads": 16,
                "attn_scale": 0.25,
                "learnable_scale": False,
                "qk_pool": None,
                "neuron": "lif",
                "T": 16,
            },
        ),
        optimizer=OptimizerConfig(
            name="adamw",
            lr=1e-3,
            weight_decay=0.06,
            schedule="warmup_cosine",
            warmup_steps=5620,
        ),
        train=TrainConfig(
            epochs=106,
            batch_size=16,
            num_steps=16,
            eval_every=0,
            log_every=50,
            eval_batch_size=16,
            loss="ce",
        ),
    )
