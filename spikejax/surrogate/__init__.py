"""Surrogate gradients: an exact Heaviside forward, the derivative of a smooth step backward."""

from spikejax.surrogate._base import AbstractSurrogate as AbstractSurrogate
from spikejax.surrogate._base import SmoothTwin as SmoothTwin
from spikejax.surrogate._base import heaviside as heaviside
from spikejax.surrogate._base import spike as spike
from spikejax.surrogate._surrogates import ATan as ATan
from spikejax.surrogate._surrogates import Erf as Erf
from spikejax.surrogate._surrogates import FastSigmoid as FastSigmoid
from spikejax.surrogate._surrogates import Gaussian as Gaussian
from spikejax.surrogate._surrogates import Rectangle as Rectangle
from spikejax.surrogate._surrogates import Sigmoid as Sigmoid
from spikejax.surrogate._surrogates import StraightThrough as StraightThrough
from spikejax.surrogate._surrogates import Triangle as Triangle

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
