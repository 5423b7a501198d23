"""Crash-safe checkpoints of a training run: the latest state and the best one by a metric.

Layout of a checkpoint directory::

    <directory>/
      ckpt-000007-step-000001200/     one committed checkpoint (save number 7, training step 1200)
        state/                        the array tree, written by Orbax (its own atomic finalisation)
        extra.json                    JSON metadata given to ``save`` (loader position, RNG, ...)
        COMMIT.json                   written last: step, metrics, ``meta`` (e.g. the SHA-256 of the
                                      run's configuration), size and SHA-256 of every file
      .tmp-ckpt-000008-step-...       a save in progress (or one cut short by a crash); ignored

A save writes everything into the hidden ``.tmp-*`` directory, writes ``COMMIT.json`` last, and then
renames the directory to its final name; the rename is atomic, so a checkpoint directory with a
final name is complete by construction, and ``COMMIT.json`` lets a restore prove that nothing was
changed or cut short since. The *latest* checkpoint is the committed directory with the highest
save number (not the highest step, so that a run resumed from an earlier checkpoint moves on from
there). The *best* is the committed checkpoint whose ``metrics[best_metric]`` is best; it is kept
as long as it stays best. Older checkpoints are deleted only after a new one is committed.

A checkpoint that fails verification (missing or truncated file, checksum mismatch, missing or
unreadable ``COMMIT.json``) raises `CheckpointError` naming the offending path; an older
checkpoint is never used in its place.

One writer per directory. With several JAX processes, every process calls ``save``/``restore``
(Orbax coordinates the array writes); process 0 writes the metadata, renames and deletes, and the
directory must be on a file system that process 0 can read in full.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import jax
import numpy as np

from spikejax._errors import check_choice
from spikejax._io import atomic_write_json, fsync_dir, json_float
from spikejax.train._commit import COMMIT as _COMMIT
from spikejax.train._commit import FORMAT as _FORMAT
from spikejax.train._commit import CheckpointError, read_commit, verify
from spikejax.train._commit import digest as _digest
from spikejax.train._commit import file_table as _file_table
from spikejax.train._parallel import restore_target

__all__ = ["CheckpointError", "Checkpointer"]

_EXTRA = "extra.json"
_STATE = "state"
_NAME = re.compile(r"^ckpt-(\d{6,})-step-(\d{9,})$")
_TMP_PREFIX = ".tmp-ckpt-"
_TRASH_PREFIX = ".trash-ckpt-"
_BARRIERS = itertools.count()  # barrier names must never repeat within a process group


def _orbax():
    try:
        import orbax.checkpoint as ocp
    except ImportError as e:
        raise ImportError(
            "`Checkpointer` needs orbax-checkpoint: pip install 'spikejax[train]'."
        ) from e
    return ocp


def _is_primary() -> bool:
    return jax.process_index() == 0


def _barrier(name: str) -> None:
    if jax.process_count() > 1:
        from orbax.checkpoint import multihost

        multihost.sync_global_processes(f"spikejax_checkpoint:{next(_BARRIERS)}:{name}")


class Checkpointer:
    """Save and restore a training state (any pytree of arrays) under ``directory``.

    Args:
        directory: where checkpoints live; created on the first save.
        best_metric: name of the metric (a key of ``save(metrics=...)``) that selects the best
            checkpoint, or ``None`` to track only the latest.
        best_mode: ``"max"`` (higher is better) or ``"min"``.
        keep: how many of the most recent checkpoints to keep (``>= 1``), besides the best.

    Example:
        >>> import tempfile, numpy as np
        >>> from spikejax.train.checkpoint import Checkpointer
        >>> ckpt = Checkpointer(tempfile.mkdtemp(), best_metric="accuracy")
        >>> ckpt.save(10, {"w": np.arange(3.0)}, metrics={"accuracy": 0.5})
        >>> ckpt.save(20, {"w": np.ones(3)}, metrics={"accuracy": 0.4}, extra={"epoch": 2})
        >>> ckpt.latest_step(), ckpt.best_step()
        (20, 10)
        >>> step, tree, extra = ckpt.restore("latest")
        >>> step, tree["w"].tolist(), extra
        (20, [1.0, 1.0, 1.0], {'epoch': 2})
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        best_metric: str | None = None,
        best_mode: str = "max",
        keep: int = 1,
    ) -> None:
        check_choice("Checkpointer", "best_mode", best_mode, ("max", "min"))
        if best_metric is not None and not isinstance(best_metric, str):
            raise TypeError(
                f"`Checkpointer`: `best_metric` must be a str or None; got {best_metric!r}."
            )
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`Checkpointer`: `keep` must be an int >= 1; got {keep!r}.")
        # Absolute: Orbax (tensorstore) rejects relative checkpoint paths.
        self.directory = Path(directory).absolute()
        self.best_metric = best_metric
        self.best_mode = best_mode
        self.keep = keep

    def _committed(self) -> list[tuple[int, int, Path]]:
        """``(save number, step, path)`` of every final-named checkpoint, oldest save first."""
        if not self.directory.is_dir():
            return []
        found = []
        for entry in self.directory.iterdir():
            match = _NAME.match(entry.name)
            if match and entry.is_dir():
                found.append((int(match.group(1)), int(match.group(2)), entry))
        return sorted(found)

    def _read_commit(self, path: Path, step: int) -> dict[str, Any]:
        return read_commit(path, step)

    def _latest(self) -> tuple[int, int, Path] | None:
        committed = self._committed()
        return committed[-1] if committed else None

    def _best(self) -> tuple[int, int, Path] | None:
        if self.best_metric is None:
            return None
        best, best_value = None, None
        for entry in self._committed():
            value = self._read_commit(entry[2], entry[1]).get("metrics", {}).get(self.best_metric)
            if value is None:
                continue
            value = float(value)
            if math.isnan(value):
                continue
            if best_value is None or (
                value > best_value if self.best_mode == "max" else value < best_value
            ):
                best, best_value = entry, value
        return best

    def _select(self, which: str) -> tuple[int, int, Path] | None:
        check_choice("Checkpointer", "which", which, ("latest", "best"))
        return self._latest() if which == "latest" else self._best()

    def latest_step(self) -> int | None:
        """Training step of the latest checkpoint, or ``None`` when there is none."""
        latest = self._latest()
        return None if latest is None else latest[1]

    def best_step(self) -> int | None:
        """Training step of the best checkpoint, or ``None`` (no ``best_metric`` or no candidate).

        Raises:
            CheckpointError: a checkpoint's commit marker is missing or corrupt.
        """
        best = self._best()
        return None if best is None else best[1]

    def exists(self, which: str = "latest") -> bool:
        """Whether a committed ``"latest"`` or ``"best"`` checkpoint exists (not yet verified)."""
        return self._select(which) is not None

    def metrics(self, which: str = "latest") -> dict[str, float]:
        """The metrics saved with the ``"latest"`` or ``"best"`` checkpoint."""
        entry = self._require(which)
        saved = self._read_commit(entry[2], entry[1]).get("metrics", {})
        return {k: float(v) for k, v in saved.items()}

    def meta(self, which: str = "latest") -> dict[str, str]:
        """The ``meta`` strings recorded in the commit marker of the ``"latest"`` or ``"best"``
        checkpoint (``{}`` for a checkpoint saved without, or before markers held them)."""
        entry = self._require(which)
        return dict(self._read_commit(entry[2], entry[1]).get("meta", {}))

    def extra(self, which: str = "latest") -> dict:
        """The ``extra`` metadata of the ``"latest"`` or ``"best"`` checkpoint, without reading
        its arrays (its files are verified by `restore`, not here)."""
        _, step, path = self._require(which)
        self._read_commit(path, step)
        return self._read_extra(path)

    def _read_extra(self, path: Path) -> dict:
        try:
            extra = json.loads((path / _EXTRA).read_text(encoding="utf-8"))["extra"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"checkpoint file {path / _EXTRA} is unreadable: {e}") from e
        return {} if extra is None else extra

    def _require(self, which: str) -> tuple[int, int, Path]:
        entry = self._select(which)
        if entry is None:
            if which == "best" and self.best_metric is None:
                raise CheckpointError(
                    f"no best checkpoint in {self.directory}: `best_metric` is not set."
                )
            raise CheckpointError(f"no {which} checkpoint in {self.directory}.")
        return entry

    def save(
        self,
        step: int,
        tree: Any,
        *,
        metrics: dict[str, float] | None = None,
        extra: dict | None = None,
        meta: dict[str, str] | None = None,
    ) -> None:
        """Commit ``tree`` as the new latest checkpoint (and best, if ``best_metric`` improved).

        The previous latest stays on disk until the new checkpoint is committed; a crash at any
        point leaves either the old or the new checkpoint as the latest, both complete.

        Args:
            step: training step (an int ``>= 0``).
            tree: pytree of JAX or NumPy arrays, e.g. ``nnx.state((model, optimizer))``.
            metrics: scalar metrics stored with the checkpoint; ``metrics[best_metric]`` makes it
                a candidate for the best (a missing or NaN value does not).
            extra: JSON-serialisable metadata (data-loader position, RNG state, config hash);
                returned by `restore` as saved (tuples come back as lists).
            meta: short strings recorded in the commit marker itself (covered by its digest),
                e.g. the SHA-256 of a file that describes the checkpoint; see `meta`.

        Raises:
            CheckpointError: the checkpoint could not be written; the previous ones are intact.
        """
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"`Checkpointer.save`: `step` must be an int >= 0; got {step!r}.")
        saved_metrics = {}
        for name, value in (metrics or {}).items():
            try:
                if np.ndim(value) != 0:
                    raise TypeError("not 0-d")
                saved_metrics[str(name)] = json_float(float(value))
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
        ocp = _orbax()

        latest = self._latest()
        number = 1 if latest is None else latest[0] + 1
        name = f"ckpt-{number:06d}-step-{step:09d}"
        tmp = self.directory / f"{_TMP_PREFIX}{name[len('ckpt-') :]}"
        final = self.directory / name
        primary = _is_primary()
        try:
            if primary:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._remove_leftovers()
                tmp.mkdir()
            _barrier(f"start:{name}")
            with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as orbax:
                orbax.save(tmp / _STATE, args=ocp.args.StandardSave(tree))
            if primary:
                atomic_write_json(tmp / _EXTRA, {"extra": extra})
                body = {
                    "format": _FORMAT,
                    "step": step,
                    "metrics": saved_metrics,
                    **({"meta": meta} if meta else {}),
                    "files": _file_table(tmp, sync=True),
                }
                atomic_write_json(tmp / _COMMIT, {**body, "digest": _digest(body)})
                fsync_dir(tmp)
                os.rename(tmp, final)
                fsync_dir(self.directory)
            _barrier(f"commit:{name}")
        except CheckpointError:
            raise
        except Exception as e:
            raise CheckpointError(
                f"could not save step {step} to {final}: {type(e).__name__}: {e}"
            ) from e
        if primary:
            self._prune()
        _barrier(f"prune:{name}")

    def _remove_leftovers(self) -> None:
        """Delete saves cut short by a crash and half-deleted old checkpoints."""
        for entry in self.directory.iterdir():
            if entry.name.startswith((_TMP_PREFIX, _TRASH_PREFIX)) and entry.is_dir():
                shutil.rmtree(entry)

    def _prune(self) -> None:
        """Delete checkpoints that are neither among the ``keep`` latest nor the best."""
        committed = self._committed()
        retained = {entry[2] for entry in committed[-self.keep :]}
        best = self._best()
        if best is not None:
            retained.add(best[2])
        for _, _, path in committed:
            if path not in retained:
                # Rename first: a crash mid-delete must not leave a damaged final-named directory.
                trash = path.with_name(_TRASH_PREFIX + path.name[len("ckpt-") :])
                os.rename(path, trash)
                shutil.rmtree(trash)
        fsync_dir(self.directory)

    def verify(self, which: str = "latest") -> int:
        """Check the ``"latest"`` or ``"best"`` checkpoint against its commit marker.

        Returns:
            The checkpoint's step.

        Raises:
            CheckpointError: there is no such checkpoint, or a file is missing, added, truncated or
                changed (the message names it).
        """
        _, step, path = self._require(which)
        self._verify_files(path, step)
        return step

    def _verify_files(self, path: Path, step: int) -> None:
        verify(path, step)

    def restore(
        self, which: str = "latest", *, target: Any = None, verify: bool = True
    ) -> tuple[int, Any, dict]:
        """Load the ``"latest"`` or ``"best"`` checkpoint.

        Args:
            which: ``"latest"`` or ``"best"``.
            target: optional pytree with the structure to restore into; its leaves (arrays or
                ``jax.ShapeDtypeStruct``) give dtypes, shapes and shardings. Without it, the tree
                comes back as nested dicts with string keys. JAX arrays come back on this
                process's first device wherever the target gives no sharding, so a checkpoint
                written from arrays sharded over N devices reads on any machine.
            verify: check every file's size and SHA-256 first (see `verify`).

        Returns:
            ``(step, tree, extra)``; ``extra`` is the dict given to `save` (``{}`` if none).
            Array values are bit-identical to the saved ones.

        Raises:
            CheckpointError: no such checkpoint, or it is incomplete, corrupt or does not match
                ``target``. No other checkpoint is tried.
        """
        _, step, path = self._require(which)
        ocp = _orbax()
        if verify:
            self._verify_files(path, step)
        else:
            self._read_commit(path, step)
        extra = self._read_extra(path)
        try:
            with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as orbax:
                target = restore_target(ocp, orbax, path / _STATE, target)
                tree = orbax.restore(path / _STATE, args=ocp.args.StandardRestore(target))
        except Exception as e:
            raise CheckpointError(
                f"could not restore {path / _STATE}: {type(e).__name__}: {e}"
            ) from e
        return step, tree, extra
