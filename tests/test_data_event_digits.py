"""The DVS simulator against a scalar re-implementation, and the event digits built on it."""

import math
import os
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from spikejax.data import EVENT_DTYPE, EventDigits, saccade_events, simulate_dvs


def reference_dvs(frames, times, threshold, seed, log_eps=0.1):
    """Pixel by pixel, one contrast level at a time, as the docstring of simulate_dvs states."""
    steps, height, width = frames.shape
    phase = np.random.default_rng(seed).uniform(size=height * width).reshape(height, width)
    out = []
    for y in range(height):
        for x in range(width):
            level = [math.log(frames[k, y, x] + log_eps) for k in range(steps)]
            ref = level[0] + threshold * (phase[y, x] - 0.5)
            for k in range(1, steps):
                crossings = 0
                start = ref
                sign = 1 if level[k] > ref else -1
                while abs(level[k] - start) >= threshold * (crossings + 1):
                    crossings += 1
                    crossed = start + sign * crossings * threshold
                    frac = (crossed - level[k - 1]) / (level[k] - level[k - 1])
                    t = math.floor(times[k - 1] + (times[k] - times[k - 1]) * frac)
                    out.append((t, y, x, int(sign > 0)))
                ref = start + sign * crossings * threshold
    out.sort()
    return [(x, y, t, p) for t, y, x, p in out]


def test_simulator_matches_scalar_reference():
    rng = np.random.default_rng(0)
    frames = rng.uniform(0.0, 1.0, (12, 3, 4))
    times = np.arange(12) * 1000.0
    events = simulate_dvs(frames, times, threshold=0.3, seed=7)
    assert events.dtype == EVENT_DTYPE
    assert events.tolist() == reference_dvs(frames, times, 0.3, seed=7)
    # Large steps cross several levels: some pixel fires more than once between two frames.
    step = events["t"] // 1000
    pixel_step = events["y"] * 100_000 + events["x"] * 1000 + step
    assert np.unique(pixel_step).size < events.size


def test_simulator_refractory_and_noise_are_deterministic():
    frames = np.random.default_rng(1).uniform(0.0, 1.0, (30, 5, 5))
    times = np.arange(30) * 500.0
    kwargs = dict(threshold=0.1, threshold_sigma=0.2, refractory_us=300.0, noise_rate_hz=200.0)
    a = simulate_dvs(frames, times, seed=3, **kwargs)
    b = simulate_dvs(frames, times, seed=3, **kwargs)
    c = simulate_dvs(frames, times, seed=4, **kwargs)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.all(np.diff(a["t"]) >= 0)
    for pixel in np.unique(a["y"] * 5 + a["x"]):
        t = a["t"][a["y"] * 5 + a["x"] == pixel]
        assert np.all(np.diff(t) >= 300)


def test_simulator_noise_rate():
    frames = np.ones((2, 10, 10))  # a static scene: only noise
    events = simulate_dvs(frames, [0.0, 1e6], noise_rate_hz=50.0, seed=0)
    assert abs(events.size - 5000) < 5 * math.sqrt(5000)
    assert set(np.unique(events["p"]).tolist()) == {0, 1}
    assert events["t"].min() >= 0 and events["t"].max() < 1_000_000


@pytest.mark.parametrize(
    ("frames", "times", "kwargs", "error", "match"),
    [
        (np.ones((2, 2, 2)), [0, 0], {}, ValueError, "`times_us` must be .* strictly increasing"),
        (-np.ones((2, 2, 2)), [0, 1], {}, ValueError, "`frames` must be finite intensities >= 0"),
        (np.ones((1, 2, 2)), [0], {}, ValueError, r"`frames` must have shape \[steps >= 2"),
        (np.ones((2, 2, 2)), [0, 1, 2], {}, ValueError, r"`times_us` must have shape \(2,\)"),
        (np.ones((2, 2, 2)), [0, 1], {"threshold": 0.0}, ValueError, "`threshold` must be"),
        (np.ones((2, 2, 2)), [0, 1], {"noise_rate_hz": "x"}, TypeError, "`noise_rate_hz`"),
    ],
)
def test_simulator_bad_input(frames, times, kwargs, error, match):
    with pytest.raises(error, match=f"`simulate_dvs`: {match}"):
        simulate_dvs(frames, times, **kwargs)


@pytest.fixture(scope="module")
def test_digits():
    return EventDigits("test")


def test_event_digits_are_well_formed(test_digits):
    assert len(test_digits) == 360 and test_digits.sensor_size == (34, 34, 2)
    for i in range(3):
        events, label = test_digits[i]
        assert label == test_digits.labels[i]
        assert events.dtype == EVENT_DTYPE
        assert np.all(np.diff(events["t"]) >= 0)
        assert 0 <= events["t"].min() and events["t"].max() <= 300_000
        assert set(np.unique(events["p"]).tolist()) == {0, 1}
        assert events["x"].min() >= 0 and events["x"].max() < 34
        assert events["y"].min() >= 0 and events["y"].max() < 34


