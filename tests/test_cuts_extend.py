"""Resuming a finished run with more ``train.epochs`` extends it, as a recorded change."""

import dataclasses
import json
import shutil

import jax
import numpy as np
import pytest

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.train import fit, load_run, read_metrics
from spikejax.train._extend import EXTENSIONS_FILE

OPTIONS = {"in_features": 64, "hidden": (8,), "num_classes": 10}


def tiny(epochs: int, **changes) -> Config:
    config = Config(
        name="extend",
        data=DataConfig("digits", limit=100, prefetch=0, val_fraction=0.2),
        model=ModelConfig("lif_mlp", OPTIONS),
        optimizer=OptimizerConfig("adam", lr=5e-3),  # constant schedule: extension is exact
        train=TrainConfig(
            epochs=epochs, batch_size=16, num_steps=3, log_every=2, eval_batch_size=64
        ),
    )
    return dataclasses.replace(config, **changes)


def _fit(config, run_dir, **kwargs):
    return fit(config, run_dir, progress=False, plots=False, **kwargs)


def _params(run):
    return jax.tree.leaves(run.model)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("extend")
    _fit(tiny(1), root / "short")
    shutil.copytree(root / "short", root / "finished")  # the run as it was before extending
    summary = _fit(tiny(2), root / "short", resume=True)
    _fit(tiny(2), root / "straight")
    return root, summary


def test_extension_continues_the_run_and_equals_the_longer_run(runs):
    root, summary = runs
    straight = json.loads((root / "straight" / "summary.json").read_text())
    per_epoch = straight["steps"] // 2
    assert summary["steps"] == straight["steps"] == 2 * per_epoch
    assert summary["resumed_from"] == per_epoch
    assert summary["extensions"][0]["changed"] == {"train.epochs": [1, 2]}
    a, b = load_run(root / "short", which="latest"), load_run(root / "straight", which="latest")
    for x, y in zip(_params(a), _params(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert json.loads((root / "short" / "config.json").read_text())["train"]["epochs"] == 2
    steps = [r["step"] for r in read_metrics(root / "short") if r["split"] == "train"]
    assert steps == sorted(steps) and steps[-1] == 2 * per_epoch


def test_the_record_names_the_change_and_the_previous_configuration(runs):
    root, _ = runs
    (record,) = json.loads((root / "short" / EXTENSIONS_FILE).read_text())
    assert record["changed"] == {"train.epochs": [1, 2]}
    before = json.loads((root / "finished" / "config.json").read_text())
    assert record["from_config"] == before
    assert record["from_config_sha256"] != record["to_config_sha256"]


def test_checkpoints_from_before_the_extension_stay_readable(runs, tmp_path):
    root, _ = runs
    # The pre-extension checkpoints (committed with epochs=1) next to the extended config.json.
    copy = tmp_path / "mixed"
    shutil.copytree(root / "finished", copy)
    shutil.copy(root / "short" / "config.json", copy / "config.json")
    with pytest.raises(ValueError, match=r"must be the configuration committed.*epochs: 1 -> 2"):
        load_run(copy, which="latest")  # an edit without a record is refused
    shutil.copy(root / "short" / EXTENSIONS_FILE, copy / EXTENSIONS_FILE)
    assert load_run(copy, which="latest").step == load_run(root / "finished", which="latest").step


def test_a_record_that_does_not_match_the_configuration_is_not_accepted(runs, tmp_path):
    root, _ = runs
    copy = tmp_path / "forged"
    shutil.copytree(root / "finished", copy)
    data = json.loads((copy / "config.json").read_text())
    data["train"]["epochs"], data["seed"] = 2, 5  # more than the epochs changed
    (copy / "config.json").write_text(json.dumps(data))
    shutil.copy(root / "short" / EXTENSIONS_FILE, copy / EXTENSIONS_FILE)
    with pytest.raises(ValueError, match=r"must be the configuration committed"):
        load_run(copy, which="latest")
    (copy / EXTENSIONS_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=rf"{EXTENSIONS_FILE} must hold the run's list"):
        load_run(copy, which="latest")


def test_only_a_larger_epoch_count_extends(runs, tmp_path):
    root, _ = runs
    copy = tmp_path / "run"
    shutil.copytree(root / "short", copy)
    with pytest.raises(ValueError, match=r"`train.epochs` may only grow .* has 2, got 1"):
        _fit(tiny(1), copy, resume=True)
    with pytest.raises(ValueError, match=r"must equal the run's config.json.*seed"):
        _fit(tiny(3, seed=4), copy, resume=True)
    assert json.loads((copy / "config.json").read_text())["train"]["epochs"] == 2
    assert len(json.loads((copy / EXTENSIONS_FILE).read_text())) == 1
