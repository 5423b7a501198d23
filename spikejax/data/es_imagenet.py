"""ES-ImageNet from a local copy of the authors' release (never downloaded)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax._errors import check_choice
from spikejax.data._base import AbstractEventDataset
from spikejax.data._events import check_events
from spikejax.data._files import list_files, require_dir, require_file
from spikejax.data.frames import ToFrames

__all__ = ["ESImageNet"]

_FOLDER = "ES-imagenet-0.18"
_ARCHIVE = "ES-imagenet-0.18.part01.rar … part25.rar (from the authors, Lin et al. 2021)"
_CLASS_FOLDER = re.compile(r"class(\d+)")
_TRAIN_FILE = re.compile(r"class(\d+)_(\d+)\.npz")
# The authors resized every image to a long side of 254 pixels; their loader centres an image of
# height a and width b by ((254 - a) // 2, (254 - b) // 2) and crops rows and columns [16, 240).
_RESIZED = 254
_CROP = (16, 240)
_STEPS = 8


class ESImageNet(AbstractEventDataset):
    """ES-ImageNet (Lin et al., *Front. Neurosci.* 15:726582, 2021): ImageNet-1k converted to event
    streams by an omnidirectional odd-even-frame simulation, 8 time steps per image.

    Expects the extracted release ``root/ES-imagenet-0.18/`` with
    ``train/class{L}/class{L}_{k}.npz`` (``L`` = 0 … 999; ``k`` numbers the source images and
    has gaps where images were dropped), ``val/ILSVRC2012_val_XXXXXXXX.npz`` and the label
    lists ``trainlabel.txt``/``vallabel.txt`` (lines ``name label a b``, with ``(a, b)`` the
    resized image's height and width).

    **Labels.** Training labels are the number in the folder name, read as a number: ``class10``
    is label 10 (sorting folder names as text would make it label 2). Validation labels are the
    second column of ``vallabel.txt``. Samples are ordered by label, then by ``k`` (train) or by
    file name (val).

    **Events.** Each file holds ``pos`` and ``neg``, ``uint8 [N, 3]`` arrays of ``(row, col, t)``
    with ``t`` the time step 1 … 8. They are returned in tonic's structured format with ``x = col``,
    ``y = row``, ``t`` = the step (1 … 8, *not* µs), ``p = 1`` for ``pos`` and ``0`` for ``neg``,
    sorted by ``t`` (stable: within a step, ``pos`` before ``neg``, each in file order). The sensor
    is 256 × 256.

    With ``centre_crop=True`` each sample is centred and cropped as the authors' loader does: rows
    shift by ``(254 - a) // 2`` and columns by ``(254 - b) // 2`` (``a``, ``b`` from the split's
    label list), then rows and columns ``[16, 240)`` are kept and shifted to ``[0, 224)``; events
    outside the crop are dropped by the crop, as in the authors' loader. The sensor is then
    224 × 224. Frames on the 8 native steps: `native_frames`.

    Args:
        root: folder that contains ``ES-imagenet-0.18/``.
        split: ``"train"`` or ``"val"``.
        centre_crop: centre and crop as the authors' loader does (needs the label list of the
            split: ``trainlabel.txt`` or ``vallabel.txt``).
        transform: optional callable applied to the events of each sample.

    Attributes:
        sensor_size: ``(256, 256, 2)``, or ``(224, 224, 2)`` with ``centre_crop``.
        dtype: fields ``x`` int16, ``y`` int16, ``p`` bool, ``t`` int64.
        files, labels: per sample.
        image_sizes: ``(a, b)`` per sample when the label list was read, else None.

    Example:
        >>> import pathlib, tempfile
        >>> import numpy as np
        >>> from spikejax.data import ESImageNet
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> folder = root / "ES-imagenet-0.18" / "train" / "class10"
        >>> folder.mkdir(parents=True)
        >>> pos = np.array([[20, 30, 1]], np.uint8)  # (row, col, t)
        >>> neg = np.array([[100, 200, 8]], np.uint8)
        >>> np.savez_compressed(folder / "class10_3.npz", pos=pos, neg=neg)
        >>> data = ESImageNet(root)
        >>> events, label = data[0]
        >>> label, events[["x", "y", "t", "p"]].tolist()
        (10, [(30, 20, 1, True), (200, 100, 8, False)])
        >>> data.native_frames()(events).shape
        (8, 2, 256, 256)
    """

    dtype = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
    classes = tuple(str(label) for label in range(1000))

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        centre_crop: bool = False,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        fn = "ESImageNet"
        check_choice(fn, "split", split, ("train", "val"))
        base = require_dir(
            fn, Path(root).expanduser() / _FOLDER, f"extract {_ARCHIVE} into {Path(root)}"
        )
        self.split = split
        self.centre_crop = bool(centre_crop)
        folder = base / split
        what = f"the {split} folder of the extracted release {_ARCHIVE}"
        files = list_files(fn, folder, ".npz", what)
        listed = None
        if split == "val" or centre_crop:
            listed = _read_label_list(base / f"{split}label.txt")
        if split == "train":
            order, labels = _train_labels(files, folder)
        else:
            order, labels = _val_labels(files, folder, listed)
        self.files = [files[i] for i in order]
        self.labels = np.asarray([labels[i] for i in order], dtype=np.int64)
        self.image_sizes = None
        if listed is not None:
            rows = [_listed(fn, listed, path) for path in self.files]
            for path, label, row in zip(self.files, self.labels, rows, strict=True):
                if row[0] != label:
                    raise ValueError(
                        f"`{fn}`: {path} lies in the folder of label {label} but "
                        f"{split}label.txt gives label {row[0]}."
                    )
            self.image_sizes = np.asarray([row[1:] for row in rows], dtype=np.int64)
        self.transform = transform

    @property
    def sensor_size(self) -> tuple[int, int, int]:  # type: ignore[override]
        """``(width, height, polarities)``: 224 × 224 after the centre crop, else 256 × 256."""
        side = _CROP[1] - _CROP[0] if self.centre_crop else 256
        return (side, side, 2)

    def native_frames(self) -> ToFrames:
        """`ToFrames` on the 8 native steps: frame ``t - 1`` holds the events of step
        ``t``, channel 0 ``neg`` and channel 1 ``pos`` (``[8, 2, H, W]``)."""
        return ToFrames(self.sensor_size, time_window=1, start_time=1, end_time=_STEPS + 1)

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index`` (see the class docstring for fields and order)."""
        index = self._check_index(index)
        path = self.files[index]
        pos, neg = _read_sample(path)
        rows = np.concatenate([pos[:, 0], neg[:, 0]]).astype(np.int64)
        cols = np.concatenate([pos[:, 1], neg[:, 1]]).astype(np.int64)
        steps = np.concatenate([pos[:, 2], neg[:, 2]]).astype(np.int64)
        polarity = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
        bad = (steps < 1) | (steps > _STEPS)
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"`ESImageNet`: the time steps of {path} must lie in 1 … {_STEPS}; got t = "
                f"{steps[row]} in event {row} (pos first, then neg)."
            )
        outside = (rows >= 256) | (cols >= 256) | (rows < 0) | (cols < 0)
        if np.any(outside):
            row = int(np.flatnonzero(outside)[0])
            raise ValueError(
                f"`ESImageNet`: the coordinates of {path} must lie on the 256 × 256 sensor; got "
                f"(row, col) = ({rows[row]}, {cols[row]}) in event {row} (pos first, then neg)."
            )
        if self.centre_crop:
            a, b = (int(v) for v in self.image_sizes[index])
            rows = rows + (_RESIZED - a) // 2 - _CROP[0]
            cols = cols + (_RESIZED - b) // 2 - _CROP[0]
            side = _CROP[1] - _CROP[0]
            keep = (rows >= 0) & (rows < side) & (cols >= 0) & (cols < side)
            rows, cols, steps, polarity = rows[keep], cols[keep], steps[keep], polarity[keep]
        order = np.argsort(steps, kind="stable")
        events = np.empty(order.size, self.dtype)
        events["x"], events["y"] = cols[order], rows[order]
        events["p"], events["t"] = polarity[order], steps[order]
        check_events(
            "ESImageNet",
            events,
            fields=self.dtype.names,
            sensor_size=self.sensor_size,
            where=str(path),
        )
        return events


