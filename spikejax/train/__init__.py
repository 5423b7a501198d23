"""Training runs: jit-compiled steps, the loop with resumable checkpoints, logging, reports, and
restoring a finished run for evaluation."""

from spikejax.train._early_exit import early_exit as early_exit
from spikejax.train._factory import build_model as build_model
from spikejax.train._factory import import_factory as import_factory
from spikejax.train._factory import trusted_factory as trusted_factory
from spikejax.train._gradients import truncated_bptt as truncated_bptt
from spikejax.train._lock import RunLockedError as RunLockedError
from spikejax.train._loop import evaluate as evaluate
from spikejax.train._loop import fit as fit
from spikejax.train._parallel import initialize_distributed as initialize_distributed
from spikejax.train._parallel import is_primary as is_primary
from spikejax.train._population import fit_population as fit_population
from spikejax.train._population import population_key as population_key
from spikejax.train._preempt import EXIT_PREEMPTED as EXIT_PREEMPTED
from spikejax.train._preempt import Preempted as Preempted
from spikejax.train._restore import RestoredRun as RestoredRun
from spikejax.train._restore import load_run as load_run
from spikejax.train._steps import Steps as Steps
from spikejax.train._steps import build_optimizer as build_optimizer
from spikejax.train.checkpoint import Checkpointer as Checkpointer
from spikejax.train.checkpoint import CheckpointError as CheckpointError
from spikejax.train.export import export_pretrained as export_pretrained
from spikejax.train.logging import MetricsLogger as MetricsLogger
from spikejax.train.logging import ProgressBar as ProgressBar
from spikejax.train.logging import read_metrics as read_metrics
from spikejax.train.logging import write_summary as write_summary

__all__ = [
    "EXIT_PREEMPTED",
    "CheckpointError",
    "Checkpointer",
    "MetricsLogger",
    "Preempted",
    "ProgressBar",
    "RestoredRun",
    "RunLockedError",
    "Steps",
    "build_model",
    "build_optimizer",
    "early_exit",
    "evaluate",
    "export_pretrained",
    "fit",
    "fit_population",
    "import_factory",
    "initialize_distributed",
    "is_primary",
    "load_run",
    "population_key",
    "read_metrics",
    "truncated_bptt",
    "trusted_factory",
    "write_summary",
]
