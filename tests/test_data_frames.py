"""ToFrames (through tonic) against NumPy histograms; time-major padding and masks."""

import numpy as np
import pytest

from spikejax.data import EVENT_DTYPE, ToFrames, pad_batch, pad_time_major

pytest.importorskip("tonic")

SENSOR = (5, 4, 2)  # width, height, polarities


def random_events(n=200, seed=0, t_range=(100, 1100)):
    rng = np.random.default_rng(seed)
    events = np.zeros(n, EVENT_DTYPE)
    events["x"] = rng.integers(0, SENSOR[0], n)
    events["y"] = rng.integers(0, SENSOR[1], n)
    events["t"] = np.sort(rng.integers(*t_range, n))
    events["p"] = rng.integers(0, 2, n)
    return events


def histogram(frame_index, events, num_frames, size=SENSOR, xy_scale=1):
    """frames[f, p, y, x] = number of events with that frame index, polarity and pixel."""
    keep = (frame_index >= 0) & (frame_index < num_frames)
    width, height, polarities = size
    sample = np.stack(
        [
            frame_index[keep],
            events["p"][keep],
            events["y"][keep] // xy_scale,
            events["x"][keep] // xy_scale,
        ],
        axis=1,
    )
    bins = [np.arange(n + 1) for n in (num_frames, polarities, height, width)]
    return np.histogramdd(sample, bins=bins)[0].astype(np.float32)


