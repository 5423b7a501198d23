"""What a sweep explores: a base experiment, fixed overrides, and a grid or a search space.

A sweep file is Python, like a configuration file: it defines ``get_sweep() -> Sweep``. The
values are plain data; every parameter is a dotted key of the base configuration
(`spikejax.config.apply_overrides`), checked when the sweep is loaded.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spikejax._pyfile import call_entry_point
from spikejax.config import Config, apply_overrides, load_config, to_dict

__all__ = ["Choice", "Float", "Int", "Sweep", "load_sweep", "override", "with_values"]

_PRIMITIVE = (bool, int, float, str, type(None))


@dataclasses.dataclass(frozen=True)
class Float:
    """A float parameter drawn from ``[low, high]`` (log-uniformly with ``log=True``).

    Example:
        >>> from spikejax.sweep import Float
        >>> Float(1e-4, 1e-2, log=True)
        Float(low=0.0001, high=0.01, log=True)
    """

    low: float
    high: float
    log: bool = False

    def __post_init__(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"`Float`: `{name}` must be a number; got {value!r}.")
            if not math.isfinite(value):
                raise ValueError(f"`Float`: `{name}` must be finite; got {value!r}.")
        if not self.low < self.high:
            raise ValueError(f"`Float`: `low` must be < `high`; got {self.low} and {self.high}.")
        if self.log and self.low <= 0:
            raise ValueError(f"`Float`: `low` must be > 0 with log=True; got {self.low}.")


@dataclasses.dataclass(frozen=True)
class Int:
    """An int parameter drawn from ``low, low + step, ..., high`` (log-uniformly with ``log``)."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self):
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"`Int`: `{name}` must be an int; got {value!r}.")
        if not self.low < self.high or self.step < 1:
            raise ValueError(
                f"`Int`: needs `low` < `high` and `step` >= 1; got {self.low}, {self.high}, "
                f"{self.step}."
            )
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError(f"`Int`: log=True needs `low` >= 1 and `step` 1; got {self}.")


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of ``values`` (categorical): numbers, strings, ``None``, bools or tuples of them."""

    values: tuple[Any, ...]

    def __post_init__(self):
        values = tuple(self.values) if isinstance(self.values, list | tuple) else None
        if not values:
            raise ValueError(f"`Choice`: `values` must be a non-empty tuple; got {self.values!r}.")
        object.__setattr__(self, "values", values)

    def labels(self) -> list[Any]:
        """The values as Optuna stores them: primitives as they are, tuples as JSON text."""
        if all(isinstance(v, _PRIMITIVE) for v in self.values):
            return list(self.values)
        return [json.dumps(v) for v in self.values]

    def value_of(self, label: Any) -> Any:
        """The value of a label from `labels`."""
        return self.values[self.labels().index(label)]


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A sweep over a base experiment.

    Exactly one of ``grid`` and ``space`` is given:

    * ``grid`` — ``{dotted key: (value, ...)}``: every combination is trained. Combinations that
      share the model's structure and shapes and differ only in numbers held as arrays (seed,
      optimizer numbers, neuron ``β``/``θ``) train as one population, ``vmap``-ed in one jit
      (`spikejax.train.fit_population`).
    * ``space`` — ``{dotted key: Float | Int | Choice}``: an Optuna study of ``trials`` trials
      (TPE sampler seeded with ``seed``, median pruning on the validation accuracy reported
      after every evaluation), for spaces where shapes differ or choices are categorical.

    Attributes:
        base: the base experiment: a config file or experiment folder (relative paths are read
            from the sweep file's folder), or a `Config`.
        overrides: ``"dotted.key=value"`` settings applied to the base first.
        grid: the values of a population sweep.
        space: the distributions of an Optuna study.
        trials: an Optuna study's number of finished (complete or pruned) trials.
        seed: the TPE sampler's seed.
        pruning: prune unpromising trials (Optuna's ``MedianPruner``).
        startup_trials: trials before pruning and TPE start (``n_startup_trials``).
        heartbeat_s: a running trial's heartbeat interval (RDB storage); a trial silent for twice
            as long (its worker killed) is marked FAIL and re-queued once.
    """

    base: Any
    overrides: tuple[str, ...] = ()
    grid: Mapping[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    space: Mapping[str, Float | Int | Choice] = dataclasses.field(default_factory=dict)
    trials: int = 20
    seed: int = 0
    pruning: bool = True
    startup_trials: int = 5
    heartbeat_s: int = 30

    def __post_init__(self):
        fn = "Sweep"
        if not isinstance(self.base, str | Path | Config):
            raise TypeError(f"`{fn}`: `base` must be a path or a Config; got {self.base!r}.")
        if isinstance(self.overrides, str):
            raise TypeError(f"`{fn}`: `overrides` must be a tuple of 'key=value'; got a str.")
        object.__setattr__(self, "overrides", tuple(self.overrides))
        grid = {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in self.grid.items()}
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "space", dict(self.space))
        if not grid and not self.space:
            raise ValueError(
                f"`{fn}`: the search space must not be empty: give `grid` (values of a population "
                f"sweep) or `space` (distributions of an Optuna study); got neither."
            )
        if grid and self.space:
            raise ValueError(f"`{fn}`: give `grid` or `space`, not both; got {list(grid)} and "
                             f"{list(self.space)}.")  # fmt: skip
        for key, values in grid.items():
            if not isinstance(values, tuple) or not values:
                raise ValueError(
                    f"`{fn}`: `grid[{key!r}]` must be a non-empty tuple of values; got {values!r}."
                )
        for key, dist in self.space.items():
            if not isinstance(dist, Float | Int | Choice):
                raise TypeError(
                    f"`{fn}`: `space[{key!r}]` must be a Float, Int or Choice; got {dist!r}."
                )
        for name, low in (("trials", 1), ("startup_trials", 0), ("heartbeat_s", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"`{fn}`: `{name}` must be an int >= {low}; got {value!r}.")

    @property
    def kind(self) -> str:
        """``"population"`` (a grid) or ``"optuna"`` (a space)."""
        return "population" if self.grid else "optuna"

    def combinations(self) -> list[dict[str, Any]]:
        """Every combination of the grid, in order (the last key varies fastest)."""
        keys = list(self.grid)
        return [dict(zip(keys, c, strict=True)) for c in itertools.product(*self.grid.values())]

    def describe(self, base: Config) -> dict[str, Any]:
        """The sweep as JSON data (with the resolved base configuration); its hash names the
        sweep. ``trials`` is left out: a study continued with ``--resume`` may be given more."""

        def dist(d: Any) -> dict[str, Any]:
            return {"type": type(d).__name__, **dataclasses.asdict(d)}

        return json.loads(
            json.dumps(
                {
                    "kind": self.kind,
                    "base": to_dict(base),
                    "grid": {k: list(v) for k, v in self.grid.items()},
                    "space": {k: dist(d) for k, d in self.space.items()},
                    "seed": self.seed,
                    "pruning": self.pruning,
                    "startup_trials": self.startup_trials,
                }
            )
        )


def override(key: str, value: Any) -> str:
    """``"key=value"`` text that `apply_overrides` parses back to
    ``value``.

    Example:
        >>> from spikejax.sweep import override
        >>> override("model.options.hidden", (64, 32)), override("optimizer.lr", 0.001)
        ('model.options.hidden=(64, 32)', 'optimizer.lr=0.001')
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "none"
    elif isinstance(value, tuple | list):
        text = f"({', '.join(str(v) for v in value)})"
    elif isinstance(value, int | float | str):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        raise TypeError(f"`override`: `{key}` must be a number, str, bool, None or tuple; "
                        f"got {value!r}.")  # fmt: skip
    return f"{key}={text}"


def with_values(
    base: Config, values: Mapping[str, Any], fn: str = "with_values", where: str = ""
) -> Config:
    """``base`` with ``{dotted key: value}`` applied; an unknown key raises ``ValueError``
    listing the valid keys at that level."""
    try:
        return apply_overrides(base, [override(k, v) for k, v in values.items()])
    except ValueError as error:
        raise ValueError(
            f"`{fn}`: a swept parameter{where} must exist in the base config: {error}"
        ) from None


def _base(sweep: Sweep, folder: Path, fn: str) -> Config:
    base = sweep.base if isinstance(sweep.base, Config) else load_config(folder / sweep.base)
    try:
        return apply_overrides(base, sweep.overrides)
    except ValueError as error:
        raise ValueError(f"`{fn}`: `overrides` of the sweep: {error}") from None


def load_sweep(path: str | Path) -> tuple[Sweep, Config]:
    """Import the sweep file ``path`` and return its ``get_sweep()`` and the base configuration
    (overrides applied). Every swept key is checked against the base configuration.

    The file runs as code (like a configuration file): load only files you trust.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: no ``get_sweep()``, an empty search space, or a parameter that does not exist
            in the base configuration (the message lists the valid keys).
        TypeError: ``get_sweep()`` did not return a `Sweep`.
    """
    fn = "load_sweep"
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"`{fn}`: `path` must be a Python sweep file; {path} not found.")
    sweep = call_entry_point(fn, path, "get_sweep", Sweep, "spikejax.sweep.Sweep")
    base = _base(sweep, path.parent, fn)
    check_keys(sweep, base, fn, f" of {path}")
    return sweep, base


def check_keys(sweep: Sweep, base: Config, fn: str = "check_keys", where: str = "") -> None:
    """Apply one value of every swept key to ``base``: unknown keys and values of the wrong type
    raise ``ValueError`` naming the key (and listing the valid ones)."""
    for key, values in sweep.grid.items():
        for value in values:
            with_values(base, {key: value}, fn, where)
    for key, dist in sweep.space.items():
        for probe in dist.values if isinstance(dist, Choice) else (dist.low, dist.high):
            with_values(base, {key: probe}, fn, where)
