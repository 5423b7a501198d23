"""Crash-safe checkpoints of a training run: the latest state and the best one by a metric.

Layout of a checkpoint directory, the one ``orbax.checkpoint.CheckpointManager`` reads with its
default options (``CheckpointManager(directory).all_steps()`` lists the checkpoints,
``restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))`` reads one, and
``CheckpointManagerOptions(best_fn=lambda m: m["val_accuracy"])`` finds the best)::

    <directory>/
      1200/                           one committed checkpoint, named by its training step
        state/                        the array tree, written by Orbax (its item "state")
        metrics/metrics               the metrics as JSON (Orbax's item "metrics"), if any
        extra.json                    JSON metadata given to ``save`` (loader position, RNG, ...)
        COMMIT.json                   written last: step, metrics, ``meta`` (e.g. the SHA-256 of the
                                      run's configuration), size and SHA-256 of every file
      index.json                      latest and best (step, directory, metrics), for people and
                                      scripts; rewritten after every commit
      1300.orbax-checkpoint-tmp-...   a save in progress (or one cut short by a crash); ignored

A save writes everything into the temporary directory, writes ``COMMIT.json`` last, and then
renames the directory to its final name; the rename is atomic, so a checkpoint directory with a
final name is complete by construction, and ``COMMIT.json`` lets a restore prove that nothing was
changed or cut short since. Steps only grow: a save must be of a later step than the latest
checkpoint (as in Orbax, one directory per step). The *latest* checkpoint is the one of the highest
step; the *best* is the committed checkpoint whose ``metrics[best_metric]`` is best; it is kept
as long as it stays best. Older checkpoints are deleted only after a new one is committed and
``index.json`` names it. Directories of the older layout ``ckpt-<save>-step-<step>`` are read
as before (the highest save number is their latest) and count as older than any step directory.

``index.json`` (see `read_index`) is derived from the checkpoints, which stay authoritative: it is
rewritten atomically after each commit and before any older checkpoint is deleted, so every
checkpoint it names is on disk and complete. A crash between a commit and the rewrite leaves it
naming the previous latest and best; `refresh_index`, which `fit` calls when a run resumes,
rewrites it. Orbax's ``best_fn`` sees the same metrics (non-finite values as the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"``); spikejax never counts a NaN as best.

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
import shutil
from pathlib import Path
from typing import Any

import jax

from spikejax._errors import check_choice
from spikejax._io import atomic_write_json, fsync_dir
from spikejax.train._ckpt_layout import (
    Entry,
    is_leftover,
    read_index,
    scan,
    step_name,
    tmp_name,
    trash_name,
    write_index,
    write_metrics,
)
from spikejax.train._commit import COMMIT as _COMMIT
from spikejax.train._commit import FORMAT as _FORMAT
from spikejax.train._commit import CheckpointError, read_commit, save_fields, verify
from spikejax.train._commit import digest as _digest
from spikejax.train._commit import file_table as _file_table
from spikejax.train._parallel import is_primary, restore_target

__all__ = ["CheckpointError", "Checkpointer", "read_index"]

_EXTRA = "extra.json"
_STATE = "state"
_BARRIERS = itertools.count()  # barrier names must never repeat within a process group


def _orbax():
    try:
        import orbax.checkpoint as ocp
    except ImportError as e:
        raise ImportError(
            "`Checkpointer` needs orbax-checkpoint: pip install 'spikejax[train]'."
        ) from e
    return ocp


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

    def _committed(self) -> list[Entry]:
        """Every final-named checkpoint, oldest save first."""
        return scan(self.directory)

    def _read_commit(self, path: Path, step: int) -> dict[str, Any]:
        return read_commit(path, step)

    def _latest(self) -> Entry | None:
        committed = self._committed()
        return committed[-1] if committed else None

    def _best(self) -> Entry | None:
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

    def _select(self, which: str) -> Entry | None:
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

    def _require(self, which: str) -> Entry:
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
        saved_metrics, meta = save_fields(metrics, extra, meta)
        ocp = _orbax()

        latest = self._latest()
        if latest is not None and step <= latest.step:
            raise ValueError(
                f"`Checkpointer.save`: `step` must be greater than the step of the latest "
                f"checkpoint, {latest.step} ({latest.path}): checkpoints are directories named by "
                f"their step, as orbax.checkpoint.CheckpointManager reads them; got {step}. "
                "To continue from an earlier checkpoint, save into another directory."
            )
        name = step_name(step)
        tmp = self.directory / tmp_name(step)
        final = self.directory / name
        primary = is_primary()
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
                if saved_metrics:
                    write_metrics(tmp, saved_metrics)
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
            try:
                self._prune()
            except OSError as e:
                raise CheckpointError(
                    f"step {step} was committed to {final}, but {self.directory} could not be "
                    f"tidied: {type(e).__name__}: {e}"
                ) from e
        _barrier(f"prune:{name}")

    def _remove_leftovers(self) -> None:
        """Delete saves cut short by a crash and half-deleted old checkpoints."""
        for entry in self.directory.iterdir():
            if is_leftover(entry.name) and entry.is_dir():
                shutil.rmtree(entry)

    def _write_index(self, committed: list[Entry], kept: list[Entry], best: Entry | None) -> None:
        latest = committed[-1] if committed else None

        def metrics(entry: Entry | None) -> dict | None:
            return None if entry is None else self._read_commit(entry.path, entry.step)["metrics"]

        write_index(
            self.directory,
            latest=latest,
            latest_metrics=metrics(latest),
            best=best,
            best_metrics=metrics(best),
            best_metric=self.best_metric,
            best_mode=self.best_mode,
            kept=kept,
        )

    def _prune(self) -> None:
        """Name the latest and best in ``index.json``, then delete checkpoints that are neither
        among the ``keep`` latest nor the best (so the index never names a deleted one)."""
        committed = self._committed()
        best = self._best()
        retained = {entry.path for entry in committed[-self.keep :]}
        if best is not None:
            retained.add(best.path)
        self._write_index(committed, [e for e in committed if e.path in retained], best)
        for entry in committed:
            if entry.path not in retained:
                # Rename first: a crash mid-delete must not leave a damaged final-named directory.
                trash = entry.path.with_name(trash_name(entry.path.name))
                os.rename(entry.path, trash)
                shutil.rmtree(trash)
        fsync_dir(self.directory)

    def refresh_index(self) -> None:
        """Rewrite ``index.json`` from the committed checkpoints and delete leftovers of a crash
        (a save cut short, a checkpoint half deleted); deletes no checkpoint. `fit` calls it when
        a run resumes, so an index left behind by a crash between a commit and its update names
        the latest again. Process 0 only; a directory without checkpoints is left as it is.

        Raises:
            CheckpointError: a checkpoint's commit marker is missing or corrupt.
        """
        committed = self._committed()
        if not committed:
            return
        self._remove_leftovers()
        self._write_index(committed, committed, self._best())
        fsync_dir(self.directory)

    def index(self) -> dict | None:
        """The directory's ``index.json`` as written (see `read_index`), or ``None`` for a
        directory written before the index existed.

        Raises:
            CheckpointError: the file is unreadable or not an index (the message names it).
        """
        try:
            return read_index(self.directory)
        except ValueError as e:
            raise CheckpointError(str(e)) from e

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
