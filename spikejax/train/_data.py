"""The data side of a run: the splits of a dataset, and how a batch becomes a time-major input.

`load_splits` turns a `DataConfig` into train, validation and test
data for `spikejax.data.Loader` (in-memory arrays, or an indexable dataset converted on the
fly), and
`make_prepare` returns the function, traced inside the jitted steps, that turns a batch
``x`` of the loader into the model's input ``[T, B, ...]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from spikejax import encoding
from spikejax.config import Config
from spikejax.train._splits import Splits, first, labels_of, per_class_split, split_size, take
from spikejax.train._validation import validation_split

__all__ = ["check_labels", "in_memory", "load_splits", "make_prepare"]

_CLASSES = {
    "digits": 10,
    "event_digits": 10,
    "shd": 20,
    "nmnist": 10,
    "dvs_gesture": 11,
    "cifar10_dvs": 10,
    "es_imagenet": 1000,
    "bullying10k": 10,
    "cifar10": 10,
}
# CIFAR10-DVS has no official split: the first 90 % of each class (ordered by path) trains.
CIFAR10_DVS_TRAIN_FRACTION = 0.9


def _frames(config: Config, sensor_size: tuple[int, int, int]):
    from spikejax.data import ToFrames

    return ToFrames(
        sensor_size,
        n_time_bins=config.train.num_steps,
        spatial_factor=config.data.spatial_factor,
        denoise_us=config.data.denoise_us,
    )


def _materialize(data: Any, what: str, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Convert every sample of an indexable dataset once: ``(x [N, ...], y [N])``."""
    from spikejax.train.logging import ProgressBar

    bar = ProgressBar(len(data), desc=what, disable=not progress, leave=False)
    xs, ys = [], []
    for i in range(len(data)):
        x, y = data[i]
        xs.append(np.asarray(x))
        ys.append(y)
        bar.update()
    bar.close()
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def _root(config: Config, name: str) -> Path:
    if config.data.root is None:
        raise ValueError(
            f"`load_splits`: `data.root` must name the folder holding {name!r} (it is never "
            "downloaded); got None."
        )
    return Path(config.data.root).expanduser()


def _npz(config: Config) -> tuple[Any, Any, int]:
    path = _root(config, "npz")
    if not path.is_file():
        raise FileNotFoundError(
            f"`load_splits`: `data.root` must be an .npz file; {path} not found."
        )
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in f.files]
        if missing:
            raise ValueError(
                f"`load_splits`: {path} must hold the arrays x_train, y_train, x_test, y_test; "
                f"missing {missing}."
            )
        train, test = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    for split, (x, y) in (("train", train), ("test", test)):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"`load_splits`: x_{split} of {path} must be floating; got {x.dtype}.")
        if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"`load_splits`: y_{split} of {path} must be integer labels [N] matching x_{split} "
                f"{x.shape}; got {y.dtype} {y.shape}."
            )
    labels = np.concatenate([train[1], test[1]])
    num_classes = int(labels.max()) + 1 if labels.size else 0
    train = (train[0].astype(np.float32), train[1])
    test = (test[0].astype(np.float32), test[1])
    return train, test, num_classes


