"""``spikejax eval RUN --early-exit`` on event frames reports the latency to decision in µs of
event time, per sample from its own frame length, in the printed report and the JSON curve."""

import json
import re

import numpy as np
import pytest

from spikejax.cli import main
from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.data import ToFrames
from spikejax.train._loop import fit
from tests.test_data_aedat4 import write_aedat4

# Every recording has 3 events over DURATION[class] + 1 µs; with n_time_bins = 2 tonic's frames
# are w = ⌊(t_last - t_0) / 2⌋ µs long, so a decision after frame k (1, 2) waits k·w µs.
DURATION = {"airplane": 98, "cat": 198}  # w = 49 µs and 99 µs
ENDS = {"airplane": [49.0, 98.0], "cat": [99.0, 198.0]}


@pytest.fixture(scope="module")
def event_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("events")
    for cls, duration in DURATION.items():
        for i in range(10):
            t = [1000 * i + 1, 1000 * i + 50, 1000 * i + 1 + duration]
            write_aedat4(
                root / "CIFAR10DVS" / cls / f"{i:02d}.aedat4",
                [(0, (t, [1, 2, 3], [4, 5, 6], [1, 0, 1]))],
            )
    config = Config(
        name="tiny_events",
        data=DataConfig("cifar10_dvs", root=str(root), spatial_factor=0.0625, prefetch=0),
        model=ModelConfig(
            "spikejax.models._small:LIFMLP", {"in_features": 128, "hidden": (6,), "num_classes": 10}
        ),
        optimizer=OptimizerConfig("adam", lr=1e-3),
        train=TrainConfig(epochs=1, batch_size=8, num_steps=2, log_every=1, eval_batch_size=8),
    )
    run_dir = root / "run"
    fit(config, run_dir, progress=False, plots=False)
    return run_dir


def test_frame_ends_follow_tonic_slicing():
    """The frames' ends are those of tonic's slices, computed independently here."""
    ev = np.zeros(3, dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
    ev["t"] = [7, 40, 7 + 301]
    assert ToFrames((4, 4, 2), n_time_bins=3).frame_ends_us(ev).tolist() == [100, 200, 300]
    windows = ToFrames((4, 4, 2), time_window=120, include_incomplete=True)
    assert windows.frame_ends_us(ev).tolist() == [120, 240, 360]
    assert len(windows(ev)) == 3
    with pytest.raises(ValueError, match=r"`ToFrames.frame_ends_us`: frames of a fixed"):
        ToFrames((4, 4, 2), event_count=2).frame_ends_us(ev)


def test_eval_early_exit_reports_latency_in_event_time(event_run, capsys):
    assert main(["eval", str(event_run), "--which", "latest", "--early-exit", "0", "1"]) == 0
    out = capsys.readouterr().out
    # The test split holds one airplane and one cat; threshold 0 decides after one frame,
    # threshold 1 (never confident) after both.
    one = np.mean([ENDS["airplane"][0], ENDS["cat"][0]])
    two = np.mean([ENDS["airplane"][1], ENDS["cat"][1]])
    assert re.search(
        rf"threshold 0.000: .*1.00 steps on average \(at most 1\); latency {one:.0f} µs of event "
        rf"time on average \(at most {ENDS['cat'][0]:.0f} µs\)",
        out,
    )
    assert re.search(rf"threshold 1.000: .*latency {two:.0f} µs .*at most 198 µs", out)
    assert f"fixed steps: 1 ({one:.0f} µs)" in out and "steps only" not in out
    report = json.loads((event_run / "early_exit_latest.json").read_text())
    assert report["event_time"] is True and report["samples"] == 2
    rows = report["curve"]
    assert rows[0]["mean_latency_us"] == one and rows[1]["max_latency_us"] == 198.0
    assert [r["mean_latency_us"] for r in rows if "steps" in r] == [one, two]
