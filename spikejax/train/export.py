"""Export a trained run's model as pretrained weights (:func:`spikejax.models.save_pretrained`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from flax import nnx

from spikejax._errors import check_choice, check_finite
from spikejax.config import from_dict, to_dict
from spikejax.train._loop import build_model
from spikejax.train._report import BEST_METRIC
from spikejax.train._rundir import CHECKPOINTS, CONFIG_FILE
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import config_hash

__all__ = ["export_pretrained"]


def _dotted(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_dotted(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: tree}


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
        run_dir: a run directory written by :func:`spikejax.train.fit`.
        path: the weights file to write; must end in ``.npz``.
        which: ``"latest"`` (the final model of a finished run) or ``"best"``.
        metadata: extra JSON data for the sidecar; ``"run"`` (experiment name, configuration
            hash, step, which checkpoint) is added.

    Returns:
        The sidecar's path.

    Raises:
        FileNotFoundError: ``run_dir`` holds no run.
        ValueError: the run's model is an imported factory rather than a zoo name, or the
            checkpoint does not match the model the configuration builds.
    """
    fn = "export_pretrained"
    check_choice(fn, "which", which, ("latest", "best"))
    run_dir = Path(run_dir).expanduser()
    saved = run_dir / CONFIG_FILE
    if not saved.is_file():
        raise FileNotFoundError(
            f"`{fn}`: `run_dir` must be a run directory written by `fit`; {saved} not found."
        )
    config = from_dict(json.loads(saved.read_text(encoding="utf-8")))
    if ":" in config.model.name:
        raise ValueError(
            f"`{fn}`: the run's `model.name` must be a zoo name (pretrained weights are rebuilt "
            f"with models.create); got the factory {config.model.name!r}."
        )
    from spikejax import models

    model = build_model(config.model, rngs=nnx.Rngs(config.seed))
    checkpointer = Checkpointer(run_dir / CHECKPOINTS, best_metric=BEST_METRIC, best_mode="max")
    step, tree, _ = checkpointer.restore(which)
    values = _dotted(tree["model"])
    flat = nnx.to_flat_state(nnx.state(model))
    for key, variable in flat:
        dotted = ".".join(str(p) for p in key)
        value = values.pop(dotted, None)
        if value is None or np.shape(value) != variable.shape:
            got = "absent" if value is None else f"shape {np.shape(value)}"
            raise ValueError(
                f"`{fn}`: the {which!r} checkpoint of {run_dir} must hold {dotted!r} with shape "
                f"{variable.shape} (the configured model); got {got}."
            )
        variable.set_value(np.asarray(value, dtype=variable.dtype))
    if values:
        raise ValueError(
            f"`{fn}`: the {which!r} checkpoint of {run_dir} holds variables the configured model "
            f"lacks: {sorted(values)[:5]}."
        )
    nnx.update(model, nnx.from_flat_state(flat))
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
