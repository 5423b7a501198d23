"""Bullying10K from a local copy of the authors' release (never downloaded)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax.data._base import AbstractEventDataset
from spikejax.data._events import check_events
from spikejax.data._files import list_files, require_dir
from spikejax.data._pickle import load_restricted

__all__ = ["BULLYING10K_PACKET_DTYPE", "Bullying10K"]

#: The records of one DV packet in a Bullying10K file, as the authors' recorder wrote them.
BULLYING10K_PACKET_DTYPE = np.dtype(
    [
        ("timestamp", "<i8"),
        ("x", "<i2"),
        ("y", "<i2"),
        ("polarity", "i1"),
        ("_p1", "<i2"),
        ("_p2", "i1"),
    ]
)
_TEST_EVERY = 5


class Bullying10K(AbstractEventDataset):
    """Bullying10K (Dong et al., NeurIPS 2023 Datasets and Benchmarks): 10,000 DVS recordings of
    10 actions for privacy-preserving recognition, 346 × 260 sensor.

    Expects the 10 extracted class archives ``<class>.zip`` below ``root/Bullying10K/``:
    ``root/Bullying10K/<class>/<recording folder>/<name>.npy``. The label is the class folder.

    **Label order**: the class names sorted alphabetically (`classes`), so label 0 is
    ``fingerguess`` and 9 is ``walking``. Other libraries number the classes in the authors'
    listing order; map through the names when comparing.

    **Split**: there is no official one. Within each class the files are sorted by path and every
    5th (positions 4, 9, 14, …) is a test sample, the rest training samples: the authors' 4 : 1
    ratio, stratified per class and independent of the file system's listing order.

    **Files**: each ``.npy`` is a pickled object array, one element per DV packet, each a
    structured array of `BULLYING10K_PACKET_DTYPE`. Pickles can run code, so they are
    read with an unpickler that admits only NumPy arrays and dtypes (any other name in the
    pickle is refused before it is imported or called), and every packet must have exactly that
    dtype; a plain (non-object) array of that dtype is read as one packet. Packets are
    concatenated in order; ``t`` is ``timestamp`` in µs rebased to the first event of the
    recording.

    Args:
        root: folder that contains ``Bullying10K/``.
        train: the training or the test part of the split above.
        transform: optional callable applied to the events of each sample.

    Attributes:
        sensor_size: ``(346, 260, 2)``.
        dtype: fields ``x`` int16, ``y`` int16, ``p`` bool, ``t`` int64 (as tonic's DVS readers).
        files, labels: per sample.
    """

    sensor_size = (346, 260, 2)
    dtype = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
    classes = (
        "fingerguess", "greeting", "hairgrabs", "handshake", "kicking",
        "punching", "pushing", "slapping", "strangling", "walking",
    )  # fmt: skip

    def __init__(
        self,
        root: str | Path,
        *,
        train: bool = True,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        fn = "Bullying10K"
        folder = Path(root).expanduser() / "Bullying10K"
        require_dir(fn, folder, f"extract the class archives ({', '.join(self.classes)}).zip there")
        unknown = sorted(
            p.name for p in folder.iterdir() if p.is_dir() and p.name not in self.classes
        )
        if unknown:
            raise ValueError(
                f"`{fn}`: {folder} must hold only the class folders {', '.join(self.classes)}; "
                f"got also {', '.join(unknown)}."
            )
        files, labels = [], []
        for label, name in enumerate(self.classes):
            what = f"extract {name}.zip from the Bullying10K release into {folder}"
            in_class = list_files(fn, folder / name, ".npy", what)
            chosen = [
                path
                for position, path in enumerate(in_class)
                if (position % _TEST_EVERY == _TEST_EVERY - 1) != train
            ]
            files += chosen
            labels += [label] * len(chosen)
        self.train = bool(train)
        self.files = files
        self.labels = np.asarray(labels, dtype=np.int64)
        self.transform = transform

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index``: fields ``x, y, p, t``, ``t`` in µs from the first."""
        path = self.files[self._check_index(index)]
        packets = _read_packets(path)
        records = {
            name: np.concatenate([packet[name] for packet in packets])
            if packets
            else np.empty(0, BULLYING10K_PACKET_DTYPE[name])
            for name in ("timestamp", "x", "y", "polarity")
        }
        polarity = records["polarity"]
        if np.any((polarity != 0) & (polarity != 1)):
            bad = int(np.flatnonzero((polarity != 0) & (polarity != 1))[0])
            raise ValueError(
                f"`Bullying10K`: polarities of {path} must be 0 or 1; got {polarity[bad]} in "
                f"event {bad}."
            )
        events = np.empty(polarity.size, self.dtype)
        events["x"], events["y"], events["p"] = records["x"], records["y"], polarity == 1
        if polarity.size:
            events["t"] = records["timestamp"] - records["timestamp"][0]
        check_events(
            "Bullying10K",
            events,
            fields=self.dtype.names,
            sensor_size=self.sensor_size,
            where=str(path),
        )
        return events


def _read_packets(path: Path) -> list[np.ndarray]:
    """The DV packets of one file, each checked to be a structured array of the packet dtype."""
    fn = "Bullying10K"
    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy format version {version} is not 1.0 or 2.0")
            if dtype == np.dtype(object):
                content = load_restricted(f, encoding="latin1")
            else:
                f.seek(0)
                content = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(
            f"`{fn}`: {path} must be a .npy array of DV packets ({BULLYING10K_PACKET_DTYPE}); "
            f"{error}."
        ) from error
    if isinstance(content, np.ndarray) and _is_packet(content):
        return [content.reshape(-1)]
    if not (
        isinstance(content, np.ndarray) and content.dtype == np.dtype(object) and content.ndim == 1
    ):
        raise ValueError(
            f"`{fn}`: {path} must hold a 1-D object array of packets; got "
            f"{type(content).__name__} {getattr(content, 'dtype', '')} "
            f"{getattr(content, 'shape', '')} (header shape {shape})."
        )
    packets = []
    for number, packet in enumerate(content):
        if not isinstance(packet, np.ndarray) or not _is_packet(packet):
            raise ValueError(
                f"`{fn}`: packet {number} of {path} must be a structured array of "
                f"{BULLYING10K_PACKET_DTYPE}; got {type(packet).__name__} "
                f"{getattr(packet, 'dtype', '')}."
            )
        packets.append(packet.reshape(-1))
    return packets


def _is_packet(array: np.ndarray) -> bool:
    # Field names and types must match; offsets may differ (a recorder may pad its records).
    names = array.dtype.names
    expected = BULLYING10K_PACKET_DTYPE
    return names == expected.names and all(
        array.dtype.fields[name][0] == expected.fields[name][0] for name in names
    )
