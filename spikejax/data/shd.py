"""Spiking Heidelberg Digits (SHD) from a local HDF5 file (never downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.data._base import AbstractEventDataset
from spikejax.data._events import check_events
from spikejax.data._files import require_file
from spikejax.data._optional import optional_import

__all__ = ["SHD"]

_URL = "https://zenkelab.org/datasets/"


class SHD(AbstractEventDataset):
    """Spiking Heidelberg Digits (Cramer et al., *IEEE TNNLS* 33(7), 2022): spoken digits 0–9 in
    English and German as spikes of 700 cochlear channels.

    Expects tonic's layout: ``root/SHD/shd_train.h5`` or ``root/SHD/shd_test.h5`` (the unzipped
    ``shd_train.h5.zip``/``shd_test.h5.zip``). The HDF5 file holds ``spikes/times`` (variable-length
    float16 seconds), ``spikes/units`` (variable-length uint16 channels), ``labels`` (0 … 19) and
    ``extra/keys`` (class names). Times become int64 microseconds as in tonic,
    ``t = int64(float64(times) · 1e6)`` (truncated; computed in float64 because float16 overflows
    at 65,504); ``x`` is the channel and ``p = 1``.

    Args:
        root: folder that contains ``SHD/``.
        train: the training (8,156) or test (2,264) set.
        transform: optional callable applied to the events of each sample.

    Attributes:
        sensor_size: ``(700, 1, 1)``.
        dtype: fields ``t, x, p``, int64 (tonic's ``SHD.dtype``).
        path: the HDF5 file.
        labels: int64 ``[N]`` in ``0 … 19``.
        classes: the 20 names from ``extra/keys`` (or ``"0"`` … ``"19"`` when absent).

    The file is opened on first access and kept open; `close` closes it.
    """

    sensor_size = (700, 1, 1)
    dtype = np.dtype([("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
    num_classes = 20

    def __init__(
        self,
        root: str | Path,
        *,
        train: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        fn = "SHD"
        h5py = optional_import("h5py", fn)
        name = "shd_train.h5" if train else "shd_test.h5"
        self.path = Path(root).expanduser() / "SHD" / name
        require_file(fn, self.path, f"download {name}.zip from {_URL} and unzip it there")
        with _open(h5py, fn, self.path) as f:
            for key in ("spikes/times", "spikes/units", "labels"):
                if key not in f:
                    raise ValueError(f"`{fn}`: {self.path} must contain the dataset `{key}`.")
            labels = np.asarray(f["labels"][()]).astype(np.int64)
            sizes = {len(f["spikes/times"]), len(f["spikes/units"]), labels.size}
            if len(sizes) != 1:
                raise ValueError(
                    f"`{fn}`: `spikes/times`, `spikes/units` and `labels` of {self.path} must have "
                    f"one entry per sample; got lengths {sorted(sizes)}."
                )
            keys = f["extra/keys"][()] if "extra/keys" in f else None
        if labels.size == 0:
            raise ValueError(f"`{fn}`: {self.path} holds no samples; the dataset is empty.")
        bad = np.flatnonzero((labels < 0) | (labels >= self.num_classes))
        if bad.size:
            raise ValueError(
                f"`{fn}`: labels of {self.path} must lie in [0, {self.num_classes}); "
                f"got labels[{bad[0]}] = {labels[bad[0]]}."
            )
        self.labels = labels
        if keys is None:
            self.classes = tuple(str(c) for c in range(self.num_classes))
        else:
            self.classes = tuple(k.decode() if isinstance(k, bytes) else str(k) for k in keys)
        self.transform = transform
        self._file = None

    def close(self) -> None:
        """Close the HDF5 file (it reopens on the next access)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_file": None}

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index``: fields ``t, x, p``, ``t`` in µs, sorted."""
        h5py = optional_import("h5py", "SHD")
        index = self._check_index(index)
        if self._file is None:
            self._file = _open(h5py, "SHD", self.path)
        where = f"sample {index} of {self.path}"
        try:
            times = np.asarray(self._file["spikes/times"][index])
            units = np.asarray(self._file["spikes/units"][index])
        except (OSError, KeyError, ValueError) as error:  # a truncated or damaged file
            raise ValueError(f"`SHD`: cannot read {where}: {error}") from error
        if times.shape != units.shape or times.ndim != 1:
            raise ValueError(
                f"`SHD`: times and units of {where} must have equal 1-D shapes; "
                f"got {times.shape} and {units.shape}."
            )
        seconds = times.astype(np.float64)
        if not np.all(np.isfinite(seconds)) or np.any(seconds < 0):
            bad = int(np.flatnonzero(~(np.isfinite(seconds) & (seconds >= 0)))[0])
            raise ValueError(
                f"`SHD`: timestamps of {where} must be finite and >= 0; got t[{bad}] = "
                f"{seconds[bad]} s."
            )
        events = np.empty(times.size, self.dtype)
        events["t"] = (seconds * 1e6).astype(np.int64)
        events["x"] = units
        events["p"] = 1
        check_events(
            "SHD", events, fields=self.dtype.names, sensor_size=self.sensor_size, where=where
        )
        return events


def _open(h5py: Any, fn: str, path: Path) -> Any:
    """``h5py.File(path)``, with a truncated or non-HDF5 file named in the error."""
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ValueError(
            f"`{fn}`: {path} must be a readable HDF5 file (truncated or damaged? download it "
            f"again): {error}"
        ) from error
