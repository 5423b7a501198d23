"""Checkpoints whose optimizer state predates the numbers held in it resume bit for bit."""

import shutil

import jax
import numpy as np
import pytest

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.train import CheckpointError, fit
from spikejax.train._legacy_opt import restore_state
from spikejax.train.checkpoint import Checkpointer

MLP = "spikejax.models._small:LIFMLP"


def _config(epochs: int) -> Config:
    return Config(
        name="legacy",
        seed=1,
        data=DataConfig("digits", limit=96, prefetch=0, val_fraction=0.0),
        model=ModelConfig(MLP, {"in_features": 64, "hidden": (8,), "num_classes": 10}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(epochs=epochs, batch_size=32, num_steps=2, log_every=3),
    )


def _leaves(tree, prefix=""):
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: np.asarray(tree)}


def _as_legacy(run_dir):
    """Rewrite the latest checkpoint with the optimizer state's older layout: the bare
    transformation state (today's ``inner_state``) at ``opt.opt_state``."""
    checkpoints = Checkpointer(run_dir / "checkpoints")
    step, tree, extra = checkpoints.restore("latest")
    meta = checkpoints.meta("latest")
    assert "hyperparams" in tree["opt"]["opt_state"]
    tree["opt"]["opt_state"] = tree["opt"]["opt_state"]["inner_state"]
    shutil.rmtree(checkpoints.directory / str(step))  # one directory per step: write it anew
    checkpoints.save(step, tree, extra=extra, meta=meta)
    return checkpoints


def test_an_older_optimizer_layout_resumes_bit_for_bit(tmp_path):
    fit(_config(2), tmp_path / "whole", progress=False, plots=False)
    fit(_config(1), tmp_path / "part", progress=False, plots=False)
    checkpoints = _as_legacy(tmp_path / "part")
    assert "hyperparams" not in checkpoints.restore("latest")[1]["opt"]["opt_state"]
    fit(_config(2), tmp_path / "part", resume=True, progress=False, plots=False)
    whole = Checkpointer(tmp_path / "whole" / "checkpoints").restore("latest")
    part = Checkpointer(tmp_path / "part" / "checkpoints").restore("latest")
    assert whole[0] == part[0]
    a, b = _leaves(whole[1]), _leaves(part[1])
    assert a.keys() == b.keys()
    for path, value in a.items():
        assert value.tobytes() == b[path].tobytes(), path


def test_a_checkpoint_matching_neither_layout_keeps_its_error(tmp_path):
    fit(_config(1), tmp_path / "run", progress=False, plots=False)
    checkpoints = Checkpointer(tmp_path / "run" / "checkpoints")
    _, tree, _ = checkpoints.restore("latest")
    # A restore target of another shape is not an older optimizer layout: the error stays.
    template = {"opt": {"opt_state": {"count": 0, "hyperparams": {}, "inner_state": {}}}}
    wrong = {"model": {"x": np.zeros(3, np.float32)}, "opt": tree["opt"]}
    target = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), wrong)
    with pytest.raises(CheckpointError, match="could not restore"):
        restore_state(checkpoints, "latest", target, template)
