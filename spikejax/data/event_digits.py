"""Event-camera digits: scikit-learn's digits moved in three saccades under a simulated DVS.

The recipe of N-MNIST (Orchard, Jayawant, Cohen & Thakor, *Front. Neurosci.* 9:437, 2015), where a
DVS on a pan-tilt unit made three saccades in front of a monitor showing each MNIST digit, applied
offline to the 8×8 digits of `spikejax.data.digits`:

* the image is upsampled ×3 to 24×24 by bilinear interpolation (zero outside the image) and placed
  on a black background in a 34×34 sensor (N-MNIST's size), top-left corner at ``(1.5, 1.5)`` px;
* it moves along the triangle ``(0, 0) → (3.5, 7) → (7, 0) → (0, 0)`` px in ``(x, y)`` (the path
  of N-MNIST's saccades, as removed by tonic's ``stabilize``), one saccade per side, each
  ``saccade_us`` long (100 ms) with a raised-cosine velocity profile, so the speed — and the event
  rate — falls to zero at the corners and three bursts of events are visible over time;
* `simulate_dvs` turns ``3 · steps_per_saccade + 1`` rendered frames into
  events.

A sample is therefore ~300 ms long, like N-MNIST's, with ``t`` in µs starting at 0.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikejax._errors import check_choice
from spikejax.data._base import AbstractEventDataset
from spikejax.data._events import EVENT_DTYPE
from spikejax.data._files import save_npy_atomic
from spikejax.data.digits import digits_split, load_digits
from spikejax.data.dvs import simulate_dvs

__all__ = ["EventDigits", "saccade_events"]

_SENSOR = 34
_SCALE = 3
_ORIGIN = 1.5
_CORNERS = np.array([[0.0, 0.0], [3.5, 7.0], [7.0, 0.0], [0.0, 0.0]])
# Version 2 caches events packed in 7 bytes (x, y, p as uint8, t as uint32 µs) instead of 4 int64
# (32 bytes); the version is part of the cache folder's name, so older folders are never read.
_FORMAT_VERSION = 2
_CACHE_DTYPE = np.dtype([("x", "u1"), ("y", "u1"), ("t", "<u4"), ("p", "u1")])
_CACHE_PREFIX = "event_digits-"


def _pack(events: np.ndarray) -> np.ndarray:
    """``events`` in the cache's compact dtype; every value fits by construction (34×34 sensor,
    two polarities) except a ``t`` beyond 2³² µs (a ``saccade_us`` above ~23 min)."""
    if events.size and (events["t"].min() < 0 or events["t"].max() >= 2**32):
        raise ValueError(
            f"`EventDigits`: the cache stores t as uint32 µs; `saccade_us` must keep every "
            f"event before 2**32 µs; got t up to {int(events['t'].max())}."
        )
    packed = np.empty(events.shape, _CACHE_DTYPE)
    for name in _CACHE_DTYPE.names:
        packed[name] = events[name]
    return packed


def _unpack(packed: np.ndarray) -> np.ndarray:
    events = np.empty(packed.shape, EVENT_DTYPE)
    for name in _CACHE_DTYPE.names:
        events[name] = packed[name]
    return events


def _bilinear(padded: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample ``padded`` at fractional (row, col) indices; zero outside the array."""
    r0, c0 = np.floor(rows), np.floor(cols)
    wr, wc = rows - r0, cols - c0
    out = np.zeros(np.broadcast_shapes(rows.shape, cols.shape))
    for dr, weight_r in ((0, 1.0 - wr), (1, wr)):
        for dc, weight_c in ((0, 1.0 - wc), (1, wc)):
            r = (r0 + dr).astype(np.int64)
            c = (c0 + dc).astype(np.int64)
            inside = (r >= 0) & (r < padded.shape[0]) & (c >= 0) & (c < padded.shape[1])
            value = padded[np.clip(r, 0, padded.shape[0] - 1), np.clip(c, 0, padded.shape[1] - 1)]
            out += weight_r * weight_c * np.where(inside, value, 0.0)
    return out


