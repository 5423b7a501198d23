"""The files of a run directory: its configuration, metric records and the saved train state."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jax
import jax.random as jr
from flax import nnx

from spikejax._io import atomic_write_json, atomic_write_text
from spikejax.config import Config, to_dict
from spikejax.train.logging import read_metrics

__all__ = [
    "CHECKPOINTS",
    "CONFIG_FILE",
    "PLOTS",
    "abstract",
    "prepare_run_dir",
    "restore_into",
    "saveable",
    "truncate_metrics",
]

CONFIG_FILE = "config.json"
CHECKPOINTS = "checkpoints"
PLOTS = "plots"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array | jax.ShapeDtypeStruct) and jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key
    )


def saveable(state: dict[str, nnx.State]) -> dict[str, Any]:
    """The train state as nested dicts of plain arrays (random keys as their key data)."""
    pure = {name: nnx.to_pure_dict(part) for name, part in state.items()}
    return jax.tree.map(lambda a: jr.key_data(a) if _is_key(a) else a, pure)


def restore_into(state: dict[str, nnx.State], tree: dict[str, Any]) -> dict[str, nnx.State]:
    """Put the arrays of ``tree`` (from :func:`saveable`) into ``state``, in place."""
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


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def prepare_run_dir(config: Config, run_dir: Path, resume: bool) -> None:
    """Create ``run_dir`` and write ``config.json``; or, to resume, check the saved config.

    A new run needs a directory without a run in it; a resumed one needs ``config`` to equal the
    saved configuration (the message lists the keys that differ).
    """
    fn = "fit"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(
            error.errno,
            f"`{fn}`: `run_dir` must be a writable directory; cannot create "
            f"{str(run_dir)!r}: {error.strerror or error}",
        ) from error
    saved = run_dir / CONFIG_FILE
    if resume:
        if not saved.is_file():
            raise ValueError(
                f"`{fn}`: `run_dir` must hold a previous run to resume ({saved} is missing); "
                f"got {str(run_dir)!r}."
            )
        old = _flat(json.loads(saved.read_text(encoding="utf-8")))
        new = _flat(to_dict(config))
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            raise ValueError(
                f"`{fn}`: `config` must equal the run's {CONFIG_FILE} to resume; differs at "
                f"{changed} (e.g. {changed[0]}: {old.get(changed[0])!r} -> "
                f"{new.get(changed[0])!r})."
            )
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


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop metric records written after ``step`` (by a run that stopped before saving them)."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return
    kept = [r for r in read_metrics(run_dir, strict=False) if r["step"] <= step]
    text = "".join(json.dumps(r, allow_nan=False) + "\n" for r in _strict_records(kept))
    atomic_write_text(path, text)


def _strict_records(records: list[dict]) -> list[dict]:
    def strict(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        return v

    return [{k: strict(v) for k, v in r.items()} for r in records]
