"""N-MNIST, SHD and DVS128 Gesture adapters on tiny roots written here in each native format."""

import re

import numpy as np
import pytest

pytest.importorskip("tonic")
h5py = pytest.importorskip("h5py")

from spikejax.data import NMNIST, SHD, DVSGesture  # noqa: E402

# ---------------------------------------------------------------------------------------- N-MNIST


def write_nmnist_bin(path, records):
    """Orchard's 5-byte format; ``records`` are (x, y, t, p) with t < 2**23 (y = 240: overflow)."""
    out = bytearray()
    for x, y, t, p in records:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))


def as_tuples(events, fields):
    return [tuple(int(e[f]) for f in fields) for e in events]


@pytest.fixture
def nmnist_root(tmp_path):
    train = tmp_path / "NMNIST" / "Train"
    # Sample 0 (label 3): an overflow marker (y == 240) between the 2nd and 3rd event.
    write_nmnist_bin(
        train / "3" / "00007.bin",
        [(0, 0, 5, 1), (33, 12, 8_000, 0), (7, 240, 0, 0), (4, 33, 100, 1), (5, 6, 8_000, 0)],
    )
    write_nmnist_bin(train / "0" / "00002.bin", [(1, 2, 10, 0), (3, 4, 120_000, 1)])
    return tmp_path


def test_nmnist_reads_bin_files_with_overflow_marker(nmnist_root):
    data = NMNIST(nmnist_root)
    assert len(data) == 2
    assert [p.name for p in data.files] == ["00002.bin", "00007.bin"]  # sorted by path
    assert data.labels.tolist() == [0, 3]
    events, label = data[1]
    assert label == 3
    assert events.dtype.names == ("x", "y", "t", "p")
    # The marker is dropped; later events are 8,192 µs later than stored.
    expected = [(0, 0, 5, 1), (33, 12, 8_000, 0), (4, 33, 8_292, 1), (5, 6, 16_192, 0)]
    assert as_tuples(events, "xytp") == expected
    assert data.sensor_size == (34, 34, 2)


def test_nmnist_dtype_matches_tonic():
    import tonic

    assert NMNIST.dtype == np.dtype(tonic.datasets.NMNIST.dtype)


def test_nmnist_first_saccade_only_and_transform(nmnist_root):
    data = NMNIST(nmnist_root, first_saccade_only=True, transform=len)
    assert data[0] == (1, 0)  # 120,000 µs is after the first saccade
    assert data[-1] == (4, 3)


def test_nmnist_missing_root_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "NMNIST" / "Test"))):
        NMNIST(tmp_path, train=False)


def test_nmnist_empty_folder(tmp_path):
    (tmp_path / "NMNIST" / "Train" / "0").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no `.bin` files.*empty"):
        NMNIST(tmp_path)


def test_nmnist_label_folder_out_of_range(tmp_path):
    write_nmnist_bin(tmp_path / "NMNIST" / "Train" / "12" / "1.bin", [(0, 0, 1, 0)])
    with pytest.raises(ValueError, match="one of 0 … 9; got '12'"):
        NMNIST(tmp_path)


def test_nmnist_unsorted_timestamps_name_the_file(tmp_path):
    path = tmp_path / "NMNIST" / "Train" / "1" / "bad.bin"
    write_nmnist_bin(path, [(0, 0, 50, 0), (1, 1, 40, 1)])
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}.*sorted.*t\\[1\\] = 40"):
        NMNIST(tmp_path)[0]


def test_nmnist_truncated_file(tmp_path):
    path = tmp_path / "NMNIST" / "Train" / "1" / "bad.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="7 bytes"):
        NMNIST(tmp_path)[0]


def test_nmnist_coordinates_outside_sensor(tmp_path):
    write_nmnist_bin(tmp_path / "NMNIST" / "Train" / "1" / "a.bin", [(34, 0, 1, 0)])
    with pytest.raises(ValueError, match=r"`x` of .*a.bin must lie in \[0, 34\).*got x\[0\] = 34"):
        NMNIST(tmp_path)[0]


