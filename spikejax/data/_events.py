"""Checks shared by every event reader: field names, timestamps, coordinates, polarities.

An event stream is a NumPy structured array, one record per event, with tonic's field names
(``x``, ``y``, ``t``, ``p``; ``y`` is absent for one-dimensional sensors such as SHD's cochlea) and
``t`` in microseconds. Every reader in `spikejax.data` checks what it read with
`check_events` and names the sample (file and index) in the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["EVENT_DTYPE", "check_events"]

#: Event records of N-MNIST as tonic returns them (``tonic.datasets.NMNIST.dtype``: four ``int``
#: fields, which NumPy makes int64) and of `EventDigits`.
EVENT_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])


def check_events(
    fn: str,
    events: Any,
    *,
    fields: Sequence[str],
    sensor_size: tuple[int, int, int] | None = None,
    where: str = "`events`",
) -> None:
    """Raise unless ``events`` is a well-formed event stream.

    Args:
        fn: name of the calling function or class, used in the message.
        events: the structured array to check.
        fields: required field names, in order (tonic's ordering of the dataset).
        sensor_size: ``(width, height, polarities)``; when given, ``0 <= x < width``,
            ``0 <= y < height`` (if there is a ``y``) and ``0 <= p < polarities`` (``p`` in
            ``{0, 1}`` when ``polarities`` is 1, as SHD's constant polarity 1 is kept).
        where: how the message names the stream (a file, a sample index).

    Raises:
        TypeError: ``events`` is not a one-dimensional structured array with exactly ``fields``.
        ValueError: a timestamp is negative, timestamps decrease, or a coordinate or polarity lies
            outside the sensor.
    """
    names = getattr(getattr(events, "dtype", None), "names", None)
    if not isinstance(events, np.ndarray) or names is None:
        raise TypeError(
            f"`{fn}`: {where} must be a structured NumPy array with fields {tuple(fields)}; "
            f"got {type(events).__name__} with dtype {getattr(events, 'dtype', None)}."
        )
    if tuple(names) != tuple(fields):
        raise TypeError(
            f"`{fn}`: {where} must have the fields {tuple(fields)} in this order; got {names}."
        )
    if events.ndim != 1:
        raise ValueError(f"`{fn}`: {where} must be one-dimensional; got shape {events.shape}.")
    if events.size == 0:
        return
    t = events["t"]
    if np.issubdtype(t.dtype, np.floating) and not np.all(np.isfinite(t)):
        bad = int(np.flatnonzero(~np.isfinite(t))[0])
        raise ValueError(f"`{fn}`: timestamps of {where} must be finite; got t[{bad}] = {t[bad]}.")
    if np.any(t < 0):
        bad = int(np.flatnonzero(t < 0)[0])
        raise ValueError(
            f"`{fn}`: timestamps of {where} must be >= 0; got t[{bad}] = {t[bad]} (µs)."
        )
    if np.any(t[1:] < t[:-1]):
        bad = int(np.flatnonzero(t[1:] < t[:-1])[0]) + 1
        raise ValueError(
            f"`{fn}`: timestamps of {where} must be sorted (non-decreasing); "
            f"got t[{bad}] = {t[bad]} after t[{bad - 1}] = {t[bad - 1]}."
        )
    if sensor_size is None:
        return
    width, height, polarities = sensor_size
    limits = {"x": width, "y": height, "p": max(polarities, 2)}
    for name in ("x", "y", "p"):
        if name not in names:
            continue
        values = events[name].astype(np.int64)
        bad_mask = (values < 0) | (values >= limits[name])
        if np.any(bad_mask):
            bad = int(np.flatnonzero(bad_mask)[0])
            raise ValueError(
                f"`{fn}`: `{name}` of {where} must lie in [0, {limits[name]}) for sensor "
                f"{tuple(sensor_size)}; got {name}[{bad}] = {values[bad]}."
            )
