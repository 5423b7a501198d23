"""The built-in surrogates. Each is defined by its ``smooth(x)``; the gradient is ``smooth'(x)``.

``x`` is the distance to threshold, ``x = v - threshold``. Parameter names and defaults follow the
library each surrogate is best known from, so that published hyperparameters carry over unchanged.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from spikejax.surrogate._base import AbstractSurrogate

__all__ = [
    "ATan",
    "Erf",
    "FastSigmoid",
    "Gaussian",
    "Rectangle",
    "Sigmoid",
    "StraightThrough",
    "Triangle",
]


def _positive(cls_name: str, name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"`{cls_name}`: `{name}` must be a positive finite number; got {value!r}.")


@dataclasses.dataclass(frozen=True)
class ATan(AbstractSurrogate):
    r"""Arctangent surrogate (Fang et al., ICCV 2021; SpikingJelly ``ATan``).

    $$
    \mathrm{smooth}(x) = \frac{1}{\pi}\arctan\!\left(\frac{\pi}{2}\alpha x\right)
          + \frac12, \qquad \mathrm{smooth}'(x) = \frac{\alpha/2}{1 + (\frac{\pi}{2}\alpha x)^2}
    $$

    Peak gradient ``α/2`` at ``x = 0``.
    """

    alpha: float = 2.0

    def __post_init__(self):
        _positive("ATan", "alpha", self.alpha)

    def smooth(self, x):
        return jnp.arctan(0.5 * math.pi * self.alpha * x) / math.pi + 0.5


@dataclasses.dataclass(frozen=True)
class Sigmoid(AbstractSurrogate):
    r"""Logistic surrogate (SpikingJelly ``Sigmoid``).

    $$
    \mathrm{smooth}(x) = \sigma(\alpha x), \qquad
          \mathrm{smooth}'(x) = \alpha\,\sigma(\alpha x)(1 - \sigma(\alpha x))
    $$
    """

    alpha: float = 4.0

    def __post_init__(self):
        _positive("Sigmoid", "alpha", self.alpha)

    def smooth(self, x):
        return jax.nn.sigmoid(self.alpha * x)


@dataclasses.dataclass(frozen=True)
class FastSigmoid(AbstractSurrogate):
    r"""SuperSpike's fast sigmoid (snnTorch ``fast_sigmoid``).

    $$
    \mathrm{smooth}(x) = \frac{x}{1 + k|x|} + \frac12, \qquad
          \mathrm{smooth}'(x) = \frac{1}{(1 + k|x|)^2}
    $$

    ``slope`` is ``k``; the peak gradient is 1.

    Reference: Zenke & Ganguli, Neural Computation 2018.
    """

    slope: float = 25.0

    def __post_init__(self):
        _positive("FastSigmoid", "slope", self.slope)

    def smooth(self, x):
        return x / (1.0 + self.slope * jnp.abs(x)) + 0.5


@dataclasses.dataclass(frozen=True)
class Triangle(AbstractSurrogate):
    r"""Triangular (piecewise-linear) gradient of unit area.

    $$
    \begin{aligned}
    \mathrm{smooth}'(x) = \max(0,\ \alpha - \alpha^2 |x|), \qquad
          \mathrm{smooth}(x) = \begin{cases} 0 & x < -1/\alpha \\
          \frac12 + \alpha x - \frac{\alpha^2}{2} x|x| & |x| \le 1/\alpha \\
          1 & x > 1/\alpha \end{cases}
    \end{aligned}
    $$

    Peak gradient ``α`` at ``x = 0``, support ``|x| < 1/α``.

    References: Esser et al., PNAS 2016; Bellec et al. 2018.
    """

    alpha: float = 1.0

    def __post_init__(self):
        _positive("Triangle", "alpha", self.alpha)

    def smooth(self, x):
        z = jnp.clip(x, -1.0 / self.alpha, 1.0 / self.alpha)
        return 0.5 + self.alpha * z - 0.5 * self.alpha**2 * z * jnp.abs(z)


@dataclasses.dataclass(frozen=True)
class Rectangle(AbstractSurrogate):
    r"""Rectangular (boxcar) gradient of unit area (Wu et al., Frontiers 2018).

    $$
    \mathrm{smooth}(x) = \mathrm{clip}\!\left(\frac{x}{w} + \frac12,\ 0,\ 1\right), \qquad
          \mathrm{smooth}'(x) = \frac{1}{w}\,[\,|x| < w/2\,]
    $$
    """

    width: float = 1.0

    def __post_init__(self):
        _positive("Rectangle", "width", self.width)

    def smooth(self, x):
        return jnp.clip(x / self.width + 0.5, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Gaussian(AbstractSurrogate):
    r"""Gaussian gradient: the smooth step is the normal CDF with standard deviation ``sigma``.

    $$
    \mathrm{smooth}(x) = \frac12\left(1 + \mathrm{erf}\frac{x}{\sigma\sqrt2}\right),
          \qquad \mathrm{smooth}'(x) = \frac{1}{\sigma\sqrt{2\pi}} e^{-x^2 / 2\sigma^2}
    $$

    The same family as `Erf`, parametrised by width instead of sharpness
    (``Erf(alpha) == Gaussian(sigma=1 / (alpha * sqrt(2)))``).
    """

    sigma: float = 0.5

    def __post_init__(self):
        _positive("Gaussian", "sigma", self.sigma)

    def smooth(self, x):
        return 0.5 * (1.0 + jax.lax.erf(x / (self.sigma * math.sqrt(2.0))))


@dataclasses.dataclass(frozen=True)
class Erf(AbstractSurrogate):
    r"""Error-function surrogate (SpikingJelly ``Erf``).

    $$
    \mathrm{smooth}(x) = \frac12\,\mathrm{erfc}(-\alpha x), \qquad
          \mathrm{smooth}'(x) = \frac{\alpha}{\sqrt\pi} e^{-\alpha^2 x^2}
    $$
    """

    alpha: float = 2.0

    def __post_init__(self):
        _positive("Erf", "alpha", self.alpha)

    def smooth(self, x):
        return 0.5 * jax.lax.erfc(-self.alpha * x)


@dataclasses.dataclass(frozen=True)
class StraightThrough(AbstractSurrogate):
    r"""Straight-through estimator (Bengio et al., 2013): the gradient passes unchanged.

    $$
    \mathrm{smooth}(x) = x + \frac12, \qquad \mathrm{smooth}'(x) = 1
    $$
    """

    def smooth(self, x):
        return x + 0.5