# -------------------------------------------------------------------------------------------- SHD

SHD_TIMES = [
    np.array([0.00523, 0.5, 1.25, 1.25], np.float16),
    np.array([], np.float16),
    np.array([0.1], np.float16),
]
SHD_UNITS = [
    np.array([3, 699, 0, 5], np.uint16),
    np.array([], np.uint16),
    np.array([42], np.uint16),
]


def write_shd(path, times, units, labels, keys=True):
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(np.float16))
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (ti, ui) in enumerate(zip(times, units, strict=True)):
            t[i], u[i] = ti, ui
        f["labels"] = np.asarray(labels, np.uint16)
        if keys:
            names = [f"english {d}" for d in range(10)] + [f"german {d}" for d in range(10)]
            f["extra/keys"] = np.array([n.encode() for n in names])
            f["extra/speaker"] = np.zeros(len(labels), np.uint16)


@pytest.fixture
def shd_root(tmp_path):
    write_shd(tmp_path / "SHD" / "shd_test.h5", SHD_TIMES, SHD_UNITS, [7, 0, 19])
    return tmp_path


def test_shd_reads_hdf5(shd_root):
    data = SHD(shd_root, train=False)
    assert len(data) == 3 and data.labels.tolist() == [7, 0, 19]
    assert data.classes[0] == "english 0" and data.classes[19] == "german 9"
    events, label = data[0]
    assert label == 7 and events.dtype.names == ("t", "x", "p")
    # float16 seconds -> float64 -> µs, truncated (0.00523 in float16 is 0.0052299...).
    expected_t = [int(float(s) * 1e6) for s in SHD_TIMES[0]]
    assert expected_t[0] == 5229
    assert events["t"].tolist() == expected_t
    assert events["x"].tolist() == SHD_UNITS[0].tolist()
    assert np.all(events["p"] == 1)
    assert len(data[1][0]) == 0
    data.close()


def test_shd_large_times_do_not_overflow(tmp_path):
    times = [np.array([1.0, 65.0, 1000.0], np.float16)]  # 1000 s · 1e6 overflows float16
    write_shd(tmp_path / "SHD" / "shd_train.h5", times, [np.array([0, 1, 2], np.uint16)], [1])
    assert SHD(tmp_path)[0][0]["t"].tolist() == [1_000_000, 65_000_000, 1_000_000_000]


def test_shd_missing_file_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "SHD" / "shd_train.h5"))):
        SHD(tmp_path)


def test_shd_empty_file(tmp_path):
    write_shd(tmp_path / "SHD" / "shd_train.h5", [], [], [])
    with pytest.raises(ValueError, match="no samples"):
        SHD(tmp_path)


def test_shd_label_out_of_range(tmp_path):
    write_shd(tmp_path / "SHD" / "shd_train.h5", SHD_TIMES, SHD_UNITS, [1, 20, 3])
    with pytest.raises(ValueError, match=r"\[0, 20\); got labels\[1\] = 20"):
        SHD(tmp_path)


@pytest.mark.parametrize(
    ("times", "rule"),
    [([0.5, -0.1], "must be finite and >= 0; got t\\[1\\]"), ([0.5, 0.25], "sorted")],
)
def test_shd_bad_timestamps_name_the_sample(tmp_path, times, rule):
    times = [np.array([0.1], np.float16), np.array(times, np.float16)]
    units = [np.array([1], np.uint16), np.array([1, 2], np.uint16)]
    write_shd(tmp_path / "SHD" / "shd_train.h5", times, units, [0, 1])
    data = SHD(tmp_path)
    data[0]
    with pytest.raises(ValueError, match=f"sample 1 of .*shd_train.h5.*{rule}"):
        data[1]


