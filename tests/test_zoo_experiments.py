"""The zoo experiments: published recipes that load, fit their models and data, and stop with the
reader's named error when the data is missing; the pipeline's image and CIFAR10-DVS paths."""

import json
import math
import pickle
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from flax import nnx

from spikejax import models
from spikejax.config import (
    Config,
    DataConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    to_dict,
)
from spikejax.train._data import load_splits, make_prepare
from spikejax.train._loop import fit
from spikejax.train._splits import per_class_split
from tests.test_data_aedat4 import write_aedat4

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"

# experiment: (reader named by the missing-data error, model input (H, W, C), classes, T)
RECIPES = {
    "dvs128_sew7bnet": ("DVSGesture", (128, 128, 2), 11, 16),
    "dvs128_spikformer": ("DVSGesture", (128, 128, 2), 11, 16),
    "cifar10dvs_sew_wide7bnet": ("CIFAR10DVS", (128, 128, 2), 10, 16),
    "cifar10dvs_spikformer": ("CIFAR10DVS", (128, 128, 2), 10, 16),
    "cifar10_spikformer": ("load_cifar10", (32, 32, 3), 10, 4),
    "imagenet_sew_resnet18": ("ImageFolder", (224, 224, 3), 1000, 4),
    "imagenet_spikformer_8_512": ("ImageFolder", (224, 224, 3), 1000, 4),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_fits_its_model_and_stops_on_missing_data(tmp_path, name):
    reader, shape, classes, T = RECIPES[name]
    config = load_config(EXPERIMENTS / name / "config.py")
    assert config.name == name
    for part in ("README.md", "results.md"):
        assert (EXPERIMENTS / name / part).is_file()
    meta = models.info(config.model.name, **config.model.options)
    assert (meta.input_shape, meta.num_classes, meta.T) == (shape, classes, T)
    assert config.train.num_steps == T and config.train.loss == "ce"
    if meta.first_layer == "once":  # SEW's stem runs once: the model takes the static image
        assert config.data.encoding == "none"
    empty = tmp_path / "empty"
    empty.mkdir()
    config = apply_overrides(config, [f"data.root={empty}"])
    with pytest.raises(FileNotFoundError, match=f"`{reader}`: expected the directory"):
        fit(config, tmp_path / "run", progress=False, plots=False)


@pytest.mark.parametrize("name", [*sorted(RECIPES), "event_digits_sew", "event_digits_spikformer"])
def test_configs_round_trip_through_json(name):
    config = load_config(EXPERIMENTS / name / "config.py")
    assert from_dict(json.loads(json.dumps(to_dict(config)))) == config


def test_cpu_experiments_use_zoo_names_with_overrides():
    from spikejax.data import EventDigits, ToFrames

    for name in ("event_digits_sew", "event_digits_spikformer"):
        config = load_config(EXPERIMENTS / name / "config.py")
        assert config.model.name in models.available()
        meta = models.info(config.model.name, **config.model.options)
        frames = ToFrames(
            EventDigits.sensor_size, n_time_bins=1, spatial_factor=config.data.spatial_factor
        )
        width, height, polarities = frames.frame_size
        assert (meta.input_shape, meta.num_classes) == ((height, width, polarities), 10)
        assert meta.T == config.train.num_steps


# ------------------------------------------------------------------------- pipeline extensions


def _write_cifar(root, train_images=4, test_images=3):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", train_images) for i in range(1, 6)] + [
        ("test_batch", test_images)
    ]:
        batch = {
            b"batch_label": name.encode(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, n).tolist(),
        }
        with (folder / name).open("wb") as f:
            pickle.dump(batch, f, protocol=2)


def _static_config(name, root, encoding, T=2):
    return Config(
        name="tiny",
        data=DataConfig(name, root=str(root), encoding=encoding, flatten=False),
        train=TrainConfig(batch_size=2, num_steps=T),
    )


