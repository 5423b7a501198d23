"""Extending a run: resuming it with more ``train.epochs`` is a recorded change.

A resumed run must have the configuration it was started with (``config.json``, whose hash every
checkpoint commits). The one change allowed on resume is a larger ``train.epochs``
(``spikejax train <config> --run-dir <run> --resume --set train.epochs=N``): training continues
from the latest checkpoint, a finished run included, up to the new number of epochs. The change
is written into the run before anything else:

* ``extensions.json`` (a JSON list, rewritten atomically) gains a record ``{"time", "changed":
  {"train.epochs": [old, new]}, "from_config": <the previous configuration>,
  "from_config_sha256", "to_config_sha256"}``;
* then ``config.json`` is replaced by the extended configuration.

Checkpoints committed before the extension carry the previous configuration's hash. Reading one
(resume, evaluation, deployment, export) accepts it when a record's ``from_config`` has that hash
and differs from the current ``config.json`` only by a smaller ``train.epochs``; the record is
checked against the configuration itself, not against its stored hashes. Any other change of
``config.json`` is refused as before.

What an extension changes besides the length: a ``cosine`` or ``warmup_cosine`` learning-rate
schedule decays to 0 at the run's last step, so after an extension the rate at the resumed step
is that of the longer schedule (it rises again from near 0); a ``constant`` schedule is
unaffected. An extended run is not bit-identical to a run started with the larger number of
epochs unless its schedule is constant.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from spikejax._io import atomic_write_json
from spikejax.train._committed import flat_config
from spikejax.train.logging import config_hash

__all__ = [
    "EXTENDABLE",
    "EXTENSIONS_FILE",
    "extended_from",
    "extension",
    "read_extensions",
    "record_extension",
]

EXTENSIONS_FILE = "extensions.json"
# Keys a resume may change, each only upwards.
EXTENDABLE = ("train.epochs",)


def _grows(old: Any, new: Any) -> bool:
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (old, new))
    return numbers and new > old


def extension(fn: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, list] | None:
    """The recorded change ``{key: [old, new]}`` that turns the flat configuration ``old`` into
    ``new``; ``None`` when they differ in a key a resume may not change.

    Raises:
        ValueError: an extendable key would shrink (a run cannot be shortened on resume).
    """
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if not changed or any(k not in EXTENDABLE for k in changed):
        return None
    for key in changed:
        if not _grows(old.get(key), new.get(key)):
            raise ValueError(
                f"`{fn}`: `{key}` may only grow when a run is resumed (an extension); the run "
                f"has {old.get(key)!r}, got {new.get(key)!r}."
            )
    return {k: [old[k], new[k]] for k in changed}


def read_extensions(fn: str, run_dir: Path) -> list[dict[str, Any]]:
    """The extension records of the run in ``run_dir``, oldest first (``[]`` if none).

    Raises:
        ValueError: ``extensions.json`` is not a JSON list of records (the message names it).
    """
    path = run_dir / EXTENSIONS_FILE
    if not path.exists():
        return []
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(
            f"`{fn}`: {path} must hold the run's list of extensions (JSON); "
            f"{type(error).__name__}: {error}"
        ) from error
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(
            f"`{fn}`: {path} must hold a JSON list of extension records; got "
            f"{type(records).__name__}."
        )
    return records


def record_extension(
    fn: str, run_dir: Path, old: dict[str, Any], new: dict[str, Any], changed: dict[str, list]
) -> dict[str, Any]:
    """Append the extension ``old`` -> ``new`` (nested configurations) to the run's
    ``extensions.json`` (atomically) and return the record; the caller then writes ``new`` as
    ``config.json``."""
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "changed": changed,
        "from_config_sha256": config_hash(old),
        "to_config_sha256": config_hash(new),
        "from_config": old,
    }
    atomic_write_json(run_dir / EXTENSIONS_FILE, [*read_extensions(fn, run_dir), record])
    return record


def extended_from(fn: str, run_dir: Path, current: dict[str, Any], committed: str) -> bool:
    """Whether the configuration with hash ``committed`` became ``current`` (the run's
    ``config.json``) through the extensions recorded in ``run_dir``."""
    now = flat_config(current)
    for record in read_extensions(fn, run_dir):
        before = record.get("from_config")
        if not isinstance(before, dict) or config_hash(before) != committed:
            continue
        old = flat_config(before)
        changed = [k for k in set(old) | set(now) if old.get(k) != now.get(k)]
        if changed and all(k in EXTENDABLE and _grows(old.get(k), now.get(k)) for k in changed):
            return True
    return False
