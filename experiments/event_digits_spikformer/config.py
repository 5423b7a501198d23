"""A CPU-sized Spikformer on event-camera digits.

The zoo's ``spikformer_2_256_dvs128`` with overrides: width D = 32 (SPS channels 4, 8, 16, 32),
2 heads, one max-pool, after SPS block 4 (16 → 8, 64 tokens), 10 classes; two blocks of spiking
self-attention (scale 0.25, no q/k/v bias, Q(KᵀV)) and MLP (ratio 4), LIF neurons (τ = 2) with
the Sigmoid surrogate, T = 8. The events of each digit (:class:`spikejax.data.EventDigits`,
34×34 sensor) are binned into 8 frames per polarity and downsampled to 16×16 by tonic's
``Downsample`` (``x ← ⌊0.47 x⌋``). Cross-entropy on the logits; AdamW (weight decay 0.06, as in
the paper), lr 2e-3 with one epoch of linear warm-up and cosine decay, batch 32, 30 epochs.

    spikejax train experiments/event_digits_spikformer/config.py [--set seed=1 ...]

Simulating the events of the 1,797 digits takes about a minute per run; to cache them on disk
(about 145 MB) add ``--set data.cache_dir=~/.cache/spikejax``.
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="event_digits_spikformer",
        seed=0,
        data=DataConfig(
            name="event_digits",
            flatten=False,
            spatial_factor=0.47,
            in_memory=True,
            cache_dir=None,
        ),
        model=ModelConfig(
            name="spikformer_2_256_dvs128",
            options={
                "embed_dim": 32,
                "num_heads": 2,
                "pools": (False, False, False, True),
                "image_size": 16,
                "num_classes": 10,
                "attn_scale": 0.25,
                "neuron": "lif",
                "T": 8,
            },
        ),
        optimizer=OptimizerConfig(
            name="adamw",
            lr=2e-3,
            weight_decay=0.06,
            schedule="warmup_cosine",
            warmup_steps=44,
        ),
        train=TrainConfig(
            epochs=30,
            batch_size=32,
            num_steps=8,
            eval_every=0,
            checkpoint_every=0,
            log_every=22,
            eval_batch_size=120,
            loss="ce",
        ),
    )
