"""Grid sweeps: every combination trained, combinations that share shapes as one population."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from spikejax.config import Config
from spikejax.sweep._results import RUNS, summary_columns, write_results
from spikejax.sweep._spec import Sweep, with_values

__all__ = ["run_grid"]


@dataclasses.dataclass
class _Member:
    index: int
    values: dict[str, Any]
    config: Config
    run_dir: Path


def _groups(members: list[_Member]) -> list[list[_Member]]:
    """Members that may share a population, in order of their first member. Model options that
    are not held as arrays (sizes, ``T``) give different tree definitions; those members are
    grouped apart by `_structure`."""
    groups: dict[Any, list[_Member]] = {}
    for member in members:
        groups.setdefault(_structure(member.config), []).append(member)
    return list(groups.values())


def _structure(config: Config) -> Any:
    """The population key of ``config`` plus the tree definition and shapes of its model (built
    abstractly, without allocating weights)."""
    import jax
    from flax import nnx

    from spikejax.train import build_model, population_key

    model = nnx.eval_shape(lambda: build_model(config.model, rngs=nnx.Rngs(config.seed)))
    graphdef, state = nnx.split(model)
    shapes = jax.tree.map(lambda a: (a.shape, str(a.dtype)), state)
    return population_key(config), graphdef, str(shapes)


def run_grid(
    sweep: Sweep, base: Config, out: Path, *, devices: int, progress: bool, plots: bool
) -> list[dict[str, Any]]:
    """Train every combination of ``sweep.grid`` into ``out/runs/<index>`` and write the results
    table; returns its rows (one per combination, in grid order)."""
    from spikejax.train import fit_population

    members = [
        _Member(i, values, with_values(base, values, "run_sweep"), out / RUNS / f"{i:04d}")
        for i, values in enumerate(sweep.combinations())
    ]
    rows: dict[int, dict[str, Any]] = {}
    groups = _groups(members)
    for g, group in enumerate(groups):
        if progress:
            print(f"spikejax sweep: population {g + 1}/{len(groups)} of {len(group)} runs")
        started = time.perf_counter()
        summaries = fit_population(
            [m.config for m in group],
            [m.run_dir for m in group],
            devices=devices,
            progress=progress,
            plots=plots,
        )
        seconds = time.perf_counter() - started
        for member, summary in zip(group, summaries, strict=True):
            rows[member.index] = {
                "run": member.index,
                "state": "COMPLETE",
                "population": g,
                "population_size": len(group),
                **member.values,
                **summary_columns(summary),
                "population_time_s": seconds,
                "run_dir": str(member.run_dir.relative_to(out)),
            }
    ordered = [rows[i] for i in sorted(rows)]
    write_results(out, ordered)
    return ordered
