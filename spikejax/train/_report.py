"""The end of a run: its summary and its plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

from spikejax.config import to_dict
from spikejax.train._rundir import PLOTS
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import config_hash, environment_info, read_metrics

__all__ = ["plots", "summary"]

BEST_METRIC = "accuracy"


def summary(
    run: Any,
    run_dir: Path,
    checkpointer: Checkpointer,
    final_eval: dict[str, float],
    train_mean: dict[str, float],
    step: int,
) -> dict[str, Any]:
    """The summary of a finished run (without timing, which the loop adds)."""
    config = run.config
    best_step = checkpointer.best_step()
    best = None
    if best_step is not None:
        best = {"step": best_step, "accuracy": checkpointer.metrics("best")[BEST_METRIC]}
    rates = {k[len("rate/") :]: v for k, v in final_eval.items() if k.startswith("rate/")}
    return {
        "name": config.name,
        "run_dir": str(run_dir),
        "config_hash": config_hash(to_dict(config)),
        "seed": config.seed,
        "model": config.model.name,
        "num_params": run.num_params,
        "steps": step,
        "epochs": step / run.steps_per_epoch,
        "final": {
            "step": step,
            "test_accuracy": final_eval["accuracy"],
            "test_loss": final_eval["loss"],
            "test_samples": len(run.splits.test[1])
            if isinstance(run.splits.test, tuple)
            else len(run.splits.test),
            "train_loss": train_mean.get("loss"),
            "train_accuracy": train_mean.get("accuracy"),
            "firing_rates": rates,
        },
        "best": best,
        "environment": environment_info(),
    }


def plots(run: Any, run_dir: Path, model_state: nnx.State, final_eval: dict) -> None:
    """Training curves, firing rates, a raster and the readout membrane of test sample 0."""
    from spikejax import viz
    from spikejax.models import record

    folder = run_dir / PLOTS
    folder.mkdir(exist_ok=True)
    viz.plot_training_curves(read_metrics(run_dir), folder / "curves.png")
    rates = {k[len("rate/") :]: v for k, v in final_eval.items() if k.startswith("rate/")}
    if rates:
        viz.plot_firing_rates(rates, folder / "firing_rates.png")
    x = (
        run.splits.test[0][:1]
        if isinstance(run.splits.test, tuple)
        else run.splits.test[0][0][None]
    )
    inputs = run.steps.prepare(jnp.asarray(x), jr.fold_in(run.steps.eval_key, 0))
    outputs, recording = record(run.steps.eval_model(model_state), inputs)
    if recording.spikes:
        name, spikes = next(iter(recording.spikes.items()))
        spikes = np.asarray(spikes)[:, 0].reshape(spikes.shape[0], -1)
        viz.plot_raster(spikes, folder / "raster.png", title=f"{name}, test sample 0")
    if outputs.ndim == 3:  # the readout membrane of every class (at most 20)
        classes = list(range(min(outputs.shape[-1], 20)))
        viz.plot_membrane(np.asarray(outputs)[:, 0], folder / "membrane.png", neurons=classes)
