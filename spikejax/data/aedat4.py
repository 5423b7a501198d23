"""A reader for AEDAT 4.0 event files (iniVation DV), as used by CIFAR10-DVS.

Layout (https://docs.inivation.com/software/software-advanced-usage/file-formats/aedat-4.0.html):
the magic line ``#!AER-DAT4.0\\r\\n``, a u32 length and a flatbuffer ``IOHeader`` (compression,
data-table position, an XML description of the streams with ``typeIdentifier`` and
``sizeX``/``sizeY``), then packets: an i32 stream id, a u32 byte length and a size-prefixed
flatbuffer (``EVTS`` for events: a vector of 16-byte structs ``i64 t (µs), i16 x, i16 y, u8 on``
plus 3 padding bytes). Reading stops at the end of the file or at the data table.

Uncompressed files are parsed here with NumPy alone. LZ4- and Zstd-compressed files are read
through the ``aedat`` package (the reader tonic uses), which must then be installed.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from spikejax.data._events import check_events

__all__ = ["AEDAT4_DTYPE", "read_aedat4"]

#: Events as tonic's ``CIFAR10DVS`` returns them (``t`` µs, ``x``, ``y``, ``p`` = ON).
AEDAT4_DTYPE = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])

_MAGIC = b"#!AER-DAT4.0\r\n"
_COMPRESSION = {0: "none", 1: "LZ4", 2: "LZ4 (high)", 3: "Zstd", 4: "Zstd (high)"}
_RAW_EVENT = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("on", "u1"), ("pad", "V3")])


class _Buffer:
    """Bounds-checked little-endian reads from ``data``; errors name the file."""

    def __init__(self, data: bytes, path: Path, what: str):
        self.data, self.path, self.what = data, path, what

    def fail(self, rule: str) -> ValueError:
        return ValueError(f"`read_aedat4`: {self.path} is not a valid AEDAT 4.0 file: {rule}.")

    def unpack(self, fmt: str, pos: int) -> int:
        if pos < 0 or pos + struct.calcsize(fmt) > len(self.data):
            raise self.fail(f"{self.what} is truncated (read at byte {pos})")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def field(self, table: int, index: int) -> int | None:
        """Position of flatbuffer field ``index`` of the table at ``table`` (None if absent)."""
        vtable = table - self.unpack("<i", table)
        entry = 4 + 2 * index
        if entry >= self.unpack("<H", vtable):
            return None
        offset = self.unpack("<H", vtable + entry)
        return table + offset if offset else None

    def indirect(self, pos: int) -> int:
        return pos + self.unpack("<I", pos)


def _streams(description: str, buf: _Buffer) -> dict[int, tuple[str, int, int]]:
    try:
        root = ET.fromstring(description)
    except ET.ParseError as error:
        raise buf.fail(f"the header's XML description does not parse ({error})") from None
    out_info = next((n for n in root.findall("node") if n.get("name") == "outInfo"), None)
    if root.tag != "dv" or out_info is None:
        raise buf.fail("the header's description has no <dv><node name='outInfo'>")
    streams = {}
    for node in out_info.findall("node"):
        attrs = {a.get("key"): (a.text or "") for a in node.findall("attr")}
        info = next((n for n in node.findall("node") if n.get("name") == "info"), None)
        info_attrs = info.findall("attr") if info is not None else []
        sizes = {a.get("key"): (a.text or "") for a in info_attrs}
        try:
            streams[int(node.get("name", ""))] = (
                attrs.get("typeIdentifier", ""),
                int(sizes.get("sizeX", 0)),
                int(sizes.get("sizeY", 0)),
            )
        except ValueError:
            raise buf.fail(f"stream {node.get('name')!r} has a non-integer id or size") from None
    return streams


def _read_compressed(path: Path, name: str, stream_id: int) -> np.ndarray:
    try:
        import aedat
    except ImportError:
        raise ImportError(
            f"`read_aedat4`: {path} is {name}-compressed; reading it needs the `aedat` package "
            "(pip install aedat)."
        ) from None
    packets = [p["events"] for p in aedat.Decoder(str(path)) if p["stream_id"] == stream_id]
    events = np.empty(sum(len(p) for p in packets), AEDAT4_DTYPE)
    for ours, theirs in (("t", "t"), ("x", "x"), ("y", "y"), ("p", "on")):
        events[ours] = np.concatenate(
            [np.zeros(0, AEDAT4_DTYPE[ours]), *(p[theirs] for p in packets)]
        )
    return events


def read_aedat4(path: str | Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Read the polarity events of an AEDAT 4.0 file.

    The events stream with the lowest stream id is read (as tonic does); other streams (frames,
    IMU, triggers) are skipped.

    Args:
        path: the ``.aedat4`` file.

    Returns:
        ``(events, (width, height))``: events with fields ``t`` (µs), ``x``, ``y``, ``p`` (ON =
        True), dtype `AEDAT4_DTYPE`, and the sensor size from the header.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not AEDAT 4.0, is truncated, has no events stream, or its events
            have negative or decreasing timestamps or lie outside the sensor.
        ImportError: the file is compressed and ``aedat`` is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`read_aedat4`: expected the file {path}; it does not exist.")
    data = path.read_bytes()
    buf = _Buffer(data, path, "the header")
    if not data.startswith(_MAGIC):
        raise buf.fail(f"it must start with {_MAGIC!r}; got {data[: len(_MAGIC)]!r}")
    length = buf.unpack("<I", len(_MAGIC))
    start = len(_MAGIC) + 4
    header = _Buffer(data[start : start + length], path, "the header")
    table = header.indirect(0)
    at = header.field(table, 0)
    compression = header.unpack("<i", at) if at is not None else 0
    at = header.field(table, 1)
    table_pos = header.unpack("<q", at) if at is not None else -1
    at = header.field(table, 2)
    if at is None:
        raise buf.fail("the header has no description")
    text = header.indirect(at)
    size = header.unpack("<I", text)
    description = header.data[text + 4 : text + 4 + size].decode("utf-8", errors="replace")
    streams = _streams(description, buf)
    event_ids = sorted(i for i, (kind, _, _) in streams.items() if kind == "EVTS")
    if not event_ids:
        raise buf.fail("it has no events (EVTS) stream")
    stream_id = event_ids[0]
    sensor = streams[stream_id][1:]
    if compression not in _COMPRESSION:
        raise buf.fail(f"unknown compression code {compression}")

    if compression != 0:
        events = _read_compressed(path, _COMPRESSION[compression], stream_id)
    else:
        chunks = []
        pos = start + length
        while pos < len(data) and pos != table_pos:
            packet_id = buf.unpack("<i", pos)
            size = buf.unpack("<I", pos + 4)
            if pos + 8 + size > len(data):
                raise buf.fail(f"the packet at byte {pos} is truncated")
            if packet_id == stream_id:
                packet = _Buffer(data[pos + 8 : pos + 8 + size], path, f"the packet at byte {pos}")
                if packet.data[8:12] != b"EVTS":
                    raise buf.fail(f"the packet at byte {pos} is not an EVTS packet")
                vector_at = packet.field(packet.indirect(4), 0)
                count = 0 if vector_at is None else packet.unpack("<I", packet.indirect(vector_at))
                first = 0 if vector_at is None else packet.indirect(vector_at) + 4
                if first + count * _RAW_EVENT.itemsize > len(packet.data):
                    raise packet.fail(f"the packet at byte {pos} is truncated")
                chunks.append(np.frombuffer(packet.data, _RAW_EVENT, count, first))
            pos += 8 + size
        raw = np.concatenate([np.zeros(0, _RAW_EVENT), *chunks])
        check_events(
            "read_aedat4",
            raw[["t", "x", "y"]],
            fields=("t", "x", "y"),
            sensor_size=(sensor[0], sensor[1], 2),
            where=str(path),
        )
        events = np.empty(raw.size, AEDAT4_DTYPE)
        for name in ("t", "x", "y"):
            events[name] = raw[name]
        events["p"] = raw["on"] != 0
    check_events(
        "read_aedat4",
        events,
        fields=AEDAT4_DTYPE.names,
        sensor_size=(sensor[0], sensor[1], 2),
        where=str(path),
    )
    return events, (int(sensor[0]), int(sensor[1]))
