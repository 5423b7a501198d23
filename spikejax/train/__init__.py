"""Training runs: jit-compiled steps, the loop with resumable checkpoints, logging and reports."""

from spikejax.train._loop import build_model as build_model
from spikejax.train._loop import evaluate as evaluate
from spikejax.train._loop import fit as fit
from spikejax.train.checkpoint import Checkpointer as Checkpointer
from spikejax.train.checkpoint import CheckpointError as CheckpointError
from spikejax.train.export import export_pretrained as export_pretrained
from spikejax.train.logging import MetricsLogger as MetricsLogger
from spikejax.train.logging import ProgressBar as ProgressBar
from spikejax.train.logging import read_metrics as read_metrics
from spikejax.train.logging import write_summary as write_summary

__all__ = [
    "CheckpointError",
    "Checkpointer",
    "MetricsLogger",
    "ProgressBar",
    "build_model",
    "evaluate",
    "export_pretrained",
    "fit",
    "read_metrics",
    "write_summary",
]
