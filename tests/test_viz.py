"""Plots: each writes a real image atomically and rejects malformed input by name."""

from __future__ import annotations

import struct

import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure

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
    fig = viz.plot_raster(spikes, tmp_path / "raster.png", title="layer 1")
    assert isinstance(fig, Figure)
    width, height = _png_size(tmp_path / "raster.png")
    assert width > 100 and height > 50
    _only(tmp_path, "raster.png")
    # bool and bfloat16 inputs, and no spikes at all, are fine too; no path writes nothing.
    viz.plot_raster(jnp.asarray(spikes, jnp.bfloat16), tmp_path / "raster.png")
    viz.plot_raster(np.zeros((4, 3), bool))
    _only(tmp_path, "raster.png")


def test_raster_density_is_the_fraction_of_each_rows_neurons_firing():
    rng = np.random.default_rng(1)
    s = rng.random((7, 1000)) < 0.1
    fig = viz.plot_raster(s, max_neurons=100)  # auto: 1000 > 100 neurons -> density
    (image,) = fig.axes[0].get_images()
    expected = s.reshape(7, 100, 10).mean(axis=2).T  # rows of 10 consecutive neurons
    np.testing.assert_allclose(image.get_array(), expected)
    assert "density: 100 rows of ≤ 10 neurons" in fig.axes[0].get_title()
    # Ticks mode draws every event at (step, row).
    fig = viz.plot_raster(s[:, :30], mode="ticks")
    offsets = fig.axes[0].collections[0].get_offsets()
    assert sorted(map(tuple, np.asarray(offsets).tolist())) == sorted(
        (float(t), float(n)) for t, n in zip(*np.nonzero(s[:, :30]), strict=True)
    )


def test_raster_layers_keep_their_own_rows_and_sorting_by_rate():
    s = np.zeros((4, 9), np.float32)
    s[:, 2] = 1.0  # neuron 2 fires at every step, neuron 5 twice
    s[:2, 5] = 1.0
    layers = {"hidden": np.zeros((4, 2, 100)), "out": s}  # [T, ...] trailing axes flattened
    fig = viz.plot_raster(layers, mode="density", max_neurons=20)
    (image,) = fig.axes[0].get_images()
    values = np.asarray(image.get_array())
    # 209 neurons in rows of 11: hidden has 19 rows, out its own single row of 9 neurons.
    assert values.shape == (20, 4)
    np.testing.assert_allclose(values[-1], s.sum(axis=1) / 9)
    fig = viz.plot_raster(s, neurons=[0, 5, 2], sort="rate", mode="ticks")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2", "5", "0"]
    assert "3 neurons of 9" in ax.get_title()


def test_membrane_writes_png_and_highlights_the_label(tmp_path, spikes):
    v = np.cumsum(spikes, axis=0) * 0.1
    fig = viz.plot_membrane(v, tmp_path / "v.png", threshold=1.0, neurons=[0, 5])
    _png_size(tmp_path / "v.png")
    assert isinstance(fig, Figure)
    fig = viz.plot_membrane(
        v, threshold=np.linspace(0.5, 1.0, 6), highlight=3, names=list("abcdef")
    )
    lines = fig.axes[0].get_lines()[::2]  # every trace is followed by its threshold
    assert [line.get_label() for line in lines][:4] == ["a", "b", "c", "d (highlighted)"]
    assert lines[3].get_linewidth() > lines[0].get_linewidth()
    _only(tmp_path, "v.png")


def test_firing_rates_writes_png(tmp_path, spikes):
    rates = {"conv1": spikes.mean(axis=0), "fc": 0.05, "out": jnp.asarray([0.1, 0.3])}
    assert isinstance(viz.plot_firing_rates(rates, tmp_path / "rates.png"), Figure)
    _png_size(tmp_path / "rates.png")
    _only(tmp_path, "rates.png")


