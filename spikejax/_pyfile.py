"""Running a user's Python file (a configuration or a sweep file) and calling its entry point.

Such files run as code by design: they are what the user asks spikejax to run, never data read
from a run directory.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

__all__ = ["call_entry_point"]


def call_entry_point(fn: str, path: Path, entry: str, returns: type, public_name: str) -> Any:
    """Execute the Python file ``path`` as a module and return ``<entry>()``, which must be a
    ``returns`` (named ``public_name`` in the error).

    Raises:
        ValueError: ``path`` cannot be loaded as Python, or it defines no callable ``entry``.
        TypeError: ``<entry>()`` returned something other than a ``returns``.
    """
    module_name = f"_spikejax_{entry}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"`{fn}`: `path` must be a Python file; got {path}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses defined in the file look themselves up here
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(module_name, None)
    function = getattr(module, entry, None)
    if not callable(function):
        raise ValueError(f"`{fn}`: {path} must define a function `{entry}()`; it does not.")
    result = function()
    if not isinstance(result, returns):
        raise TypeError(
            f"`{fn}`: `{entry}()` of {path} must return a {public_name}; "
            f"got {type(result).__name__}."
        )
    return result
