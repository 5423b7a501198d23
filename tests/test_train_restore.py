"""load_run: a finished run restored bit for bit, reproducing its recorded evaluations."""

import json
import shutil

import numpy as np
import pytest
from flax import nnx

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.data import load_digits
from spikejax.train import CheckpointError, RestoredRun, evaluate, fit, load_run, read_metrics
from spikejax.train._commit import digest, file_table
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import config_hash
from tests.legacy_layout import to_legacy_layout

MLP = "spikejax.models._small:LIFMLP"
T = 3


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run of 3 epochs with a validation split: ``(config, run_dir, summary)``."""
    config = Config(
        name="restore",
        seed=2,
        data=DataConfig("digits", limit=160, prefetch=0, val_fraction=0.2),
        model=ModelConfig(MLP, {"in_features": 64, "hidden": (12,), "num_classes": 10}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(epochs=3, batch_size=32, num_steps=T, log_every=5, eval_batch_size=64),
    )
    run_dir = tmp_path_factory.mktemp("restore") / "run"
    return config, run_dir, fit(config, run_dir, progress=False, plots=False)


def _flat(tree, prefix=""):
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: np.asarray(tree)}


def _model_leaves(model):
    return _flat(nnx.to_pure_dict(nnx.state(model)))


@pytest.mark.parametrize("which", ["best", "latest"])
def test_restored_parameters_are_bit_identical(finished, which):
    config, run_dir, summary = finished
    restored = load_run(run_dir, which=which)
    assert isinstance(restored, RestoredRun) and restored.config == config
    step, tree, _ = Checkpointer(run_dir / "checkpoints", best_metric="val_accuracy").restore(which)
    assert restored.step == step
    assert restored.step == (summary["best"]["step"] if which == "best" else summary["steps"])
    saved, got = _flat(tree["model"]), _model_leaves(restored.model)
    assert saved.keys() == got.keys()
    for path, value in saved.items():
        assert got[path].dtype == value.dtype and got[path].tobytes() == value.tobytes(), path


def test_restored_evaluation_reproduces_the_recorded_metrics(finished):
    _, run_dir, summary = finished
    records = {r["step"]: r for r in read_metrics(run_dir) if r["split"] == "eval"}
    best = load_run(run_dir)
    assert best.checkpoint_metrics["val_accuracy"] == summary["val_accuracy_best"]
    val = best.evaluate("val")
    assert val["accuracy"] == records[best.step]["val_accuracy"] == summary["val_accuracy_best"]
    assert val["loss"] == records[best.step]["val_loss"]
    assert val["samples"] == summary["samples"]["val"]
    assert best.evaluate("test")["accuracy"] == summary["test_accuracy_best"]
    latest = load_run(run_dir, which="latest")
    test = latest.evaluate()
    final = records[summary["steps"]]
    assert test["accuracy"] == final["test_accuracy"] == summary["test_accuracy_final"]
    assert test["loss"] == summary["final"]["test_loss"]
    assert test["firing_rates"] == summary["final"]["firing_rates"]
    assert test["samples"] == 160 and test["which"] == "latest" and test["split"] == "test"
    assert evaluate(run_dir, which="latest")["accuracy"] == summary["test_accuracy_final"]
    assert evaluate(run_dir, split="val")["accuracy"] == summary["val_accuracy_best"]


def test_inputs_and_splits_are_the_run_data(finished):
    _, run_dir, summary = finished
    restored = load_run(run_dir, which="latest")
    x_test, y_test = load_digits("test")
    inputs, labels = restored.inputs("test", limit=70)  # crosses into evaluation batch 1
    expected = np.broadcast_to(x_test[:70].reshape(70, 64), (T, 70, 64))  # direct encoding
    assert inputs.shape == (T, 70, 64) and inputs.dtype == np.float32
    np.testing.assert_array_equal(inputs, expected)
    np.testing.assert_array_equal(labels, y_test[:70])
    assert restored.inputs("test")[0].shape == (T, 160, 64)
    assert restored.num_samples("train") == summary["samples"]["train"] == 160
    batches = list(restored.batches("val"))
    assert [int(b.mask.sum()) for b in batches] == [64, 64, 32]
    # Validation samples come from the training split, never from the test split.
    x_train, _ = load_digits("train")
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), 64)}
    val_inputs, _ = restored.inputs("val")
    assert all(row.tobytes() in train_rows for row in val_inputs[0])
    with pytest.raises(ValueError, match=r"`RestoredRun.inputs`: `split` must be one of"):
        restored.inputs("dev")
    with pytest.raises(ValueError, match=r"`RestoredRun.inputs`: `limit` must be an int >= 1"):
        restored.inputs("test", limit=0)


def test_named_errors(finished, tmp_path):
    _, run_dir, _ = finished
    with pytest.raises(FileNotFoundError, match=r"`load_run`: `run_dir` must be a run directory"):
        load_run(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"`load_run`: `which` must be one of"):
        load_run(run_dir, which="first")
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(run_dir / "config.json", copy / "config.json")
    with pytest.raises(
        CheckpointError, match=r"`load_run`: `which` must name a checkpoint.*saved no"
    ):
        load_run(copy, which="latest")
    broken = json.loads((run_dir / "config.json").read_text())
    broken["train"]["epoch"] = 3
    (copy / "config.json").write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=r"`load_run`: .*config.json must hold a configuration"):
        load_run(copy, which="latest")
    (copy / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"must hold a configuration.*JSONDecodeError"):
        load_run(copy)


def _as_older_run(run_dir, config_data=None):
    """Re-commit every checkpoint of ``run_dir`` as older versions wrote them: no configuration
    hash in the commit marker, no configuration in ``extra.json``, and in ``extra.json`` the
    hash of ``config_data`` (or none at all, from before configurations were hashed), in the
    older ``ckpt-<n>-step-<s>`` layout."""
    for path in (run_dir / "checkpoints").iterdir():
        if not path.is_dir():
            continue
        extra = json.loads((path / "extra.json").read_text())["extra"]
        extra.pop("config", None)
        extra.pop("logged_to", None)
        extra.pop("config_hash")
        if config_data is not None:
            extra["config_hash"] = config_hash(config_data)
        (path / "extra.json").write_text(json.dumps({"extra": extra}))
        marker = json.loads((path / "COMMIT.json").read_text())
        body = {k: v for k, v in marker.items() if k not in ("digest", "meta")}
        body["files"] = file_table(path)
        (path / "COMMIT.json").write_text(json.dumps({**body, "digest": digest(body)}))
    to_legacy_layout(run_dir / "checkpoints")


def test_checkpoint_of_another_model_is_named(finished, tmp_path):
    _, run_dir, _ = finished
    copy = tmp_path / "other"
    shutil.copytree(run_dir, copy)
    other = json.loads((copy / "config.json").read_text())
    other["model"]["options"]["hidden"] = [13]
    (copy / "config.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match=r"config.json must be the configuration committed"):
        load_run(copy, which="latest")
    _as_older_run(copy)  # from before configurations were hashed: the arrays are compared
    with pytest.raises(ValueError, match=r"`load_run`: the checkpoint 'latest' of .* must hold"):
        load_run(copy, which="latest")


def test_a_run_from_before_validation_splits_reads_as_without_one(finished, tmp_path):
    _, run_dir, _ = finished
    copy = tmp_path / "old"
    shutil.copytree(run_dir, copy)
    old = json.loads((copy / "config.json").read_text())
    del old["data"]["val_fraction"]
    (copy / "config.json").write_text(json.dumps(old))
    _as_older_run(copy, old)
    with pytest.raises(ValueError, match=r"`which` must be 'latest'.*no validation split"):
        load_run(copy)
    restored = load_run(copy, which="latest")
    assert restored.config.data.val_fraction == 0 and restored.splits.val is None
    assert restored.num_samples("train") == 160


def _corrupt_latest(run_dir, copy):
    """A copy of ``run_dir`` whose latest checkpoint holds β = 1.5 in the hidden LIF layer."""
    shutil.copytree(run_dir, copy)
    checkpointer = Checkpointer(copy / "checkpoints", best_metric="val_accuracy")
    step, tree, extra = checkpointer.restore("latest")
    beta = np.array(tree["model"]["blocks"]["0"]["sn"]["params"]["beta"])
    beta[3] = 1.5
    tree["model"]["blocks"]["0"]["sn"]["params"]["beta"] = beta
    checkpointer.save(step + 1, tree, extra=extra)


def test_checkpoint_with_out_of_range_neuron_values_is_refused(finished, tmp_path):
    config, run_dir, _ = finished
    copy = tmp_path / "bad"
    _corrupt_latest(run_dir, copy)
    leaf = r"`checkpoint\['latest'\]\.model\.blocks\.0\.sn\.params\.beta`"
    with pytest.raises(
        ValueError, match=rf"^`load_run`: {leaf} must lie in \[0\.0, 1\.0\]; got \[1\.5\]"
    ):
        load_run(copy, which="latest")
    with pytest.raises(ValueError, match=rf"^`fit`: {leaf} must lie in \[0\.0, 1\.0\]"):
        fit(config, copy, resume=True, progress=False, plots=False)


def test_the_train_step_projects_learnable_decays_and_thresholds(tmp_path):
    # A learning rate far too large for β and θ: every step pushes them out of range, and the
    # train step's projection puts them back before the next forward pass.
    config = Config(
        name="projected",
        seed=0,
        data=DataConfig("digits", limit=64, prefetch=0, val_fraction=0.0),
        model=ModelConfig(
            MLP,
            {
                "in_features": 64,
                "hidden": (8,),
                "num_classes": 10,
                "learn_beta": True,
                "learn_threshold": True,
            },
        ),
        optimizer=OptimizerConfig("sgd", lr=50.0, grad_clip=1.0),
        train=TrainConfig(batch_size=16, num_steps=T, max_steps=12, log_every=4),
    )
    fit(config, tmp_path / "run", progress=False, plots=False)
    model = load_run(tmp_path / "run", which="latest").model  # check_params passes on load
    params = nnx.to_pure_dict(nnx.state(model))
    beta = np.asarray(params["blocks"][0]["sn"]["params"]["beta"])
    threshold = np.asarray(params["blocks"][0]["sn"]["params"]["threshold"])
    assert np.all((beta >= 0) & (beta <= 1)) and np.all(threshold > 0)
    assert np.any((beta == 0) | (beta == 1))  # the projection was active


def test_orbax_lists_a_run_and_the_older_layout_still_loads_and_deploys(finished, tmp_path):
    import orbax.checkpoint as ocp

    from spikejax.chip._run_dir import from_run_dir

    _, run_dir, summary = finished
    index = json.loads((run_dir / "checkpoints" / "index.json").read_text())
    assert index["latest"]["step"] == summary["steps"]
    assert index["best"]["step"] == summary["best"]["step"]
    runs = {which: load_run(run_dir, which=which) for which in ("best", "latest")}
    with ocp.CheckpointManager(run_dir / "checkpoints") as manager:
        assert manager.all_steps() == [e["step"] for e in index["checkpoints"]]
        assert manager.latest_step() == summary["steps"]
        for which, run in runs.items():
            restored = manager.restore(
                run.step, args=ocp.args.Composite(state=ocp.args.StandardRestore())
            )
            saved, got = _flat(restored["state"]["model"]), _model_leaves(run.model)
            assert saved.keys() == got.keys()
            for path, value in saved.items():
                assert got[path].tobytes() == value.tobytes(), (which, path)
    older = tmp_path / "older"
    shutil.copytree(run_dir, older)
    to_legacy_layout(older / "checkpoints")
    for which, run in runs.items():
        again = load_run(older, which=which)
        assert again.step == run.step
        a, b = _model_leaves(run.model), _model_leaves(again.model)
        assert all(a[k].tobytes() == b[k].tobytes() for k in a), which
    model, data, _, info = from_run_dir(older, "best", 16)  # what `spikejax deploy` reads
    assert info["step"] == runs["best"].step and data["x_train"].shape == (T, 16, 64)
    a, b = _model_leaves(runs["best"].model), _model_leaves(model)
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