def _read_sample(path: Path) -> tuple[np.ndarray, np.ndarray]:
    fn = "ESImageNet"
    try:
        # Opened here so that the file is closed even when NumPy fails to read a damaged zip.
        with path.open("rb") as f, np.load(f, allow_pickle=False) as archive:
            keys = sorted(archive.files)
            if keys != ["neg", "pos"]:
                raise ValueError(f"it must hold exactly the arrays 'pos' and 'neg'; got {keys}")
            pos, neg = archive["pos"], archive["neg"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"`{fn}`: {path} must be a readable ES-ImageNet .npz: {error}") from error
    for name, array in (("pos", pos), ("neg", neg)):
        if array.ndim != 2 or array.shape[1] != 3 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"`{fn}`: '{name}' of {path} must be an integer [N, 3] array of (row, col, t); "
                f"got {array.dtype} {array.shape}."
            )
    return pos, neg


def _train_labels(files: list[Path], folder: Path) -> tuple[list[int], list[int]]:
    fn = "ESImageNet"
    labels, keys = [], []
    for path in files:
        match = _CLASS_FOLDER.fullmatch(path.parent.name)
        if path.parent.parent != folder or match is None:
            raise ValueError(
                f"`{fn}`: each training file must lie in a folder class<L> of {folder} "
                f"(L = 0 … 999); got {path}."
            )
        label = int(match.group(1))
        name = _TRAIN_FILE.fullmatch(path.name)
        if not 0 <= label < 1000 or name is None or int(name.group(1)) != label:
            raise ValueError(
                f"`{fn}`: training files must be class<L>/class<L>_<k>.npz with L = 0 … 999; "
                f"got {path}."
            )
        labels.append(label)
        keys.append((label, int(name.group(2))))
    order = sorted(range(len(files)), key=keys.__getitem__)
    return order, labels


