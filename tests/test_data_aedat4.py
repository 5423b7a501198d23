"""AEDAT 4.0 reader and CIFAR10-DVS adapter on tiny files written here byte by byte."""

import re
import struct

import numpy as np
import pytest

from spikejax.data import AEDAT4_DTYPE, CIFAR10DVS, read_aedat4


def description(streams):
    """DV's XML description; ``streams`` maps id -> (typeIdentifier, width, height)."""
    nodes = "".join(
        f'<node name="{i}" path="/mainloop/output_file/outInfo/{i}/">'
        f'<attr key="compression" type="string">NONE</attr>'
        f'<attr key="typeIdentifier" type="string">{kind}</attr>'
        f'<node name="info" path="/mainloop/output_file/outInfo/{i}/info/">'
        f'<attr key="sizeX" type="int">{w}</attr><attr key="sizeY" type="int">{h}</attr>'
        f"</node></node>"
        for i, (kind, w, h) in streams.items()
    )
    out_info = '<node name="outInfo" path="/mainloop/output_file/outInfo/">'
    return f'<dv version="2.0">{out_info}{nodes}</node></dv>'


def ioheader(compression, data_table, text):
    """Flatbuffer IOHeader: root offset, "IOHE", vtable (3 fields), table, string."""
    text = text.encode()
    vtable = struct.pack("<5H", 10, 20, 4, 8, 16)  # sizes; offsets of compression, table pos, text
    table = struct.pack("<iiqI", 24 - 8, compression, data_table, 44 - 40)
    body = struct.pack("<I", 24) + b"IOHE" + vtable + b"\0" * 6 + table
    assert len(body) == 44
    body += struct.pack("<I", len(text)) + text + b"\0"
    return body + b"\0" * (-len(body) % 4)


def event_packet(t, x, y, on):
    """Size-prefixed flatbuffer EventPacket with 16-byte Event structs (8-aligned)."""
    raw = np.zeros(len(t), [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("on", "u1"), ("_", "V3")])
    raw["t"], raw["x"], raw["y"], raw["on"] = t, x, y, on
    body = (
        struct.pack("<I", 16)  # root table at 4 + 16
        + b"EVTS"
        + struct.pack("<3H", 6, 8, 4)  # vtable: size, table size, offset of `elements`
        + b"\0\0"
        + struct.pack("<iI", 20 - 12, 28 - 24)  # table: vtable offset, vector offset
        + struct.pack("<I", len(t))
        + raw.tobytes()
    )
    return struct.pack("<I", len(body)) + body


def write_aedat4(path, packets, *, streams=None, sensor=(128, 128), table=b"", compress=None):
    """``packets``: list of (stream id, (t, x, y, on)); a trailing data table when ``table``."""
    streams = streams or {0: ("EVTS", *sensor)}
    blobs = b""
    for stream, fields in packets:
        blob = event_packet(*fields)
        if compress is not None:
            blob = compress(blob)
        blobs += struct.pack("<iI", stream, len(blob)) + blob
    code = 0 if compress is None else 1
    header = ioheader(code, -1, description(streams))
    start = 14 + 4 + len(header)
    data_table = start + len(blobs) if table else -1
    header = ioheader(code, data_table, description(streams))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(header)) + header + blobs + table)


A = ([10, 20, 20], [0, 127, 5], [3, 0, 127], [1, 0, 1])
B = ([20, 35], [64, 1], [64, 2], [0, 1])
OTHER = ([1], [9], [9], [1])  # a second events stream (higher id): skipped, as tonic does


def expected(*chunks):
    t, x, y, on = (np.concatenate([c[i] for c in chunks]) for i in range(4))
    return list(zip(t.tolist(), x.tolist(), y.tolist(), (on != 0).tolist(), strict=True))


@pytest.fixture
def aedat_file(tmp_path):
    path = tmp_path / "rec.aedat4"
    streams = {0: ("EVTS", 128, 128), 3: ("EVTS", 128, 128)}
    write_aedat4(path, [(0, A), (3, OTHER), (0, B)], streams=streams, table=b"\x01" * 40)
    return path


def test_read_aedat4_returns_written_events(aedat_file):
    events, size = read_aedat4(aedat_file)
    assert size == (128, 128)
    assert events.dtype == AEDAT4_DTYPE
    assert events.tolist() == expected(A, B)


def test_dtype_matches_tonic():
    tonic = pytest.importorskip("tonic")
    assert AEDAT4_DTYPE == tonic.datasets.CIFAR10DVS.dtype


