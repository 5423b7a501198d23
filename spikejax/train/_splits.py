"""A run's splits: train, validation and test data, and the selections made from a dataset."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = [
    "Splits",
    "first",
    "innermost",
    "labels_of",
    "per_class_split",
    "split_size",
    "take",
]


@dataclasses.dataclass(frozen=True)
class Splits:
    """Train, validation and test data of a run.

    Attributes:
        train, test: a pair ``(x, y)`` of NumPy arrays, or an indexable dataset
            (``len``, ``data[i] -> (x_i, y_i)``, ``labels``).
        kind: ``"static"`` (one array per sample, encoded over ``T`` steps, or passed as is with
            ``encoding="none"``) or ``"frames"`` (event frames ``[T, polarities, (H,) W]`` per
            sample).
        num_classes: classes of the dataset (for npz files: the largest label + 1).
        val: the validation split (as ``train``), carved out of the training split, or ``None``.
    """

    train: Any
    test: Any
    kind: str
    num_classes: int
    val: Any = None


class _Subset:
    """The first ``n`` samples of an indexable dataset."""

    def __init__(self, data: Any, n: int):
        self.data, self.n = data, min(n, len(data))
        self.labels = np.asarray(data.labels)[: self.n]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        if not 0 <= index < self.n:
            raise IndexError(f"`_Subset`: index {index} out of range for {self.n} samples.")
        return self.data[index]


class _Split:
    """The samples ``indices`` of an indexable dataset, in that order."""

    def __init__(self, data: Any, indices: np.ndarray):
        self.data, self.indices = data, np.asarray(indices, dtype=np.int64)
        self.labels = np.asarray(data.labels)[self.indices]

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"`_Split`: index {index} out of range for {len(self)} samples.")
        return self.data[int(self.indices[index])]


def innermost(data: Any) -> Any:
    """The dataset under a split's selections (``data.limit``, validation or CIFAR10-DVS
    splits): the object whose ``transform`` makes each sample's frames."""
    while isinstance(data, _Subset | _Split):
        data = data.data
    return data


def per_class_split(labels: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: the first ``ceil(fraction · n_c)`` samples of each class ``c``
    train, the others test (SpikingJelly's ``split_to_train_test_set`` without shuffling).

    Example:
        >>> import numpy as np
        >>> from spikejax.train._splits import per_class_split
        >>> train, test = per_class_split(np.array([0, 0, 1, 0, 1, 1, 1]), 0.5)
        >>> train.tolist(), test.tolist()
        ([0, 1, 2, 4], [3, 5, 6])
    """
    labels = np.asarray(labels)
    train, test = [], []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        cut = math.ceil(members.size * fraction)
        train.append(members[:cut])
        test.append(members[cut:])
    if not train:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def labels_of(data: Any) -> np.ndarray:
    """The labels of a split (``y`` of an ``(x, y)`` pair, or ``data.labels``)."""
    if isinstance(data, tuple):
        return np.asarray(data[1])
    return np.asarray(data.labels)


def split_size(data: Any) -> int:
    """The number of samples of a split (an ``(x, y)`` pair or an indexable dataset)."""
    return len(data[1]) if isinstance(data, tuple) else len(data)


def take(data: Any, indices: np.ndarray) -> Any:
    """The samples ``indices`` of a split, in that order."""
    if isinstance(data, tuple):
        return data[0][indices], data[1][indices]
    return _Split(data, indices)


def first(data: Any, limit: int | None) -> Any:
    """The first ``limit`` samples of a split (all of them for ``None``)."""
    if limit is None:
        return data
    if isinstance(data, tuple):
        return data[0][:limit], data[1][:limit]
    return _Subset(data, limit)
