"""Pretrained weights: the shipped event-digits models reproduce their recorded accuracy; saving,
loading, and the named errors of corrupt or mismatched files."""

import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import models
from spikejax.config import load_config
from spikejax.models import PretrainedError

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SHIPPED = {
    "event_digits_sew": EXPERIMENTS / "event_digits_sew" / "pretrained" / "event_digits_sew.npz",
    "event_digits_spikformer": EXPERIMENTS
    / "event_digits_spikformer"
    / "pretrained"
    / "event_digits_spikformer.npz",
}
TINY = dict(width=2, blocks=(1,), image_size=2, T=1)
NAME = "sew_7bnet_dvs128"


def leaves(model):
    return {
        ".".join(map(str, path)): np.asarray(variable.get_value())
        for path, variable in nnx.to_flat_state(nnx.state(model))
    }


# ---------------------------------------------------------------- the shipped event-digits models


def frame_settings(experiment):
    config = load_config(EXPERIMENTS / experiment / "config.py")
    return config.train.num_steps, config.data.spatial_factor


def event_digit_inputs(experiment, count):
    """The first ``count`` test digits (all for None) as the run's pipeline feeds them:
    frames ``[T, B, H, W, P]`` and labels ``[B]``."""
    from spikejax.data import EventDigits, ToFrames

    num_steps, spatial_factor = frame_settings(experiment)
    frames = ToFrames(EventDigits.sensor_size, n_time_bins=num_steps, spatial_factor=spatial_factor)
    data = EventDigits("test", seed=0, transform=frames)
    count = len(data) if count is None else count
    samples = [data[i] for i in range(count)]
    x = np.stack([s[0] for s in samples])  # [B, T, P, H, W]
    y = np.array([s[1] for s in samples])
    return np.moveaxis(np.swapaxes(x, 0, 1), 2, -1), y


@pytest.fixture(scope="module")
def digits():
    """Inputs cached by frame settings and count (the two experiments share their settings)."""
    cache = {}

    def get(experiment, count):
        key = (frame_settings(experiment), count)
        if key not in cache:
            cache[key] = event_digit_inputs(experiment, count)
        return cache[key]

    return get


def correct_predictions(path, x, y, batch=64):
    info = models.pretrained_info(path)
    model = models.create(info["name"], rngs=nnx.Rngs(0), pretrained=path, **info["overrides"])
    model.eval()
    forward = jax.jit(lambda graph, state, x: nnx.merge(graph, state)(x))
    graph, state = nnx.split(model)
    correct = 0
    for start in range(0, len(y), batch):
        logits = forward(graph, state, jnp.asarray(x[:, start : start + batch], jnp.float32))
        correct += int(np.sum(np.argmax(np.asarray(logits), axis=-1) == y[start : start + batch]))
    return correct, info


@pytest.mark.parametrize("experiment", sorted(SHIPPED))
def test_shipped_weights_reproduce_the_recorded_subset_accuracy(experiment, digits):
    path = SHIPPED[experiment]
    assert path.stat().st_size < 2_000_000
    recorded = models.pretrained_info(path)["metadata"]["test_subset"]
    x, y = digits(experiment, recorded["samples"])
    correct, info = correct_predictions(path, x, y)
    # Spikes are thresholds: a different CPU's float rounding may flip one borderline sample.
    assert abs(correct - recorded["correct"]) <= 1, (correct, recorded)
    assert info["metadata"]["run"]["experiment"] == experiment


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(SHIPPED))
def test_shipped_weights_reproduce_the_recorded_test_accuracy(experiment, digits):
    path = SHIPPED[experiment]
    recorded = models.pretrained_info(path)["metadata"]["test"]
    x, y = digits(experiment, None)
    assert len(y) == recorded["samples"] == 360
    correct, _ = correct_predictions(path, x, y)
    assert abs(correct - recorded["correct"]) <= 1, (correct, recorded)


# ------------------------------------------------------------------------ format and errors


@pytest.fixture
def saved(tmp_path):
    model = models.create(NAME, rngs=nnx.Rngs(0), **TINY)
    path = tmp_path / "tiny.npz"
    sidecar = models.save_pretrained(
        model, path, name=NAME, overrides=TINY, metadata={"note": "tiny"}
    )
    return model, path, sidecar


def test_round_trip_restores_every_variable(saved):
    model, path, sidecar = saved
    assert sidecar == path.with_suffix(".json")
    fresh = leaves(models.create(NAME, rngs=nnx.Rngs(1), **TINY))
    loaded = leaves(models.create(NAME, rngs=nnx.Rngs(1), pretrained=path, **TINY))
    original = leaves(model)
    assert set(loaded) == set(original)
    assert any(not np.array_equal(fresh[k], original[k]) for k in original)  # loading mattered
    for key, value in original.items():
        assert loaded[key].dtype == value.dtype
        np.testing.assert_array_equal(loaded[key], value)
    # The file itself: one array per variable, and a sidecar describing it.
    with np.load(path) as archive:
        assert sorted(archive.files) == sorted(original)
        np.testing.assert_array_equal(archive["fc.kernel"], original["fc.kernel"])
    info = json.loads(sidecar.read_text())
    assert info["format"] == "spikejax.pretrained" and info["version"] == 1
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["structure"]["stem.conv.kernel"] == "Param:float32[1,1,2,2]"
    assert info["structure"]["stem.bn.norm.mean"] == "BatchStat:float32[2]"
    assert info["overrides"]["blocks"] == [1] and info["metadata"] == {"note": "tiny"}
    assert models.pretrained_info(path)["overrides"]["blocks"] == (1,)


