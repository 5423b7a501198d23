"""Value checks shared by the plasticity rules and homeostasis: numbers given as constants."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_number"]


def check_number(fn: str, name: str, value: Any, *, positive: bool = False) -> None:
    """Refuse a constant that is not a finite number (``positive``: a time constant ``> 0``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"`{fn}`: `{name}` must be a number; got {value!r}.")
    if not math.isfinite(value) or (positive and value <= 0):
        rule = "a finite time constant > 0" if positive else "a finite number"
        raise ValueError(f"`{fn}`: `{name}` must be {rule}; got {value!r}.")
