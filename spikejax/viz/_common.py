"""Shared plumbing of the plots: input checks, headless figures and atomic saving.

Figures are built with Matplotlib's object-oriented API (``matplotlib.figure.Figure``), which
renders without a display and without touching ``pyplot``'s global state, so plotting works on
headless machines and leaves an interactive session's backend alone.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from spikejax._io import atomic_write_bytes

__all__ = ["as_matrix", "as_numeric", "finish", "new_figure", "save_figure"]


def as_numeric(fn: str, arg: str, x: Any) -> np.ndarray:
    """``x`` as a NumPy array of bools, integers or floats (bfloat16 becomes float32)."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"`{fn}`: `{arg}` must be an array of numbers; got {type(x).__name__}."
        ) from e
    if a.dtype.kind not in "biuf" and jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(np.float32)  # bfloat16 and other ml_dtypes floats
    if a.dtype.kind not in "biuf":
        raise TypeError(f"`{fn}`: `{arg}` must hold numbers; got dtype {a.dtype}.")
    return a


def as_matrix(fn: str, arg: str, x: Any, *, axes: str = "[time, neurons]") -> np.ndarray:
    """``x`` as a finite, non-empty 2-D NumPy array; named errors otherwise."""
    a = as_numeric(fn, arg, x)
    if a.ndim != 2:
        raise ValueError(f"`{fn}`: `{arg}` must have rank 2 {axes}; got shape {a.shape}.")
    if a.size == 0:
        raise ValueError(f"`{fn}`: `{arg}` must be non-empty {axes}; got shape {a.shape}.")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        bad = a[~np.isfinite(a)].ravel()[:3]
        raise ValueError(f"`{fn}`: `{arg}` must be finite; got {bad.tolist()}.")
    return a


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.4, 4.0)):
    """A headless figure and its ``[nrows, ncols]`` array of axes."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("`spikejax.viz` needs matplotlib: pip install 'spikejax[train]'.") from e

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save_figure(fn: str, fig: Any, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Render ``fig`` in the format named by ``path``'s suffix and write it atomically."""
    path = Path(path)
    fmt = path.suffix[1:].lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"`{fn}`: `path` must end in an image suffix ({', '.join(sorted(supported))}); "
            f"got {str(path)!r}."
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buffer.getvalue())


def finish(fn: str, fig: Any, path: str | os.PathLike[str] | None) -> Any:
    """Save ``fig`` to ``path`` when one is given (see `save_figure`); return ``fig``."""
    if path is not None:
        save_figure(fn, fig, path)
    return fig
