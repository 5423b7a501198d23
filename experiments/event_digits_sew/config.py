"""A CPU-sized SEW network (7B-Net style) on event-camera digits.

The zoo's ``sew_7bnet_dvs128`` with overrides: width 16, two SEW blocks instead of seven, on
16×16 frames, 10 classes: c16k1s1-BN-PLIF-{SEW Block(c16)-MPk2s2}×2-FC10 (16 → 8 → 4, the
classifier sees 16·4·4 = 256 features averaged over T = 8 steps); ADD connections, PLIF neurons
(one trainable decay per layer), ATan surrogate, every block starting as its shortcut
(``zero_init_residual``, as in the Gesture run of the paper). The events of each digit
(:class:`spikejax.data.EventDigits`, 34×34 sensor) are binned into 8 frames per polarity and
downsampled to 16×16 by tonic's ``Downsample`` (``x ← ⌊0.47 x⌋``; the net halves the frame at
every block, so its side must be a multiple of 4). Cross-entropy on the logits; Adam, lr 2e-3
with cosine decay, batch 32, 30 epochs.

    spikejax train experiments/event_digits_sew/config.py [--set seed=1 ...]

Simulating the events of the 1,797 digits takes about a minute per run; to cache them on disk
(about 145 MB) add ``--set data.cache_dir=~/.cache/spikejax``.
"""

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config() -> Config:
    return Config(
        name="event_digits_sew",
        seed=0,
        data=DataConfig(
            name="event_digits",
            flatten=False,
            spatial_factor=0.47,
            in_memory=True,
            cache_dir=None,
        ),
        model=ModelConfig(
            name="sew_7bnet_dvs128",
            options={
                "width": 16,
                "blocks": (2,),
                "image_size": 16,
                "num_classes": 10,
                "connect": "add",
                "neuron": "plif",
                "zero_init_residual": True,
                "up_kernel_size": 1,
                "T": 8,
            },
        ),
        optimizer=OptimizerConfig(name="adam", lr=2e-3, schedule="cosine"),
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