@pytest.mark.parity
def test_read_aedat4_matches_aedat_package(aedat_file):
    aedat = pytest.importorskip("aedat")
    decoder = aedat.Decoder(str(aedat_file))
    assert decoder.id_to_stream()[0] == {"type": "events", "width": 128, "height": 128}
    theirs = np.concatenate([p["events"] for p in decoder if p["stream_id"] == 0])
    ours, _ = read_aedat4(aedat_file)
    assert ours["t"].tolist() == theirs["t"].tolist()
    assert ours["x"].tolist() == theirs["x"].tolist()
    assert ours["p"].tolist() == theirs["on"].tolist()


@pytest.mark.parity
def test_compressed_files_are_read_through_aedat(tmp_path):
    pytest.importorskip("aedat")
    lz4_frame = pytest.importorskip("lz4.frame")
    path = tmp_path / "lz4.aedat4"
    write_aedat4(path, [(0, A), (0, B)], compress=lz4_frame.compress)
    events, _ = read_aedat4(path)
    assert events.dtype == AEDAT4_DTYPE and events.tolist() == expected(A, B)


def test_empty_event_stream(tmp_path):
    path = tmp_path / "empty.aedat4"
    write_aedat4(path, [])
    events, _ = read_aedat4(path)
    assert events.dtype == AEDAT4_DTYPE and events.size == 0


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        (([5, 4], [0, 0], [0, 0], [0, 0]), "sorted"),
        (([-1], [0], [0], [0]), ">= 0"),
        (([1], [0], [128], [0]), r" must lie in \[0, 128\).*y\[0\] = 128"),
    ],
)
def test_bad_events_name_the_file(tmp_path, fields, rule):
    path = tmp_path / "bad.aedat4"
    write_aedat4(path, [(0, fields)])
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}.*{rule}"):
        read_aedat4(path)


def test_not_aedat4(tmp_path):
    path = tmp_path / "x.aedat4"
    path.write_bytes(b"#!AER-DAT2.0\r\n" + b"\0" * 20)
    with pytest.raises(ValueError, match=r"is not a valid AEDAT 4.0 file.*must start with"):
        read_aedat4(path)


def test_truncated_packet(tmp_path):
    path = tmp_path / "cut.aedat4"
    write_aedat4(path, [(0, A)])
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_aedat4(path)


def test_no_events_stream(tmp_path):
    path = tmp_path / "imu.aedat4"
    write_aedat4(path, [], streams={0: ("IMUS", 0, 0)})
    with pytest.raises(ValueError, match="no events"):
        read_aedat4(path)


# ------------------------------------------------------------------------------------ CIFAR10-DVS


def test_cifar10dvs_layout_and_labels(tmp_path):
    root = tmp_path / "CIFAR10DVS"
    write_aedat4(root / "truck" / "cifar10_truck_0.aedat4", [(0, B)])
    write_aedat4(root / "airplane" / "cifar10_airplane_1.aedat4", [(0, A)])
    write_aedat4(root / "airplane" / "cifar10_airplane_0.aedat4", [(0, A)])
    data = CIFAR10DVS(tmp_path, transform=len)
    assert [p.name for p in data.files] == [
        "cifar10_airplane_0.aedat4",
        "cifar10_airplane_1.aedat4",
        "cifar10_truck_0.aedat4",
    ]
    assert data.labels.tolist() == [0, 0, 9]
    assert data[2] == (2, 9)
    assert data.events(1).tolist() == expected(A)


def test_cifar10dvs_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "CIFAR10DVS"))):
        CIFAR10DVS(tmp_path)


def test_cifar10dvs_empty(tmp_path):
    (tmp_path / "CIFAR10DVS" / "cat").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no `.aedat4` files"):
        CIFAR10DVS(tmp_path)


def test_cifar10dvs_unknown_class_folder(tmp_path):
    write_aedat4(tmp_path / "CIFAR10DVS" / "unicorn" / "a.aedat4", [(0, A)])
    with pytest.raises(ValueError, match=r"class folder.*unicorn"):
        CIFAR10DVS(tmp_path)


def test_cifar10dvs_wrong_sensor(tmp_path):
    write_aedat4(tmp_path / "CIFAR10DVS" / "cat" / "a.aedat4", [(0, A)], sensor=(346, 260))
    with pytest.raises(ValueError, match=r"128×128 sensor; its header says \(346, 260\)"):
        CIFAR10DVS(tmp_path)[0]
