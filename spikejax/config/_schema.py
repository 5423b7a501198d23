"""The configuration dataclasses and their checks (`spikejax.config`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from spikejax._typed import freeze

__all__ = [
    "ChipConfig",
    "Config",
    "DataConfig",
    "LearningConfig",
    "ModelConfig",
    "OptimizerConfig",
    "TrainConfig",
]

DATASETS = (
    "digits",
    "event_digits",
    "npz",
    "shd",
    "nmnist",
    "dvs_gesture",
    "cifar10_dvs",
    "es_imagenet",
    "bullying10k",
    "cifar10",
    "imagenet",
)
ENCODINGS = ("direct", "poisson", "latency", "none")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "warmup_cosine")
LEARNING = ("bptt", "stdp", "evolve")
LOSSES = ("ce_membrane", "ce_count", "mse_count", "tet", "ce")
GRADIENTS = ("bptt", "tbptt", "ottt", "eprop")


def _fail(cls: str, arg: str, rule: str, value: Any) -> None:
    raise ValueError(f"`{cls}`: `{arg}` must be {rule}; got {value!r}.")


def _int(cls: str, arg: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        _fail(cls, arg, f"an int >= {low}", value)


def _number(cls: str, arg: str, value: Any, *, low: float, low_open: bool = False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not ok or (value <= low if low_open else value < low):
        _fail(cls, arg, f"a finite number {'>' if low_open else '>='} {low}", value)


def _choice(cls: str, arg: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        _fail(cls, arg, f"one of {tuple(choices)}", value)


def _options(obj: Any, arg: str) -> None:
    """A free-form options dict: str keys; lists inside become tuples (as after a JSON trip)."""
    value = getattr(obj, arg)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        _fail(type(obj).__name__, arg, "a dict with str keys", value)
    object.__setattr__(obj, arg, freeze(value))


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the samples come from and how they become time-major inputs ``[T, B, ...]``.

    Attributes:
        name: ``"digits"`` (scikit-learn's 8×8 digits), ``"event_digits"`` (the same digits seen by
            a simulated event camera, `spikejax.data.EventDigits`), ``"npz"`` (arrays
            ``x_train, y_train, x_test, y_test`` in the file ``root``), the local event datasets
            ``"shd"``, ``"nmnist"``, ``"dvs_gesture"``, ``"cifar10_dvs"`` (first 90 % of each
            class for training, the rest for testing), ``"es_imagenet"`` (the authors' centring
            and 224 × 224 crop, its 8 native steps: ``train.num_steps`` must be 8),
            ``"bullying10k"`` (the reader's per-class 4 : 1 split), or the local image datasets
            ``"cifar10"`` (the python pickle release) and ``"imagenet"`` (class folders
            ``train/<wnid>/``, ``val/<wnid>/``), all read from ``root`` and never downloaded.
        root: folder of a local dataset, or the ``.npz`` file; ``~`` is expanded.
        encoding: for static inputs (digits, npz, cifar10, imagenet): ``"direct"`` (the same
            current every step), ``"poisson"`` (rate-coded spikes), ``"latency"``, or ``"none"``
            (the static batch ``[B, ...]`` itself, for models that repeat it over their own
            ``T``, e.g. SEW-ResNet's stem computed once).
        encoding_options: keyword arguments of the encoder (e.g. ``{"max_rate": 0.5}``).
        flatten: flatten each sample (each step of an event sample) to a feature vector; otherwise
            event frames are channels-last ``[T, B, H, W, polarities]``.
        spatial_factor: event frames: spatial downsampling factor in ``(0, 1]``, or ``None``.
        denoise_us: event frames: filter time of tonic's ``Denoise`` in µs, or ``None``.
        limit: use only the first ``limit`` samples of each split (quick runs), or ``None``.
        in_memory: event datasets: convert every sample to frames once and keep them in memory
            (otherwise frames are made on the fly by the loader's background thread).
        cache_dir: event digits: folder caching the simulated events, or ``None``.
        prefetch: batches prepared ahead by the loader's background thread.
        val_fraction: the share of each class of the training split held out as the validation
            split, in ``[0, 1)``: ``floor(val_fraction · n_c + 1/2)`` samples of class ``c`` (at
            most ``n_c - 1``), drawn with the run's ``seed``, before ``limit`` is applied; the
            test split is never touched. The training loop evaluates the validation split
            periodically and keeps the checkpoint with the best validation accuracy as "best".
            0: no validation split; the periodic evaluations then measure the test split for
            monitoring only and no "best" checkpoint exists (ask for "latest").
    """

    name: str = "digits"
    root: str | None = None
    encoding: str = "direct"
    encoding_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    flatten: bool = True
    spatial_factor: float | None = None
    denoise_us: float | None = None
    limit: int | None = None
    in_memory: bool = True
    cache_dir: str | None = None
    prefetch: int = 2
    val_fraction: float = 0.1

    def __post_init__(self):
        fn = "DataConfig"
        _choice(fn, "name", self.name, DATASETS)
        _choice(fn, "encoding", self.encoding, ENCODINGS)
        _options(self, "encoding_options")
        if self.spatial_factor is not None:
            _number(fn, "spatial_factor", self.spatial_factor, low=0.0, low_open=True)
            if self.spatial_factor > 1:
                _fail(fn, "spatial_factor", "in (0, 1]", self.spatial_factor)
        if self.denoise_us is not None:
            _number(fn, "denoise_us", self.denoise_us, low=0.0, low_open=True)
        if self.limit is not None:
            _int(fn, "limit", self.limit, 0)
        _int(fn, "prefetch", self.prefetch, 0)
        _number(fn, "val_fraction", self.val_fraction, low=0.0)
        if self.val_fraction >= 1:
            _fail(fn, "val_fraction", "in [0, 1)", self.val_fraction)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The network: a zoo name (`spikejax.models.create`) or ``"package.module:factory"``.

    Attributes:
        name: registry name, e.g. ``"lif_mlp"``, or an import path ``"module:callable"`` of a
            factory called as ``factory(rngs=rngs, **options)``.
        options: keyword arguments of the model (sizes, neuron settings).
    """

    name: str = "lif_mlp"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            _fail("ModelConfig", "name", "a non-empty str", self.name)
        _options(self, "options")


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Optax optimizer, learning-rate schedule and gradient clipping.

    Attributes:
        name: ``"adam"``, ``"adamw"`` (decoupled weight decay) or ``"sgd"`` (with ``momentum``).
        lr: peak learning rate.
        weight_decay: ``adamw``'s decoupled decay, or ``sgd``'s L2 term added to the gradient;
            must be 0 for ``adam`` (use ``adamw``).
        momentum: ``sgd`` momentum (0: plain SGD).
        schedule: ``"constant"``, ``"cosine"`` (from ``lr`` to 0 over the run) or
            ``"warmup_cosine"`` (linear from 0 to ``lr`` over ``warmup_steps``, then cosine to 0).
        warmup_steps: steps of the linear warm-up.
        grad_clip: clip the global gradient norm to this value; 0 disables clipping.
    """

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    schedule: str = "constant"
    warmup_steps: int = 0
    grad_clip: float = 0.0

    def __post_init__(self):
        fn = "OptimizerConfig"
        _choice(fn, "name", self.name, OPTIMIZERS)
        _number(fn, "lr", self.lr, low=0.0, low_open=True)
        _number(fn, "weight_decay", self.weight_decay, low=0.0)
        _number(fn, "momentum", self.momentum, low=0.0)
        _choice(fn, "schedule", self.schedule, SCHEDULES)
        _int(fn, "warmup_steps", self.warmup_steps, 0)
        _number(fn, "grad_clip", self.grad_clip, low=0.0)
        if self.name == "adam" and self.weight_decay:
            _fail(fn, "weight_decay", "0 with name='adam' (use 'adamw')", self.weight_decay)
        if self.schedule == "warmup_cosine" and self.warmup_steps < 1:
            _fail(fn, "warmup_steps", ">= 1 with schedule='warmup_cosine'", self.warmup_steps)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The training loop.

    Attributes:
        epochs: passes over the training split (the last, incomplete batch is dropped).
        batch_size: samples per step.
        num_steps: time steps ``T`` per sample (encoder length, event frames per sample).
        max_steps: stop after this many optimizer steps, or ``None`` for ``epochs`` full epochs.
        eval_every: evaluate on the validation split (the test split without one) every this
            many steps; 0 = at the end of every epoch. The run always ends with an evaluation,
            and with the test accuracy of the final model and of the best checkpoint.
        checkpoint_every: save the latest checkpoint every this many steps; 0 = at every
            evaluation only. The run always ends with a checkpoint.
        log_every: write the mean training metrics every this many steps.
        eval_batch_size: samples per evaluation batch (the last one is padded and masked).
        loss: ``"ce_membrane"`` (cross-entropy on the time-reduced readout membrane),
            ``"ce_count"``, ``"mse_count"``, ``"tet"`` (outputs ``[T, B, K]``), or ``"ce"``
            (a model that returns logits ``[B, K]``).
        loss_options: keyword arguments of the loss, e.g. ``{"reduce": "max"}``.
        gradient: how the parameter gradient is computed: ``"bptt"`` (backpropagation through
            the whole run), ``"tbptt"`` (truncated: the run in windows of
            ``gradient_options["window"]`` steps with the neuron state carried between windows
            but no gradient through it; memory grows with the window, not ``T``), ``"ottt"`` or
            ``"eprop"`` (online, forward in time with memory independent of ``T``; see
            `spikejax.online`; OTTT takes ``gradient_options["decay"]``). All but ``"bptt"``
            need a loss that is a mean of per-step terms: ``loss="tet"``.
        gradient_options: options of the gradient method (see ``gradient``); on the command
            line as one JSON dict, ``--set 'train.gradient_options={"window": 8}'``.
        devices: devices of the data-parallel mesh: every batch is split evenly over them
            (``batch_size`` and ``eval_batch_size`` must be multiples), parameters and optimizer
            state are replicated (see `spikejax.train._parallel`). 1 (the default) trains on
            one device with the same results on every machine; 0 takes every device of every
            process (``jax.device_count()``). N devices match one device up to float rounding.
    """

    epochs: int = 10
    batch_size: int = 64
    num_steps: int = 8
    max_steps: int | None = None
    eval_every: int = 0
    checkpoint_every: int = 0
    log_every: int = 10
    eval_batch_size: int = 256
    loss: str = "ce_membrane"
    loss_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    gradient: str = "bptt"
    gradient_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    devices: int = 1

    def __post_init__(self):
        fn = "TrainConfig"
        _int(fn, "devices", self.devices, 0)
        for name in ("epochs", "batch_size", "num_steps", "log_every", "eval_batch_size"):
            _int(fn, name, getattr(self, name), 1)
        for name in ("eval_every", "checkpoint_every"):
            _int(fn, name, getattr(self, name), 0)
        if self.max_steps is not None:
            _int(fn, "max_steps", self.max_steps, 1)
        _choice(fn, "loss", self.loss, LOSSES)
        _options(self, "loss_options")
        _choice(fn, "gradient", self.gradient, GRADIENTS)
        _options(self, "gradient_options")
        if self.gradient != "bptt" and self.loss != "tet":
            rule = f"'tet' (a mean of per-step losses) with gradient={self.gradient!r}"
            _fail(fn, "loss", rule, self.loss)


@dataclasses.dataclass(frozen=True)
class ChipConfig:
    """Chip targets to deploy a trained run to (used by ``spikejax deploy``).

    Attributes:
        profiles: names of chip profiles, e.g. ``("loihi", "xylo")``.
    """

    profiles: tuple[str, ...] = ()

    def __post_init__(self):
        if not all(isinstance(p, str) and p for p in self.profiles):
            _fail("ChipConfig", "profiles", "a tuple of non-empty str", self.profiles)


@dataclasses.dataclass(frozen=True)
class LearningConfig:
    """How the network learns.

    Attributes:
        method: ``"bptt"``: gradients of the loss (computed as ``train.gradient`` says) applied
            by the ``optimizer``. ``"stdp"``: the kernels that drive spiking neurons (all, or
            ``options["params"]``) learn by a local rule of `spikejax.plasticity` computed from
            each batch's spike trains, while every other parameter (e.g. a readout) follows its
            gradient; both pass through the ``optimizer`` (with ``sgd`` at rate ``η`` a plastic
            weight moves by ``η Δw``). ``"evolve"``: no gradient; every step is one generation of
            an evolution strategy (`spikejax.evolve`) whose fitness is minus the batch's mean
            loss; the optimizer section is unused.
        options: for ``"stdp"``: ``rule`` (``"stdp"`` default, ``"triplet_stdp"``), ``params``
            (kernel paths), the rule's keyword arguments (``a_plus``, ``tau_plus``, ...),
            ``normalize`` (the total of each neuron's incoming weights), ``w_min``/``w_max``
            (the rule's bounds; given both, the weights are also clipped to them after the
            update), ``threshold`` (keyword arguments of
            `spikejax.plasticity.adaptive_threshold`). For ``"evolve"``: ``strategy``
            (``"snes"`` default, ``"open_es"``, ``"cma_es"``), ``population`` (32), ``params``
            (path patterns, default every trainable parameter), ``mask`` (false), ``sigma``
            (0.05), ``lr`` (0.05).
    """

    method: str = "bptt"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        _choice("LearningConfig", "method", self.method, LEARNING)
        _options(self, "options")


@dataclasses.dataclass(frozen=True)
class Config:
    """A complete experiment.

    Attributes:
        name: experiment name (used for the default run directory).
        seed: seed of the initial weights, the data order and the input encoding.
        data, model, optimizer, train, chip, learning: the parts (see their classes).

    Example:
        >>> from spikejax.config import Config, apply_overrides
        >>> config = apply_overrides(Config(name="demo"), ["optimizer.lr=3e-4", "train.epochs=2"])
        >>> config.optimizer.lr, config.train.epochs
        (0.0003, 2)
    """

    name: str = "experiment"
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    chip: ChipConfig = dataclasses.field(default_factory=ChipConfig)
    learning: LearningConfig = dataclasses.field(default_factory=LearningConfig)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            _fail("Config", "name", "a non-empty str", self.name)
        _int("Config", "seed", self.seed, 0)
        parts = (
            ("data", DataConfig),
            ("model", ModelConfig),
            ("optimizer", OptimizerConfig),
            ("train", TrainConfig),
            ("chip", ChipConfig),
            ("learning", LearningConfig),
        )
        for name, cls in parts:
            if not isinstance(getattr(self, name), cls):
                _fail("Config", name, f"a {cls.__name__}", getattr(self, name))
