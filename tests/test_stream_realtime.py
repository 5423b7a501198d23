"""Real-time event input: a recorded stream fed bin by bin equals one run over the same frames,
compiles once, decides causally; the decision plot; bad streams refused by name."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax.data import EVENT_DTYPE, ToFrames
from spikejax.readout import EventStream

SENSOR = (4, 4, 2)
BIN = 1000


def events(n, seed, duration_us):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["p"] = rng.integers(0, 4, n), rng.integers(0, 4, n), rng.integers(0, 2, n)
    ev["t"] = np.sort(rng.integers(0, duration_us, n))
    return ev


@pytest.fixture(scope="module")
def stream():
    net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), in_features=32, hidden=(16,), beta=0.8)
    return net, EventStream(net, SENSOR, bin_us=BIN)


def test_bins_equal_one_run_over_the_same_frames_and_compile_once(stream):
    net, live = stream
    for seed, duration in ((0, 9_500), (1, 4_200)):
        ev = events(300, seed, duration)
        result = live(ev, threshold=0.3, t_start=0)
        n_bins = -(-(int(ev["t"][-1]) + 1) // BIN)
        frames = ToFrames(SENSOR, time_window=BIN, start_time=0, end_time=n_bins * BIN)(ev)
        frames = jnp.asarray(np.asarray(frames, np.float32).reshape(n_bins, 1, -1))
        np.testing.assert_allclose(result.outputs, net(frames)[:, 0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(result.events_per_bin, np.asarray(frames).sum((1, 2)))
        prediction, steps = sj.readout.early_decision(net(frames), 0.3)
        assert (result.prediction, result.decision_bin) == (int(prediction[0]), int(steps[0]))
        assert result.latency_us == result.decision_bin * BIN == result.bin_end_us[steps[0] - 1]
        assert result.wall_s.shape == (n_bins,) and np.all(result.wall_s > 0)
        np.testing.assert_allclose(result.probabilities.sum(-1), 1.0, rtol=1e-5)
    assert live.traces == 1


def test_the_decision_plot_marks_the_decision(stream, tmp_path):
    _, live = stream
    result = live(events(200, 2, 6_000), threshold=0.0)  # threshold 0: decides after one bin
    assert result.decision_bin == 1
    fig = sj.viz.plot_stream_decision(result, tmp_path / "stream.png", label=3)
    ax = fig.axes[0]
    assert ax.get_title().startswith(f"decided {result.prediction} after 1 ms (bin 1 of ")
    assert ax.get_title().endswith("true class 3")
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"] == [1.0]
    assert (tmp_path / "stream.png").stat().st_size > 0


def test_bad_streams_are_refused_by_name(stream):
    net, live = stream
    ev = events(20, 3, 3_000)
    with pytest.raises(ValueError, match=r"`events\['t'\]` must be sorted"):
        live(ev[::-1].copy(), threshold=0.5)
    with pytest.raises(ValueError, match=r"missing \['p'\]"):
        live(np.zeros(2, dtype=[("x", "i8"), ("y", "i8"), ("t", "i8")]), threshold=0.5)
    with pytest.raises(ValueError, match=r"`early_decision`: `threshold` must be a number in"):
        live(ev, threshold=1.5)
    with pytest.raises(ValueError, match=r"`bin_us` must be an int >= 1 \(µs\); got 0"):
        EventStream(net, SENSOR, bin_us=0)
    with pytest.raises(ValueError, match=r"`plot_stream_decision`: `result.decision_bin`"):
        sj.viz.plot_stream_decision(live(ev, threshold=0.5)._replace(decision_bin=0))
