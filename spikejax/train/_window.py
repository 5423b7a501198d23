"""The training metrics of the steps since the last log record (device arrays until flushed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jax
import numpy as np

from spikejax.train._rundir import CHECKPOINTS
from spikejax.train.checkpoint import Checkpointer

__all__ = ["Window"]


class Window:
    """Per-step training metrics since the last flush, starting after step ``start``."""

    def __init__(self, start: int):
        self.start, self.items = start, []

    def _check(self, host: list[dict], checkpointer: Checkpointer, run_dir: Path) -> None:
        for i, metrics in enumerate(host):
            loss, norm = float(metrics["loss"]), float(metrics["grad_norm"])
            if not (math.isfinite(loss) and math.isfinite(norm)):
                last = checkpointer.latest_step()
                kept = (
                    f"the last good checkpoint is step {last} in {run_dir / CHECKPOINTS}"
                    if last is not None
                    else "no checkpoint had been saved"
                )
                raise FloatingPointError(
                    f"`fit`: the training loss and gradient norm must stay finite; got loss {loss} "
                    f"and gradient norm {norm} at step {self.start + i + 1}. Training stopped; "
                    f"{kept}, and nothing later was saved. Lower optimizer.lr or set "
                    "optimizer.grad_clip."
                )

    def flush(self, checkpointer: Checkpointer, run_dir: Path) -> dict[str, float]:
        """The mean of every metric over the window; raises if a loss or gradient was not finite."""
        if not self.items:
            return {}
        host = jax.device_get(self.items)
        self._check(host, checkpointer, run_dir)
        mean = {k: float(np.mean([m[k] for m in host])) for k in host[0]}
        self.start += len(host)
        self.items = []
        return mean

    def pending(self, checkpointer: Checkpointer, run_dir: Path) -> dict[str, Any]:
        """The window as JSON (exact values and dtypes), to travel in a checkpoint taken between
        two log records; `restore` puts it back."""
        host = jax.device_get(self.items)
        self._check(host, checkpointer, run_dir)
        return {
            "start": self.start,
            "items": [
                {k: [float(v), np.asarray(v).dtype.name] for k, v in m.items()} for m in host
            ],
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Continue the window saved by `pending`."""
        self.start = int(saved["start"])
        self.items = [
            {k: np.asarray(v, dtype=dtype) for k, (v, dtype) in m.items()} for m in saved["items"]
        ]
