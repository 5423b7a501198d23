"""The run's configuration is part of every checkpoint's commit.

Each checkpoint of `fit` records the SHA-256 of the run's configuration
(`config_hash` of its content, so formatting does not count) in its
commit marker as ``meta["config_sha256"]``, and the configuration itself in its ``extra.json``.
Resuming, evaluating, deploying or exporting compares ``config.json`` with the checkpoint it
reads; a ``config.json`` edited since is refused, naming the file and the keys that differ.

Older checkpoints, written before the marker held the hash, are compared with the
``config_hash`` of their ``extra.json`` (covered by the checkpoint's checksums) instead; a
checkpoint with neither is from before configurations were hashed and is read without the
comparison.

A configuration whose ``train.epochs`` grew through a recorded extension
(`spikejax.train._extend`) still reads the checkpoints committed before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import config_hash

__all__ = ["CONFIG_SHA256", "check_committed_config", "flat_config"]

CONFIG_SHA256 = "config_sha256"


def flat_config(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(flat_config(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def _committed_hash(checkpointer: Checkpointer, which: str) -> str | None:
    committed = checkpointer.meta(which).get(CONFIG_SHA256)
    if committed is None:  # a checkpoint written before the marker held the hash
        committed = checkpointer.extra(which).get("config_hash")
    return committed if isinstance(committed, str) else None


def check_committed_config(fn: str, path: Path, checkpointer: Checkpointer, which: str) -> None:
    """Raise unless the configuration file ``path`` is the one committed with the ``which``
    checkpoint (see the module docstring).

    Raises:
        ValueError: ``path`` is not JSON, or was changed since the checkpoint was committed
            (the message names the file, the checkpoint and the keys that differ).
        CheckpointError: the checkpoint's marker or ``extra.json`` is unreadable.
    """
    committed = _committed_hash(checkpointer, which)
    if committed is None:
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(
            f"`{fn}`: {path} must be the run's JSON configuration; {type(error).__name__}: {error}"
        ) from error
    if config_hash(data) == committed:
        return
    # Imported here: _extend builds on flat_config of this module.
    from spikejax.train._extend import extended_from

    if isinstance(data, dict) and extended_from(fn, path.parent, data, committed):
        return  # a checkpoint from before a recorded extension (train.epochs grew)
    saved = checkpointer.extra(which).get("config")
    where = f"the {which!r} checkpoint in {checkpointer.directory}"
    if isinstance(saved, dict):
        old, new = flat_config(saved), flat_config(data)
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        shown = "; ".join(
            f"{k}: {old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}" for k in changed[:5]
        )
        what = f"it differs at {changed} ({shown})"
    else:
        what = f"its content hash {config_hash(data)[:16]}… is not the committed {committed[:16]}…"
    raise ValueError(
        f"`{fn}`: {path} must be the configuration committed with {where}; it was changed "
        f"after the run wrote it: {what}. Restore the file, or start a new run."
    )
