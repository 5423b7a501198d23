"""Training runs: jit-compiled steps, the loop with resumable checkpoints, logging, reports, and
restoring a finished run for evaluation."""

from spikejax.train._loop import build_model as build_model
from spikejax.train._loop import evaluate as evaluate
from spikejax.train._loop import fit as fit
from spikejax.train._restore import RestoredRun as RestoredRun
from spikejax.train._restore import load_run as load_run
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
    "RestoredRun",
    "build_model",
    "evaluate",
    "export_pretrained",
    "fit",
    "load_run",
    "read_metrics",
    "write_summary",
]