def test_cifar10_splits_are_normalised_and_encoded(tmp_path):
    _write_cifar(tmp_path)
    splits = load_splits(_static_config("cifar10", tmp_path, "direct"))
    (x, y), (xt, _) = splits.train, splits.test
    assert x.shape == (20, 32, 32, 3) and x.dtype == np.float32 and xt.shape == (3, 32, 32, 3)
    assert splits.kind == "static" and splits.num_classes == 10
    with (tmp_path / "cifar-10-batches-py" / "data_batch_2").open("rb") as f:
        raw = pickle.load(f, encoding="bytes")
    pixel = raw[b"data"][1, [5, 1024 + 5, 2048 + 5]]  # image 1, row 0, column 5: R, G, B
    mean, std = np.array([0.4914, 0.4822, 0.4465]), np.array([0.2470, 0.2435, 0.2616])
    np.testing.assert_allclose(x[4 + 1, 0, 5], (pixel / 255 - mean) / std, rtol=1e-5)
    assert y[5] == raw[b"labels"][1]
    prepare = make_prepare(_static_config("cifar10", tmp_path, "direct", T=3), splits)
    out = prepare(jnp.asarray(x[:2]), jr.key(0))
    assert out.shape == (3, 2, 32, 32, 3)
    np.testing.assert_array_equal(np.asarray(out[2]), x[:2])


def test_encoding_none_passes_the_static_batch(tmp_path):
    _write_cifar(tmp_path)
    config = _static_config("cifar10", tmp_path, "none")
    splits = load_splits(config)
    x = jnp.asarray(splits.train[0][:2])
    out = make_prepare(config, splits)(x, jr.key(0))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(x))

    # A SEW-ResNet with the stem computed once takes exactly this input.
    def net(x):
        return models.create("sew_resnet18", rngs=nnx.Rngs(0), width=4, image_size=32, T=2)(x)

    assert jax.eval_shape(net, out).shape == (2, 1000)
    options = DataConfig("cifar10", root=str(tmp_path), encoding="none", encoding_options={"a": 1})
    with pytest.raises(ValueError, match=r"`data\.encoding_options` must be empty"):
        make_prepare(Config(name="tiny", data=options), splits)


def test_imagenet_splits_share_the_train_classes(tmp_path):
    from PIL import Image

    for split, folders in (("train", ("n02", "n01", "n03")), ("val", ("n03", "n01"))):
        for i, wnid in enumerate(folders):
            (tmp_path / split / wnid).mkdir(parents=True)
            Image.new("RGB", (12, 10), (10 * i, 20, 30)).save(tmp_path / split / wnid / "a.png")
    config = _static_config("imagenet", tmp_path, "none")
    splits = load_splits(config)
    assert splits.num_classes == 3 and splits.kind == "static"
    assert splits.train.labels.tolist() == [0, 1, 2]  # n01, n02, n03
    assert splits.test.labels.tolist() == [0, 2]
    x, label = splits.test[1]
    assert x.shape == (224, 224, 3) and label == 2


def test_per_class_split_takes_the_first_ceil_fraction_of_each_class():
    labels = np.random.default_rng(3).integers(0, 4, 57)
    train, test = per_class_split(labels, 0.9)
    assert sorted(train.tolist() + test.tolist()) == list(range(57))
    for c in range(4):
        members = [i for i in range(57) if labels[i] == c]
        cut = math.ceil(0.9 * len(members))
        assert [i for i in train if labels[i] == c] == members[:cut]
        assert [i for i in test if labels[i] == c] == members[cut:]


def test_cifar10_dvs_splits_first_ninety_percent_of_each_class(tmp_path):
    for cls in ("airplane", "cat"):
        for i in range(10):
            t = [100 * i + 1, 100 * i + 50, 100 * i + 99]
            events = (t, [1, 2, 3], [4, 5, 6], [1, 0, 1])
            write_aedat4(tmp_path / "CIFAR10DVS" / cls / f"{i:02d}.aedat4", [(0, events)])
    config = Config(
        name="tiny",
        data=DataConfig("cifar10_dvs", root=str(tmp_path), flatten=False, in_memory=False),
        train=TrainConfig(batch_size=2, num_steps=2),
    )
    splits = load_splits(config)
    assert splits.kind == "frames" and splits.num_classes == 10
    assert len(splits.train) == 18 and len(splits.test) == 2
    # Classes in CIFAR10DVS.classes order: airplane 0, cat 3; the last file of each class tests.
    assert splits.test.labels.tolist() == [0, 3]
    assert [p.name for p in (splits.test.data.files[i] for i in splits.test.indices)] == [
        "09.aedat4",
        "09.aedat4",
    ]
    frames, label = splits.test[1]
    assert frames.shape == (2, 2, 128, 128) and label == 3
    assert re.search("cat", str(splits.test.data.files[splits.test.indices[1]]))
