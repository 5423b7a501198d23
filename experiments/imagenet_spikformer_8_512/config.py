"""Spikformer-8-512 on ImageNet (Zhou et al., ICLR 2023), the published recipe.

The zoo's ``spikformer_8_512_imagenet``: SPS with four 3×3 stride-2 max-pools (224 → 14, 196
tokens), eight blocks of spiking self-attention (8 heads, scale 0.125, no q/k/v bias, Q(KᵀV))
and MLP (ratio 4), LIF neurons (τ = 2) with the Sigmoid surrogate, T = 4 (the image repeated
every step). Images resized to 256 (shorter side), centre-cropped to 224, normalised with
ImageNet's mean and standard deviation. AdamW, lr 5e-4, weight decay 0.05, batch 192 (the
released configuration: 24 per GPU × 8; the paper also mentions 128 and 256), 20 epochs of
linear warm-up then cosine decay, 300 + 10 epochs, cross-entropy on the logits. Reported:
73.38 % top-1.

The warm-up is counted in steps: 20 epochs of 1,281,167 images at batch 192 (6,672 steps per
epoch).

Departures (see README.md): no random resized crop, flip, RandAugment, mixup, CutMix, random
erasing or label smoothing; evaluation resizes to 256 and crops 224 with bilinear resampling
(the paper: crop 224 of 224, bicubic); the warm-up starts at 0 instead of 1e-6 and the schedule
decays to 0 over all 310 epochs (timm: to 1e-5 over 300, then 10 cool-down epochs); float32.

Needs ``<root>/train/<wnid>/*.JPEG`` and ``<root>/val/<wnid>/*.JPEG`` (never downloaded):

    spikejax train experiments/imagenet_spikformer_8_512/config.py --set data.root=/path/to/imagenet
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="imagenet_spikformer_8_512",
        seed=0,
        data=DataConfig(
            name="imagenet",
            root="~/data/imagenet",
            encoding="direct",
            flatten=False,
            in_memory=False,
            prefetch=8,
        ),
        model=ModelConfig(
            name="spikformer_8_512_imagenet",
            options={
                "embed_dim": 512,
                "num_heads": 8,
                "qkv_bias": False,
                "attn_scale": 0.125,
                "ssa_order": "q_kv",
                "neuron": "lif",
                "T": 4,
            },
        ),
        optimizer=OptimizerConfig(
            name="adamw",
            lr=5e-4,
            weight_decay=0.05,
            schedule="warmup_cosine",
            warmup_steps=133440,
        ),
        train=TrainConfig(
            epochs=310,
            batch_size=192,
            num_steps=4,
            eval_every=0,
            log_every=100,
            eval_batch_size=250,
            loss="ce",
        ),
    )
