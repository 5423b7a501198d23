"""One writer per run directory: ``run_dir/.lock`` holds the writer's pid and host.

`fit` creates the lock file (atomically, ``O_EXCL``) before it writes
anything into the run directory and removes it when it returns or raises. A second writer finds
the file and gets a `RunLockedError` naming the holder. A lock left by a process that no
longer runs (killed, or its machine restarted) is *stale*: on the same host, a pid that does not
exist is detected and the lock is taken over; a lock of another host cannot be checked from here,
and the message says which file to delete once that process is known to be gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["LOCK_FILE", "RunLockedError", "run_lock"]

LOCK_FILE = ".lock"


class RunLockedError(RuntimeError):
    """Another process writes into the run directory (the message names it and the lock)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _holder(path: Path) -> dict[str, Any] | None:
    """The lock's content, or ``None`` when it disappeared meanwhile."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunLockedError(
            f"`fit`: the run directory's lock {path} must name its holder; it is unreadable "
            f"({error}). Delete it if no process writes into {path.parent}."
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        raise RunLockedError(
            f"`fit`: the run directory's lock {path} must name its holder; got {data!r}. Delete "
            f"it if no process writes into {path.parent}."
        )
    return data


def _acquire(path: Path) -> None:
    body = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is None:
                continue
            same_host = holder.get("host") == socket.gethostname()
            if same_host and holder["pid"] != os.getpid() and not _alive(holder["pid"]):
                # Stale: take it over through a rename, so two processes cannot both do so.
                stale = path.with_name(f"{path.name}.stale-{os.getpid()}")
                with contextlib.suppress(FileNotFoundError):
                    os.rename(path, stale)
                    os.unlink(stale)
                continue
            where = "this host" if same_host else f"host {holder.get('host')!r}"
            raise RunLockedError(
                f"`fit`: `run_dir` {str(path.parent)!r} must have one writer; process "
                f"{holder['pid']} on {where} holds its lock {path} (since "
                f"{time.ctime(holder.get('since', 0))}). Wait for it to finish, or delete the "
                "lock file if that process is gone."
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body + "\n")
            f.flush()
            os.fsync(f.fileno())
        return
    raise RunLockedError(f"`fit`: could not take the lock {path}; it keeps changing.")


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[Path]:
    """Hold ``run_dir``'s lock for the block (see the module docstring)."""
    path = run_dir / LOCK_FILE
    _acquire(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            holder = _holder(path)
            if holder is not None and holder["pid"] == os.getpid():
                path.unlink()