def load_splits(
    config: Config, *, progress: bool = False, convert: bool = True, validation: bool = False
) -> Splits:
    """The train and test data of ``config.data`` (``data.limit`` applied).

    With ``validation`` (as a run uses its data), the validation split of ``data.val_fraction``
    (`validation_split` with ``config.seed``) is taken out of
    the dataset's whole training split first; then ``data.limit`` applies to each split. Without
    it, ``train`` is the dataset's whole training split and ``val`` is ``None``.

    Opening a dataset checks that its files are there; converting event samples to frames (with
    ``data.in_memory``) happens afterwards, here when ``convert``, else by `in_memory`.

    Raises:
        FileNotFoundError: a local dataset or the npz file is not on disk (the message says
            where it was expected and where to get it).
        ValueError: a split is empty (the validation split: ``data.val_fraction`` takes no
            sample of any class).
    """
    data = config.data
    name = data.name
    if name in ("digits", "npz", "cifar10", "imagenet"):
        kind = "static"
        if name == "digits":
            from spikejax.data import load_digits

            train, test, num_classes = load_digits("train"), load_digits("test"), 10
        elif name == "cifar10":
            from spikejax.data import load_cifar10

            root = _root(config, name)
            train = load_cifar10(root, "train", normalize=True)
            test = load_cifar10(root, "test", normalize=True)
            num_classes = _CLASSES[name]
        elif name == "imagenet":
            from spikejax.data import ImageFolder

            root = _root(config, name)
            train, test = ImageFolder(root, "train"), ImageFolder(root, "val")
            num_classes = len(train.classes)
        else:
            train, test, num_classes = _npz(config)
    else:
        kind = "frames"
        num_classes = _CLASSES[name]
        if name == "event_digits":
            from spikejax.data import EventDigits

            sensor = EventDigits.sensor_size
            transform = _frames(config, sensor)
            cache = None if data.cache_dir is None else Path(data.cache_dir).expanduser()
            # One fixed dataset (sensor seed 0) for every training seed.
            kwargs = dict(seed=0, cache_dir=cache, transform=transform)
            train, test = EventDigits("train", **kwargs), EventDigits("test", **kwargs)
        elif name == "shd":
            from spikejax.data import SHD

            root = _root(config, name)
            transform = _frames(config, SHD.sensor_size)
            train = SHD(root, train=True, transform=transform)
            test = SHD(root, train=False, transform=transform)
        elif name == "nmnist":
            from spikejax.data import NMNIST

            root = _root(config, name)
            transform = _frames(config, NMNIST.sensor_size)
            train = NMNIST(root, train=True, transform=transform)
            test = NMNIST(root, train=False, transform=transform)
        elif name == "dvs_gesture":
            from spikejax.data import DVSGesture

            root = _root(config, name)
            transform = _frames(config, DVSGesture.sensor_size)
            train = DVSGesture(root, train=True, transform=transform)
            test = DVSGesture(root, train=False, transform=transform)
        elif name == "es_imagenet":
            from spikejax.data import ESImageNet

            if config.train.num_steps != 8:
                raise ValueError(
                    "`load_splits`: ES-ImageNet has 8 native time steps, so `train.num_steps` "
                    f"must be 8; got {config.train.num_steps}."
                )
            root = _root(config, name)
            train = ESImageNet(root, "train", centre_crop=True)
            test = ESImageNet(root, "val", centre_crop=True)
            native = train.native_frames()
            if config.data.spatial_factor is not None or config.data.denoise_us is not None:
                native = dataclasses.replace(
                    native,
                    spatial_factor=config.data.spatial_factor,
                    denoise_us=config.data.denoise_us,
                )
            train.transform = test.transform = native
        elif name == "bullying10k":
            from spikejax.data import Bullying10K

            root = _root(config, name)
            transform = _frames(config, Bullying10K.sensor_size)
            train = Bullying10K(root, train=True, transform=transform)
            test = Bullying10K(root, train=False, transform=transform)
        else:
            from spikejax.data import CIFAR10DVS

            root = _root(config, name)
            everything = CIFAR10DVS(root, transform=_frames(config, CIFAR10DVS.sensor_size))
            train_idx, test_idx = per_class_split(everything.labels, CIFAR10_DVS_TRAIN_FRACTION)
            train, test = take(everything, train_idx), take(everything, test_idx)
    val, n_train = None, split_size(train)
    if validation and data.val_fraction > 0:
        train_idx, val_idx = validation_split(labels_of(train), data.val_fraction, config.seed)
        train, val = take(train, train_idx), take(train, val_idx)
    train, test = first(train, data.limit), first(test, data.limit)
    for split, part in (("train", train), ("test", test)):
        if split_size(part) == 0:
            raise ValueError(
                f"`load_splits`: the {split} split of {name!r} must hold at least one sample; "
                f"it is empty (data.limit={data.limit})."
            )
    if val is not None:
        val = first(val, data.limit)
        if split_size(val) == 0:
            raise ValueError(
                f"`load_splits`: the validation split of {name!r} must hold at least one sample; "
                f"data.val_fraction={data.val_fraction} of the {n_train} training samples gives "
                "none (per class floor(val_fraction · n_c + 1/2), at most n_c - 1). Raise "
                "data.val_fraction, or set it to 0 to train without a validation split."
            )
    splits = Splits(train=train, test=test, kind=kind, num_classes=num_classes, val=val)
    return in_memory(config, splits, progress=progress) if convert else splits


