"""Metric records on resume: every record up to the checkpoint's step is kept, or it is an error.

A resumed run continues from its latest checkpoint at step ``N``; the records that the stopped
run wrote after ``N`` are dropped (those steps are trained and logged again), and every record up
to ``N`` must be there and readable:

* a line that is not a metrics record, before the first record after ``N``, is an error naming
  the file and line;
* records that end before step ``N`` (a truncated or replaced file) are an error naming the
  last step found;
* the first bytes of the file must be the ones that checkpoint ``N`` committed (its marker's
  ``meta["metrics_bytes"]`` and ``meta["metrics_sha256"]``), so a record changed in place is an
  error too (checkpoints written before markers held these are not compared);
* the one exception is a last line without its newline that does not parse: a crash cut it
  short while it was written, after the checkpoint (every record up to ``N`` is written and
  flushed before checkpoint ``N`` is committed), so it is dropped.

With ``repair`` (``fit(..., repair_metrics=True)``, ``spikejax train --repair-metrics``) the
original file is first copied to ``metrics.jsonl.orig`` (``.orig-2``, ... if taken), and the
readable records up to ``N`` are kept; the summary lists the lines dropped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from spikejax._io import atomic_write_bytes
from spikejax.train.logging import METRICS_FILE, read_metrics

__all__ = ["last_train_metrics", "metrics_commit", "resume_metrics"]

_HINT = (
    "Resume keeps every record up to the checkpoint's step; fix the file, or pass "
    "repair_metrics=True (`spikejax train --repair-metrics`), which keeps a copy of the original "
    "and drops what cannot be read."
)


def _record_step(line: bytes) -> int | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    ok = isinstance(record, dict) and "split" in record
    step = record.get("step") if ok else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def _copy_name(path: Path) -> Path:
    copy, number = path.with_name(path.name + ".orig"), 1
    while copy.exists():
        number += 1
        copy = path.with_name(f"{path.name}.orig-{number}")
    return copy


def metrics_commit(run_dir: Path) -> dict[str, str]:
    """Size and SHA-256 of ``run_dir/metrics.jsonl`` now, for a checkpoint's marker."""
    path = run_dir / METRICS_FILE
    data = path.read_bytes() if path.is_file() else b""
    return {"metrics_bytes": str(len(data)), "metrics_sha256": hashlib.sha256(data).hexdigest()}


def _unchanged(data: bytes, committed: dict[str, str]) -> bool:
    """Whether ``data`` begins with the bytes a checkpoint committed (true for a checkpoint
    written before markers held their hash)."""
    size, sha = committed.get("metrics_bytes"), committed.get("metrics_sha256")
    if size is None or sha is None:
        return True
    return len(data) >= int(size) and hashlib.sha256(data[: int(size)]).hexdigest() == sha


def resume_metrics(
    run_dir: Path, step: int, logged: int, *, repair: bool, committed: dict[str, str]
) -> dict[str, Any] | None:
    """Rewrite ``run_dir/metrics.jsonl`` to its records up to ``step`` (see the module docstring);
    ``logged`` is the step of the last record written before the checkpoint (``step``, except for
    a checkpoint of a preempted run, which carries the metrics since then in itself).

    Returns:
        ``None``, or with ``repair`` when something was dropped or missing,
        ``{"copy": path of the original, "dropped_lines": [...], "last_step": ...,
        "changed_records": bool}``.

    Raises:
        ValueError: an unreadable or missing record before ``step`` (without ``repair``).
    """
    path = run_dir / METRICS_FILE
    if not path.is_file():
        if logged == 0:
            return None
        if not repair:
            raise ValueError(
                f"`fit`: {path} must hold the records up to step {logged} (logged before the "
                f"checkpoint of step {step}); the file is missing. {_HINT}"
            )
        return {"copy": None, "dropped_lines": [], "last_step": None}
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    kept: list[bytes] = []
    dropped: list[int] = []
    last_step, last_line, after = None, 0, False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        found = _record_step(line)
        if found is None:
            torn = number == len(lines) and not line.endswith(b"\n")
            if after or torn:
                continue
            if not repair:
                raise ValueError(
                    f"`fit`: line {number} of {path} must be a metrics record (JSON with 'step' "
                    f"and 'split'); got {line[:80]!r}. {_HINT}"
                )
            dropped.append(number)
            continue
        if found > step:
            after = True
            continue
        kept.append(line if line.endswith(b"\n") else line + b"\n")
        last_step, last_line = found, number
    missing = logged > 0 and last_step != logged
    if missing and not repair:
        where = "it holds none" if last_step is None else f"the last is step {last_step} "
        where += "" if last_step is None else f"(line {last_line})"
        raise ValueError(
            f"`fit`: {path} must hold the records up to step {logged} (logged before the "
            f"checkpoint of step {step}); {where}, so records are missing. {_HINT}"
        )
    changed = not (dropped or missing) and not _unchanged(data, committed)
    if changed and not repair:
        raise ValueError(
            f"`fit`: {path} must begin with the {committed['metrics_bytes']} bytes of records "
            f"committed with the checkpoint of step {step}; they were changed or cut. {_HINT}"
        )
    if not (dropped or missing or changed):
        atomic_write_bytes(path, b"".join(kept))
        return None
    copy = _copy_name(path)
    shutil.copy2(path, copy)
    atomic_write_bytes(path, b"".join(kept))
    return {
        "copy": str(copy),
        "dropped_lines": dropped,
        "last_step": last_step,
        "changed_records": changed,
    }


def last_train_metrics(run_dir: Path) -> dict[str, float]:
    """The metrics of the last ``train`` record of ``run_dir`` (``{}`` if none)."""
    for record in reversed(read_metrics(run_dir)):
        if record["split"] == "train":
            return {k: v for k, v in record.items() if k not in ("step", "split", "wall_time")}
    return {}