def test_mismatched_model_names_the_leaf(saved):
    _, path, _ = saved
    with pytest.raises(
        PretrainedError,
        match=r"leaf 'fc\.kernel': expected Param:float32\[4,11\], got Param:float32\[2,11\]",
    ) as error:
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **{**TINY, "width": 4})
    assert "saved with overrides" in str(error.value)
    with pytest.raises(PretrainedError, match=r"leaf 'stages\.0\.1\.conv1.*expected .*got absent"):
        models.create(
            NAME, rngs=nnx.Rngs(0), pretrained=path, **{**TINY, "blocks": (2,), "image_size": 4}
        )
    with pytest.raises(PretrainedError, match="must be weights of 'sew_7bnet_dvs128_k3'"):
        models.create("sew_7bnet_dvs128_k3", rngs=nnx.Rngs(0), pretrained=path, **TINY)


def test_corrupt_files_are_named(saved):
    _, path, sidecar = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="are corrupt or were changed: their sha256 must be"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **TINY)
    # A consistent digest over a broken archive.
    path.write_bytes(b"not a zip archive")
    info = json.loads(sidecar.read_text())
    info["sha256"] = hashlib.sha256(b"not a zip archive").hexdigest()
    sidecar.write_text(json.dumps(info))
    with pytest.raises(PretrainedError, match=r"tiny\.npz are corrupt"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **TINY)
    sidecar.write_text('{"format": "spikejax.pretrained", "vers')
    with pytest.raises(PretrainedError, match=r"sidecar .*tiny\.json is corrupt"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **TINY)
    sidecar.write_text(json.dumps({**info, "version": 2}))
    with pytest.raises(PretrainedError, match=r"must be format 'spikejax\.pretrained' version 1"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **TINY)
    sidecar.unlink()
    with pytest.raises(FileNotFoundError, match=r"the sidecar .*tiny\.json"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **TINY)


def test_archive_must_agree_with_its_sidecar(saved, tmp_path):
    model, path, sidecar = saved
    arrays = leaves(model)
    arrays["fc.kernel"] = np.zeros((3, 11), np.float32)  # rewritten, digest updated to match
    np.savez(path, **arrays)
    info = json.loads(sidecar.read_text())
    info["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(info))
    with pytest.raises(PretrainedError, match="archive disagrees with its sidecar"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=path, **TINY)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"`create`: `pretrained` must be the path of a \.npz"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=tmp_path / "w.pt", **TINY)
    with pytest.raises(FileNotFoundError, match=r"pretrained weights .*w\.npz not found"):
        models.create(NAME, rngs=nnx.Rngs(0), pretrained=tmp_path / "w.npz", **TINY)
    half = nnx.Linear(2, 2, param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="got 'bias' of dtype bfloat16"):
        models.save_pretrained(half, tmp_path / "half.npz", name="linear")
    model = models.create(NAME, rngs=nnx.Rngs(0), **TINY)
    with pytest.raises(TypeError, match="`overrides` must hold JSON data"):
        models.save_pretrained(model, tmp_path / "m.npz", name=NAME, overrides={"dtype": object()})


def test_export_of_a_run_loads_into_the_zoo_model(tmp_path):
    from spikejax.config import Config, DataConfig, ModelConfig, TrainConfig
    from spikejax.train import Checkpointer, export_pretrained, fit

    options = {"in_features": 64, "hidden": (8,), "num_classes": 10, "T": 2}
    config = Config(
        name="tiny_export",
        data=DataConfig("digits", limit=64, prefetch=0),
        model=ModelConfig("lif_mlp", options),
        train=TrainConfig(epochs=1, batch_size=32, num_steps=2, eval_batch_size=64),
    )
    fit(config, tmp_path / "run", progress=False, plots=False)
    sidecar = export_pretrained(tmp_path / "run", tmp_path / "mlp.npz", metadata={"k": 1})
    info = json.loads(sidecar.read_text())
    assert info["name"] == "lif_mlp" and info["metadata"]["k"] == 1
    assert info["metadata"]["run"]["step"] == 2 and info["overrides"]["hidden"] == [8]
    model = models.create("lif_mlp", rngs=nnx.Rngs(5), pretrained=tmp_path / "mlp.npz", **options)
    _, tree, _ = Checkpointer(tmp_path / "run" / "checkpoints").restore("latest")
    kernel = tree["model"]["blocks"]["0"]["fc"]["kernel"]
    np.testing.assert_array_equal(leaves(model)["blocks.0.fc.kernel"], np.asarray(kernel))
