"""The training loop: one compilation, bit-identical resume, NaN stop, named data errors."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from spikejax.config import (
    Config,
    DataConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
)
from spikejax.train import _loop
from spikejax.train._loop import fit
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import read_metrics
from tests.helpers import flat_leaves, metric_records

MLP = "spikejax.models._small:LIFMLP"
EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def tiny(**train) -> Config:
    """200 train / 200 test digits, 64 -> 16 LIF -> 10, T = 4: 6 steps per epoch."""
    options = {
        "epochs": 2,
        "batch_size": 32,
        "num_steps": 4,
        "log_every": 2,
        "eval_batch_size": 64,
        **train,
    }
    return Config(
        name="tiny",
        data=DataConfig("digits", limit=200, prefetch=0),
        model=ModelConfig(MLP, {"in_features": 64, "hidden": (16,), "num_classes": 10}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(**options),
    )


def _checkpoint(run_dir):
    ckpt = Checkpointer(Path(run_dir) / "checkpoints", best_metric="val_accuracy")
    return ckpt.restore("latest")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run of 3 epochs: ``(config, run_dir, summary)``."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    config = tiny(epochs=3)
    return config, run_dir, fit(config, run_dir, progress=False, plots=False)


def test_every_step_compiles_once(finished):
    # 3 epochs of 6 steps; the test split (200) ends in a ragged, padded batch of 8.
    _, run_dir, summary = finished
    assert summary["steps"] == 18
    assert summary["traces"] == {"train": 1, "eval": 1}
    records = read_metrics(run_dir)
    assert [r["step"] for r in records if r["split"] == "eval"] == [6, 12, 18]
    assert [r["step"] for r in records if r["split"] == "train"] == [2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_resume_is_bit_identical(tmp_path, monkeypatch):
    # Poisson encoding and dropout exercise the data key and the model's random stream; 8 steps
    # cross the epoch boundary at step 6.
    config = apply_overrides(
        tiny(max_steps=8, checkpoint_every=4, eval_every=4),
        ["data.encoding=poisson", "optimizer.schedule=cosine"],
    )
    config = Config(
        name=config.name,
        data=config.data,
        model=ModelConfig(MLP, {**config.model.options, "dropout": 0.2}),
        optimizer=config.optimizer,
        train=config.train,
    )
    straight = tmp_path / "straight"
    fit(config, straight, progress=False, plots=False)

    class Crash(Exception):
        pass

    class StopAtSix(_loop.ProgressBar):
        def update(self, n=1, **postfix):
            super().update(n, **postfix)
            if self.n == 6:
                raise Crash

    stopped = tmp_path / "stopped"
    monkeypatch.setattr(_loop, "ProgressBar", StopAtSix)
    with pytest.raises(Crash):
        fit(config, stopped, progress=False, plots=False)
    monkeypatch.undo()
    assert _checkpoint(stopped)[0] == 4
    assert max(r["step"] for r in read_metrics(stopped)) == 6  # logged after the checkpoint
    summary = fit(config, stopped, resume=True, progress=False, plots=False)
    assert summary["resumed_from"] == 4

    step_a, tree_a, extra_a = _checkpoint(straight)
    step_b, tree_b, extra_b = _checkpoint(stopped)
    assert step_a == step_b == 8
    assert extra_a == extra_b
    leaves_a, leaves_b = flat_leaves(tree_a), flat_leaves(tree_b)
    assert leaves_a.keys() == leaves_b.keys()
    for path, a in leaves_a.items():
        np.testing.assert_array_equal(a, leaves_b[path], err_msg=path)
    assert metric_records(straight) == metric_records(stopped)


def test_resume_needs_the_same_config(finished):
    config, run_dir, _ = finished
    changed = apply_overrides(config, ["optimizer.lr=0.1"])
    with pytest.raises(ValueError, match=r"differs at \['optimizer.lr'\]"):
        fit(changed, run_dir, resume=True, progress=False, plots=False)
    with pytest.raises(ValueError, match="already holds a run"):
        fit(config, run_dir, progress=False, plots=False)


def test_nan_loss_stops_at_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    # A huge SGD step makes the squared spike-count loss overflow on the next batch.
    config = apply_overrides(
        tiny(checkpoint_every=1, log_every=1),
        ["optimizer.name=sgd", "optimizer.lr=1e20", "train.loss=mse_count"],
    )
    with pytest.raises(FloatingPointError, match=r"at step (\d+)") as info:
        fit(config, tmp_path / "run", progress=False, plots=False)
    bad = int(re.search(r"at step (\d+)", str(info.value)).group(1))
    assert bad >= 2
    assert f"last good checkpoint is step {bad - 1}" in str(info.value)
    step, tree, _ = _checkpoint(tmp_path / "run")
    assert step == bad - 1
    assert all(np.isfinite(a).all() for a in flat_leaves(tree["model"]).values())
    records = read_metrics(tmp_path / "run")
    assert [r["step"] for r in records if r["split"] == "train"] == list(range(1, bad))
    assert all(math.isfinite(r["loss"]) for r in records)


def test_unwritable_run_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="`run_dir` must be a writable directory"):
        fit(tiny(), blocker / "run", progress=False, plots=False)


def _npz(path, y_train, y_test, n_features=6):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.random((len(y_train), n_features)).astype(np.float32),
        y_train=np.asarray(y_train, np.int64),
        x_test=rng.random((len(y_test), n_features)).astype(np.float32),
        y_test=np.asarray(y_test, np.int64),
    )
    model = ModelConfig(MLP, {"in_features": n_features, "hidden": (4,), "num_classes": 3})
    return Config(
        name="npz",
        data=DataConfig("npz", root=str(path), val_fraction=0.0),
        model=model,
        train=TrainConfig(batch_size=2, num_steps=2),
    )


def test_empty_dataset_is_named(tmp_path):
    config = _npz(tmp_path / "empty.npz", [], [0, 1])
    with pytest.raises(ValueError, match="the train split of 'npz' must hold at least one sample"):
        fit(config, tmp_path / "run", progress=False, plots=False)
    config = apply_overrides(tiny(), ["data.limit=0"])
    with pytest.raises(ValueError, match=r"the train split of 'digits'.*empty"):
        fit(config, tmp_path / "run2", progress=False, plots=False)


def test_label_out_of_range_is_named(tmp_path):
    config = _npz(tmp_path / "labels.npz", [0, 1, 2, 5], [0, 1])
    with pytest.raises(
        ValueError, match=r"labels of the train split must lie in \[0, 2\].*got label 5 at sample 3"
    ):
        fit(config, tmp_path / "run", progress=False, plots=False)


@pytest.mark.parametrize(
    ("name", "reader"),
    [("shd_lif_mlp", "SHD"), ("nmnist_conv", "NMNIST"), ("dvsgesture_conv", "DVSGesture")],
)
def test_missing_event_dataset_fails_with_the_data_error(tmp_path, name, reader):
    config = load_config(EXPERIMENTS / name / "config.py")
    config = apply_overrides(config, [f"data.root={tmp_path / 'nowhere'}"])
    with pytest.raises(FileNotFoundError, match=f"`{reader}`: expected the"):
        fit(config, tmp_path / "run", progress=False, plots=False)


def test_summary_and_config_files(finished):
    config, run_dir, summary = finished
    assert from_dict(json.loads((run_dir / "config.json").read_text())) == config
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["final"]["test_accuracy"] == summary["final"]["test_accuracy"]
    assert on_disk["config_hash"] == summary["config_hash"]
    assert on_disk["environment"]["jax"]
    assert 0.0 <= summary["final"]["firing_rates"]["blocks.0.sn"] <= 1.0


def _get(tree, key):
    return tree[key] if key in tree else tree[str(key)]


def test_final_accuracy_matches_a_numpy_forward_pass(finished):
    # The reported test accuracy of the final model, recomputed from the checkpoint in NumPy:
    # direct encoding, v = βv + xW1 + b1, s = [v >= θ], v -= sθ, u = β_r u + sW2 + b2, mean_t u.
    config, run_dir, summary = finished
    _, tree, _ = _checkpoint(run_dir)
    block, head = _get(_get(tree["model"], "blocks"), 0), tree["model"]["head"]
    w1, b1 = (np.asarray(block["fc"][k]) for k in ("kernel", "bias"))
    beta, theta = (np.asarray(block["sn"]["params"][k]) for k in ("beta", "threshold"))
    w2, b2 = (np.asarray(head["fc"][k]) for k in ("kernel", "bias"))
    beta_r = np.asarray(head["li"]["params"]["beta"])

    from spikejax.data import load_digits

    images, labels = load_digits("test")
    x = images[:200].reshape(200, 64)
    v = np.zeros((200, w1.shape[1]), np.float32)
    u = np.zeros((200, w2.shape[1]), np.float32)
    total = np.zeros_like(u)
    for _ in range(config.train.num_steps):
        v = beta * v + (x @ w1 + b1)
        s = (v >= theta).astype(np.float32)
        v = v - s * theta
        u = beta_r * u + (s @ w2 + b2)
        total += u
    accuracy = float(np.mean(np.argmax(total, axis=1) == labels[:200]))
    assert abs(summary["final"]["test_accuracy"] - accuracy) <= 1 / 200
    assert summary["final"]["test_samples"] == 200
