"""ES-ImageNet and Bullying10K readers on tiny files written here in the authors' native formats."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from spikejax.data import BULLYING10K_PACKET_DTYPE, Bullying10K, ESImageNet

pytest.importorskip("tonic")


# ------------------------------------------------------------------------------------ ES-ImageNet


def _es_sample(path: Path, pos, neg, dtype=np.uint8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, pos=np.asarray(pos, dtype).reshape(-1, 3), neg=np.asarray(neg, dtype).reshape(-1, 3)
    )


@pytest.fixture
def es_root(tmp_path):
    base = tmp_path / "ES-imagenet-0.18"
    # class10 sorts before class2 as text; numerically it is the later, larger label.
    _es_sample(base / "train/class10/class10_7.npz", [[20, 30, 1]], [[100, 200, 8], [5, 6, 3]])
    _es_sample(base / "train/class10/class10_2.npz", [[1, 2, 4]], [])
    _es_sample(base / "train/class2/class2_11.npz", [[50, 60, 2], [51, 61, 2]], [[52, 62, 2]])
    (base / "trainlabel.txt").write_text(
        "class10_7.npz 10 200 254\nclass10_2.npz 10 254 254\nclass2_11.npz 2 254 180\n"
    )
    _es_sample(base / "val/ILSVRC2012_val_00000002.npz", [[40, 40, 5]], [])
    _es_sample(base / "val/ILSVRC2012_val_00000001.npz", [], [[41, 42, 6]])
    (base / "vallabel.txt").write_text(
        "ILSVRC2012_val_00000001.npz 999 254 254\nILSVRC2012_val_00000002 3 254 254\n"
    )
    return tmp_path


def test_es_imagenet_labels_are_numeric_and_events_decode_as_documented(es_root):
    data = ESImageNet(es_root)
    assert data.labels.tolist() == [2, 10, 10]  # by label, then by the image number k
    assert [p.name for p in data.files] == ["class2_11.npz", "class10_2.npz", "class10_7.npz"]
    events, label = data[2]
    assert label == 10
    # Sorted by step; within a step pos before neg; x = column, y = row, p = 1 for pos.
    assert events[["x", "y", "t", "p"]].tolist() == [
        (30, 20, 1, True),
        (6, 5, 3, False),
        (200, 100, 8, False),
    ]
    val = ESImageNet(es_root, split="val")
    assert val.labels.tolist() == [3, 999]
    assert val.files[0].name == "ILSVRC2012_val_00000002.npz"


def test_es_imagenet_native_frames_put_step_t_in_frame_t_minus_1(es_root):
    data = ESImageNet(es_root)
    events, _ = data[2]
    frames = data.native_frames()(events)
    assert frames.shape == (8, 2, 256, 256)
    expected = np.zeros_like(frames)
    expected[0, 1, 20, 30] = 1  # pos → channel 1 (tonic: p = 1)
    expected[2, 0, 5, 6] = 1
    expected[7, 0, 100, 200] = 1
    np.testing.assert_array_equal(frames, expected)


def test_es_imagenet_centre_crop_matches_the_authors_arithmetic(es_root):
    data = ESImageNet(es_root, centre_crop=True)
    assert data.sensor_size == (224, 224, 2)
    events, _ = data[2]  # class10_7: a = 200, b = 254 → rows + 27, columns + 0, then − 16
    expected = [(30 - 16, 20 + 27 - 16), (6 - 16, 5 + 27 - 16), (200 - 16, 100 + 27 - 16)]
    kept = [(x, y) for x, y in expected if 0 <= x < 224 and 0 <= y < 224]
    assert events[["x", "y"]].tolist() == kept  # (6, 5) falls left of the crop
    assert data.image_sizes.tolist() == [[254, 180], [254, 254], [200, 254]]
    frames = data.native_frames()(events)
    assert frames.shape == (8, 2, 224, 224)


def test_es_imagenet_bad_input_names_the_file(es_root):
    base = es_root / "ES-imagenet-0.18"
    (base / "vallabel.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"vallabel\.txt"):
        ESImageNet(es_root, split="val")
    bad_step = base / "train/class2/class2_12.npz"
    _es_sample(bad_step, [[1, 1, 9]], [])
    data = ESImageNet(es_root)
    with pytest.raises(ValueError, match=r"class2_12\.npz.*1 … 8"):
        data.events(list(data.files).index(bad_step))
    _es_sample(bad_step, [[300, 1, 1]], [], dtype=np.uint16)
    with pytest.raises(ValueError, match=r"class2_12\.npz.*256 × 256"):
        data.events(list(data.files).index(bad_step))
    bad_step.write_bytes(bad_step.read_bytes()[:40])  # truncated
    with pytest.raises(ValueError, match=r"class2_12\.npz"):
        data.events(list(data.files).index(bad_step))
    _es_sample(base / "train/classX/classX_1.npz", [[1, 1, 1]], [])
    with pytest.raises(ValueError, match=r"class<L>.*classX"):
        ESImageNet(es_root)


def test_es_imagenet_label_list_must_agree_with_the_files(es_root):
    base = es_root / "ES-imagenet-0.18"
    (base / "vallabel.txt").write_text("ILSVRC2012_val_00000001.npz 5 254 254\n")
    with pytest.raises(ValueError, match=r"ILSVRC2012_val_00000002\.npz has no line"):
        ESImageNet(es_root, split="val")
    (base / "trainlabel.txt").write_text(
        "class10_7.npz 11 200 254\nclass10_2.npz 10 254 254\nclass2_11.npz 2 254 180\n"
    )
    with pytest.raises(ValueError, match=r"label 10 but trainlabel\.txt gives label 11"):
        ESImageNet(es_root, centre_crop=True)


# ------------------------------------------------------------------------------------ Bullying10K


def _packets(*sizes: int, start: int = 1_600_000_000_000_000) -> np.ndarray:
    """An object array of DV packets as the authors' files hold them."""
    array = np.empty(len(sizes), object)
    t = start
    for i, n in enumerate(sizes):
        packet = np.zeros(n, BULLYING10K_PACKET_DTYPE)
        packet["timestamp"] = t + np.arange(n) * 10
        packet["x"], packet["y"] = np.arange(n) % 346, np.arange(n) % 260
        packet["polarity"] = np.arange(n) % 2
        t += 10 * n
        array[i] = packet
    return array


