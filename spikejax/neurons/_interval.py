"""Valid ranges of neuron parameters: declared once per class, used to check and to project."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = ["NON_NEGATIVE", "POSITIVE", "UNBOUNDED", "UNIT", "Interval"]


@dataclasses.dataclass(frozen=True)
class Interval:
    r"""An interval of real numbers that a neuron parameter must lie in.

    ``low``/``high`` of ``None`` mean no bound (−∞/+∞); ``low_open``/``high_open`` exclude the
    bound itself. Every interval also demands finite values (NaN and ±∞ are never valid).

    `project` maps values onto the interval, elementwise, in the dtype of the values:

    $$
    \mathrm{project}(x) = \min(\max(x, \ell'), h'), \qquad
    \ell' = \ell + \mathbb{1}[\text{low open}]\cdot\max(|\ell|\,\varepsilon, \text{tiny}),
    \quad h' = h - \mathbb{1}[\text{high open}]\cdot\max(|h|\,\varepsilon, \text{tiny})
    $$

    with ``ε = finfo(dtype).eps`` and ``tiny = finfo(dtype).tiny`` (the smallest normal number,
    which no backend flushes to zero). So an open bound is replaced by a value strictly inside it:
    ``θ > 0`` is projected to at least ``tiny`` (``1.18e-38`` in float32), never to 0. Values
    already inside are returned unchanged, bit for bit. NaN stays NaN (it is an error for
    `check`, never repaired).

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> unit = sj.neurons.Interval(0.0, 1.0)
        >>> unit.project(jnp.array([-0.5, 0.25, 3.0]))
        Array([0.  , 0.25, 1.  ], dtype=float32)
        >>> positive = sj.neurons.Interval(0.0, None, low_open=True)
        >>> str(positive), bool(positive.project(jnp.float32(-2.0)) > 0)
        ('(0.0, inf]', True)
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __post_init__(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ValueError(
                    f"`Interval`: `{name}` must be a finite real number or None; got {value!r}."
                )
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(
                f"`Interval`: `low` must be below `high`; got low={self.low}, high={self.high}."
            )

    def __str__(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        low = "-inf" if self.low is None else float(self.low)
        high = "inf" if self.high is None else float(self.high)
        return f"{left}{low}, {high}{right}"

    def contains(self, x: Any) -> Any:
        """Elementwise: ``x`` is finite and inside the interval (NumPy or JAX booleans)."""
        xp = np if isinstance(x, np.ndarray | np.generic) else jnp
        ok = xp.isfinite(x)
        if self.low is not None:
            ok &= x > self.low if self.low_open else x >= self.low
        if self.high is not None:
            ok &= x < self.high if self.high_open else x <= self.high
        return ok

    def project(self, x: Float[Array, "..."]) -> Float[Array, "..."]:
        """``x`` mapped onto the interval (see the class docstring); jit-compatible."""
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"`Interval.project`: `x` must have a floating dtype; got {x.dtype}.")
        info = jnp.finfo(x.dtype)
        eps, tiny = float(info.eps), float(info.tiny)
        if self.low is not None:
            low = self.low + (max(abs(self.low) * eps, tiny) if self.low_open else 0.0)
            x = jnp.maximum(x, jnp.asarray(low, x.dtype))
        if self.high is not None:
            high = self.high - (max(abs(self.high) * eps, tiny) if self.high_open else 0.0)
            x = jnp.minimum(x, jnp.asarray(high, x.dtype))
        return x

    def check(self, fn: str, arg: str, x: Any) -> None:
        """Raise ``ValueError`` naming ``fn``, ``arg``, the interval and up to three bad values,
        unless every value of the concrete ``x`` is finite and inside. Traced values are skipped."""
        if isinstance(x, jax.core.Tracer):
            return
        values = np.asarray(x, dtype=np.float64)
        finite = np.isfinite(values)
        if not np.all(finite):
            bad = values[~finite].ravel()[:3]
            raise ValueError(
                f"`{fn}`: `{arg}` must be finite; got non-finite values {bad.tolist()}."
            )
        ok = self.contains(values)
        if not np.all(ok):
            bad = values[~ok].ravel()[:3]
            raise ValueError(f"`{fn}`: `{arg}` must lie in {self}; got {bad.tolist()}.")


UNBOUNDED = Interval()
"""Any finite real (e.g. PLIF's ``w``)."""
UNIT = Interval(0.0, 1.0)
"""``[0, 1]``: decays per step."""
POSITIVE = Interval(0.0, None, low_open=True)
"""``(0, ∞)``: thresholds, time constants, time steps."""
NON_NEGATIVE = Interval(0.0, None)
"""``[0, ∞)``: strengths such as ALIF's ``γ``."""
