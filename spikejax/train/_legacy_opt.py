"""Resuming checkpoints whose optimizer state predates ``optax.inject_hyperparams``.

Runs written before the optimizer's numbers moved into its state (`build_optimizer`) hold the bare
transformation state at ``opt.opt_state``; runs written since hold
``{count, hyperparams, hyperparams_states, inner_state}`` with that same bare state as
``inner_state``. Such an older checkpoint resumes by placing its state at ``inner_state`` and taking
the other three fields from the run's freshly initialised optimizer: ``hyperparams`` are the
configuration's numbers, which the older run used as constants (its ``config.json`` is checked
against the checkpoint first), and ``count`` is the number of updates so far, the optimizer's
``step``. Nothing else of the checkpoint changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from spikejax.train._commit import CheckpointError
from spikejax.train.checkpoint import Checkpointer

# (``hyperparams_states`` is empty for constant numbers, and empty dicts leave the pure tree.)
_NEW_FIELDS = ("count", "hyperparams", "inner_state")


def restore_state(
    checkpointer: Checkpointer, which: str, target: Any, template: Mapping[str, Any]
) -> tuple[int, Any, dict]:
    """``checkpointer.restore(which, target=target)``, or for a checkpoint in the older optimizer
    layout, its tree upgraded as described in the module docstring.

    Raises:
        CheckpointError: the checkpoint cannot be restored into ``target`` and is not an
            older layout of it (the original error).
    """
    try:
        return checkpointer.restore(which, target=target)
    except CheckpointError as error:
        step, raw, extra = checkpointer.restore(which)
        if not is_legacy(raw, template):
            raise
        try:
            return step, upgrade(raw, template, target), extra
        except ValueError as mismatch:
            raise CheckpointError(
                f"{error} (read as a checkpoint written before optimizer numbers were kept in "
                f"the optimizer state, it does not match this run either: {mismatch})"
            ) from error


def is_legacy(raw: Mapping[str, Any], template: Mapping[str, Any]) -> bool:
    """Whether the raw checkpoint tree ``raw`` has the older optimizer layout while the live
    state's pure tree ``template`` has the newer one."""
    try:
        old = raw["opt"]["opt_state"]
        new = template["opt"]["opt_state"]
    except (KeyError, TypeError):
        return False
    return (
        isinstance(new, Mapping)
        and set(_NEW_FIELDS) <= set(new)
        and isinstance(old, Mapping)
        and "hyperparams" not in old
    )


def upgrade(raw: Mapping[str, Any], template: Mapping[str, Any], target: Any) -> dict[str, Any]:
    """The raw older tree as a tree of ``target``'s structure, dtypes and shardings.

    Args:
        raw: the checkpoint restored without a target (nested dicts of arrays, string keys).
        template: the live train state as pure dicts (`saveable`), for the fields the older
            layout lacks.
        target: the abstract restore target (``ShapeDtypeStruct`` leaves, maybe with shardings).

    Raises:
        ValueError: the trees do not correspond leaf for leaf (the message names the path).
    """
    new_opt = dict(template["opt"])
    state = dict(template["opt"]["opt_state"])
    state["inner_state"] = raw["opt"]["opt_state"]
    state["count"] = np.asarray(raw["opt"]["step"]).astype(np.asarray(state["count"]).dtype)
    new_opt["opt_state"] = state
    new_opt["step"] = raw["opt"]["step"]
    merged = {**raw, "opt": new_opt}
    return _align(target, merged, "checkpoint")


def _align(target: Any, raw: Any, path: str) -> Any:
    if isinstance(target, Mapping):
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path} must be a mapping; got {type(raw).__name__}.")
        out = {}
        for key, sub in target.items():
            found = [k for k in (key, str(key)) if k in raw]
            if not found:
                raise ValueError(f"{path}.{key} is missing from the checkpoint.")
            out[key] = _align(sub, raw[found[0]], f"{path}.{key}")
        return out
    array = np.asarray(raw)
    if array.shape != tuple(target.shape):
        raise ValueError(f"{path} must have shape {tuple(target.shape)}; got {array.shape}.")
    array = array.astype(target.dtype)
    sharding = getattr(target, "sharding", None)
    return jax.device_put(array, sharding) if sharding is not None else jnp.asarray(array)
