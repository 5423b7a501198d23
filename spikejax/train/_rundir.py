"""The files of a run directory: its configuration, metric records and the saved train state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

from spikejax._io import atomic_write_json
from spikejax.config import Config, from_dict, to_dict
from spikejax.train._committed import flat_config
from spikejax.train._extend import extension, record_extension
from spikejax.train.checkpoint import Checkpointer, CheckpointError

__all__ = [
    "CHECKPOINTS",
    "CONFIG_FILE",
    "PLOTS",
    "SELECT_METRIC",
    "abstract",
    "checkpointer_of",
    "make_run_dir",
    "prepare_run_dir",
    "read_config",
    "require_checkpoint",
    "restore_into",
    "restore_model",
    "saveable",
]

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"
PLOTS = "plots"
# The checkpoint metric that selects the "best" checkpoint (higher is better).
SELECT_METRIC = "val_accuracy"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array | jax.ShapeDtypeStruct) and jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key
    )


def saveable(state: dict[str, nnx.State]) -> dict[str, Any]:
    """The train state as nested dicts of plain arrays (random keys as their key data)."""
    pure = {name: nnx.to_pure_dict(part) for name, part in state.items()}
    return jax.tree.map(lambda a: jr.key_data(a) if _is_key(a) else a, pure)


def restore_into(state: dict[str, nnx.State], tree: dict[str, Any]) -> dict[str, nnx.State]:
    """Put the arrays of ``tree`` (from `saveable`) into ``state``, in place."""
    template = {name: nnx.to_pure_dict(part) for name, part in state.items()}

    def wrap(t, a):
        return jr.wrap_key_data(a, impl=jr.key_impl(t)) if _is_key(t) else a

    restored = jax.tree.map(wrap, template, tree)
    for name, part in state.items():
        nnx.replace_by_pure_dict(part, restored[name])
    return state


def abstract(tree: Any) -> Any:
    """Shapes and dtypes of ``tree`` (the restore target of a checkpoint)."""
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree)


def make_run_dir(run_dir: Path) -> None:
    """Create ``run_dir`` (and its parents) if missing.

    Raises:
        OSError: it cannot be created, or it is a file (the message names it).
    """
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(
            error.errno,
            f"`fit`: `run_dir` must be a writable directory; cannot create "
            f"{str(run_dir)!r}: {error.strerror or error}",
        ) from error


def prepare_run_dir(config: Config, run_dir: Path, resume: bool) -> None:
    """Write ``config.json`` into ``run_dir`` (made by `make_run_dir`); or, to resume,
    check the saved config.

    A new run needs a directory without a run in it; a resumed one needs ``config`` to equal the
    saved configuration (the message lists the keys that differ), or to differ only by a larger
    ``train.epochs``: an extension, recorded in ``extensions.json`` before ``config.json`` is
    rewritten (see `spikejax.train._extend`); the checkpoints' ``index.json`` is rewritten
    from the checkpoints (see `Checkpointer.refresh_index`).
    """
    fn = "fit"
    saved = run_dir / CONFIG_FILE
    if resume:
        if not saved.is_file():
            raise ValueError(
                f"`{fn}`: `run_dir` must hold a previous run to resume ({saved} is missing); "
                f"got {str(run_dir)!r}."
            )
        try:
            old = flat_config(json.loads(saved.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            raise ValueError(
                f"`{fn}`: {saved} must hold the run's JSON configuration to resume; "
                f"{type(error).__name__}: {error}"
            ) from error
        new = flat_config(to_dict(config))
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        grown = extension(fn, old, new) if changed else None
        if grown is not None:  # more epochs: recorded first, then config.json follows
            record_extension(
                fn, run_dir, json.loads(saved.read_text("utf-8")), to_dict(config), grown
            )
            atomic_write_json(saved, to_dict(config))
        elif changed:
            raise ValueError(
                f"`{fn}`: `config` must equal the run's {CONFIG_FILE} to resume; differs at "
                f"{changed} (e.g. {changed[0]}: {old.get(changed[0])!r} -> "
                f"{new.get(changed[0])!r})."
            )
        # A crash between a commit and the index update left index.json one save behind.
        checkpointer_of(run_dir, config).refresh_index()
        return
    taken = [
        p.name for p in (saved, run_dir / CHECKPOINTS, run_dir / "metrics.jsonl") if p.exists()
    ]
    if taken:
        raise ValueError(
            f"`{fn}`: `run_dir` {str(run_dir)!r} already holds a run ({', '.join(taken)}); pass "
            "resume=True (--resume) to continue it, or choose another directory."
        )
    try:
        atomic_write_json(saved, to_dict(config))
    except OSError as error:
        raise OSError(
            error.errno, f"`{fn}`: `run_dir` must be a writable directory; {error}"
        ) from error


# --------------------------------------------------------------------------- reading a run


def read_config(run_dir: Path, fn: str) -> Config:
    """The configuration of the run in ``run_dir`` (its ``config.json``).

    A ``config.json`` without ``data.val_fraction`` was written before validation splits
    existed: that run trained on the whole training split, so it is read with
    ``val_fraction=0``.

    Raises:
        FileNotFoundError: ``run_dir`` holds no ``config.json``.
        ValueError: the file is not JSON or does not rebuild a `Config`.
    """
    saved = run_dir / CONFIG_FILE
    if not saved.is_file():
        raise FileNotFoundError(
            f"`{fn}`: `run_dir` must be a run directory written by `fit`; {saved} not found."
        )
    try:
        data = json.loads(saved.read_text(encoding="utf-8"))
        part = data.get("data", {}) if isinstance(data, dict) else None
        if isinstance(part, dict) and "val_fraction" not in part:
            data = {**data, "data": {**part, "val_fraction": 0.0}}
        return from_dict(data)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(
            f"`{fn}`: {saved} must hold a configuration that spikejax.config.from_dict rebuilds; "
            f"{type(error).__name__}: {error}"
        ) from error


def checkpointer_of(run_dir: Path, config: Config) -> Checkpointer:
    """The checkpoints of a run; "best" is by ``SELECT_METRIC`` when the run has a validation
    split, and does not exist otherwise."""
    metric = SELECT_METRIC if config.data.val_fraction > 0 else None
    return Checkpointer(run_dir / CHECKPOINTS, best_metric=metric, best_mode="max")


def require_checkpoint(
    fn: str, checkpointer: Checkpointer, which: str, config: Config, run_dir: Path
) -> None:
    """Raise a named error unless the run has a ``which`` checkpoint.

    Raises:
        ValueError: ``which="best"`` for a run without a validation split.
        CheckpointError: no committed ``which`` checkpoint.
    """
    if which == "best" and config.data.val_fraction == 0:
        raise ValueError(
            f"`{fn}`: `which` must be 'latest' for the run in {run_dir}: it has no validation "
            "split (data.val_fraction=0), so no checkpoint was selected as the best; got 'best'."
        )
    if not checkpointer.exists(which):
        latest = checkpointer.exists("latest")
        why = (
            f"no checkpoint carries the metric {SELECT_METRIC!r}"
            if latest
            else "the run saved no checkpoint"
        )
        raise CheckpointError(
            f"`{fn}`: `which` must name a checkpoint of the run in {run_dir}; there is no "
            f"{which!r} checkpoint in {checkpointer.directory} ({why}); got {which!r}."
        )


def _child(saved: dict, key: Any) -> Any:
    if key in saved:
        return saved[key]
    if str(key) in saved:
        return saved[str(key)]
    raise KeyError(key)


def restore_model(fn: str, state: nnx.State, saved: Any, where: str) -> None:
    """Put the model leaves of a checkpoint (``tree["model"]`` as restored without a target)
    into ``state``, in place.

    Every leaf of ``state`` must be present in ``saved`` (list indices may be saved as strings)
    with its exact shape and dtype (random keys as their key data), and ``saved`` must hold
    nothing else; the values are taken bit for bit.

    Raises:
        ValueError: a leaf is missing, has another shape or dtype, or is not in the model;
            the message names it and ``where`` (the checkpoint).
    """

    def fill(template: Any, value: Any, path: tuple) -> Any:
        name = ".".join(str(p) for p in path) or "<root>"
        if isinstance(template, dict):
            if not isinstance(value, dict):
                raise ValueError(
                    f"`{fn}`: the checkpoint {where} must hold the model group `{name}`; got a "
                    f"{type(value).__name__}."
                )
            unknown = sorted(set(map(str, value)) - set(map(str, template)))
            if unknown:
                raise ValueError(
                    f"`{fn}`: the checkpoint {where} must hold only leaves of the configured "
                    f"model; `{name}` has {unknown[:5]} besides."
                )
            out = {}
            for key, sub in template.items():
                try:
                    child = _child(value, key)
                except KeyError:
                    raise ValueError(
                        f"`{fn}`: the checkpoint {where} must hold the model leaf "
                        f"`{'.'.join(str(p) for p in (*path, key))}`; it is missing."
                    ) from None
                out[key] = fill(sub, child, (*path, key))
            return out
        expected = jax.eval_shape(jr.key_data, template) if _is_key(template) else template
        got = np.asarray(value) if not isinstance(value, jax.Array) else value
        if got.shape != expected.shape or got.dtype != expected.dtype:
            raise ValueError(
                f"`{fn}`: the checkpoint {where} must hold `{name}` as {expected.dtype}"
                f"{list(expected.shape)} (the configured model); got {got.dtype}{list(got.shape)}."
            )
        got = jnp.asarray(got)
        return jr.wrap_key_data(got, impl=jr.key_impl(template)) if _is_key(template) else got

    nnx.replace_by_pure_dict(state, fill(nnx.to_pure_dict(state), saved, ()))
