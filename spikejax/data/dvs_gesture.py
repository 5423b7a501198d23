"""DVS128 Gesture from a local copy of tonic's preprocessed release (never downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.data._base import AbstractEventDataset
from spikejax.data._events import check_events
from spikejax.data._files import list_files

__all__ = ["DVSGesture"]

_URL = "https://figshare.com/ndownloader/files/"


class DVSGesture(AbstractEventDataset):
    """DVS128 Gesture (Amir et al., CVPR 2017): 11 hand and arm gestures of 29 people, 128×128 DVS.

    Expects tonic's preprocessed release (recordings already cut into one gesture each, times in
    ms): ``root/DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy`` (users 01–23) and
    ``root/DVSGesture/ibmGestureTest/...`` (users 24–29), the contents of
    ``ibmGestureTrain.tar.gz``/``ibmGestureTest.tar.gz``. Each file is an ``(N, 4)`` array with
    columns ``x, y, p, t`` and ``t`` in milliseconds; it is returned as tonic does, with ``t`` in µs
    (``t · 1000``, computed in int64 or float64 and truncated to int64). tonic's ``DVSGesture``
    class is not used: it would download unless it finds at least 100 ``.npy`` files.

    Samples are ordered by path; the label is the file name (``0`` … ``10``; 10 = other gestures).

    Args:
        root: folder that contains ``DVSGesture/``.
        train: the training or test users.
        transform: optional callable applied to the events of each sample.

    Attributes:
        sensor_size: ``(128, 128, 2)``.
        dtype: fields ``x`` int16, ``y`` int16, ``p`` bool, ``t`` int64 (tonic's).
        files, labels, users, lighting: per sample.
    """

    sensor_size = (128, 128, 2)
    dtype = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
    classes = (
        "hand clapping", "right hand wave", "left hand wave", "right arm clockwise",
        "right arm counter-clockwise", "left arm clockwise", "left arm counter-clockwise",
        "arm roll", "air drums", "air guitar", "other gestures",
    )  # fmt: skip

    def __init__(
        self,
        root: str | Path,
        *,
        train: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        fn = "DVSGesture"
        name = "ibmGestureTrain" if train else "ibmGestureTest"
        folder = Path(root).expanduser() / "DVSGesture" / name
        what = (
            f"extract {name}.tar.gz (tonic's preprocessed release, {_URL}) so that the files are "
            f"{folder}/userNN_<lighting>/<label>.npy"
        )
        self.files = list_files(fn, folder, ".npy", what)
        labels, users, lighting = [], [], []
        for path in self.files:
            user, _, light = path.parent.name.partition("_")
            if path.parent.parent != folder or not user.startswith("user") or not light:
                raise ValueError(
                    f"`{fn}`: each file must lie in a folder userNN_<lighting> of {folder}; "
                    f"got {path}."
                )
            if not path.stem.isdigit() or not 0 <= int(path.stem) < len(self.classes):
                raise ValueError(
                    f"`{fn}`: the file name must be the label, one of 0 … {len(self.classes) - 1}; "
                    f"got {path.name!r} ({path})."
                )
            if not user[4:].isdigit():
                raise ValueError(
                    f"`{fn}`: the folder must be userNN_<lighting>; got {path.parent}."
                )
            labels.append(int(path.stem))
            users.append(int(user[4:]))
            lighting.append(light)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.users = np.asarray(users, dtype=np.int64)
        self.lighting = tuple(lighting)
        self.transform = transform

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index``: fields ``x, y, p, t``, ``t`` in µs, sorted."""
        path = self.files[self._check_index(index)]
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:  # truncated, damaged or pickled
            raise ValueError(
                f"`DVSGesture`: {path} must be a readable .npy array of events: {error}"
            ) from error
        numeric = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
        if array.ndim != 2 or array.shape[1] != 4 or not numeric:
            raise ValueError(
                f"`DVSGesture`: {path} must hold a real (N, 4) array of x, y, p, t; "
                f"got {array.dtype} {array.shape}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"`DVSGesture`: {path} must hold finite values.")
        xy, p = array[:, :2], array[:, 2]
        bad = (
            (array[:, :3] != np.trunc(array[:, :3])).any(axis=1)
            | ((xy < 0) | (xy >= 128)).any(axis=1)
            | ((p != 0) & (p != 1))
        )
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"`DVSGesture`: x and y of {path} must be integers in [0, 128) and p must be "
                f"0 or 1; got row {row} = {array[row].tolist()} (x, y, p, t)."
            )
        t = array[:, 3]
        events = np.empty(array.shape[0], self.dtype)
        if t.dtype.kind == "f":
            events["t"] = (t.astype(np.float64) * 1000).astype(np.int64)
        else:
            events["t"] = t.astype(np.int64) * 1000
        events["x"], events["y"], events["p"] = array[:, 0], array[:, 1], p != 0
        check_events(
            "DVSGesture",
            events,
            fields=self.dtype.names,
            sensor_size=self.sensor_size,
            where=str(path),
        )
        return events
