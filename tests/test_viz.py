"""Plots: each writes a real image atomically and rejects malformed input by name."""

from __future__ import annotations

import struct

import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from spikejax import viz

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _only(tmp_path, name):
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.fixture
def spikes():
    rng = np.random.default_rng(0)
    return (rng.random((20, 6)) < 0.2).astype(np.float32)


def test_raster_writes_png(tmp_path, spikes):
    out = viz.plot_raster(spikes, tmp_path / "raster.png", title="layer 1")
    assert out == tmp_path / "raster.png"
    width, height = _png_size(out)
    assert width > 100 and height > 50
    _only(tmp_path, "raster.png")
    # bool and bfloat16 inputs, and no spikes at all, are fine too.
    viz.plot_raster(jnp.asarray(spikes, jnp.bfloat16), tmp_path / "raster.png")
    viz.plot_raster(np.zeros((4, 3), bool), tmp_path / "raster.png")
    _only(tmp_path, "raster.png")


def test_membrane_writes_png(tmp_path, spikes):
    v = np.cumsum(spikes, axis=0) * 0.1
    out = viz.plot_membrane(v, tmp_path / "v.png", threshold=1.0, neurons=[0, 5])
    _png_size(out)
    viz.plot_membrane(v, tmp_path / "v.png", threshold=np.linspace(0.5, 1.0, 6))
    _png_size(out)
    _only(tmp_path, "v.png")


def test_firing_rates_writes_png(tmp_path, spikes):
    rates = {"conv1": spikes.mean(axis=0), "fc": 0.05, "out": jnp.asarray([0.1, 0.3])}
    _png_size(viz.plot_firing_rates(rates, tmp_path / "rates.png"))
    _only(tmp_path, "rates.png")


def test_training_curves_write_png(tmp_path):
    records = [
        {"step": s, "split": "train", "wall_time": 0.0, "loss": 1.0 / s, "accuracy": 0.1 * s}
        for s in range(1, 6)
    ]
    records += [{"step": 5, "split": "eval", "loss": float("nan"), "accuracy": 0.4}]
    _png_size(viz.plot_training_curves(records, tmp_path / "curves.png"))
    # Only a loss is recorded: one panel.
    viz.plot_training_curves([{"step": 1, "split": "train", "loss": 1.0}], tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_bytes().lstrip().startswith(b"<?xml")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p: viz.plot_raster(np.zeros(5), p), "`plot_raster`: `spikes` must have rank 2"),
        (
            lambda p: viz.plot_raster(np.zeros((2, 3, 4)), p),
            r"`plot_raster`: `spikes` must have rank 2 \[time, neurons\]; got shape \(2, 3, 4\)",
        ),
        (lambda p: viz.plot_raster(np.zeros((0, 3)), p), "`spikes` must be non-empty"),
        (lambda p: viz.plot_raster(-np.ones((2, 2)), p), "`spikes` must be non-negative"),
        (lambda p: viz.plot_membrane(np.zeros(3), p), "`plot_membrane`: `v` must have rank 2"),
        (
            lambda p: viz.plot_membrane(np.full((3, 2), np.nan), p),
            "`plot_membrane`: `v` must be finite",
        ),
        (
            lambda p: viz.plot_membrane(np.zeros((3, 2)), p, threshold=np.ones(3)),
            r"`threshold` must be a scalar or have shape \(2,\)",
        ),
        (
            lambda p: viz.plot_membrane(np.zeros((3, 2)), p, neurons=[2]),
            r"`neurons` must lie in \[0, 2\)",
        ),
        (lambda p: viz.plot_firing_rates({}, p), "`plot_firing_rates`: `rates` must be"),
        (
            lambda p: viz.plot_firing_rates({"fc": np.array([0.1, -0.2])}, p),
            r"`rates\['fc'\]` must be finite and >= 0; got \[-0.2\]",
        ),
        (
            lambda p: viz.plot_training_curves([{"step": 1, "split": "train"}], p),
            "`plot_training_curves`: `metrics` must hold at least one of",
        ),
        (
            lambda p: viz.plot_training_curves([{"loss": 1.0}], p),
            r"`metrics\[0\]` must be a mapping with 'step' and 'split'",
        ),
        (
            lambda p: viz.plot_raster(np.zeros((2, 2)), p.with_suffix(".nope")),
            "`plot_raster`: `path` must end in an image suffix",
        ),
    ],
)
def test_bad_input_raises_named_error_and_writes_nothing(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "plot.png")
    assert list(tmp_path.iterdir()) == []