@pytest.mark.parity
def test_shd_matches_tonic(shd_root):
    import tonic

    (shd_root / "SHD" / "shd_test.h5.zip").touch()  # tonic only checks that the archive exists
    theirs = tonic.datasets.SHD(str(shd_root), train=False)
    ours = SHD(shd_root, train=False)
    for i in range(len(ours)):
        (a, la), (b, lb) = ours[i], theirs[i]
        assert la == lb and a.dtype == b.dtype and a.tolist() == b.tolist()


# ------------------------------------------------------------------------------------- DVSGesture


def write_gesture(root, folder, user, lighting, label, rows, dtype=np.float64):
    path = root / "DVSGesture" / folder / f"user{user:02d}_{lighting}" / f"{label}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(rows, dtype))
    return path


@pytest.fixture
def gesture_root(tmp_path):
    rows_a = [[0, 127, 1, 5000], [64, 3, 0, 5000], [127, 0, 1, 5012]]  # x, y, p, t (ms)
    write_gesture(tmp_path, "ibmGestureTrain", 2, "led", 10, rows_a)
    write_gesture(tmp_path, "ibmGestureTrain", 1, "fluorescent_led", 3, [[1, 2, 0, 7]], np.int32)
    return tmp_path


def test_dvsgesture_reads_npy_tree(gesture_root):
    data = DVSGesture(gesture_root)
    assert len(data) == 2
    assert data.labels.tolist() == [3, 10] and data.users.tolist() == [1, 2]
    assert data.lighting == ("fluorescent_led", "led")
    events, label = data[1]
    assert label == 10 and events.dtype == np.dtype(
        [("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")]
    )
    assert as_tuples(events, "xypt") == [
        (0, 127, 1, 5_000_000),
        (64, 3, 0, 5_000_000),
        (127, 0, 1, 5_012_000),
    ]
    assert as_tuples(data[0][0], "xypt") == [(1, 2, 0, 7000)]


def test_dvsgesture_missing_root(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=re.escape(str(tmp_path / "DVSGesture" / "ibmGestureTest"))
    ):
        DVSGesture(tmp_path, train=False)


def test_dvsgesture_empty(tmp_path):
    (tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_led").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no `.npy` files"):
        DVSGesture(tmp_path)


def test_dvsgesture_label_out_of_range(tmp_path):
    write_gesture(tmp_path, "ibmGestureTrain", 1, "led", 11, [[0, 0, 0, 1]])
    with pytest.raises(ValueError, match=r"one of 0 … 10; got '11.npy'"):
        DVSGesture(tmp_path)


def test_dvsgesture_bad_folder(tmp_path):
    path = tmp_path / "DVSGesture" / "ibmGestureTrain" / "someone" / "1.npy"
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros((1, 4)))
    with pytest.raises(ValueError, match="userNN_<lighting>"):
        DVSGesture(tmp_path)


@pytest.mark.parametrize(
    ("rows", "rule"),
    [
        ([[0, 0, 0, 10], [0, 0, 1, 9]], "sorted"),
        ([[0, 0, 0, -1]], ">= 0"),
        ([[0, 128, 0, 1]], r"\[0, 128\)"),
        ([[0, 0, 2, 1]], "p must be 0 or 1"),
    ],
)
def test_dvsgesture_bad_events_name_the_file(tmp_path, rows, rule):
    path = write_gesture(tmp_path, "ibmGestureTrain", 1, "led", 0, rows)
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}.*{rule}"):
        DVSGesture(tmp_path)[0]


@pytest.mark.parity
def test_dvsgesture_matches_tonic(gesture_root, monkeypatch):
    import tonic

    monkeypatch.setattr(tonic.datasets.DVSGesture, "_check_exists", lambda self: True)
    theirs = tonic.datasets.DVSGesture(str(gesture_root))
    ours = DVSGesture(gesture_root)
    by_path = dict(zip(theirs.data, range(len(theirs)), strict=True))
    for i, path in enumerate(ours.files):
        (a, la), (b, lb) = ours[i], theirs[by_path[str(path)]]
        assert la == lb and a.dtype == b.dtype and a.tolist() == b.tolist()
