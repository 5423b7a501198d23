"""CIFAR-10 (python pickles) and class-folder images (ImageNet layout) on tiny files."""

import builtins
import os
import pickle
import re

import numpy as np
import pytest

from spikejax.data import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageFolder,
    load_cifar10,
)


def write_batch(path, data, labels, *, byte_keys=True):
    key = (lambda k: k.encode()) if byte_keys else (lambda k: k)
    batch = {key("batch_label"): b"x", key("data"): data, key("labels"): labels}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(batch, f, protocol=2)


def cifar_root(tmp_path, n=2, seed=0):
    """Five training batches of ``n`` images and a test batch of ``n + 1``; returns the raw rows."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / "cifar-10-batches-py"
    rows = {}
    for name, count in [(f"data_batch_{i}", n) for i in range(1, 6)] + [("test_batch", n + 1)]:
        data = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, count).tolist()
        write_batch(folder / name, data, labels, byte_keys=name != "test_batch")
        rows[name] = (data, labels)
    return rows


def test_cifar10_reads_rows_as_channels_last_images(tmp_path):
    rows = cifar_root(tmp_path)
    images, labels = load_cifar10(tmp_path, "train")
    assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8 and labels.dtype == np.int64
    for k in range(10):  # batch k // 2, image k % 2, in file order
        data, batch_labels = rows[f"data_batch_{k // 2 + 1}"]
        row = data[k % 2]
        for r, c in ((0, 0), (3, 17), (31, 31)):
            rgb = [row[channel * 1024 + r * 32 + c] for channel in range(3)]
            assert images[k, r, c].tolist() == rgb
        assert labels[k] == batch_labels[k % 2]
    test_images, test_labels = load_cifar10(tmp_path, "test")  # str keys are read too
    assert test_images.shape == (3, 32, 32, 3) and test_labels.tolist() == rows["test_batch"][1]


def test_cifar10_normalisation(tmp_path):
    cifar_root(tmp_path)
    raw, _ = load_cifar10(tmp_path, "test")
    x, _ = load_cifar10(tmp_path, "test", normalize=True)
    expected = (raw.astype(np.float64) / 255 - np.array(CIFAR10_MEAN)) / np.array(CIFAR10_STD)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-6)


def test_cifar10_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"`load_cifar10`: expected the directory .*cifar"):
        load_cifar10(tmp_path)
    cifar_root(tmp_path)
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with pytest.raises(FileNotFoundError, match=r"expected the file .*data_batch_3"):
        load_cifar10(tmp_path, "train")
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    write_batch(path, np.zeros((2, 100), np.uint8), [0, 1])
    with pytest.raises(ValueError, match=r"'data' of .*test_batch must be uint8 \[N, 3072\]"):
        load_cifar10(tmp_path, "test")
    write_batch(path, np.zeros((2, 3072), np.uint8), [0, 10])
    with pytest.raises(ValueError, match=r"must lie in \[0, 9\]; got \[0, 10\]"):
        load_cifar10(tmp_path, "test")
    with pytest.raises(ValueError, match="`split` must be one of"):
        load_cifar10(tmp_path, "val")


class Payload:
    def __reduce__(self):
        return (os.getcwd, ())


def test_cifar10_pickles_cannot_run_code(tmp_path):
    cifar_root(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    with path.open("wb") as f:
        pickle.dump({b"data": Payload(), b"labels": [0]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"global (posix|nt)\.getcwd is not allowed"):
        load_cifar10(tmp_path, "test")


# ------------------------------------------------------------------------------ ImageFolder


def normalised(pixels):
    return (np.asarray(pixels, np.float64) / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)


@pytest.fixture
def folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    pattern = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)  # height 8, width 10
    root = tmp_path / "imagenet"
    for split in ("train", "val"):
        for wnid in ("n02", "n01"):
            (root / split / wnid).mkdir(parents=True)
    Image.fromarray(pattern).save(root / "train" / "n01" / "b.png")
    Image.fromarray(pattern[:, :, 0]).save(root / "train" / "n01" / "a.PNG")  # grayscale
    Image.new("RGB", (20, 40), (200, 100, 50)).save(root / "train" / "n02" / "c.JPEG")
    (root / "train" / "n02" / "notes.txt").write_text("not an image")
    Image.new("RGB", (6, 6), (1, 2, 3)).save(root / "val" / "n02" / "d.jpg")
    return root, pattern


def test_image_folder_lists_classes_and_files(folder):
    root, _ = folder
    data = ImageFolder(root, "train", image_size=6, resize=8)
    assert data.classes == ("n01", "n02") and len(data) == 3
    assert [p.name for p in data.files] == ["a.PNG", "b.png", "c.JPEG"]
    assert data.labels.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match=r"`ImageFolder`: every class folder must hold .*n01"):
        ImageFolder(root, "val", image_size=6, resize=6)
    val = ImageFolder(root, "val", image_size=6, resize=6, allow_empty=True)
    assert val.labels.tolist() == [1] and val[0][1] == 1


def test_image_folder_crops_the_centre_and_normalises(folder):
    root, pattern = folder
    data = ImageFolder(root, "train", image_size=6, resize=8)
    # 10×8 with shorter side 8 already: no resize; crop offsets left round(4/2)=2, top round(2/2)=1.
    x, label = data[1]
    assert x.shape == (6, 6, 3) and x.dtype == np.float32 and label == 0
    np.testing.assert_allclose(x, normalised(pattern[1:7, 2:8]), rtol=1e-5, atol=1e-5)
    gray, _ = data[0]  # grayscale becomes RGB with equal channels
    expected = normalised(np.repeat(pattern[1:7, 2:8, :1], 3, axis=2))
    np.testing.assert_allclose(gray, expected, rtol=1e-5, atol=1e-5)
    # A uniform JPEG (20×40) resized to 8×16: every pixel keeps (about) its colour.
    uniform, _ = data[2]
    np.testing.assert_allclose(uniform, normalised(np.full((6, 6, 3), (200, 100, 50))), atol=0.05)


def test_image_folder_errors_are_named(tmp_path, folder, monkeypatch):
    root, _ = folder
    with pytest.raises(FileNotFoundError, match=r"`ImageFolder`: expected the directory .*train"):
        ImageFolder(tmp_path / "nowhere")
    (root / "val" / "n09").mkdir()
    with pytest.raises(ValueError, match=r"must be a class of .*; got 'n09'"):
        ImageFolder(root, "val")
    empty = tmp_path / "empty"
    (empty / "train" / "n01").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="found no images"):
        ImageFolder(empty)
    with pytest.raises(ValueError, match="`resize` must be >= `image_size`=224; got 200"):
        ImageFolder(root, resize=200)
    with pytest.raises(IndexError, match=re.escape("index 3 out of range for 3 images")):
        ImageFolder(root, image_size=6, resize=8)[3]

    real_import = builtins.__import__

    def no_pillow(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pillow)
    with pytest.raises(ImportError, match="`ImageFolder` needs the package `Pillow`"):
        ImageFolder(root)
