"""Write a checkpoint directory in the older layout, as spikejax wrote it before checkpoints were
named by their step: ``ckpt-<save number, 6 digits>-step-<step, 9 digits>/`` holding ``state/``,
``extra.json`` and ``COMMIT.json`` (no ``metrics/`` item, no ``index.json``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from spikejax.train._commit import digest, file_table


def to_legacy_layout(directory: Path, *, first_number: int = 1) -> list[Path]:
    """Rename every step-named checkpoint of ``directory`` (oldest first) to the older name with
    save numbers from ``first_number``, drop what the older layout did not have, re-commit the
    file table; return the new paths."""
    steps = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())
    paths = []
    for number, step in enumerate(steps, start=first_number):
        path = directory / f"ckpt-{number:06d}-step-{step:09d}"
        (directory / str(step)).rename(path)
        shutil.rmtree(path / "metrics", ignore_errors=True)
        marker = json.loads((path / "COMMIT.json").read_text())
        body = {k: v for k, v in marker.items() if k != "digest"}
        body["files"] = file_table(path)
        (path / "COMMIT.json").write_text(json.dumps({**body, "digest": digest(body)}))
        paths.append(path)
    (directory / "index.json").unlink(missing_ok=True)
    return paths