def test_time_window_keeps_the_last_incomplete_frame():
    events = random_events()
    frames = ToFrames(SENSOR, time_window=250)(events)
    t0, t_last = events["t"][0], events["t"][-1]
    num = int(np.ceil((t_last - t0 - 250) / 250)) + 1
    assert frames.dtype == np.float32 and frames.shape == (num, 2, 4, 5)
    np.testing.assert_array_equal(frames, histogram((events["t"] - t0) // 250, events, num))
    assert frames.sum() == events.size


@pytest.mark.parametrize(
    "dtype",
    [
        [("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")],  # DVSGesture
        [("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")],  # CIFAR10-DVS
    ],
)
def test_every_dataset_dtype_gives_the_same_frames(dtype):
    events = random_events(seed=4)
    other = np.zeros(events.size, dtype)
    for name in ("x", "y", "t", "p"):
        other[name] = events[name]
    for kwargs in ({"time_window": 300}, {"n_time_bins": 3, "spatial_factor": 0.5}):
        np.testing.assert_array_equal(
            ToFrames(SENSOR, **kwargs)(other), ToFrames(SENSOR, **kwargs)(events)
        )


def test_event_count():
    events = random_events(n=210)
    frames = ToFrames(SENSOR, event_count=30)(events)
    np.testing.assert_array_equal(frames, histogram(np.arange(210) // 30, events, 7))


def test_n_time_bins_follows_tonic_slice_length():
    events = random_events(seed=1)
    frames = ToFrames(SENSOR, n_time_bins=4)(events)
    t0 = events["t"][0]
    width = (events["t"][-1] - t0) // 4
    assert frames.shape[0] == 4
    np.testing.assert_array_equal(frames, histogram((events["t"] - t0) // width, events, 4))
    # The documented exclusion: events at t >= t_0 + 4 w (the last one at least) are not counted.
    assert frames.sum() == np.sum(events["t"] < t0 + 4 * width) < events.size


def test_one_dimensional_sensor_like_shd():
    rng = np.random.default_rng(2)
    events = np.zeros(100, [("t", "<i8"), ("x", "<i8"), ("p", "<i8")])
    events["t"] = np.sort(rng.integers(0, 10_000, 100))
    events["x"] = rng.integers(0, 700, 100)
    events["p"] = 1
    frames = ToFrames((700, 1, 1), time_window=1000)(events)
    t0 = events["t"][0]
    num = int(np.ceil((events["t"][-1] - t0 - 1000) / 1000)) + 1
    assert frames.shape == (num, 1, 700)
    expected = np.zeros((num, 1, 700), np.float32)
    np.add.at(expected, ((events["t"] - t0) // 1000, 0, events["x"]), 1)
    np.testing.assert_array_equal(frames, expected)
    assert np.all(events["p"] == 1)  # the caller's events are not modified


def test_downsample():
    events = random_events(seed=3)
    to_frames = ToFrames(SENSOR, n_time_bins=2, spatial_factor=0.5)
    assert to_frames.frame_size == (3, 2, 2)
    frames = to_frames(events)
    t0 = events["t"][0]
    width = (events["t"][-1] - t0) // 2
    expected = histogram((events["t"] - t0) // width, events, 2, size=(3, 2, 2), xy_scale=2)
    np.testing.assert_array_equal(frames, expected)


def test_denoise_drops_isolated_events():
    records = [(0, 0, 1000, 1), (1, 0, 1005, 0), (3, 3, 1100, 1), (3, 2, 1200, 1)]
    events = np.array(records, EVENT_DTYPE)
    frames = ToFrames(SENSOR, time_window=10_000, denoise_us=10)(events)
    # Only (1, 0) has a neighbour that fired within 10 µs before it; (3, 2) fired 100 µs after
    # its neighbour (3, 3).
    expected = np.zeros((1, 2, 4, 5), np.float32)
    expected[0, 0, 0, 1] = 1
    np.testing.assert_array_equal(frames, expected)


@pytest.mark.parametrize(("kwargs", "steps"), [({"time_window": 10}, 1), ({"n_time_bins": 3}, 3)])
def test_empty_stream(kwargs, steps):
    frames = ToFrames(SENSOR, **kwargs)(np.zeros(0, EVENT_DTYPE))
    assert frames.shape == (steps, 2, 4, 5) and not frames.any()


def test_wrong_field_names():
    events = np.zeros(3, [("x", "<i8"), ("y", "<i8"), ("ts", "<i8"), ("pol", "<i8")])
    with pytest.raises(TypeError, match=r"`ToFrames`: `events` must be a structured array with"):
        ToFrames(SENSOR, time_window=10)(events)
    with pytest.raises(TypeError, match="fields"):
        ToFrames(SENSOR, time_window=10)(np.zeros((3, 4)))


@pytest.mark.parametrize(
    ("records", "match"),
    [
        ([(0, 0, 5, 0), (0, 0, 4, 0)], "sorted"),
        ([(0, 0, -5, 0)], ">= 0"),
        ([(5, 0, 1, 0)], r"`x` of `events` must lie in \[0, 5\)"),
    ],
)
def test_bad_events(records, match):
    with pytest.raises(ValueError, match=match):
        ToFrames(SENSOR, time_window=10)(np.array(records, EVENT_DTYPE))


def test_single_polarity_channel_needs_one_polarity():
    events = np.array([(0, 0, 1, 0), (1, 0, 2, 1)], EVENT_DTYPE)
    with pytest.raises(ValueError, match="one polarity channel"):
        ToFrames((5, 4, 1), time_window=10)(events)
    frames = ToFrames((5, 4, 1), time_window=10)(events[1:])
    assert frames.shape == (1, 1, 4, 5) and frames[0, 0, 0, 1] == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one of"),
        ({"time_window": 10, "n_time_bins": 3}, "exactly one of"),
        ({"event_count": 2.5}, "`event_count` must be a positive int"),
        ({"time_window": -1.0}, "`time_window` must be finite and > 0"),
        ({"time_window": 10, "spatial_factor": 2.0}, r"`spatial_factor` must lie in \(0, 1\]"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=f"`ToFrames`: {match}"):
        ToFrames(SENSOR, **kwargs)


def test_denoise_needs_a_2d_sensor():
    with pytest.raises(ValueError, match="needs a 2-D sensor"):
        ToFrames((700, 1, 1), time_window=10, denoise_us=5)


# ---------------------------------------------------------------------------------------- padding


def test_pad_time_major_layout_and_mask():
    rng = np.random.default_rng(0)
    lengths = [3, 1, 4]
    seqs = [rng.normal(size=(n, 2, 3)).astype(np.float32) for n in lengths]
    x, mask = pad_time_major(seqs, num_steps=5, batch_size=4)
    assert x.shape == (5, 4, 2, 3) and x.dtype == np.float32 and mask.shape == (5, 4)
    for b in range(4):
        n = lengths[b] if b < 3 else 0
        assert mask[:, b].tolist() == [t < n for t in range(5)]
        if n:
            np.testing.assert_array_equal(x[:n, b], seqs[b])
        assert not x[n:, b].any()


def test_pad_batch_mask():
    x, mask = pad_batch([np.int64(3), np.int64(4)], 4)
    assert x.tolist() == [3, 4, 0, 0] and mask.tolist() == [True, True, False, False]


@pytest.mark.parametrize(
    ("seqs", "kwargs", "match"),
    [
        ([np.ones((3, 2)), np.ones((3, 3))], {}, r"shape \[T, \*\(2,\)\]"),
        ([np.ones((6, 2))], {"num_steps": 5}, "at most num_steps=5.*nothing is truncated"),
        ([np.ones((2, 2)), np.ones((2, 2), np.float32)], {}, "dtype float64"),
        ([np.ones((2, 2))] * 3, {"batch_size": 2}, "1 … batch_size=2"),
        ([], {}, "1 … batch_size=0"),
    ],
)
def test_pad_time_major_bad_input(seqs, kwargs, match):
    with pytest.raises(ValueError, match=f"`pad_time_major`: .*{match}"):
        pad_time_major(seqs, **kwargs)


@pytest.mark.parametrize("size", [SENSOR, (7, 1, 1)])
def test_channels_last_is_the_transpose(size):
    events = random_events()
    if size[1] == 1:  # a 1-D sensor: no y, one polarity
        events = np.array(
            [(x % 7, t, 0) for x, t in zip(events["x"], events["t"], strict=True)],
            np.dtype([("x", "<i8"), ("t", "<i8"), ("p", "<i8")]),
        )
    plain = ToFrames(size, time_window=150)(events)
    last = ToFrames(size, time_window=150, channels_last=True)(events)
    np.testing.assert_array_equal(last, np.moveaxis(plain, 1, -1))
    assert last.shape == (plain.shape[0], *plain.shape[2:], plain.shape[1])
    with pytest.raises(TypeError, match="`ToFrames`: `channels_last` must be a bool"):
        ToFrames(size, time_window=150, channels_last=1)
