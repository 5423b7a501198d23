"""CIFAR-10 from a local copy of the python pickle release (never downloaded)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from spikejax._errors import check_choice
from spikejax.data._files import require_dir, require_file
from spikejax.data._pickle import load_restricted

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "load_cifar10"]

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_FOLDER = "cifar-10-batches-py"
_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
# Per-channel mean and standard deviation of the training images in [0, 1] (R, G, B).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def _field(batch: dict, key: str) -> Any:
    for k in (key, key.encode()):
        if k in batch:
            return batch[k]
    return None


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    fn = "load_cifar10"
    try:
        with path.open("rb") as f:
            batch = load_restricted(f, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"`{fn}`: {path} must be a CIFAR-10 python batch; {error}.") from error
    data = _field(batch, "data") if isinstance(batch, dict) else None
    labels = _field(batch, "labels") if isinstance(batch, dict) else None
    if data is None or labels is None:
        raise ValueError(
            f"`{fn}`: {path} must be a CIFAR-10 python batch, a dict with 'data' and 'labels'; "
            f"got {type(batch).__name__}"
            + (f" with keys {sorted(map(str, batch))}" if isinstance(batch, dict) else "")
            + "."
        )
    data, labels = np.asarray(data), np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"`{fn}`: 'data' of {path} must be uint8 [N, 3072]; got {data.dtype} {data.shape}."
        )
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`{fn}`: 'labels' of {path} must be {data.shape[0]} integers; got {labels.dtype} "
            f"{labels.shape}."
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"`{fn}`: 'labels' of {path} must lie in [0, 9]; got [{labels.min()}, {labels.max()}]."
        )
    # Each row is the 1024 red, then green, then blue values of a 32×32 image, row-major.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int64)


def load_cifar10(
    root: str | Path, split: str = "train", *, normalize: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 (Krizhevsky, 2009) from ``root/cifar-10-batches-py/`` (the python version).

    ``split="train"`` reads ``data_batch_1`` … ``data_batch_5`` (50,000 images, in file order),
    ``"test"`` reads ``test_batch`` (10,000). The files are pickles; they are read with an
    unpickler that accepts nothing but containers and NumPy arrays.

    Args:
        root: folder that contains ``cifar-10-batches-py/``.
        split: ``"train"`` or ``"test"``.
        normalize: return float32 ``(x / 255 − mean) / std`` per channel
            (`CIFAR10_MEAN`, `CIFAR10_STD`) instead of the uint8 pixels.

    Returns:
        ``(images, labels)``: ``[N, 32, 32, 3]`` channels-last (uint8, or float32 with
        ``normalize``) and int64 labels ``[N]`` in ``[0, 9]``.

    Raises:
        FileNotFoundError: the folder or a batch file is missing (the message says where to get
            the data).
        ValueError: a file is not a CIFAR-10 batch.
    """
    fn = "load_cifar10"
    check_choice(fn, "split", split, ("train", "test"))
    folder = Path(root).expanduser() / _FOLDER
    what = f"download {_URL} and extract it into {folder.parent}"
    require_dir(fn, folder, what)
    parts = [_read_batch(require_file(fn, folder / name, what)) for name in _FILES[split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if normalize:
        mean = np.asarray(CIFAR10_MEAN, np.float32)
        std = np.asarray(CIFAR10_STD, np.float32)
        images = (images.astype(np.float32) / np.float32(255.0) - mean) / std
    return images, labels
