"""A sweep directory: its marker file (which sweep it belongs to) and the results table."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spikejax._io import atomic_write_json, atomic_write_text
from spikejax.train.logging import config_hash

__all__ = ["MARKER", "RESULTS_CSV", "RESULTS_JSONL", "RUNS", "claim", "write_results"]

MARKER = "sweep.json"
RUNS = "runs"
RESULTS_CSV = "results.csv"
RESULTS_JSONL = "results.jsonl"


def claim(
    out: Path,
    description: dict[str, Any],
    *,
    resume: bool,
    fn: str,
    check_only: bool = False,
    ignore: tuple[str, ...] = (),
) -> None:
    """Make ``out`` the directory of the sweep ``description`` (writing `MARKER`), or
    check that it already is. ``check_only``: raise as below but write nothing; ``ignore``:
    files of this sweep that may already be in a new directory (its SQLite study).

    Raises:
        ValueError: ``out`` holds another sweep (its hash and the differing top-level keys are
            named), or this sweep without ``resume``, or files that are not a sweep's.
    """
    digest = config_hash(description)
    marker = out / MARKER
    if marker.is_file():
        try:
            old = json.loads(marker.read_text(encoding="utf-8"))
            old_digest, old_sweep = old["hash"], old["sweep"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"`{fn}`: {marker} must be a sweep marker ({{'hash', 'sweep'}}); cannot read it: "
                f"{type(error).__name__}: {error}"
            ) from None
        if old_digest != digest:
            keys = sorted(k for k in set(old_sweep) | set(description)
                          if old_sweep.get(k) != description.get(k))  # fmt: skip
            raise ValueError(
                f"`{fn}`: `out` {out} belongs to another sweep (hash {old_digest[:12]}, this one "
                f"{digest[:12]}; they differ in {keys}). Give a new --out directory."
            )
        if not resume:
            raise ValueError(
                f"`{fn}`: `out` {out} already holds this sweep; pass --resume to continue it or "
                f"give a new --out directory."
            )
        return
    if out.exists() and any(p.name not in ignore for p in out.iterdir()):
        raise ValueError(
            f"`{fn}`: `out` must be a new or empty directory or a sweep directory; {out} holds "
            f"other files and no {MARKER}."
        )
    if check_only:
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(marker, {"hash": digest, "sweep": description})


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | tuple | dict) else value


def write_results(out: Path, rows: Sequence[dict[str, Any]]) -> tuple[Path, Path]:
    """Write the results table as ``results.jsonl`` (one JSON object per row) and
    ``results.csv`` (the same columns; lists as JSON text); returns both paths."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    jsonl = "".join(json.dumps(row, allow_nan=False) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return (
        atomic_write_text(out / RESULTS_CSV, buffer.getvalue()),
        atomic_write_text(out / RESULTS_JSONL, jsonl),
    )


def summary_columns(summary: dict[str, Any] | None) -> dict[str, Any]:
    """The headline numbers of a run's summary for a results row."""
    keys = ("val_accuracy_final", "val_accuracy_best", "test_accuracy_final", "test_accuracy_best")
    if summary is None:
        return dict.fromkeys(keys)
    return {k: summary.get(k) for k in keys}
