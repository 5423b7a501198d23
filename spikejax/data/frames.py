"""Events to dense frames through tonic's transforms (Denoise, Downsample, ToFrame)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from spikejax.data._events import check_events
from spikejax.data._optional import optional_import

__all__ = ["ToFrames"]


def _positive(fn: str, arg: str, value: Any, *, integer: bool = False) -> None:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "int" if integer else "number"
        raise TypeError(f"`{fn}`: `{arg}` must be a positive {kind}; got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{fn}`: `{arg}` must be finite and > 0; got {value!r}.")


@dataclasses.dataclass(frozen=True)
class ToFrames:
    """Accumulate an event stream into float32 frames, one slice of the stream per frame.

    Applied in this order, each a tonic transform:

    1. ``tonic.transforms.Denoise(filter_time=denoise_us)`` (optional; 2-D sensors only): drops an
       event unless one of its four neighbours fired within ``denoise_us`` before it (tonic treats
       every pixel as having fired at ``t = 0``, so events before ``denoise_us`` are all kept);
    2. ``tonic.transforms.Downsample(spatial_factor=spatial_factor)`` (optional): ``x ← ⌊x·f⌋``
       (and ``y``), so a width ``W`` becomes ``⌊(W - 1) f⌋ + 1``;
    3. ``tonic.transforms.ToFrame`` with exactly one of ``time_window`` (µs per frame),
       ``event_count`` (events per frame) or ``n_time_bins`` (a fixed number of frames): each frame
       counts the events of its slice per polarity and pixel. Slices are half-open and start at the
       first event ``t_0`` (tonic's convention). With ``time_window`` and ``event_count`` the last,
       shorter slice is kept unless ``include_incomplete=False`` (tonic's default drops it). With
       ``n_time_bins = n``, tonic's slice length is ``w = ⌊(t_last - t_0) / n⌋`` µs, so events at
       ``t >= t_0 + n w`` — at least the last event — fall in no frame. With ``time_window``,
       ``start_time``/``end_time`` fix the slicing to ``[start_time, end_time)`` instead of starting
       at the first event (tonic's options): ``ToFrames(s, time_window=1, start_time=1,
       end_time=9)`` gives ES-ImageNet's 8 native steps, frame ``t - 1``, whatever the first
       event's step.

    A sensor with one polarity channel (SHD: ``sensor_size = (700, 1, 1)``) needs all events to
    share one polarity value; they are counted in channel 0. An empty stream gives one empty frame
    (``n_time_bins`` empty frames with ``n_time_bins``).

    Args:
        sensor_size: ``(width, height, polarities)`` of the events, as tonic's ``sensor_size``.
        time_window: frame length in µs.
        event_count: events per frame.
        n_time_bins: number of frames.
        overlap: overlap of consecutive slices, in the unit of the slicing method (tonic's).
        include_incomplete: keep the last, shorter slice (``time_window``/``event_count``).
        denoise_us: filter time of ``Denoise`` in µs, or None.
        spatial_factor: ``Downsample`` factor in ``(0, 1]``, or None.
        start_time: with ``time_window``, where the first slice starts (µs), or None for the
            first event.
        end_time: with ``time_window``, where the last slice ends (µs, exclusive), or None.
        channels_last: put the polarity axis last: ``[T, height', width', polarities]``, the
            layout of the models, so that ``Loader(..., time_major=True)`` batches are
            ``[T, B, H, W, C]`` without a transpose.

    Returns (when called on events):
        float32 ``[T, polarities, height', width']`` for 2-D sensors (events with a ``y`` field),
        ``[T, polarities, width']`` for 1-D sensors (no ``y``), ``'`` after downsampling; with
        ``channels_last``, ``[T, height', width', polarities]`` and ``[T, width', polarities]``.

    Example:
        >>> import numpy as np
        >>> from spikejax.data import EVENT_DTYPE, ToFrames
        >>> ev = np.array([(0, 0, 0, 1), (1, 0, 10, 0), (1, 1, 25, 1)], EVENT_DTYPE)
        >>> frames = ToFrames((2, 2, 2), time_window=20)(ev)
        >>> frames.shape, frames.dtype, frames.sum(axis=(1, 2, 3)).tolist()
        ((2, 2, 2, 2), dtype('float32'), [2.0, 1.0])
        >>> last = ToFrames((3, 2, 2), time_window=20, channels_last=True)(ev)
        >>> last.shape  # [T, H, W, C]
        (2, 2, 3, 2)
    """

    sensor_size: tuple[int, int, int]
    time_window: float | None = None
    event_count: int | None = None
    n_time_bins: int | None = None
    overlap: float = 0.0
    include_incomplete: bool = True
    denoise_us: float | None = None
    spatial_factor: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    channels_last: bool = False

    def __post_init__(self) -> None:
        fn = "ToFrames"
        size = self.sensor_size
        if (
            not isinstance(size, tuple)
            or len(size) != 3
            or not all(isinstance(s, int | np.integer) and s > 0 for s in size)
        ):
            raise ValueError(
                f"`{fn}`: `sensor_size` must be a tuple of 3 positive ints (width, height, "
                f"polarities); got {size!r}."
            )
        chosen = [
            name for name in ("time_window", "event_count", "n_time_bins") if getattr(self, name)
        ]
        if len(chosen) != 1:
            raise ValueError(
                f"`{fn}`: exactly one of `time_window`, `event_count`, `n_time_bins` must be set; "
                f"got {chosen or 'none'}."
            )
        _positive(fn, chosen[0], getattr(self, chosen[0]), integer=chosen[0] != "time_window")
        if self.denoise_us is not None:
            _positive(fn, "denoise_us", self.denoise_us)
            if size[1] == 1:
                raise ValueError(
                    f"`{fn}`: `denoise_us` needs a 2-D sensor (height > 1); got {size!r}."
                )
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if value is not None and self.time_window is None:
                raise ValueError(f"`{fn}`: `{name}` needs `time_window`; got {name}={value!r}.")
            if value is not None and (isinstance(value, bool) or not np.isfinite(value)):
                raise ValueError(f"`{fn}`: `{name}` must be a finite number; got {value!r}.")
        if (
            self.start_time is not None
            and self.end_time is not None
            and not self.end_time > self.start_time
        ):
            raise ValueError(
                f"`{fn}`: `end_time` must be > `start_time`; got start_time={self.start_time!r}, "
                f"end_time={self.end_time!r}."
            )
        if not isinstance(self.channels_last, bool):
            raise TypeError(f"`{fn}`: `channels_last` must be a bool; got {self.channels_last!r}.")
        if self.spatial_factor is not None:
            _positive(fn, "spatial_factor", self.spatial_factor)
            if self.spatial_factor > 1:
                raise ValueError(
                    f"`{fn}`: `spatial_factor` must lie in (0, 1]; got {self.spatial_factor!r}."
                )

    @property
    def frame_size(self) -> tuple[int, int, int]:
        """``(width, height, polarities)`` of the frames, after downsampling."""
        width, height, polarities = self.sensor_size
        if self.spatial_factor is not None:
            width = math.floor((width - 1) * self.spatial_factor) + 1
            height = math.floor((height - 1) * self.spatial_factor) + 1
        return (width, height, polarities)

    def _empty_frames(self) -> int:
        # The number of frames an empty stream gets: the fixed slicing's count when there is one.
        if self.n_time_bins:
            return self.n_time_bins
        if self.time_window and self.start_time is not None and self.end_time is not None:
            slices = (self.end_time - self.start_time) / self.time_window
            return math.ceil(slices) if self.include_incomplete else math.floor(slices)
        return 1

    def __call__(self, events: np.ndarray) -> np.ndarray:
        """Frames of ``events`` (see the class docstring)."""
        events, shape = self._prepare("ToFrames", events)
        if events.size == 0:
            return self._layout(np.zeros((self._empty_frames(), *shape), np.float32))
        tt = optional_import("tonic.transforms", "ToFrames")
        frames = tt.ToFrame(
            sensor_size=self.frame_size,
            time_window=self.time_window,
            event_count=self.event_count,
            n_time_bins=self.n_time_bins,
            overlap=self.overlap,
            include_incomplete=self.include_incomplete,
            start_time=self.start_time,
            end_time=self.end_time,
        )(events)
        return self._layout(np.asarray(frames, np.float32).reshape(-1, *shape))

    def frame_ends_us(self, events: np.ndarray) -> np.ndarray:
        """When each frame of ``events`` ends, in µs of event time after the slicing starts (the
        first event after denoising, or ``start_time``): the event time a decision taken after
        frame ``k`` waits for.

        With ``n_time_bins = n`` the slices have tonic's length ``w = ⌊(t_last - t_0) / n⌋ (1 +
        overlap)`` and stride ``w (1 - overlap)``; with ``time_window`` the length is
        ``time_window`` and the stride ``time_window - overlap``; so frame ``k`` (from 0) ends at
        ``k · stride + length``. Frames of a fixed ``event_count`` have no fixed duration.

        Returns:
            float64 ``[T]``, one entry per frame `__call__` returns (NaN for the frames of an
            empty stream with ``n_time_bins``, which has no event time).

        Raises:
            ValueError: with ``event_count``.

        Example:
            >>> import numpy as np
            >>> from spikejax.data import ToFrames
            >>> ev = np.zeros(3, dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
            >>> ev["t"] = [100, 150, 500]
            >>> to_frames = ToFrames((2, 2, 2), n_time_bins=4)
            >>> to_frames.frame_ends_us(ev).tolist()        # 4 bins of (500 - 100) // 4 = 100 µs
            [100.0, 200.0, 300.0, 400.0]
        """
        fn = "ToFrames.frame_ends_us"
        if self.event_count:
            raise ValueError(
                f"`{fn}`: frames of a fixed `event_count` ({self.event_count}) have no fixed "
                "duration; use `time_window` or `n_time_bins`."
            )
        events, _ = self._prepare(fn, events)
        if self.n_time_bins:
            n = self.n_time_bins
            if events.size == 0:
                return np.full(n, np.nan)
            t = events["t"]
            length = (t[-1] - t[0]) // n * (1 + self.overlap)
            stride = length * (1 - self.overlap)
        else:
            length, stride = self.time_window, self.time_window - self.overlap
            n = len(self(events)) if events.size else self._empty_frames()  # tonic's count
        return np.arange(n, dtype=np.float64) * float(stride) + float(length)

    def _prepare(self, fn: str, events: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
        """The checked events after polarity merging, denoising and downsampling, and the shape of
        one frame ``[polarities, (height,) width]``."""
        tt = optional_import("tonic.transforms", fn)
        names = getattr(getattr(events, "dtype", None), "names", None) or ()
        two_d = "y" in names
        if not {"x", "t", "p"} <= set(names) or (not two_d and self.sensor_size[1] != 1):
            need = "('x', 'y', 't', 'p')" if self.sensor_size[1] != 1 else "('x', 't', 'p')"
            raise TypeError(
                f"`{fn}`: `events` must be a structured array with fields {need} for sensor "
                f"{self.sensor_size}; got fields {names or None}."
            )
        check_events(fn, events, fields=names, sensor_size=self.sensor_size)
        width, height, polarities = self.frame_size
        shape = (polarities, height, width) if two_d else (polarities, width)
        events = events.copy()
        if polarities == 1 and events.size:
            values = np.unique(events["p"])
            if values.size > 1:
                raise ValueError(
                    f"`{fn}`: a sensor with one polarity channel needs events of one polarity; "
                    f"got polarities {values.tolist()}."
                )
            events["p"] = 0
        if self.denoise_us is not None and events.size:
            events = tt.Denoise(filter_time=self.denoise_us)(events)
        if self.spatial_factor is not None:
            events = tt.Downsample(spatial_factor=self.spatial_factor)(events)
        return events, shape

    def _layout(self, frames: np.ndarray) -> np.ndarray:
        # tonic counts into [T, C, ...]; the models read channels last.
        if not self.channels_last:
            return frames
        return np.ascontiguousarray(np.moveaxis(frames, 1, -1))
