"""Grid sweeps trained as populations: a member equals its run trained alone, the run
directories are the ones ``fit`` writes, configurations of other shapes train apart."""

from __future__ import annotations

import csv
import json

import jax
import numpy as np
import pytest

from spikejax.cli import main
from spikejax.config import (
    Config,
    DataConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
    to_dict,
)
from spikejax.train import Checkpointer, fit, fit_population, read_metrics

TINY = Config(
    name="tiny",
    data=DataConfig(name="digits", limit=90, prefetch=0),
    model=ModelConfig(
        "lif_mlp",
        {
            "in_features": 64,
            "hidden": (8,),
            "num_classes": 10,
            "T": 2,
            "beta": 0.9,
            "threshold": 1.0,
        },
    ),
    optimizer=OptimizerConfig(name="adamw", lr=5e-3, weight_decay=1e-2),
    train=TrainConfig(epochs=2, batch_size=30, num_steps=2, log_every=2, eval_batch_size=64),
)

SWEEP = """
from spikejax.config import from_dict
from spikejax.sweep import Sweep

BASE = from_dict({base!r})


def get_sweep():
    return Sweep(base=BASE, grid={{
        "optimizer.lr": (5e-3, 2e-2),
        "model.options.beta": (0.9, 0.8),
        "seed": (0, 3),
    }}, overrides=("optimizer.weight_decay=0.02",))
"""


def _params(run_dir):
    _, tree, _ = Checkpointer(run_dir / "checkpoints").restore("latest")
    return tree


def test_grid_sweep_members_equal_their_runs_trained_alone(tmp_path, capsys):
    (tmp_path / "sweep.py").write_text(SWEEP.format(base=to_dict(TINY)))
    out = tmp_path / "out"
    assert main(["sweep", str(tmp_path / "sweep.py"), "--out", str(out), "--quiet"]) == 0
    assert "8 runs (8 complete)" in capsys.readouterr().out
    with (out / "results.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == [str(i) for i in range(8)]
    assert {r["population"] for r in rows} == {"0"}  # one shape: one population of 8
    assert [(r["optimizer.lr"], r["model.options.beta"], r["seed"]) for r in rows[:3]] == [
        ("0.005", "0.9", "0"),
        ("0.005", "0.9", "3"),
        ("0.005", "0.8", "0"),
    ]
    member = out / "runs" / "0007"  # lr 2e-2, beta 0.8, seed 3
    summary = json.loads((member / "summary.json").read_text())
    assert summary["population"] == {"size": 8, "index": 7, "devices": 1}
    assert summary["traces"] == {"train": 1, "eval": 1}  # one compiled step for all 8 runs
    config = json.loads((member / "config.json").read_text())
    assert config["optimizer"]["lr"] == 2e-2 and config["seed"] == 3
    assert config["model"]["options"]["beta"] == 0.8
    assert config["optimizer"]["weight_decay"] == 0.02

    from spikejax.config import from_dict

    alone = tmp_path / "alone"
    solo = fit(from_dict(config), alone, progress=False, plots=False)
    # Metrics: every record, every key; float32 tolerance (vmap may round differently).
    got, want = read_metrics(member), read_metrics(alone)
    assert [(r["step"], r["split"], sorted(r)) for r in got] == [
        (r["step"], r["split"], sorted(r)) for r in want
    ]
    for g, w in zip(got, want, strict=True):
        for key in w:
            if key not in ("step", "split", "wall_time"):
                np.testing.assert_allclose(g[key], w[key], rtol=2e-5, atol=1e-6, err_msg=key)
    # Parameters, optimizer state (with its injected learning rate) and RNG state.
    jax.tree.map(
        lambda g, w: np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6),
        _params(member),
        _params(alone),
    )
    for key in ("test_accuracy_final", "val_accuracy_best", "steps", "num_params"):
        assert summary[key] == pytest.approx(solo[key], abs=1 / 90), key
    # The other members really differ (different learning rates, β and seeds).
    first, last = _params(out / "runs" / "0000")["model"], _params(member)["model"]
    assert not all(
        np.allclose(a, b)
        for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(last), strict=True)
    )


def test_configurations_of_other_shapes_train_as_separate_populations(tmp_path):
    from spikejax.config import apply_overrides
    from spikejax.sweep._grid import _groups, _Member

    configs = [
        apply_overrides(TINY, o)
        for o in (
            ["optimizer.lr=0.01"],
            ["model.options.hidden=12"],
            ["seed=4", "model.options.threshold=0.5"],
            ["optimizer.weight_decay=0", "optimizer.name=adam"],  # another optimizer structure
        )
    ]
    members = [_Member(i, {}, c, tmp_path / str(i)) for i, c in enumerate(configs)]
    assert [[m.index for m in g] for g in _groups(members)] == [[0, 2], [1], [3]]
    with pytest.raises(ValueError, match=r"member 1 \(.*\) differs from member 0"):
        fit_population(configs[:2], [tmp_path / "a", tmp_path / "b"], progress=False)
    assert not (tmp_path / "a" / "config.json").exists()  # nothing of these runs is left


def test_a_population_must_divide_across_the_devices(tmp_path):
    with pytest.raises(ValueError, match="population of 3 runs must divide evenly across the 2 "):
        fit_population([TINY] * 3, [tmp_path / str(i) for i in range(3)], devices=2)
    assert not any(tmp_path.iterdir())


SHARDED = """
import json, sys
from pathlib import Path
import jax, numpy as np
from spikejax.config import from_dict
from spikejax.train import Checkpointer, fit_population

assert len(jax.devices()) == 2, jax.devices()
configs = [from_dict(c) for c in json.loads(sys.argv[2])]
out = Path(sys.argv[1])
for devices in (1, 2):
    dirs = [out / f"d{devices}-{i}" for i in range(len(configs))]
    fit_population(configs, dirs, devices=devices, progress=False)
for i in range(len(configs)):
    one, two = (Checkpointer(out / f"d{d}-{i}/checkpoints").restore("latest")[1] for d in (1, 2))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6), one, two)
print("sharded == one device")
"""


@pytest.mark.slow
def test_a_population_split_over_two_devices_equals_one_device(tmp_path):
    import os
    import subprocess
    import sys

    from spikejax.config import apply_overrides

    configs = [to_dict(apply_overrides(TINY, [f"seed={s}"])) for s in (0, 1, 2, 3)]
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    (tmp_path / "sharded.py").write_text(SHARDED)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "sharded.py"), str(tmp_path), json.dumps(configs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "sharded == one device" in result.stdout
