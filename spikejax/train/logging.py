"""Run records: metrics as JSON lines and TensorBoard scalars, a progress bar, run summaries.

Files in a run directory::

    metrics.jsonl     one JSON object per ``MetricsLogger.log`` call (appended, flushed per line)
    tensorboard/      TensorBoard event files with scalars ``<split>/<name>``
    summary.json      written atomically by `write_summary`

The JSON files are strict JSON: NaN and infinities are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (what Python's ``float()`` parses back); `read_metrics`
turns them back into floats.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spikejax._io import atomic_write_json, json_float
from spikejax.train._tensorboard import ScalarEventWriter

__all__ = [
    "MetricsLogger",
    "ProgressBar",
    "config_hash",
    "environment_info",
    "read_metrics",
    "write_summary",
]

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
TENSORBOARD_DIR = "tensorboard"
_RESERVED = ("step", "split", "wall_time")
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _scalar(fn: str, name: str, value: Any) -> float:
    try:
        if np.ndim(value) != 0:
            raise TypeError("not 0-d")
        return float(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"`{fn}`: `metrics[{name!r}]` must be a scalar; got {value!r}.") from e


def _check_count(fn: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"`{fn}`: `{arg}` must be an int >= 0; got {value!r}.")
    return int(value)


class MetricsLogger:
    """Append scalar metrics to ``run_dir/metrics.jsonl`` and to TensorBoard event files.

    Each `log` call converts its values to Python floats (a host transfer for device
    arrays), so call it every few steps rather than inside the jit-compiled step.

    Args:
        run_dir: the run directory (created if missing). An existing ``metrics.jsonl`` is
            appended to, so a resumed run continues its record.
        tensorboard: also write TensorBoard scalars to ``run_dir/tensorboard/`` (needs
            ``tensorboardX``).

    Example:
        >>> import tempfile
        >>> from spikejax.train.logging import MetricsLogger, read_metrics
        >>> run = tempfile.mkdtemp()
        >>> with MetricsLogger(run, tensorboard=False) as log:
        ...     log.log(1, {"loss": 2.5})
        ...     log.log(1, {"accuracy": 0.25}, split="eval")
        >>> [(r["step"], r["split"], r.get("loss")) for r in read_metrics(run)]
        [(1, 'train', 2.5), (1, 'eval', None)]
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, tensorboard: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / METRICS_FILE
        self._writer = None
        if tensorboard:
            try:
                import tensorboardX  # noqa: F401
            except ImportError as e:
                raise ImportError(
                    "`MetricsLogger(tensorboard=True)` needs tensorboardX: "
                    "pip install 'spikejax[train]'."
                ) from e

            self._writer = ScalarEventWriter(self.run_dir / TENSORBOARD_DIR)
        torn = self.path.is_file() and self.path.stat().st_size > 0
        if torn:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
        self._file = open(self.path, "a", encoding="utf-8")
        if torn:  # A crash cut the last line short; keep it on a line of its own.
            self._file.write("\n")
            self._file.flush()

    def log(self, step: int, metrics: Mapping[str, Any], *, split: str = "train") -> None:
        """Record ``metrics`` (name → scalar) at ``step`` for ``split`` (e.g. "train", "eval")."""
        step = _check_count("MetricsLogger.log", "step", step)
        if not isinstance(split, str) or not split:
            raise ValueError(
                f"`MetricsLogger.log`: `split` must be a non-empty str; got {split!r}."
            )
        values = {}
        for name, value in metrics.items():
            if not isinstance(name, str) or name in _RESERVED:
                raise ValueError(
                    f"`MetricsLogger.log`: metric names must be str other than {_RESERVED}; "
                    f"got {name!r}."
                )
            values[name] = _scalar("MetricsLogger.log", name, value)
        if self._file.closed:
            raise ValueError(f"`MetricsLogger.log`: the logger for {self.path} is closed.")
        wall_time = time.time()
        record = {"step": step, "split": split, "wall_time": wall_time}
        record.update({k: json_float(v) for k, v in values.items()})
        try:
            self._file.write(json.dumps(record, allow_nan=False) + "\n")
            self._file.flush()
        except OSError as e:
            raise OSError(
                e.errno, f"`MetricsLogger.log`: could not write {self.path}: {e.strerror or e}"
            ) from e
        if self._writer is not None:
            scalars = {f"{split}/{name}": value for name, value in values.items()}
            self._writer.add_scalars(step, scalars, wall_time=wall_time)

    def sync(self) -> None:
        """Make the records written so far durable (``fsync``), e.g. before a checkpoint."""
        if not self._file.closed:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as e:
                raise OSError(
                    e.errno, f"`MetricsLogger.sync`: could not write {self.path}: {e}"
                ) from e

    def close(self) -> None:
        """Flush and close the files (idempotent)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(run_dir: str | os.PathLike[str], *, strict: bool = True) -> list[dict]:
    """All records of ``run_dir/metrics.jsonl`` in file order (empty if the file is absent).

    Args:
        run_dir: the run directory.
        strict: raise on a malformed line; otherwise skip it (e.g. a line cut short by a crash).

    Raises:
        ValueError: a malformed line (naming the file and line number) when ``strict``.
    """
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "step" not in record or "split" not in record:
                    raise ValueError("not an object with 'step' and 'split'")
            except ValueError as e:
                if strict:
                    raise ValueError(
                        f"`read_metrics`: line {number} of {path} is not a metrics record: {e}"
                    ) from e
                continue
            records.append(
                {
                    k: _NONFINITE.get(v, v) if isinstance(v, str) and k not in _RESERVED else v
                    for k, v in record.items()
                }
            )
    return records


class ProgressBar:
    """A tqdm progress bar over training steps, with ETA and the latest loss/accuracy.

    Postfix values (e.g. ``loss=...``) are formatted only when the bar redraws (at most every
    ``mininterval`` seconds), so passing device arrays does not force a host transfer per step.

    Args:
        total_steps: number of steps of the whole run.
        initial: steps already done (a resumed run).
        desc: label in front of the bar.
        disable: draw nothing.
        **tqdm_kwargs: passed to ``tqdm`` (``file``, ``mininterval``, ...).
    """

    def __init__(
        self,
        total_steps: int,
        *,
        initial: int = 0,
        desc: str | None = None,
        disable: bool = False,
        **tqdm_kwargs: Any,
    ) -> None:
        try:
            from tqdm import tqdm
        except ImportError as e:
            raise ImportError("`ProgressBar` needs tqdm: pip install 'spikejax[train]'.") from e

        total_steps = _check_count("ProgressBar", "total_steps", total_steps)
        initial = _check_count("ProgressBar", "initial", initial)
        tqdm_kwargs.setdefault("mininterval", 0.5)
        tqdm_kwargs.setdefault("dynamic_ncols", True)
        self._bar = tqdm(
            total=total_steps,
            initial=initial,
            desc=desc,
            disable=disable,
            unit="step",
            **tqdm_kwargs,
        )
        self._postfix: dict[str, Any] = {}

    @property
    def n(self) -> int:
        """Steps counted so far (including ``initial``)."""
        return int(self._bar.n)

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by ``n`` steps; keyword values (``loss=``, ``accuracy=``) are shown next."""
        if postfix:
            self._postfix = postfix
        if self._bar.disable:
            self._bar.n += n
            return
        before = self._bar.last_print_t
        self._bar.update(n)
        if self._postfix and self._bar.last_print_t != before:
            self._bar.set_postfix(_format_postfix(self._postfix), refresh=True)

    def close(self) -> None:
        """Draw the final state (with the latest postfix) and release the terminal line."""
        if self._postfix and not self._bar.disable:
            self._bar.set_postfix(_format_postfix(self._postfix), refresh=False)
        self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _format_postfix(postfix: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in postfix.items():
        try:
            out[name] = f"{float(value):.4g}"
        except (TypeError, ValueError):
            out[name] = str(value)
    return out


def _jsonable(obj: Any, *, fn: str, where: str) -> Any:
    """Plain JSON types from dataclasses, mappings, sequences, enums, paths and NumPy scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"`{fn}`: keys of `{where}` must be str; got {key!r}.")
            out[key] = _jsonable(value, fn=fn, where=f"{where}[{key!r}]")
        return out
    if isinstance(obj, list | tuple):
        return [_jsonable(v, fn=fn, where=f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, enum.Enum):
        return _jsonable(obj.value, fn=fn, where=where)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.generic | np.ndarray) and np.ndim(obj) == 0:
        obj = obj.item()
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return json_float(obj)
    raise TypeError(
        f"`{fn}`: `{where}` must be JSON-like (dataclass, dict, list, str, number, bool, None); "
        f"got {type(obj).__name__}."
    )


def write_summary(run_dir: str | os.PathLike[str], summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` atomically as ``run_dir/summary.json``; return the path.

    Dataclasses, tuples, enums, paths and NumPy scalars become plain JSON; NaN and infinities
    become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    """
    data = _jsonable(summary, fn="write_summary", where="summary")
    if not isinstance(data, dict):
        raise TypeError(f"`write_summary`: `summary` must be a mapping; got {type(summary)}.")
    path = Path(run_dir) / SUMMARY_FILE
    return atomic_write_json(path, data)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_info() -> dict[str, Any]:
    """Versions and devices that a result depends on (no host names, paths or user names)."""
    import jax

    devices = jax.devices()
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.machine()}",
        "spikejax": _version("spikejax"),
        "jax": _version("jax"),
        "jaxlib": _version("jaxlib"),
        "flax": _version("flax"),
        "optax": _version("optax"),
        "numpy": np.__version__,
        "orbax_checkpoint": _version("orbax-checkpoint"),
        "backend": jax.default_backend(),
        "device_count": len(devices),
        "device_kinds": sorted({d.device_kind for d in devices}),
        "process_count": jax.process_count(),
    }


def config_hash(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of a config (dataclass or mapping).

    Canonical: keys sorted, no whitespace, tuples as lists, enums by value, NaN as ``"NaN"``. Equal
    configs hash equal; any changed value, key or nesting changes the hash.

    Example:
        >>> from spikejax.train.logging import config_hash
        >>> config_hash({"lr": 1e-3, "steps": 10}) == config_hash({"steps": 10, "lr": 0.001})
        True
        >>> config_hash({"lr": 1e-3}) == config_hash({"lr": 2e-3})
        False
    """
    data = _jsonable(obj, fn="config_hash", where="obj")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