@pytest.fixture
def bullying_root(tmp_path):
    for c, name in enumerate(Bullying10K.classes):
        for k in range(6):
            path = tmp_path / "Bullying10K" / name / f"{name}_p{k % 2}_L_1" / f"dvSave-{k}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, _packets(2 + c, 3), allow_pickle=True)
    return tmp_path


def test_bullying10k_split_labels_and_events(bullying_root):
    train, test = Bullying10K(bullying_root), Bullying10K(bullying_root, train=False)
    assert len(train) == 50 and len(test) == 10
    assert np.bincount(train.labels).tolist() == [5] * 10
    assert test.labels.tolist() == list(range(10))
    assert set(train.files).isdisjoint(test.files)
    # Every 5th of the sorted paths of a class is a test sample.
    in_class = sorted((bullying_root / "Bullying10K" / "greeting").rglob("*.npy"))
    assert test.files[1] == in_class[4]
    events, label = test[1]
    assert Bullying10K.classes[label] == "greeting"
    records = np.concatenate(list(np.load(in_class[4], allow_pickle=True)))
    assert events.size == records.size == 2 + 1 + 3
    np.testing.assert_array_equal(events["t"], records["timestamp"] - records["timestamp"][0])
    np.testing.assert_array_equal(events["x"], records["x"])
    np.testing.assert_array_equal(events["p"], records["polarity"] == 1)


def test_bullying10k_refuses_a_malicious_pickle_without_running_it(bullying_root, tmp_path):
    sentinel = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    path = sorted((bullying_root / "Bullying10K" / "kicking").rglob("*.npy"))[0]
    np.save(path, np.array([Evil(), None], dtype=object), allow_pickle=True)
    data = Bullying10K(bullying_root)
    with pytest.raises(ValueError, match=rf"{path.name}.*not allowed"):
        data.events(data.files.index(path))
    assert not sentinel.exists()


