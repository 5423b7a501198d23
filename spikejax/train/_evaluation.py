"""Evaluating a built run's model on one of its splits, batch by batch inside the compiled
evaluation step."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax import nnx

from spikejax.data import Loader

__all__ = ["eval_loader", "evaluate_split"]


def eval_loader(run: Any, split: str) -> Loader:
    """The evaluation batches of ``split`` (``"train"``, ``"val"`` or ``"test"``) of a built run:
    in order, ``train.eval_batch_size`` samples each, the last one padded and masked."""
    return Loader(
        getattr(run.splits, split),
        run.config.train.eval_batch_size,
        shuffle=False,
        last_batch="pad",
        prefetch=run.config.data.prefetch,
        name=f"{split} split",
    )


def evaluate_split(run: Any, model_state: nnx.State, split: str = "test") -> dict[str, float]:
    """Accuracy, loss and firing rates (``rate/<layer>``) of ``model_state`` on a whole split;
    evaluation batch ``index`` is encoded with ``fold_in(eval_key, index)``. Batches are split
    over the run's mesh like training batches."""
    steps = run.steps
    totals: dict[str, Any] = {}
    for index, batch in enumerate(eval_loader(run, split)):
        x, y, mask = steps.placed(batch.x, batch.y.astype(np.int32), batch.mask)
        sums, _ = steps.eval_step(model_state, x, y, mask, steps.counter(index))
        totals = sums if not totals else {k: totals[k] + v for k, v in sums.items()}
    totals = {k: float(v) for k, v in jax.device_get(totals).items()}
    count = totals.pop("count")
    metrics = {"accuracy": totals.pop("correct") / count, "loss": totals.pop("loss") / count}
    metrics.update({k: v / count for k, v in totals.items()})
    return metrics
