"""File helpers shared by the dataset readers: locating a local copy and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from spikejax._io import create_temp

__all__ = ["list_files", "require_dir", "require_file", "save_npy_atomic"]


def require_dir(fn: str, path: Path, what: str) -> Path:
    """Return ``path`` if it is a directory, else raise ``FileNotFoundError`` naming it.

    ``what`` says what belongs there and where to get it; nothing is ever downloaded.
    """
    if not path.is_dir():
        raise FileNotFoundError(
            f"`{fn}`: expected the directory {path} ({what}); it does not exist."
        )
    return path


def require_file(fn: str, path: Path, what: str) -> Path:
    """Return ``path`` if it is a file, else raise ``FileNotFoundError`` naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"`{fn}`: expected the file {path} ({what}); it does not exist.")
    return path


def list_files(fn: str, folder: Path, suffix: str, what: str) -> list[Path]:
    """All files below ``folder`` ending in ``suffix``, sorted by path; raise if ``folder`` is
    not a directory (see `require_dir`) or holds none.

    Sorting by path makes the sample order independent of the file system's listing order.
    """
    require_dir(fn, folder, what)
    files = sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file())
    if not files:
        raise FileNotFoundError(
            f"`{fn}`: found no `{suffix}` files below {folder} ({what}); the dataset is empty."
        )
    return files


def save_npy_atomic(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` (``.npy``) so readers never see a partial file.

    The array is written to a temporary file in the same directory and renamed over ``path``
    (``os.replace`` is atomic on POSIX and Windows file systems). The file gets the permissions
    of a normal new file (``0o666`` minus the umask, see `spikejax._io.create_temp`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