def test_training_curves_in_percent_with_the_best_checkpoint(tmp_path):
    records = [
        {"step": s, "split": "train", "wall_time": 0.0, "loss": 1.0 / s, "accuracy": 0.1 * s}
        for s in range(1, 6)
    ]
    records += [
        {"step": 3, "split": "val", "accuracy": 0.75},
        {"step": 5, "split": "val", "loss": float("nan"), "accuracy": 0.5},
    ]
    fig = viz.plot_training_curves(records, tmp_path / "curves.png", best_step=3)
    _png_size(tmp_path / "curves.png")
    loss, accuracy = fig.axes
    assert accuracy.get_ylabel() == "accuracy (%)" and loss.get_ylabel() == "loss"
    train = accuracy.get_lines()[0]
    np.testing.assert_allclose(train.get_ydata(), [10, 20, 30, 40, 50])
    stars = [line for line in accuracy.get_lines() if line.get_marker() == "*"]
    points = [(float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in stars]
    assert points == [(3.0, pytest.approx(30.0)), (3.0, pytest.approx(75.0))]
    assert "best checkpoint (step 3)" in [t.get_text() for t in accuracy.get_legend().get_texts()]
    # Only a loss is recorded: one panel.
    viz.plot_training_curves([{"step": 1, "split": "train", "loss": 1.0}], tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_bytes().lstrip().startswith(b"<?xml")


def test_event_pictures_colour_on_red_off_blue(tmp_path):
    frames = np.zeros((5, 2, 3, 4), np.float32)  # [T, C, H, W], channel 1 = ON
    frames[1, 1, 0, 0] = 2.0
    frames[1, 0, 2, 3] = 2.0
    rgb = viz.event_rgb(frames)
    assert rgb.shape == (5, 3, 4, 3)
    np.testing.assert_array_equal(rgb[1, 0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(rgb[1, 2, 3], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(rgb[0], np.ones((3, 4, 3)))
    # The model's layout [T, H, W, C] gives the same picture.
    np.testing.assert_array_equal(viz.event_rgb(frames.transpose(0, 2, 3, 1), layout="thwc"), rgb)
    fig = viz.plot_frames(frames, tmp_path / "frames.png", max_frames=3, ncols=2)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["t = 0", "t = 2", "t = 4"]
    _png_size(tmp_path / "frames.png")
    gif = viz.animate_events(frames, tmp_path / "events.gif", fps=4, scale=2)
    data = (tmp_path / "events.gif").read_bytes()
    assert data == gif.gif and data[:6] == b"GIF89a" and gif.frames == 5
    width, height = struct.unpack("<HH", data[6:10])
    assert (width, height) == (8, 6)
    assert "data:image/gif;base64," in gif._repr_html_()


def test_energy_plot_compares_with_the_ann_and_names_the_unpriced_layer(tmp_path):
    from flax import nnx

    from spikejax import energy, models

    model = models.create("lif_mlp", rngs=nnx.Rngs(0), in_features=16, hidden=(8,), T=3)
    x = jnp.ones((3, 2, 16), jnp.float32)  # real-valued input: the first layer is MACs
    counts = energy.count_ops(model, x)
    fig = viz.plot_energy(energy.energy_report(counts, "cmos45nm_fp32"), tmp_path / "e.png")
    _png_size(tmp_path / "e.png")
    totals = fig.axes[1]
    assert [t.get_text() for t in totals.get_yticklabels()] == ["E_SNN", "E_ANN"]
    assert "E_SNN / E_ANN" in totals.get_title()
    loihi = energy.energy_report(counts, "loihi")
    fig = viz.plot_energy(loihi)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == f"{loihi.unpriced[0]} (unpriced)"
    heading = fig.get_suptitle()
    assert f"excludes {loihi.unpriced[0]}" in heading and "no ANN comparison" in heading


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
        (lambda p: viz.plot_raster(np.zeros((2, 2)), p, mode="blob"), "`mode` must be one of"),
        (
            lambda p: viz.plot_raster({"a": np.zeros((2, 2)), "b": np.zeros((3, 2))}, p),
            "every layer of `spikes` must have the same steps",
        ),
        (
            lambda p: viz.plot_raster({"a": np.zeros((2, 2))}, p, neurons=[0]),
            "`neurons` selects from one",
        ),
        (
            lambda p: viz.plot_membrane(np.zeros((3, 2)), p, neurons=[0], highlight=1),
            r"`highlight` must be one of the drawn neurons \[0\]",
        ),
        (
            lambda p: viz.plot_training_curves(
                [{"step": 1, "split": "a", "loss": 1}], p, best_step=1.5
            ),
            "`best_step` must be an int or None",
        ),
        (
            lambda p: viz.plot_frames(np.zeros((2, 3, 4, 4)), p),
            r"`plot_frames`: `frames` must have 1 or 2 polarity channels",
        ),
        (
            lambda p: viz.plot_frames(np.zeros((2, 4, 4)), p),
            r"`frames` must have rank 4 \[T, C, H, W\]",
        ),
        (
            lambda p: viz.animate_events(-np.ones((2, 1, 2, 2)), p.with_suffix(".gif")),
            "`animate_events`: `frames` must be finite event counts >= 0",
        ),
        (
            lambda p: viz.animate_events(np.ones((2, 1, 2, 2)), p),
            r"`EventAnimation.save`: `path` must end in .gif",
        ),
    ],
)
def test_bad_input_raises_named_error_and_writes_nothing(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "plot.png")
    assert list(tmp_path.iterdir()) == []
