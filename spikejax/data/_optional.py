"""Import of the optional packages of the ``data`` extra, with an install hint when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["optional_import"]


def optional_import(module: str, fn: str) -> ModuleType:
    """Import ``module`` for ``fn``; if it is missing, raise ``ImportError`` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package = module.split(".")[0]
        raise ImportError(
            f"`{fn}` needs the optional package `{package}`: pip install 'spikejax[data]'."
        ) from error
