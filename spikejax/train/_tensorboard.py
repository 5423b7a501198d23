"""TensorBoard scalars written in the caller's thread, so a write error names the event file.

tensorboardX's ``SummaryWriter`` writes from a background thread: on a full disk that thread
prints its own traceback and the training loop never hears of it. Writing each record in the
caller's thread makes a failed write an ordinary ``OSError`` that names the event file.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path


class ScalarEventWriter:
    """Appends scalar summaries to one TensorBoard event file in ``directory``.

    Args:
        directory: the folder TensorBoard reads (created if missing); the file is
            ``events.out.tfevents.<seconds>.<host>``, the name TensorBoard looks for.
    """

    def __init__(self, directory: str | Path) -> None:
        from tensorboardX.event_file_writer import RecordWriter
        from tensorboardX.proto import event_pb2

        directory = Path(directory)
        self.path = directory / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._records = RecordWriter(str(self.path))
        except OSError as e:
            raise OSError(
                e.errno, f"`MetricsLogger`: could not create {self.path}: {e.strerror or e}"
            ) from e
        # The first record of every event file names its format version.
        header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        try:
            self._write("MetricsLogger", [header])
        except OSError:
            self._close_after_error()
            raise

    def add_scalars(self, step: int, values: dict[str, float], *, wall_time: float) -> None:
        """Write one event per ``name -> value`` at ``step`` and flush them to disk."""
        from tensorboardX.proto import event_pb2
        from tensorboardX.summary import scalar

        events = [
            event_pb2.Event(wall_time=wall_time, step=step, summary=scalar(name, value))
            for name, value in values.items()
        ]
        self._write("MetricsLogger.log", events)

    def close(self) -> None:
        """Close the event file (its records are already on disk)."""
        try:
            self._records.close()
        except OSError as e:
            raise OSError(
                e.errno, f"`MetricsLogger.close`: could not write {self.path}: {e.strerror or e}"
            ) from e

    def _close_after_error(self) -> None:
        try:
            self._records.close()
        except OSError:
            pass  # closing retries the failed write; the caller already raises that error

    def _write(self, fn: str, events: list) -> None:
        try:
            for event in events:
                self._records.write(event.SerializeToString())
            self._records.flush()
        except OSError as e:
            raise OSError(e.errno, f"`{fn}`: could not write {self.path}: {e.strerror or e}") from e