def _val_labels(
    files: list[Path], folder: Path, listed: dict[str, tuple[int, int, int]]
) -> tuple[list[int], list[int]]:
    fn = "ESImageNet"
    labels = []
    for path in files:
        if path.parent != folder:
            raise ValueError(f"`{fn}`: validation files must lie directly in {folder}; got {path}.")
        labels.append(_listed(fn, listed, path)[0])
    present = {path.stem for path in files}
    missing = sorted(name for name in listed if name not in present)
    if missing:
        raise FileNotFoundError(
            f"`{fn}`: {len(missing)} files listed in vallabel.txt are not in {folder} (e.g. "
            f"{', '.join(missing[:3])}); extract the whole release {_ARCHIVE}."
        )
    order = sorted(range(len(files)), key=lambda i: (labels[i], files[i].name))
    return order, labels


def _listed(fn: str, listed: dict[str, tuple[int, int, int]], path: Path) -> tuple[int, int, int]:
    if path.stem not in listed:
        raise ValueError(f"`{fn}`: {path} has no line in the split's label list.")
    return listed[path.stem]


def _read_label_list(path: Path) -> dict[str, tuple[int, int, int]]:
    """``name (without .npz) -> (label, a, b)`` from a ``name label a b`` list."""
    fn = "ESImageNet"
    require_file(fn, path, f"the label list of the extracted release {_ARCHIVE}")
    listed = {}
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 4 or not all(v.isdigit() for v in fields[1:]):
                raise ValueError(
                    f"`{fn}`: line {number} of {path} must be 'name label height width' with "
                    f"integer label, height and width; got {line.strip()!r}."
                )
            name = Path(fields[0]).name.removesuffix(".npz")
            label, a, b = (int(v) for v in fields[1:])
            if not 0 <= label < 1000 or not (0 < a <= _RESIZED and 0 < b <= _RESIZED):
                raise ValueError(
                    f"`{fn}`: line {number} of {path} must have a label in 0 … 999 and a size "
                    f"in 1 … {_RESIZED}; got {line.strip()!r}."
                )
            if name in listed:
                raise ValueError(f"`{fn}`: {name} appears twice in {path} (line {number}).")
            listed[name] = (label, a, b)
    return listed
