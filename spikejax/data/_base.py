"""The interface of every event dataset: ``len``, ``dataset[i] -> (events, label)``."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

__all__ = ["AbstractEventDataset"]


class AbstractEventDataset(abc.ABC):
    """An indexable event dataset in tonic's conventions.

    ``dataset[i]`` is ``(events, label)``: a structured event array (``t`` in µs, sorted; fields as
    tonic returns them for that dataset) passed through ``transform`` when one is set, and an int
    label. Subclasses set ``sensor_size`` (width, height, polarities), ``dtype``, ``classes``,
    ``labels`` and ``transform``, and implement `events`.
    """

    sensor_size: ClassVar[tuple[int, int, int]]
    dtype: ClassVar[np.dtype]
    classes: tuple[str, ...]
    labels: np.ndarray
    transform: Callable[[np.ndarray], Any] | None

    def __len__(self) -> int:
        return int(self.labels.size)

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"`{type(self).__name__}`: index must be an int; got {index!r}.")
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"`{type(self).__name__}`: index {index} out of range for {len(self)} samples."
            )
        return int(index) % len(self)

    @abc.abstractmethod
    def events(self, index: int) -> np.ndarray:
        """The raw (untransformed) events of sample ``index``."""

    def __getitem__(self, index: int) -> tuple[Any, int]:
        """``(events, label)``; the events passed through ``transform`` when one is set."""
        index = self._check_index(index)
        events = self.events(index)
        if self.transform is not None:
            events = self.transform(events)
        return events, int(self.labels[index])
