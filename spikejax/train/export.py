"""Export a trained run's model as pretrained weights (`spikejax.models.save_pretrained`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flax import nnx

from spikejax._errors import check_choice, check_finite
from spikejax.config import to_dict
from spikejax.train._committed import check_committed_config
from spikejax.train._factory import build_model
from spikejax.train._rundir import (
    CONFIG_FILE,
    checkpointer_of,
    read_config,
    require_checkpoint,
    restore_model,
)
from spikejax.train.logging import config_hash

__all__ = ["export_pretrained"]


def export_pretrained(
    run_dir: str | Path,
    path: str | Path,
    *,
    which: str = "latest",
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write the model of a run's checkpoint as pretrained weights ``path`` (``.npz`` + ``.json``).

    The run's model must be a zoo name; the weights file records it with the run's
    ``model.options`` as overrides, so ``models.create(name, rngs=…, pretrained=path,
    **options)`` rebuilds it. No data is loaded.

    Args:
        run_dir: a run directory written by `spikejax.train.fit`.
        path: the weights file to write; must end in ``.npz``.
        which: ``"latest"`` (the final model of a finished run) or ``"best"`` (highest
            validation accuracy; a run without a validation split has none).
        metadata: extra JSON data for the sidecar; ``"run"`` (experiment name, configuration
            hash, step, which checkpoint) is added.

    Returns:
        The sidecar's path.

    Raises:
        FileNotFoundError: ``run_dir`` holds no run.
        ValueError: the run's configuration cannot be rebuilt, its model is an imported factory
            rather than a zoo name, ``which="best"`` for a run without a validation split, or
            the checkpoint does not match the model the configuration builds.
        CheckpointError: the run has no ``which`` checkpoint, or it is damaged.
    """
    fn = "export_pretrained"
    check_choice(fn, "which", which, ("latest", "best"))
    run_dir = Path(run_dir).expanduser()
    config = read_config(run_dir, fn)
    if ":" in config.model.name:
        raise ValueError(
            f"`{fn}`: the run's `model.name` must be a zoo name (pretrained weights are rebuilt "
            f"with models.create); got the factory {config.model.name!r}."
        )
    from spikejax import models

    checkpointer = checkpointer_of(run_dir, config)
    require_checkpoint(fn, checkpointer, which, config, run_dir)
    check_committed_config(fn, run_dir / CONFIG_FILE, checkpointer, which)
    model = build_model(config.model, rngs=nnx.Rngs(config.seed))
    step, tree, _ = checkpointer.restore(which)
    where = f"{which!r} of {run_dir}"
    if not isinstance(tree, dict) or "model" not in tree:
        raise ValueError(f"`{fn}`: the checkpoint {where} must hold the model state under 'model'.")
    state = nnx.state(model)
    restore_model(fn, state, tree["model"], where)
    nnx.update(model, state)
    check_finite(fn, f"checkpoint['{which}'].model", nnx.to_pure_dict(nnx.state(model)))
    run = {
        "experiment": config.name,
        "config_hash": config_hash(to_dict(config)),
        "step": step,
        "checkpoint": which,
    }
    return models.save_pretrained(
        model,
        path,
        name=config.model.name,
        overrides=dict(config.model.options),
        metadata={"run": run, **dict(metadata or {})},
    )
