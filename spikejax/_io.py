"""Atomic file writes: a reader sees the old file or the new one, never a partial one.

Each writer puts the data into a temporary file in the destination's directory (so the final
rename never crosses a file system; created by `create_temp` with the permissions of a
normal new file), flushes and ``fsync``\\ s it, renames it over the destination
with `os.replace` (atomic on POSIX and Windows) and then ``fsync``\\ s the directory so that
the rename itself survives a power loss. If anything fails, the temporary file is removed and an
`OSError` naming the destination is raised; the destination is left as it was.
"""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "create_temp",
    "fsync_dir",
    "json_float",
]

_TEMP_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def json_float(x: float) -> float | str:
    """``x`` for strict JSON: finite floats as they are, else ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` (the spellings ``float()`` parses back)."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (new names, renames) to disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open directories; there a rename is durable on its own.
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some file systems do not support fsync on directories.
    finally:
        os.close(fd)


def create_temp(path: str | os.PathLike[str]) -> tuple[int, str]:
    """Create a new, empty temporary file next to ``path``; return ``(fd, temp_path)``.

    The file is opened for writing, named ``.<name>.<random>.tmp`` in the directory of ``path``
    (so that renaming it over ``path`` never crosses a file system), and created with the mode of
    any new file, ``0o666`` minus the process umask (``0o644`` under the usual umask ``022``).
    ``tempfile.mkstemp`` would create it with ``0o600`` instead, and the renamed file would keep
    that mode, unreadable to other users. The caller closes ``fd`` and renames or removes the file.

    Raises:
        OSError: the file cannot be created (directory missing or not writable, ...).

    Example:
        >>> import os, tempfile, pathlib
        >>> from spikejax._io import create_temp
        >>> fd, tmp = create_temp(pathlib.Path(tempfile.mkdtemp()) / "x.bin")
        >>> os.close(fd); pathlib.Path(tmp).name.startswith(".x.bin.")
        True
    """
    path = Path(path)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(
        errno.EEXIST, f"`create_temp`: no free temporary file name next to {str(path)!r}"
    )


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and durably; return ``path`` as a `Path`.

    Args:
        path: destination file. Its directory must exist; an existing file is replaced.
        data: the complete new contents.

    Raises:
        TypeError: ``data`` is not bytes-like.
        OSError: the write failed (directory missing or not writable, disk full, ...); the
            message names ``path``. The destination is unchanged and no temporary file is left.

    Example:
        >>> import tempfile, pathlib
        >>> from spikejax._io import atomic_write_bytes
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> atomic_write_bytes(p, b"abc").read_bytes()
        b'abc'
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(
            f"`atomic_write_bytes`: `data` must be bytes-like; got {type(data).__name__}."
        )
    path = Path(path)
    directory = path.parent
    tmp: str | None = None
    try:
        fd, tmp = create_temp(path)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        message = f"`atomic_write_bytes`: could not write {str(path)!r}: {e.strerror or e}"
        raise (OSError(message) if e.errno is None else OSError(e.errno, message)) from e
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    fsync_dir(directory)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; see `atomic_write_bytes`."""
    if not isinstance(text, str):
        raise TypeError(f"`atomic_write_text`: `text` must be a str; got {type(text).__name__}.")
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically; see `atomic_write_bytes`.

    Keys are sorted and the output ends with a newline. Serialisation happens before the file
    system is touched, so an object that is not JSON-serialisable (``TypeError``) or holds NaN or
    infinity (``ValueError``, strict JSON has no such numbers) leaves ``path`` unchanged.
    """
    try:
        text = json.dumps(obj, indent=indent, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise type(e)(
            f"`atomic_write_json`: `obj` must be strict JSON for {str(path)!r}; {e}"
        ) from e
    return atomic_write_text(path, text + "\n")
