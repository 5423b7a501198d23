"""The commit marker of a checkpoint: ``COMMIT.json``, written last, proves a checkpoint complete.

It records the step, the metrics and the size and SHA-256 of every other file of the checkpoint
directory, plus a SHA-256 digest of all that (so a damaged marker is detected too). A checkpoint
is verified by re-hashing its files against the marker and refusing any file it does not list.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from spikejax._io import fsync_dir, json_float

__all__ = [
    "COMMIT",
    "FORMAT",
    "CheckpointError",
    "digest",
    "file_table",
    "read_commit",
    "save_fields",
    "verify",
]

FORMAT = 1
COMMIT = "COMMIT.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or corrupt; the message names the offending path."""


def save_fields(
    metrics: dict[str, Any] | None, extra: Any, meta: dict[str, str] | None
) -> tuple[dict[str, float | str], dict[str, str]]:
    """The ``metrics`` and ``meta`` of `Checkpointer.save` as the marker records them (metrics as
    strict-JSON floats, see `spikejax._io.json_float`), after checking all three arguments.

    Raises:
        TypeError: a metric is not a scalar, ``extra`` is not strict JSON, or ``meta`` does not
            map str to str (the message names the argument).
    """
    saved = {}
    for name, value in (metrics or {}).items():
        try:
            if np.ndim(value) != 0:
                raise TypeError("not 0-d")
            saved[str(name)] = json_float(float(value))
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"`Checkpointer.save`: `metrics[{name!r}]` must be a scalar; got {value!r}."
            ) from e
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"`Checkpointer.save`: `extra` must be strict JSON (no NaN); got {extra!r}: {e}"
        ) from e
    meta = dict(meta or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise TypeError(f"`Checkpointer.save`: `meta` must map str to str; got {meta!r}.")
    return saved, meta


def _sha256(path: Path, *, sync: bool = False) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
        if sync:
            os.fsync(f.fileno())
    return sha.hexdigest()


def file_table(root: Path, *, sync: bool = False) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file below ``root`` (except the commit marker), by POSIX path.

    With ``sync``, every file and directory is also flushed to disk (before the marker is written).
    """
    table = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel == COMMIT:
                continue
            table[rel] = {"size": path.stat().st_size, "sha256": _sha256(path, sync=sync)}
        if sync:
            fsync_dir(dirpath)
    return table


def digest(body: dict[str, Any]) -> str:
    """SHA-256 of the marker's content (canonical JSON), stored in the marker as ``digest``."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_commit(path: Path, step: int) -> dict[str, Any]:
    """The verified marker of the checkpoint directory ``path`` named for ``step``.

    Raises:
        CheckpointError: the marker is missing, unreadable, fails its digest, or records another
            step.
    """
    marker = path / COMMIT
    if not marker.is_file():
        raise CheckpointError(
            f"checkpoint {path} has no commit marker {marker}; it is incomplete or damaged."
        )
    try:
        commit = json.loads(marker.read_text(encoding="utf-8"))
        body = {k: v for k, v in commit.items() if k != "digest"}
        ok = commit["format"] == FORMAT and commit["digest"] == digest(body)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"commit marker {marker} is unreadable: {e}") from e
    if not ok:
        raise CheckpointError(f"commit marker {marker} is corrupt (digest mismatch).")
    if commit["step"] != step:
        raise CheckpointError(
            f"commit marker {marker} records step {commit['step']}, but the directory name "
            f"says step {step}."
        )
    return commit


def verify(path: Path, step: int) -> None:
    """Check every file of the checkpoint ``path`` against its marker: present, same size, same
    SHA-256, and no file the marker does not list.

    Raises:
        CheckpointError: naming the first file that fails (or the marker, see
            `read_commit`).
    """
    expected = read_commit(path, step)["files"]
    for rel, info in expected.items():
        file = path / rel
        if not file.is_file():
            raise CheckpointError(f"checkpoint file {file} is missing.")
        size = file.stat().st_size
        if size != info["size"]:
            raise CheckpointError(
                f"checkpoint file {file} has {size} bytes; {info['size']} were written "
                "(truncated or overwritten)."
            )
        if _sha256(file) != info["sha256"]:
            raise CheckpointError(f"checkpoint file {file} fails its SHA-256 checksum.")
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(path).as_posix()
            if rel != COMMIT and rel not in expected:
                raise CheckpointError(
                    f"checkpoint file {path / rel} was not part of the committed checkpoint."
                )
