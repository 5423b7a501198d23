"""Surrogate gradients: the exact Heaviside forward with the derivative of a smooth step backward."""

from spikejax.surrogate._base import (
    AbstractSurrogate as AbstractSurrogate,
    SmoothTwin as SmoothTwin,
    heaviside as heaviside,
    spike as spike,
)
from spikejax.surrogate._surrogates import (
    ATan as ATan,
    Erf as Erf,
    FastSigmoid as FastSigmoid,
    Gaussian as Gaussian,
    Rectangle as Rectangle,
    Sigmoid as Sigmoid,
    StraightThrough as StraightThrough,
    Triangle as Triangle,
)

__all__ = [
    "ATan",
    "AbstractSurrogate",
    "Erf",
    "FastSigmoid",
    "Gaussian",
    "Rectangle",
    "Sigmoid",
    "SmoothTwin",
    "StraightThrough",
    "Triangle",
    "heaviside",
    "spike",
]
