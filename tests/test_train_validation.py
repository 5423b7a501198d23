"""The validation split: carved from the training split only, stratified, seeded; selects "best"."""

import math

import numpy as np
import pytest
from flax import nnx

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.train import CheckpointError, fit, load_run, read_metrics
from spikejax.train import _loop as loop
from spikejax.train._data import load_splits
from spikejax.train._validation import VAL_STREAM, validation_split
from spikejax.train.checkpoint import Checkpointer

MLP = "spikejax.models._small:LIFMLP"


def reference_split(labels, fraction, seed):
    """The documented draw, written out: per class, in increasing order, one generator."""
    rng = np.random.default_rng([seed, VAL_STREAM])
    val = set()
    for c in sorted(set(labels.tolist())):
        members = [i for i, label in enumerate(labels.tolist()) if label == c]
        k = min(math.floor(fraction * len(members) + 0.5), len(members) - 1)
        val.update(rng.permutation(members)[:k].tolist())
    train = [i for i in range(len(labels)) if i not in val]
    return train, sorted(val)


@pytest.mark.parametrize(("fraction", "seed"), [(0.1, 0), (0.25, 3), (0.5, 7), (0.0, 1)])
def test_validation_split_is_disjoint_stratified_and_seeded(fraction, seed):
    labels = np.random.default_rng(11).integers(0, 5, 83)
    labels[:3] = 4  # class 4 has at least 3 members; class sizes differ
    train, val = validation_split(labels, fraction, seed)
    assert (train.tolist(), val.tolist()) == reference_split(labels, fraction, seed)
    assert not set(train.tolist()) & set(val.tolist())
    assert sorted(train.tolist() + val.tolist()) == list(range(83))
    for c in range(5):
        n_c = int(np.sum(labels == c))
        assert int(np.sum(labels[val] == c)) == min(math.floor(fraction * n_c + 0.5), n_c - 1)
        assert int(np.sum(labels[train] == c)) >= 1
    again = validation_split(labels, fraction, seed)
    np.testing.assert_array_equal(again[1], val)


def test_validation_split_depends_on_the_seed_and_keeps_lone_samples():
    labels = np.repeat(np.arange(4), 10)
    a, b = validation_split(labels, 0.3, 0)[1], validation_split(labels, 0.3, 1)[1]
    assert len(a) == len(b) == 12 and a.tolist() != b.tolist()
    train, val = validation_split(np.array([0, 1, 1, 2]), 0.9, 0)  # one per class stays
    assert sorted(np.array([0, 1, 1, 2])[train].tolist()) == [0, 1, 2] and len(val) == 1
    with pytest.raises(ValueError, match=r"`validation_split`: `fraction` must be in \[0, 1\)"):
        validation_split(labels, 1.0, 0)


def _npz_config(path, seed=0, fraction=0.2, limit=None):
    """Samples identified by their first feature: train ids 0..59, test ids 1000..1019."""
    rng = np.random.default_rng(5)
    x_train = rng.random((60, 3)).astype(np.float32)
    x_train[:, 0] = np.arange(60)
    x_test = rng.random((20, 3)).astype(np.float32)
    x_test[:, 0] = 1000 + np.arange(20)
    y_train, y_test = rng.integers(0, 3, 60), rng.integers(0, 3, 20)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = DataConfig("npz", root=str(path), val_fraction=fraction, limit=limit)
    return Config(name="npz", seed=seed, data=data), y_train, (x_test, y_test)


def test_run_splits_carve_validation_out_of_train_and_leave_test_alone(tmp_path):
    config, y_train, (x_test, y_test) = _npz_config(tmp_path / "d.npz", seed=4)
    splits = load_splits(config, validation=True)
    train_ids = splits.train[0][:, 0].astype(int).tolist()
    val_ids = splits.val[0][:, 0].astype(int).tolist()
    assert not set(train_ids) & set(val_ids)
    assert sorted(train_ids + val_ids) == list(range(60))
    np.testing.assert_array_equal(splits.train[1], y_train[train_ids])
    np.testing.assert_array_equal(splits.val[1], y_train[val_ids])
    for c in range(3):
        n_c = int(np.sum(y_train == c))
        assert sum(y_train[i] == c for i in val_ids) == min(math.floor(0.2 * n_c + 0.5), n_c - 1)
    np.testing.assert_array_equal(splits.test[0], x_test)
    np.testing.assert_array_equal(splits.test[1], y_test)
    assert (train_ids, val_ids) == reference_split(y_train, 0.2, 4)
    again = load_splits(config, validation=True)
    np.testing.assert_array_equal(again.val[0], splits.val[0])
    other = load_splits(Config(name="npz", seed=5, data=config.data), validation=True)
    assert other.val[0][:, 0].tolist() != splits.val[0][:, 0].tolist()
    # Without a run's validation, or with val_fraction=0, train is the whole training split.
    assert load_splits(config).val is None and len(load_splits(config).train[1]) == 60
    zero, *_ = _npz_config(tmp_path / "z.npz", fraction=0.0)
    assert load_splits(zero, validation=True).val is None


