"""``spikejax energy``: the energy report of a trained run or of a zoo model at initialisation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import jax.random as jr
from flax import nnx

from spikejax._errors import check_choice
from spikejax.energy.counting import COUNTS, NONBINARY, count_ops
from spikejax.energy.profiles import get_profile
from spikejax.energy.report import energy_report

__all__ = ["energy_command"]

_FN = "energy_command"


def _run_batch(
    run_dir: Path, which: str, batch: int, progress: bool
) -> tuple[nnx.Module, Any, str]:
    """The run's model (evaluation mode, restored from ``which``) and its first ``batch`` test
    samples, encoded as in the run's evaluation."""
    from spikejax.train import load_run

    run = load_run(run_dir, which=which, progress=progress)
    inputs, labels = run.inputs("test", limit=batch)
    header = (
        f"run {run_dir}: model {run.config.model.name}, {which} checkpoint (step {run.step}), "
        f"{len(labels)} test samples encoded as in evaluation"
    )
    return run.model, jnp.asarray(inputs), header


def _zoo_batch(name: str, batch: int, seed: int) -> tuple[nnx.Module, Any, str]:
    """A zoo model at random initialisation and a random input of its kind."""
    from spikejax import models

    meta = models.info(name)
    model = models.create(name, rngs=nnx.Rngs(seed))
    key = jr.key(seed + 1)
    dtype = jnp.dtype(meta.config.get("dtype", jnp.float32))
    if "static" in meta.inputs:
        x = jr.normal(key, (batch, *meta.input_shape), dtype)
        what = "standard-normal images (normalised pixels)"
    else:
        x = jr.bernoulli(key, 0.1, (meta.T, batch, *meta.input_shape)).astype(dtype)
        what = f"random binary frames (probability 0.1), T = {meta.T}"
    header = (
        f"model {name} at random initialisation (seed {seed}; batch-norm statistics of the "
        f"batch), not trained: firing rates and energies are those of an untrained network; "
        f"input: {batch} {what}"
    )
    return model, x, header


def energy_command(
    target: str | os.PathLike[str],
    *,
    profile: str | Sequence[str] = "cmos45nm_fp32",
    count: str = "rate",
    nonbinary: str = "as_spikes",
    batch: int = 8,
    out: str | os.PathLike[str] | None = None,
    which: str = "best",
    seed: int = 0,
    progress: bool = False,
) -> str:
    """The energy report of a run directory or a zoo model, as printable text.

    For a run directory (written by ``spikejax train``) the model is restored from its ``which``
    checkpoint in evaluation mode and runs on the first ``batch`` samples of the run's test split,
    encoded as its evaluation encodes them. For a zoo model name the model is at random
    initialisation (``seed``) and runs on a random input (normal images for models taking
    static images, binary frames otherwise): the numbers describe an untrained network.

    Args:
        target: a run directory or a name of `spikejax.models.available`.
        profile: one profile name or several (one report each, from one count).
        count: ``"rate"`` or ``"events"`` (see `spikejax.energy.count_ops`).
        nonbinary: ``"as_spikes"`` or ``"as_macs"``.
        batch: samples to average over.
        out: a folder to write ``energy.json`` (every report) and ``energy_<profile>.png`` into.
        which: the run's checkpoint, ``"best"`` or ``"latest"``.
        seed: initialisation and input seed for a zoo model.
        progress: show progress while a run's data is prepared (event data is turned into
            frames first, which can take a while).

    Returns:
        The report text (settings, a table per profile, totals).
    """
    check_choice(_FN, "count", count, COUNTS)
    check_choice(_FN, "nonbinary", nonbinary, NONBINARY)
    check_choice(_FN, "which", which, ("best", "latest"))
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"`{_FN}`: `batch` must be a positive int; got {batch!r}.")
    names = [profile] if isinstance(profile, str) else list(profile)
    if not names:
        raise ValueError(f"`{_FN}`: `profile` must name at least one profile; got {profile!r}.")
    profiles = [get_profile(p, fn=_FN) for p in names]
    path = Path(target).expanduser()
    from spikejax import models

    if (path / "config.json").is_file():
        model, x, header = _run_batch(path, which, batch, progress)
    elif isinstance(target, str) and target in models.available():
        model, x, header = _zoo_batch(target, batch, seed)
    else:
        raise ValueError(
            f"`{_FN}`: `target` must be a run directory holding config.json or a zoo model "
            f"name (spikejax zoo lists them); got {str(target)!r}."
        )
    counts = count_ops(model, x, count=count, nonbinary=nonbinary)
    reports = [energy_report(counts, p) for p in profiles]
    text = "\n\n".join([header, *(r.table() for r in reports)])
    if out is not None:
        from spikejax._io import atomic_write_json
        from spikejax.viz import plot_energy

        folder = Path(out).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        data = {"target": str(target), "about": header, "reports": {}}
        written = [folder / "energy.json"]
        for report in reports:
            data["reports"][report.profile.name] = report.to_dict()
            written.append(folder / f"energy_{report.profile.name}.png")
            plot_energy(report, written[-1])
        atomic_write_json(folder / "energy.json", data)
        text += "\n\nwritten: " + ", ".join(str(p) for p in written)
    return text
