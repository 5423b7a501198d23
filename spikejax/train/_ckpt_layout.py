"""Names in a checkpoint directory, and its ``index.json``; the layout and its guarantees are
described in `spikejax.train.checkpoint`.

Step directories are named as ``orbax.checkpoint.CheckpointManager`` names steps with its default
options (its standard step name format without prefix or padding: ``str(step)``); ``state/`` is
its item ``"state"`` and ``metrics/metrics`` its item ``"metrics"`` (the JSON file its
``JsonCheckpointHandler`` reads for ``best_fn``). A save in progress is named
``<step>.orbax-checkpoint-tmp-<step>``, Orbax's own mark of an unfinished step, which Orbax and
spikejax both skip; a checkpoint being deleted is first renamed ``.trash-<name>``. Directories of
the older layout, ``ckpt-<save number>-step-<step>``, sort before every step directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from spikejax._io import atomic_write_json

__all__ = [
    "INDEX",
    "INDEX_FORMAT",
    "METRICS_ITEM",
    "Entry",
    "is_leftover",
    "read_index",
    "scan",
    "step_name",
    "tmp_name",
    "trash_name",
    "write_index",
    "write_metrics",
]

INDEX = "index.json"
INDEX_FORMAT = 1
# Orbax's item name for metrics and the file name its JsonCheckpointHandler writes inside it.
METRICS_ITEM = "metrics"
_STEP = re.compile(r"^(0|[1-9]\d*)$")  # Orbax's standard step name, no prefix, no padding
_LEGACY = re.compile(r"^ckpt-(\d{6,})-step-(\d{9,})$")
# Orbax's marker of an unfinished step directory (its TMP_DIR_SUFFIX), kept in our spelling.
_TMP = ".orbax-checkpoint-tmp-"
_LEFTOVER_PREFIXES = (".trash-", ".tmp-ckpt-")  # .tmp-ckpt-: saves of the older layout


class Entry(NamedTuple):
    """A committed checkpoint: ``order`` sorts saves oldest first, ``path`` is its directory."""

    order: tuple[int, int]
    step: int
    path: Path


def step_name(step: int) -> str:
    """The directory name of the checkpoint of ``step`` (Orbax's default step name)."""
    return str(step)


def tmp_name(step: int) -> str:
    """The directory name of a save of ``step`` in progress.

    Every process of a multi-process run writes its shards into this one directory, so the name
    is a function of the step alone (a clock reading would differ between processes). A leftover
    of the same name from a crashed save is removed before the directory is made again.
    """
    return f"{step}{_TMP}{step}"


def trash_name(name: str) -> str:
    """The name a checkpoint directory takes while it is deleted."""
    return f".trash-{name}"


def is_leftover(name: str) -> bool:
    """Whether ``name`` is a save cut short or a half-deleted checkpoint (either layout)."""
    return name.startswith(_LEFTOVER_PREFIXES) or _TMP in name


def scan(directory: Path) -> list[Entry]:
    """Every committed (final-named) checkpoint of ``directory``, oldest save first."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        if not entry.is_dir():
            continue
        if match := _STEP.match(entry.name):
            step = int(match.group(1))
            found.append(Entry((1, step), step, entry))
        elif match := _LEGACY.match(entry.name):
            found.append(Entry((0, int(match.group(1))), int(match.group(2)), entry))
    return sorted(found)


def write_metrics(folder: Path, metrics: dict[str, Any]) -> None:
    """Write ``metrics`` as Orbax's ``metrics`` item of the checkpoint being saved in
    ``folder``."""
    (folder / METRICS_ITEM).mkdir()
    atomic_write_json(folder / METRICS_ITEM / METRICS_ITEM, metrics)


def _pointer(entry: Entry | None, metrics: dict[str, float] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"step": entry.step, "directory": entry.path.name, "metrics": metrics or {}}


def write_index(
    directory: Path,
    *,
    latest: Entry | None,
    latest_metrics: dict[str, float] | None,
    best: Entry | None,
    best_metrics: dict[str, float] | None,
    best_metric: str | None,
    best_mode: str,
    kept: list[Entry],
) -> None:
    """Atomically write ``index.json``: the latest and best checkpoints and those ``kept``."""
    atomic_write_json(
        directory / INDEX,
        {
            "format": INDEX_FORMAT,
            "latest": _pointer(latest, latest_metrics),
            "best": _pointer(best, best_metrics),
            "best_metric": best_metric,
            "best_mode": best_mode,
            "checkpoints": [{"step": e.step, "directory": e.path.name} for e in kept],
        },
    )


def read_index(directory: str | Path) -> dict[str, Any] | None:
    """The ``index.json`` of a checkpoint directory, or ``None`` when it has none (a directory
    written before the index existed, or without checkpoints).

    Returns:
        ``{"format", "latest", "best", "best_metric", "best_mode", "checkpoints"}``: ``latest``
        and ``best`` are ``{"step", "directory", "metrics"}`` or ``None``; ``checkpoints`` lists
        ``{"step", "directory"}`` of every checkpoint kept, oldest save first.

    Raises:
        ValueError: the file is not an index of this format (the message names it).
    """
    path = Path(directory) / INDEX
    if not path.exists():
        return None
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        ok = index["format"] == INDEX_FORMAT and isinstance(index["checkpoints"], list)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"`read_index`: {path} must be a checkpoint index (JSON, format {INDEX_FORMAT}); "
            f"{type(error).__name__}: {error}"
        ) from error
    if not ok:
        raise ValueError(
            f"`read_index`: {path} must be a checkpoint index of format {INDEX_FORMAT}; got "
            f"format {index.get('format')!r}."
        )
    return index