def test_three_saccades_are_visible_in_the_event_rate(test_digits):
    for i in range(3):
        rate = np.histogram(test_digits[i][0]["t"], bins=30, range=(0, 300_000))[0]
        # Each saccade's speed peaks mid-way and falls to zero at the triangle's corners.
        middles = [rate[10 * s + 4] + rate[10 * s + 5] for s in range(3)]
        corners = [rate[0], rate[9] + rate[10], rate[19] + rate[20], rate[29]]
        assert min(middles) > 3 * max(corners), rate


def test_event_digits_are_deterministic_and_split_independent(test_digits):
    options = dict(seed=5, threshold_sigma=0.1, noise_rate_hz=2.0)
    a, b = EventDigits("test", **options), EventDigits("test", **options)
    assert np.array_equal(a[0][0], b[0][0])
    assert not np.array_equal(a[0][0], EventDigits("test", **{**options, "seed": 6})[0][0])
    everything = EventDigits("all")
    i = 3
    assert np.array_equal(everything[int(test_digits.indices[i])][0], test_digits[i][0])


def test_event_digits_split_matches_digits():
    from spikejax.data import digits_split

    assert np.array_equal(EventDigits("train").indices, digits_split()[0])


def test_cache_is_written_atomically_and_reused(tmp_path):
    data = EventDigits("test", cache_dir=tmp_path, threshold=0.4)
    events = data[1][0]
    files = list(tmp_path.rglob("*"))
    cached = [p for p in files if p.suffix == ".npy"]
    assert len(cached) == 1 and not [p for p in files if p.name.endswith(".tmp")]
    packed = np.load(cached[0])
    assert packed.dtype.itemsize == 7 and events.dtype.itemsize == 32  # <= 1/4 of the size
    for name in ("x", "y", "t", "p"):
        np.testing.assert_array_equal(packed[name], events[name])
    # Another configuration uses another folder; the same configuration reads the file.
    EventDigits("test", cache_dir=tmp_path, threshold=0.5)[1]
    assert len(list(tmp_path.rglob("*.npy"))) == 2
    np.save(cached[0], packed[:5])
    assert EventDigits("test", cache_dir=tmp_path, threshold=0.4)[1][0].size == 5


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_cached_files_get_the_permissions_of_a_new_file(tmp_path, umask):
    from spikejax.data._files import save_npy_atomic

    previous = os.umask(umask)
    try:
        EventDigits("test", cache_dir=tmp_path / "cache")[0]
        save_npy_atomic(tmp_path / "deep" / "a.npy", np.arange(3))
    finally:
        os.umask(previous)
    (cached,) = (tmp_path / "cache").rglob("*.npy")
    for path in (cached, tmp_path / "deep" / "a.npy"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    np.testing.assert_array_equal(np.load(tmp_path / "deep" / "a.npy"), np.arange(3))


def test_interrupted_cache_write_leaves_no_file(tmp_path, monkeypatch):
    import spikejax.data._files as files

    def failing_save(f, array, allow_pickle):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(files.np, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        EventDigits("test", cache_dir=tmp_path)[0]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_corrupt_cache_file_is_reported(tmp_path):
    data = EventDigits("test", cache_dir=tmp_path)
    data[0]
    (path,) = tmp_path.rglob("*.npy")
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match=f"cached file {re.escape(str(path))}.*Delete the file"):
        EventDigits("test", cache_dir=tmp_path)[0]


def test_transform_is_applied():
    data = EventDigits("test", transform=lambda ev: ev.size)
    assert data[0][0] == EventDigits("test").events(0).size


def test_saccade_events_of_a_blank_image_are_empty():
    assert saccade_events(np.zeros((8, 8))).size == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("val",), {}, ValueError, "`EventDigits`: `split` must be one of"),
        ((), {"seed": -1}, ValueError, "`EventDigits`: `seed` must be a non-negative int"),
        ((), {"thresh": 0.2}, ValueError, "`EventDigits`: `option` must be one of"),
    ],
)
def test_event_digits_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        EventDigits(*args, **kwargs)


def test_event_digits_index_out_of_range(test_digits):
    with pytest.raises(IndexError, match="index 360 out of range"):
        test_digits[360]


def test_saccade_events_bad_image():
    with pytest.raises(ValueError, match=r"`saccade_events`: `image` must lie in \[0, 1\]"):
        saccade_events(np.full((8, 8), 2.0))
    with pytest.raises(ValueError, match=r"`saccade_events`: `image` must be a real \[8, 8\]"):
        saccade_events(np.zeros((28, 28)))


def test_caches_of_the_int64_format_are_never_read_and_are_listed_as_stale(tmp_path):
    data = EventDigits("test", cache_dir=tmp_path)
    events = data[0][0]
    assert data[0][0].dtype == EVENT_DTYPE  # read back from the cache in the public dtype
    # A folder as format 1 wrote it: the same digit as int64 events, under another name.
    old = tmp_path / "event_digits-0123456789abcdef"
    old.mkdir()
    np.save(old / f"{int(data.indices[0]):04d}.npy", events[:3])
    assert EventDigits.stale_caches(tmp_path) == [old]
    assert EventDigits("test", cache_dir=tmp_path)[0][0].size == events.size
    with pytest.raises(ValueError, match="the cache stores t as uint32"):
        EventDigits("test", cache_dir=tmp_path / "long", saccade_us=2.0e9, steps_per_saccade=1)[0]
