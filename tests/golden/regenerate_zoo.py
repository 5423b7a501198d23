"""Regenerate the pinned variable structure of every zoo model in tests/golden/zoo_structure.json.

    .venv/bin/python tests/golden/regenerate_zoo.py

Run this only after a deliberate change of a model's layers (names, shapes, dtypes or variable
types), and only once tests/test_models_counts.py passes: the file pins what was checked there, so
that any later unintended change of a checkpoint's layout shows up as a diff.
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = pathlib.Path(__file__).with_name("zoo_structure.json")
COMMAND = ".venv/bin/python tests/golden/regenerate_zoo.py"


def structures() -> dict[str, dict[str, str]]:
    """``{model name: {variable path: "Type:dtype[shape]"}}`` of every registry entry."""
    sys.path.insert(0, str(ROOT))
    from spikejax import models

    return {name: models.structure(name) for name in models.available()}


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(structures(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