def test_limit_applies_after_the_validation_draw(tmp_path):
    config, y_train, _ = _npz_config(tmp_path / "d.npz", limit=7)
    splits = load_splits(config, validation=True)
    train, val = reference_split(y_train, 0.2, 0)
    assert splits.train[0][:, 0].astype(int).tolist() == train[:7]
    assert splits.val[0][:, 0].astype(int).tolist() == val[:7]
    assert len(splits.test[1]) == 7


def test_empty_validation_split_is_named(tmp_path):
    config, *_ = _npz_config(tmp_path / "d.npz", fraction=0.001)
    with pytest.raises(ValueError, match=r"validation split of 'npz' must hold at least one"):
        load_splits(config, validation=True)


def tiny(**data) -> Config:
    return Config(
        name="tiny",
        data=DataConfig("digits", limit=96, prefetch=0, **data),
        model=ModelConfig(MLP, {"in_features": 64, "hidden": (8,), "num_classes": 10}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(epochs=3, batch_size=32, num_steps=2, log_every=3, eval_batch_size=64),
    )


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: np.asarray(tree)}


def test_best_is_chosen_by_validation_and_tested_once(tmp_path, monkeypatch):
    # Scripted evaluations: validation peaks at step 6, so "best" is step 6 whatever the test
    # split says; the test split is measured for the final model and the best checkpoint only.
    real = loop._evaluate
    script = {"val": [0.5, 0.9, 0.7], "test": [0.6, 0.3]}
    calls = []

    def scripted(run, model_state, split="test"):
        metrics = real(run, model_state, split)
        calls.append((split, _leaves(nnx.to_pure_dict(model_state))))
        return {**metrics, "accuracy": script[split].pop(0)}

    monkeypatch.setattr(loop, "_evaluate", scripted)
    summary = fit(tiny(), tmp_path / "run", progress=False, plots=False)
    assert [split for split, _ in calls] == ["val", "val", "val", "test", "test"]
    # The best checkpoint's test accuracy is measured on the step-6 weights, as restored.
    _, tree, _ = Checkpointer(tmp_path / "run" / "checkpoints", best_metric="val_accuracy").restore(
        "best"
    )
    saved, tested = _leaves(tree["model"]), calls[-1][1]
    assert saved.keys() == tested.keys()
    assert all(saved[k].tobytes() == tested[k].tobytes() for k in saved)
    assert any(saved[k].tobytes() != calls[-2][1][k].tobytes() for k in saved)  # not the final
    assert summary["best"]["step"] == 6 and summary["best"]["selected_by"] == "val_accuracy"
    assert summary["val_accuracy_best"] == 0.9 and summary["test_accuracy_best"] == 0.3
    assert summary["test_accuracy_final"] == 0.6 and summary["val_accuracy_final"] == 0.7
    assert summary["best"]["accuracy"] == 0.3 and summary["final"]["test_accuracy"] == 0.6
    evals = [r for r in read_metrics(tmp_path / "run") if r["split"] == "eval"]
    assert [(r["step"], r["val_accuracy"]) for r in evals] == [(3, 0.5), (6, 0.9), (9, 0.7)]
    assert [r.get("test_accuracy") for r in evals] == [None, None, 0.6]
    ckpt = Checkpointer(tmp_path / "run" / "checkpoints", best_metric="val_accuracy")
    assert ckpt.best_step() == 6 and ckpt.latest_step() == 9


def test_real_run_best_is_the_validation_maximum(tmp_path):
    summary = fit(tiny(), tmp_path / "run", progress=False, plots=False)
    evals = [r for r in read_metrics(tmp_path / "run") if r["split"] == "eval"]
    accuracies = [r["val_accuracy"] for r in evals]
    first_max = evals[int(np.argmax(accuracies))]  # ties keep the earliest checkpoint
    assert summary["best"]["step"] == first_max["step"]
    assert summary["val_accuracy_best"] == first_max["val_accuracy"]
    assert summary["samples"]["val"] == 96 and summary["samples"]["test"] == 96
    assert summary["final"]["val_samples"] == 96


def test_without_validation_there_is_no_best(tmp_path):
    run_dir = tmp_path / "run"
    summary = fit(tiny(val_fraction=0.0), run_dir, progress=False, plots=False)
    assert summary["best"] is None and summary["test_accuracy_best"] is None
    assert summary["val_accuracy_final"] is None and summary["samples"]["val"] == 0
    evals = [r for r in read_metrics(run_dir) if r["split"] == "eval"]
    assert [r["step"] for r in evals] == [3, 6, 9]
    assert all("test_accuracy" in r and "val_accuracy" not in r for r in evals)
    assert evals[-1]["test_accuracy"] == summary["test_accuracy_final"]
    with pytest.raises(ValueError, match=r"`load_run`: `which` must be 'latest'.*val_fraction=0"):
        load_run(run_dir)
    restored = load_run(run_dir, which="latest")
    assert restored.evaluate()["accuracy"] == summary["test_accuracy_final"]
    with pytest.raises(ValueError, match=r"`split` 'val' needs a validation split"):
        restored.evaluate("val")
    assert not Checkpointer(run_dir / "checkpoints").exists("best")
    with pytest.raises(CheckpointError):
        Checkpointer(run_dir / "checkpoints", best_metric="val_accuracy").restore("best")