def test_bullying10k_bad_files_are_named(bullying_root):
    data = Bullying10K(bullying_root)
    path = data.files[0]
    wrong = np.empty(1, object)
    wrong[0] = np.zeros(3, [("t", "<i8"), ("x", "<i2")])
    np.save(path, wrong, allow_pickle=True)
    with pytest.raises(ValueError, match=rf"packet 0 of .*{path.name}"):
        data.events(0)
    np.save(path, _packets(4), allow_pickle=True)
    path.write_bytes(path.read_bytes()[:-20])  # truncated
    with pytest.raises(ValueError, match=path.name):
        data.events(0)
    plain = _packets(4)[0]  # a plain structured array is one packet
    plain["polarity"][2] = 2
    np.save(path, plain)
    with pytest.raises(ValueError, match=rf"polarities of .*{path.name}"):
        data.events(0)
    plain["polarity"][2], plain["x"][1] = 1, 346
    np.save(path, plain)
    with pytest.raises(ValueError, match=r"`x` of .*must lie in \[0, 346\)"):
        data.events(0)


def test_bullying10k_missing_or_unknown_class_folders(bullying_root):
    (bullying_root / "Bullying10K" / "extra").mkdir()
    with pytest.raises(ValueError, match="got also extra"):
        Bullying10K(bullying_root)
    (bullying_root / "Bullying10K" / "extra").rmdir()
    for path in (bullying_root / "Bullying10K" / "walking").rglob("*.npy"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match=r"walking\.zip"):
        Bullying10K(bullying_root)


def test_pickle_protocols_written_by_numpy_are_read(bullying_root):
    path = sorted((bullying_root / "Bullying10K" / "pushing").rglob("*.npy"))[0]
    for protocol in (2, 3, 4, 5):
        with path.open("wb") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "|O", "fortran_order": False, "shape": (2,)}
            )
            pickle.dump(_packets(3, 2), f, protocol=protocol)
        data = Bullying10K(bullying_root)
        assert data.events(data.files.index(path)).size == 5


def test_to_frames_start_and_end_need_a_time_window():
    from spikejax.data import ToFrames

    with pytest.raises(ValueError, match="`start_time` needs `time_window`"):
        ToFrames((4, 4, 2), n_time_bins=8, start_time=1)
    with pytest.raises(ValueError, match="`end_time` must be > `start_time`"):
        ToFrames((4, 4, 2), time_window=1, start_time=9, end_time=1)
    empty = np.empty(0, Bullying10K.dtype)
    assert ToFrames((4, 4, 2), time_window=1, start_time=1, end_time=9)(empty).shape[0] == 8


# ------------------------------------------------------------------------------------ experiments

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@pytest.mark.parametrize(
    ("name", "reader", "shape", "classes", "T"),
    [
        ("es_imagenet_sew_resnet18", "ESImageNet", (224, 224, 2), 1000, 8),
        ("bullying10k_conv", "Bullying10K", (65, 87, 2), 10, 16),
    ],
)
def test_recipes_fit_their_data_and_stop_on_missing_data(tmp_path, name, reader, shape, classes, T):
    from spikejax import models
    from spikejax.config import apply_overrides, load_config
    from spikejax.data import ToFrames
    from spikejax.train import fit

    config = load_config(EXPERIMENTS / name / "config.py")
    assert config.name == name and config.train.num_steps == T
    for part in ("README.md", "results.md"):
        assert (EXPERIMENTS / name / part).is_file()
    meta = models.info(config.model.name, **config.model.options)
    assert (meta.input_shape, meta.num_classes, meta.T) == (shape, classes, T)
    if name == "bullying10k_conv":  # the frames the pipeline makes fit the model's input
        frames = ToFrames(Bullying10K.sensor_size, n_time_bins=T,
                          spatial_factor=config.data.spatial_factor)  # fmt: skip
        width, height, polarities = frames.frame_size
        assert (height, width, polarities) == shape
    empty = tmp_path / "empty"
    empty.mkdir()
    config = apply_overrides(config, [f"data.root={empty}"])
    with pytest.raises(FileNotFoundError, match=f"`{reader}`: expected the directory"):
        fit(config, tmp_path / "run", progress=False, plots=False)
