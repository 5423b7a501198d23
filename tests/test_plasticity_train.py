"""`spikejax train` with a `learning` section: STDP next to a gradient-trained readout, and an
evolution strategy, on a few digits."""

from pathlib import Path

import numpy as np
import pytest

from spikejax.config import (
    Config,
    DataConfig,
    LearningConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    to_dict,
)
from spikejax.train import fit, read_metrics


def tiny(method, options):
    return Config(
        name=f"tiny_{method}",
        data=DataConfig(name="digits", limit=32, val_fraction=0.0),
        model=ModelConfig("lif_mlp", {"in_features": 64, "hidden": (12,), "T": 3}),
        optimizer=OptimizerConfig(name="sgd", lr=0.1),
        train=TrainConfig(epochs=1, batch_size=16, num_steps=3, eval_batch_size=32, log_every=1),
        learning=LearningConfig(method, options),
    )


def test_the_learning_section_is_optional_and_round_trips():
    config = Config()
    assert "learning" not in to_dict(config)  # runs from before the section keep their hash
    config = apply_overrides(config, ["learning.method=evolve"])
    assert from_dict(to_dict(config)) == config
    with pytest.raises(ValueError, match=r"`method` must be one of \('bptt', 'stdp', 'evolve'\)"):
        LearningConfig("hebb")


def test_fit_with_stdp_and_with_evolution(tmp_path):
    options = {"a_plus": 0.05, "a_minus": 0.05, "tau_plus": 2.0, "tau_minus": 2.0, "w_max": 1.0}
    config = tiny("stdp", {**options, "w_min": -1.0})
    summary = fit(config, tmp_path / "stdp", progress=False, plots=False)
    assert summary["steps"] == 2
    records = read_metrics(tmp_path / "stdp")
    assert all(np.isfinite(r["loss"]) for r in records if r["split"] == "train")
    assert summary["final"]["firing_rates"]["blocks.0.sn"] > 0
    with pytest.raises(ValueError, match=r"got unknown \['a_pluss'\]"):
        fit(tiny("stdp", {"a_pluss": 0.1}), tmp_path / "bad", progress=False, plots=False)

    config = tiny("evolve", {"population": 4, "sigma": 0.05, "params": ["head.*"]})
    summary = fit(config, tmp_path / "evolve", progress=False, plots=False)
    train = [r for r in read_metrics(tmp_path / "evolve") if r["split"] == "train"]
    assert len(train) == 2 and all("best_loss" in r for r in train)
    assert train[-1]["best_loss"] <= train[-1]["loss"]
    assert summary["final"]["test_samples"] == 32


def test_the_experiment_configs_select_their_learning_method():
    root = Path(__file__).parents[1] / "experiments"
    assert load_config(root / "digits_stdp").learning.method == "stdp"
    assert load_config(root / "digits_evolve").learning.method == "evolve"