def _saccade_movie(
    image: np.ndarray, saccade_us: float, steps_per_saccade: int
) -> tuple[np.ndarray, np.ndarray]:
    steps = 3 * steps_per_saccade
    k = np.arange(steps + 1)
    side = np.minimum(k // steps_per_saccade, 2)
    tau = (k - side * steps_per_saccade) / steps_per_saccade
    profile = (1.0 - np.cos(np.pi * tau)) / 2.0
    offset = _CORNERS[side] + (_CORNERS[side + 1] - _CORNERS[side]) * profile[:, None]
    centers = np.arange(_SENSOR) + 0.5
    # Continuous image coordinates (pixel j covers [j, j + 1)) -> indices of the zero-padded image.
    cols = (centers[None, None, :] - _ORIGIN - offset[:, 0, None, None]) / _SCALE + 0.5
    rows = (centers[None, :, None] - _ORIGIN - offset[:, 1, None, None]) / _SCALE + 0.5
    frames = _bilinear(np.pad(image.astype(np.float64), 1), rows, cols)
    return frames, k * (saccade_us / steps_per_saccade)


def saccade_events(
    image: Any,
    *,
    saccade_us: float = 100_000.0,
    steps_per_saccade: int = 100,
    **dvs: Any,
) -> np.ndarray:
    """Events of one 8×8 image moved in N-MNIST's three saccades (see the module docstring).

    Args:
        image: intensities in ``[0, 1]``, shape ``[8, 8]``.
        saccade_us: duration of one saccade in µs.
        steps_per_saccade: rendered frames per saccade (events are interpolated between frames).
        **dvs: sensor options of `simulate_dvs` (``threshold``,
            ``threshold_sigma``, ``log_eps``, ``refractory_us``, ``noise_rate_hz``, ``seed``).

    Returns:
        Events with fields ``x, y, t, p`` (int64, `EVENT_DTYPE`) on a 34×34
        sensor, sorted by time, ``0 <= t <= 3 · saccade_us``.

    Example:
        >>> import numpy as np
        >>> from spikejax.data import saccade_events
        >>> square = np.zeros((8, 8)); square[2:6, 2:6] = 1.0
        >>> ev = saccade_events(square)
        >>> bool(ev["t"].max() <= 300_000), sorted(set(ev["p"].tolist()))
        (True, [0, 1])
    """
    fn = "saccade_events"
    image = np.asarray(image)
    if image.shape != (8, 8) or not np.issubdtype(image.dtype, np.number):
        raise ValueError(f"`{fn}`: `image` must be a real [8, 8] array; got {image.shape}.")
    if not np.all((image >= 0) & (image <= 1)):
        raise ValueError(
            f"`{fn}`: `image` must lie in [0, 1]; got range {image.min()}…{image.max()}."
        )
    if isinstance(steps_per_saccade, bool) or not isinstance(steps_per_saccade, int):
        raise TypeError(f"`{fn}`: `steps_per_saccade` must be an int; got {steps_per_saccade!r}.")
    if steps_per_saccade < 1 or not saccade_us > 0:
        raise ValueError(
            f"`{fn}`: `steps_per_saccade` and `saccade_us` must be > 0; "
            f"got {steps_per_saccade!r} and {saccade_us!r}."
        )
    frames, times = _saccade_movie(image, float(saccade_us), steps_per_saccade)
    return simulate_dvs(frames, times, **dvs)


class EventDigits(AbstractEventDataset):
    """Event-camera digits (see the module docstring), indexable like a tonic dataset.

    The split is the one of `digits_split`. Sample ``i`` is simulated from the
    digit with scikit-learn index ``indices[i]``, with random effects seeded by
    ``[seed, indices[i]]``, so a sample is the same in every split and run.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        seed: non-negative seed for the random sensor effects (mismatch, noise).
        cache_dir: optional directory for simulated samples (one ``.npy`` per digit, written
            atomically, events packed in 7 bytes: ``x``, ``y``, ``p`` as uint8 and ``t`` as
            uint32; read back as `EVENT_DTYPE`). The subfolder name hashes every simulation
            parameter and the cache format's version, so a cache of another configuration or
            of an older format (int64 events) is never read; `stale_caches` lists the folders
            of ``cache_dir`` that this version does not read, for deletion.
        transform: optional callable applied to the events of each sample (e.g.
            `ToFrames`).
        **options: ``saccade_us``, ``steps_per_saccade`` and the sensor options of
            `simulate_dvs` except ``seed``; defaults as there.

    Attributes:
        sensor_size: ``(34, 34, 2)``: width, height, polarities (tonic's convention).
        dtype: `EVENT_DTYPE`, the fields of tonic's N-MNIST.
        indices: scikit-learn indices of the samples, int64 ``[N]``.
        labels: digit of each sample, int64 ``[N]``.

    Example:
        >>> from spikejax.data import EventDigits
        >>> data = EventDigits("test")
        >>> events, label = data[0]
        >>> len(data), data.sensor_size, events.dtype.names, label
        (360, (34, 34, 2), ('x', 'y', 't', 'p'), 1)
    """

    sensor_size = (_SENSOR, _SENSOR, 2)
    dtype = EVENT_DTYPE
    classes = tuple(str(d) for d in range(10))

    def __init__(
        self,
        split: str = "train",
        *,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        transform: Callable[[np.ndarray], Any] | None = None,
        **options: Any,
    ):
        fn = "EventDigits"
        check_choice(fn, "split", split, ("train", "test", "all"))
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"`{fn}`: `seed` must be a non-negative int; got {seed!r}.")
        allowed = ("saccade_us", "steps_per_saccade", "threshold", "threshold_sigma", "log_eps",
                   "refractory_us", "noise_rate_hz")  # fmt: skip
        for key in options:
            check_choice(fn, "option", key, allowed)
        self.split = split
        self.seed = seed
        self.options = dict(options)
        self.transform = transform
        images, labels = load_digits("all")
        if split == "all":
            self.indices = np.arange(labels.size, dtype=np.int64)
        else:
            self.indices = digits_split()[0 if split == "train" else 1]
        self._images = images
        self.labels = labels[self.indices]
        self.cache_dir = None
        if cache_dir is not None:
            config = {"v": _FORMAT_VERSION, "seed": seed, **self.options}
            config = json.dumps(config, sort_keys=True, default=repr)
            digest = hashlib.sha256(config.encode()).hexdigest()[:16]
            self.cache_dir = Path(cache_dir) / f"{_CACHE_PREFIX}{digest}"

    @staticmethod
    def stale_caches(cache_dir: str | Path) -> list[Path]:
        """The event-digits cache folders in ``cache_dir`` that this version never reads: those
        holding ``.npy`` files in another format (e.g. the int64 events of format 1).

        Deleting them frees their space and changes nothing else; nothing is deleted here.

        Example:
            >>> import tempfile
            >>> from spikejax.data import EventDigits
            >>> EventDigits.stale_caches(tempfile.mkdtemp())
            []
        """
        stale = []
        for folder in sorted(Path(cache_dir).glob(f"{_CACHE_PREFIX}*")):
            first = next(iter(sorted(folder.glob("*.npy"))), None)
            if first is None:
                continue
            try:  # a memory map reads the header only
                dtype = np.load(first, mmap_mode="r", allow_pickle=False).dtype
            except (OSError, ValueError):
                dtype = None
            if dtype != _CACHE_DTYPE:
                stale.append(folder)
        return stale

    def events(self, index: int) -> np.ndarray:
        """The events of sample ``index`` (read from the cache when present)."""
        digit = int(self.indices[self._check_index(index)])
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / f"{digit:04d}.npy"
            if path.exists():
                packed = np.load(path, allow_pickle=False)
                if packed.dtype != _CACHE_DTYPE or packed.ndim != 1:
                    raise ValueError(
                        f"`EventDigits`: cached file {path} must hold a 1-D array of dtype "
                        f"{_CACHE_DTYPE}; got {packed.dtype} {packed.shape}. Delete the file."
                    )
                return _unpack(packed)
        events = saccade_events(self._images[digit], seed=[self.seed, digit], **self.options)
        if path is not None:
            save_npy_atomic(path, _pack(events))
        return events
