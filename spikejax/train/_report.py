"""The end of a run: its summary and its plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

from spikejax.config import to_dict
from spikejax.train._rundir import PLOTS, SELECT_METRIC, checkpointer_of
from spikejax.train._splits import labels_of
from spikejax.train.logging import config_hash, environment_info, read_metrics

__all__ = ["curve_records", "plots", "summary"]


def _size(data: Any) -> int:
    return 0 if data is None else int(labels_of(data).size)


def _rates(metrics: dict[str, float]) -> dict[str, float]:
    return {k[len("rate/") :]: v for k, v in metrics.items() if k.startswith("rate/")}


def summary(
    run: Any,
    run_dir: Path,
    final: dict[str, dict[str, float]],
    best: dict[str, Any] | None,
    train_mean: dict[str, float],
    step: int,
) -> dict[str, Any]:
    """The summary of a finished run (without timing, which the loop adds).

    Args:
        run: the built run (config, splits, sizes).
        run_dir: the run directory.
        final: evaluations of the final model by split: ``"test"``, and ``"val"`` when the run
            has a validation split.
        best: ``None`` without a best checkpoint, else ``{"step", "val": metrics saved with the
            checkpoint, "test": its evaluation on the test split}``.
        train_mean: mean training metrics of the last logging window.
        step: the final step.

    The keys ``test_accuracy_final``, ``test_accuracy_best``, ``val_accuracy_final`` and
    ``val_accuracy_best`` (``None`` where there is no such number) repeat the headline numbers of
    ``final`` and ``best``; ``best["accuracy"]`` is the best checkpoint's *test* accuracy (it was
    selected by ``best["val_accuracy"]``).
    """
    config = run.config
    test, val = final["test"], final.get("val")
    best_block = None
    if best is not None:
        best_block = {
            "step": best["step"],
            "selected_by": SELECT_METRIC,
            "val_accuracy": best["val"][SELECT_METRIC],
            "val_loss": best["val"].get("val_loss"),
            "test_accuracy": best["test"]["accuracy"],
            "test_loss": best["test"]["loss"],
            "accuracy": best["test"]["accuracy"],
        }
    samples = {
        "train": _size(run.splits.train),
        "val": _size(run.splits.val),
        "test": _size(run.splits.test),
    }
    return {
        "name": config.name,
        "run_dir": str(run_dir),
        "config_hash": config_hash(to_dict(config)),
        "seed": config.seed,
        "model": config.model.name,
        "num_params": run.num_params,
        "steps": step,
        "epochs": step / run.steps_per_epoch,
        "samples": samples,
        "test_accuracy_final": test["accuracy"],
        "test_accuracy_best": None if best_block is None else best_block["test_accuracy"],
        "val_accuracy_final": None if val is None else val["accuracy"],
        "val_accuracy_best": None if best_block is None else best_block["val_accuracy"],
        "final": {
            "step": step,
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "test_samples": samples["test"],
            "val_accuracy": None if val is None else val["accuracy"],
            "val_loss": None if val is None else val["loss"],
            "val_samples": samples["val"],
            "train_loss": train_mean.get("loss"),
            "train_accuracy": train_mean.get("accuracy"),
            "firing_rates": _rates(test),
        },
        "best": best_block,
        "environment": environment_info(),
    }


def curve_records(records: list[dict]) -> list[dict]:
    """Metric records with one split per curve: ``eval`` records (``val_accuracy``,
    ``test_loss``, ...) become ``val`` and ``test`` records with ``accuracy`` and ``loss``."""
    out = []
    for record in records:
        if record["split"] != "eval":
            out.append(record)
            continue
        for split in ("val", "test"):
            values = {
                k[len(split) + 1 :]: v
                for k, v in record.items()
                if k in (f"{split}_accuracy", f"{split}_loss")
            }
            if values:
                out.append({"step": record["step"], "split": split, **values})
    return out


def plots(run: Any, run_dir: Path, model_state: nnx.State, final_eval: dict) -> None:
    """Training curves (accuracies in percent, the best checkpoint marked), firing rates
    (``final_eval``: the final model on the test split), a raster of every spiking layer and the
    readout membrane of test sample 0."""
    from spikejax import viz
    from spikejax.models import record

    folder = run_dir / PLOTS
    folder.mkdir(exist_ok=True)
    checkpoints = checkpointer_of(run_dir, run.config)
    best = checkpoints.best_step() if checkpoints.exists("best") else None
    viz.plot_training_curves(
        curve_records(read_metrics(run_dir)),
        folder / "curves.png",
        best_step=best,
        best_label=None if best is None else f"best checkpoint (step {best}, by {SELECT_METRIC})",
    )
    rates = _rates(final_eval)
    if rates:
        viz.plot_firing_rates(
            rates,
            folder / "firing_rates.png",
            title="firing rate per layer (final model, test split)",
        )
    x = (
        run.splits.test[0][:1]
        if isinstance(run.splits.test, tuple)
        else run.splits.test[0][0][None]
    )
    test = run.splits.test
    label = int(np.asarray(test[1])[0]) if isinstance(test, tuple) else int(test[0][1])
    inputs = run.steps.prepare(jnp.asarray(x), jr.fold_in(run.steps.eval_key, 0))
    outputs, recording = record(run.steps.eval_model(model_state), inputs)
    if recording.spikes:  # every spiking layer of sample 0, stacked in forward order
        layers = {name: np.asarray(s)[:, 0] for name, s in recording.spikes.items()}
        viz.plot_raster(
            layers, folder / "raster.png", title=f"final model, test sample 0 (label {label})"
        )
    if outputs.ndim == 3:  # the readout membrane of every class (at most 20)
        classes = list(range(min(outputs.shape[-1], 20)))
        title = f"readout membrane, test sample 0 (label {label}), one line per class"
        viz.plot_membrane(
            np.asarray(outputs)[:, 0],
            folder / "membrane.png",
            neurons=classes,
            title=title,
            highlight=label if label in classes else None,
            names=[f"class {k}" for k in range(outputs.shape[-1])],
        )
