"""N-MNIST from a local copy, read with tonic's N-MNIST file reader (never downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.data._base import AbstractEventDataset
from spikejax.data._events import EVENT_DTYPE, check_events
from spikejax.data._files import list_files
from spikejax.data._optional import optional_import

__all__ = ["NMNIST"]

_URL = "https://www.garrickorchard.com/datasets/n-mnist"


class NMNIST(AbstractEventDataset):
    """N-MNIST (Orchard et al., *Front. Neurosci.* 9:437, 2015): MNIST seen by an ATIS in saccades.

    Expects tonic's layout below ``root`` (the ``save_to`` folder given to tonic):
    ``root/NMNIST/Train/<digit>/<id>.bin`` and ``root/NMNIST/Test/<digit>/<id>.bin``, the folders
    of ``train.zip``/``test.zip`` from the dataset's page. Each ``.bin`` file is read with
    ``tonic.io.read_mnist_file`` (5 bytes per event; an event with ``y == 240`` marks a timestamp
    overflow: it is dropped and 8,192 µs is added to all later events). tonic's ``NMNIST`` class is
    not used: it would download unless it finds at least 10,000 ``.bin`` files.

    Samples are ordered by path; the label is the name of the file's folder (``0`` … ``9``).

    Args:
        root: folder that contains ``NMNIST/``.
        train: the training (60,000) or test (10,000) set.
        first_saccade_only: keep only events with ``t < 100 ms``, as tonic does.
        transform: optional callable applied to the events of each sample.

    Attributes:
        sensor_size: ``(34, 34, 2)``.
        dtype: fields ``x, y, t, p``, int64 (tonic's ``NMNIST.dtype``).
        files: the ``.bin`` file of each sample.
        labels: int64 ``[N]``.
    """

    sensor_size = (34, 34, 2)
    dtype = EVENT_DTYPE
    classes = tuple(str(d) for d in range(10))

    def __init__(
        self,
        root: str | Path,
        *,
        train: bool = True,
        first_saccade_only: bool = False,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        fn = "NMNIST"
        split = "Train" if train else "Test"
        folder = Path(root).expanduser() / "NMNIST" / split
        what = (
            f"N-MNIST's {split} folder: extract {split.lower()}.zip from {_URL} so that the files "
            f"are {folder}/<digit>/<id>.bin"
        )
        self.files = list_files(fn, folder, ".bin", what)
        labels = []
        for path in self.files:
            if path.parent.name not in self.classes:
                raise ValueError(
                    f"`{fn}`: the folder of each .bin file must be its label, one of 0 … 9; "
                    f"got {path.parent.name!r} for {path}."
                )
            labels.append(int(path.parent.name))
        self.labels = np.asarray(labels, dtype=np.int64)
        self.first_saccade_only = first_saccade_only
        self.transform = transform

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index``: fields ``x, y, t, p``, ``t`` in µs, sorted."""
        path = self.files[self._check_index(index)]
        size = path.stat().st_size
        if size % 5:
            raise ValueError(
                f"`NMNIST`: {path} must hold 5-byte events; got {size} bytes (not a multiple of 5)."
            )
        tonic_io = optional_import("tonic.io", "NMNIST")
        events = tonic_io.read_mnist_file(str(path), dtype=self.dtype)
        check_events(
            "NMNIST", events, fields=self.dtype.names, sensor_size=self.sensor_size, where=str(path)
        )
        if self.first_saccade_only:
            events = events[events["t"] < 100_000]
        return events
