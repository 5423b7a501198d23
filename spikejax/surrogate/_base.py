"""The surrogate interface and the spike nonlinearity that uses it."""

from __future__ import annotations

import abc
import dataclasses
import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = ["AbstractSurrogate", "SmoothTwin", "heaviside", "spike"]


class AbstractSurrogate(abc.ABC):
    """A surrogate gradient for the spike nonlinearity, defined by one function ``smooth(x)``.

    The forward pass of `spike` is always the exact Heaviside step; the backward pass
    multiplies the incoming cotangent by ``d smooth / dx``. So a surrogate *is* its documented
    ``smooth``: there is no separately written derivative that could disagree with it.

    Concrete surrogates are frozen, hashable dataclasses: they are static choices, not parameters.
    To define your own, subclass and implement ``smooth``::

        @dataclasses.dataclass(frozen=True)
        class Tanh(sj.surrogate.AbstractSurrogate):
            alpha: float = 2.0

            def smooth(self, x):
                return 0.5 * (jnp.tanh(self.alpha * x) + 1.0)
    """

    @abc.abstractmethod
    def smooth(self, x: Float[Array, "..."]) -> Float[Array, "..."]:
        """The smooth relaxation of the step whose derivative is the surrogate gradient."""

    def derivative(self, x: Float[Array, "..."]) -> Float[Array, "..."]:
        """``d smooth(x) / dx`` elementwise, by forward-mode differentiation of `smooth`."""
        _, tangent = jax.jvp(self.smooth, (x,), (jnp.ones_like(x),))
        return tangent


def heaviside(x: Float[Array, "..."]) -> Float[Array, "..."]:
    """Θ(x) = 1 if x >= 0 else 0, in the dtype of ``x``. Θ(0) = 1: a neuron fires *at* threshold."""
    return (x >= 0).astype(x.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _spike(x, surrogate):
    return heaviside(x)


def _spike_fwd(x, surrogate):
    return heaviside(x), x


def _spike_bwd(surrogate, x, g):
    return (g * surrogate.derivative(x).astype(g.dtype),)


_spike.defvjp(_spike_fwd, _spike_bwd)


def spike(x: Float[Array, "..."], surrogate: AbstractSurrogate) -> Float[Array, "..."]:
    """Emit spikes ``Θ(x)`` with the gradient of ``surrogate.smooth``.

    Forward: ``Θ(x) = 1 if x >= 0 else 0`` exactly (so ``x = v - threshold`` fires at threshold).
    Backward: ``dL/dx = dL/ds · smooth'(x)``.

    With a `SmoothTwin` the forward is ``smooth(x)`` itself and ordinary autodiff applies:
    the differentiable twin used to check gradients of whole neuron models with finite differences.

    Example:
        >>> import jax, jax.numpy as jnp, spikejax as sj
        >>> x = jnp.array([-0.5, 0.0, 0.5])
        >>> sj.surrogate.spike(x, sj.surrogate.ATan())
        Array([0., 1., 1.], dtype=float32)
        >>> jax.grad(lambda x: sj.surrogate.spike(x, sj.surrogate.ATan()).sum())(x)
        Array([0.2884004, 1.       , 0.2884004], dtype=float32)
    """
    if not isinstance(surrogate, AbstractSurrogate):
        raise TypeError(
            "`spike`: `surrogate` must be a spikejax.surrogate.AbstractSurrogate; got "
            f"{surrogate!r}."
        )
    if not hasattr(x, "dtype") or not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise TypeError(
            f"`spike`: `x` must be a floating array (e.g. jnp.asarray(0.3)); got "
            f"{type(x).__name__} {x!r}."
        )
    if isinstance(surrogate, SmoothTwin):
        return surrogate.smooth(x)
    return _spike(x, surrogate)


@dataclasses.dataclass(frozen=True)
class SmoothTwin(AbstractSurrogate):
    """Replace the spike by ``base.smooth`` in the forward pass (for gradient checks only)."""

    base: AbstractSurrogate

    def __post_init__(self):
        if not isinstance(self.base, AbstractSurrogate):
            raise TypeError(
                f"`SmoothTwin`: `base` must be an AbstractSurrogate; got {self.base!r}."
            )

    def smooth(self, x):
        return self.base.smooth(x)
