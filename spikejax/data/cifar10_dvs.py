"""CIFAR10-DVS from a local copy of tonic's AEDAT 4.0 release (never downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.data._base import AbstractEventDataset
from spikejax.data._files import list_files
from spikejax.data.aedat4 import AEDAT4_DTYPE, read_aedat4

__all__ = ["CIFAR10DVS"]

_URL = "https://figshare.com/ndownloader/files/38023437"


class CIFAR10DVS(AbstractEventDataset):
    """CIFAR10-DVS (Li et al., *Front. Neurosci.* 11:309, 2017): 10,000 CIFAR-10 images moved on a
    monitor in front of a 128×128 DVS, 1,000 per class.

    Expects tonic's layout: ``root/CIFAR10DVS/<class>/<name>.aedat4`` with one folder per class
    (``airplane`` … ``truck``, the contents of ``CIFAR10DVS.zip`` and of its per-class zips). Files
    are read with `read_aedat4`. tonic's ``CIFAR10DVS`` class is not used: it
    would download unless it finds at least 1,000 ``.aedat4`` files.

    There is no official train/test split; samples are ordered by path and ``labels`` is available
    for splitting.

    Args:
        root: folder that contains ``CIFAR10DVS/``.
        transform: optional callable applied to the events of each sample.

    Attributes:
        sensor_size: ``(128, 128, 2)``.
        dtype: fields ``t`` uint64 (µs), ``x`` uint16, ``y`` uint16, ``p`` bool (tonic's).
        files, labels: per sample.
    """

    sensor_size = (128, 128, 2)
    dtype = AEDAT4_DTYPE
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")  # fmt: skip

    def __init__(self, root: str | Path, *, transform: Callable[[np.ndarray], Any] | None = None):
        fn = "CIFAR10DVS"
        folder = Path(root).expanduser() / "CIFAR10DVS"
        what = (
            f"download CIFAR10DVS.zip ({_URL}), extract it and the per-class zips inside so that "
            f"the files are {folder}/<class>/<name>.aedat4"
        )
        self.files = list_files(fn, folder, ".aedat4", what)
        labels = []
        for path in self.files:
            if path.parent.parent != folder or path.parent.name not in self.classes:
                raise ValueError(
                    f"`{fn}`: each file must lie in a class folder of {folder} "
                    f"(one of {', '.join(self.classes)}); got {path}."
                )
            labels.append(self.classes.index(path.parent.name))
        self.labels = np.asarray(labels, dtype=np.int64)
        self.transform = transform

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index``: fields ``t, x, y, p``, ``t`` in µs, sorted."""
        path = self.files[self._check_index(index)]
        events, size = read_aedat4(path)
        if size != self.sensor_size[:2]:
            raise ValueError(
                f"`CIFAR10DVS`: {path} must come from a 128×128 sensor; its header says {size}."
            )
        return events
