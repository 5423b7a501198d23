"""All-to-all recurrent connections around a spiking neuron."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._errors import check_finite, check_floating
from spikejax.neurons._base import AbstractNeuron

__all__ = ["Recurrent", "RecurrentState"]


class RecurrentState(NamedTuple):
    """State of `Recurrent`. ``inner``: the wrapped neuron's state; ``s``: its spikes of the
    previous step (0/1)."""

    inner: Any
    s: Float[Array, "..."]


def _as_weight(fn: str, weight: Any) -> Float[Array, "n n"]:
    if isinstance(weight, bool) or not hasattr(weight, "shape"):
        raise TypeError(
            f"`{fn}`: `weight` must be a floating array of shape (n, n); got {weight!r}."
        )
    check_floating(fn, "weight", weight)
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(
            f"`{fn}`: `weight` must be a square 2-D array (n, n); got shape {tuple(weight.shape)}."
        )
    if isinstance(weight, jax.core.Tracer):
        return weight
    weight = jnp.asarray(weight)
    check_finite(fn, "weight", weight)
    return weight


class Recurrent(AbstractNeuron):
    r"""A spiking neuron whose spikes feed back to all neurons of the layer at the next step.

    One step, in implementation order (``W`` has layout (pre, post); ``x`` has shape
    ``(*batch, n)``):

    $$
    \begin{aligned}
    x'_t &= x_t + s_{t-1} W                           &&\text{(recurrent input)}\\
    (u_t, s_t) &= \mathrm{neuron.step}(u_{t-1}, x'_t) &&\text{(integrate, fire, reset)}
    \end{aligned}
    $$

    where ``u`` is the wrapped neuron's state and ``(s_{t-1} W)_j = Σ_i s_{t-1,i} W_{ij}``. The
    output is ``s_t``, which is also kept for the next step. ``W`` is cast to the dtype of ``x``;
    the wrapped neuron's parameters broadcast against ``(*batch, n)`` as usual.

    Reference: Neftci, Mostafa & Zenke, "Surrogate gradient learning in spiking neural networks",
    *IEEE Signal Processing Magazine* 36(6) (2019), recurrent weights ``V``.

    Args:
        neuron: a spiking neuron (``spiking = True``; `LI` is rejected).
        weight: recurrent weights ``W``, a floating ``(n, n)`` array, ``W[pre, post]``.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> w = jnp.array([[0.0, 0.5], [0.0, 0.0]])         # neuron 0 excites neuron 1
        >>> rnn = sj.neurons.Recurrent(sj.neurons.IF(), w)
        >>> state = rnn.init_state((2,))
        >>> state, s1 = rnn.step(state, jnp.array([1.0, 0.5]))
        >>> state, s2 = rnn.step(state, jnp.array([0.0, 0.0]))
        >>> s1, s2
        (Array([1., 0.], dtype=float32), Array([0., 1.], dtype=float32))
    """

    @property
    def trainable(self) -> tuple[str, ...]:
        """``weight`` and the wrapped neuron's trainable leaves, e.g. ``neuron.w`` for PLIF."""
        return ("weight", *(f"neuron.{name}" for name in self.neuron.trainable))

    neuron: AbstractNeuron
    weight: Float[Array, "n n"]

    def __post_init__(self):
        if not isinstance(self.neuron, AbstractNeuron):
            raise TypeError(
                "`Recurrent`: `neuron` must be a spikejax neuron (AbstractNeuron); "
                f"got {self.neuron!r}."
            )
        if not self.neuron.spiking:
            raise ValueError(
                "`Recurrent`: `neuron` must be a spiking neuron (spiking=True); got "
                f"{type(self.neuron).__name__}, whose output is not a spike train."
            )
        object.__setattr__(self, "weight", _as_weight("Recurrent", self.weight))

    def _check_size(self, fn: str, arg: str, shape: tuple[int, ...]) -> None:
        n = self.weight.shape[0]
        if len(shape) == 0 or shape[-1] != n:
            raise ValueError(
                f"`{fn}`: `{arg}` must have a last axis of size {n}, matching `weight` of shape "
                f"({n}, {n}); got shape {tuple(shape)}."
            )

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> RecurrentState:
        self._check_size("Recurrent.init_state", "shape", tuple(shape))
        return RecurrentState(inner=self.neuron.init_state(shape, dtype), s=jnp.zeros(shape, dtype))

    def step(
        self, state: RecurrentState, x: Float[Array, "..."]
    ) -> tuple[RecurrentState, Float[Array, "..."]]:
        self._check_size("Recurrent.step", "x", x.shape)
        feedback = jnp.tensordot(state.s, self.weight.astype(x.dtype), axes=1)
        inner, s = self.neuron.step(state.inner, x + feedback)
        return RecurrentState(inner, s), s
