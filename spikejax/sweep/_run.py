"""``run_sweep``: a sweep file into a sweep directory (what ``spikejax sweep`` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikejax.sweep._results import MARKER, claim
from spikejax.sweep._spec import load_sweep

__all__ = ["run_sweep"]


def run_sweep(
    path: str | Path,
    out: str | Path,
    *,
    storage: str | None = None,
    resume: bool = False,
    devices: int = 1,
    progress: bool = True,
    plots: bool = False,
) -> list[dict[str, Any]]:
    """Run the sweep file ``path`` into the directory ``out``; return the results table's rows.

    ``out`` receives ``sweep.json`` (the sweep and the resolved base configuration, marking the
    directory as this sweep's), ``runs/`` (one run directory per combination or trial, as
    `spikejax.train.fit` writes them), ``results.csv`` and ``results.jsonl`` (one row per
    run: its settings, validation and test accuracy), and for an Optuna sweep ``study.db`` (the
    study, unless ``storage`` names another database) and ``plots/`` (optimisation history,
    parameter importances).

    Args:
        path: a sweep file defining ``get_sweep()`` (see `Sweep`).
        out: the sweep directory: new, empty, or (with ``resume``) this sweep's.
        storage: an Optuna sweep's database URL, e.g. ``postgresql://user@host/db``; default
            ``sqlite:///<out>/study.db``.
        resume: continue the study (or join it as another worker). Grid sweeps train all their
            combinations at once and cannot be resumed.
        devices: a grid sweep's population axis split over this many devices.
        progress: print progress.
        plots: write each run's plots.

    Raises:
        ValueError: an empty search space, a swept key missing from the base config (the valid
            keys are listed), ``out`` belonging to another sweep, a study that exists without
            ``resume``, or a population that does not divide across ``devices``.
        ConnectionError: ``storage`` cannot be reached (nothing is created).
    """
    fn = "run_sweep"
    sweep, base = load_sweep(path)
    out = Path(out).expanduser()
    description = sweep.describe(base)
    if sweep.kind == "population":
        if storage is not None:
            raise ValueError(f"`{fn}`: `storage` is for Optuna sweeps (a `space`); this sweep "
                             f"has a `grid`; got {storage!r}.")  # fmt: skip
        if resume:
            raise ValueError(
                f"`{fn}`: a grid sweep trains its populations in one go and cannot be resumed; "
                f"run it into a new --out directory."
            )
        from spikejax.sweep._grid import run_grid

        claim(out, description, resume=False, fn=fn)
        return run_grid(sweep, base, out, devices=devices, progress=progress, plots=plots)

    if devices != 1:
        raise ValueError(
            f"`{fn}`: `devices` splits a grid sweep's populations; an Optuna sweep (a `space`) "
            f"trains one run per trial on one device; got devices={devices}."
        )
    from spikejax.sweep._study import SQLITE_FILE, connect, run_study, study_name
    from spikejax.train.logging import config_hash

    claim(out, description, resume=resume, fn=fn, check_only=True)
    if storage is None:
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(out / SQLITE_FILE).resolve()}"
    connected = connect(storage, sweep.heartbeat_s, fn)
    if not (out / MARKER).is_file():
        claim(out, description, resume=resume, fn=fn, ignore=(SQLITE_FILE,))
    name = study_name(config_hash(description))
    return run_study(
        sweep, base, out, connected, name, resume=resume, progress=progress, plots=plots
    )
