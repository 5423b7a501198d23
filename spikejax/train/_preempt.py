"""Graceful preemption: SIGTERM and SIGINT stop training at a step boundary with a checkpoint.

SLURM and Kubernetes send SIGTERM before they stop a job; Ctrl-C sends SIGINT. While
`fit` trains, the first such signal is only recorded: the current step
finishes, a checkpoint of that step is written (the training metrics not yet logged travel in it,
so the resumed run's records are the uninterrupted run's), and `Preempted` is raised,
naming the step and the run directory. ``spikejax train`` prints how to resume and exits with
status `EXIT_PREEMPTED` (75, ``EX_TEMPFAIL``: try again later). A second signal of the same
kind stops at once, as without the handler (the last checkpoint stays the latest). A signal that
arrives after the last step lets the run finish. Handlers are installed only in the main thread
and restored when ``fit`` returns.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["EXIT_PREEMPTED", "Preempted", "StopFlag", "stop_on_signals"]

EXIT_PREEMPTED = 75


class Preempted(Exception):
    """Training stopped on a signal after writing a checkpoint; resume with ``resume=True``.

    Attributes:
        step: the step of the checkpoint written.
        run_dir: the run directory.
        signal_name: ``"SIGTERM"`` or ``"SIGINT"``.
    """

    def __init__(self, step: int, run_dir: Path, signal_name: str):
        self.step, self.run_dir, self.signal_name = step, run_dir, signal_name
        super().__init__(
            f"`fit`: stopped by {signal_name} after step {step}; the checkpoint of step {step} is "
            f"in {run_dir / 'checkpoints'}. Resume with fit(config, {str(run_dir)!r}, "
            "resume=True) or `spikejax train <config> --run-dir "
            f"{run_dir} --resume`."
        )


class StopFlag:
    """The signal received (``name``), or ``None``."""

    name: str | None = None


@contextlib.contextmanager
def stop_on_signals(enabled: bool = True) -> Iterator[StopFlag]:
    """Record SIGTERM/SIGINT in the yielded flag instead of stopping (see the module docstring)."""
    flag = StopFlag()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {}

    def handler(signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if flag.name == name:  # the second one: stop now
            old = previous[signum]
            signal.signal(signum, signal.SIG_DFL if old is None else old)
            signal.raise_signal(signum)
            return
        flag.name = name

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handler)
    try:
        yield flag
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_DFL if old is None else old)