def in_memory(config: Config, splits: Splits, *, progress: bool = False) -> Splits:
    """With ``data.in_memory``, every event sample converted to frames once and kept as arrays."""
    if splits.kind != "frames" or not config.data.in_memory or isinstance(splits.train, tuple):
        return splits
    name = config.data.name
    train = _materialize(splits.train, f"{name} train frames", progress)
    val = None
    if splits.val is not None:
        val = _materialize(splits.val, f"{name} validation frames", progress)
    test = _materialize(splits.test, f"{name} test frames", progress)
    return dataclasses.replace(splits, train=train, val=val, test=test)


def check_labels(splits: Splits, num_outputs: int) -> None:
    """Every label must index one of the model's ``num_outputs`` classes."""
    parts = (("train", splits.train), ("validation", splits.val), ("test", splits.test))
    for split, part in parts:
        if part is None:
            continue
        labels = labels_of(part)
        bad = np.flatnonzero((labels < 0) | (labels >= num_outputs))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"`fit`: labels of the {split} split must lie in [0, {num_outputs - 1}] (the "
                f"model has {num_outputs} outputs); got label {int(labels[i])} at sample {i}."
            )


def make_prepare(config: Config, splits: Splits) -> Callable[[Array, PRNGKeyArray], Array]:
    """The function ``prepare(x, key) -> inputs`` run inside the jitted steps.

    Static samples ``x`` ``[B, *shape]`` are flattened to ``[B, F]`` (``data.flatten``; otherwise a
    trailing channel axis is added to 2-D images) and encoded over ``T = train.num_steps`` steps
    with ``data.encoding`` (``key`` drives the Poisson encoder); with ``encoding="none"`` the
    static batch itself is the input (the model repeats it over its own ``T``). Event frames
    ``[B, T, P, ...]`` become ``[T, B, P·...]`` (``data.flatten``) or channels-last
    ``[T, B, ..., P]``.
    """
    data = config.data
    T = config.train.num_steps
    options = dict(data.encoding_options)
    if data.encoding == "none" and options:
        raise ValueError(
            f"`make_prepare`: `data.encoding_options` must be empty with encoding='none' (no "
            f"encoder runs); got {options}."
        )

    if splits.kind == "static":

        def prepare(x, key):
            x = x.astype(jnp.float32)
            if data.flatten:
                x = x.reshape((x.shape[0], -1))
            elif x.ndim == 3:
                x = x[..., None]
            if data.encoding == "none":
                return x
            if data.encoding == "direct":
                return encoding.direct(x, T, **options)
            if data.encoding == "poisson":
                return encoding.poisson(x, T, key=key, **options)
            return encoding.latency(x, T, **options)

        return prepare

    def prepare_frames(x, key):
        del key
        x = jnp.swapaxes(x.astype(jnp.float32), 0, 1)  # [T, B, P, ...]
        if data.flatten:
            return x.reshape((x.shape[0], x.shape[1], -1))
        return jnp.moveaxis(x, 2, -1)

    return prepare_frames
