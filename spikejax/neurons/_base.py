"""The neuron interface: a pytree of parameters with ``init_state`` and a scan-ready ``step``."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax._pytree import pytree_dataclass
from spikejax.neurons._interval import Interval

__all__ = ["AbstractNeuron"]


class AbstractNeuron(abc.ABC):
    """A neuron model: array leaves (decays, thresholds, ...) and static choices (reset, surrogate).

    ``step(state, x) -> (state, out)`` advances every neuron by one time step and is used directly
    as a ``lax.scan`` body by `spikejax.unroll`. Parameters are scalars or per-neuron arrays
    that broadcast against the trailing axes of the state; ``init_state(shape, dtype)`` declares
    the state for one time step of the input, ``(*batch, *neurons)`` — usually leaves of that shape
    and dtype, but a leaf may have any shape and dtype the neuron declares (an integer countdown,
    a step counter); `spikejax.unroll` checks the state it is given against that
    declaration.

    **Subclassing.** A subclass is, by itself, a frozen dataclass registered as a JAX pytree with
    keyed leaves (``GetAttrKey(field)``), like ``equinox.Module``: every annotated field is an
    array leaf, unless it is declared static with `spikejax.neurons.static` (discrete,
    hashable choices such as a reset mode or a surrogate, which are part of the tree definition).
    Equality is identity (``eq=False``). ``__post_init__`` (where constructors convert and check
    parameters, e.g. with `spikejax.neurons.as_param`) runs when a user constructs a neuron,
    never when JAX rebuilds one inside a transformation. Class attributes annotated with
    ``ClassVar`` are not fields.

    Class attributes:
        spiking: whether ``out`` is a spike tensor (exactly 0/1) or a membrane readout.
        trainable: the leaves that `spikejax.layers.Spiking` exposes as ``nnx.Param`` by
            default; every other leaf is held fixed (it is still an array the chip target can
            quantize).
        bounds: the valid `Interval` of each bounded leaf, by field name
            (a leaf not named is any finite real). Declared once per class, used by the
            constructor checks and by `spikejax.layers.project_params` /
            `spikejax.layers.check_params` to keep trained leaves valid.

    Example:
        A neuron of one's own, in a few lines, run by `spikejax.unroll` and differentiated:

        >>> from typing import ClassVar, NamedTuple
        >>> import jax, jax.numpy as jnp, spikejax as sj
        >>> class SquareState(NamedTuple):
        ...     v: jax.Array
        >>> class SquareLIF(sj.neurons.AbstractNeuron):
        ...     '''h = β v + x²; s = Θ(h - θ); v = h (1 - s).'''
        ...     bounds: ClassVar = {"beta": sj.neurons.Interval(0.0, 1.0)}
        ...     beta: jax.Array
        ...     threshold: jax.Array = 1.0
        ...     surrogate: sj.surrogate.AbstractSurrogate = sj.neurons.static(sj.surrogate.ATan())
        ...     def __post_init__(self):
        ...         beta = sj.neurons.as_param("SquareLIF", "beta", self.beta, self.bounds["beta"])
        ...         object.__setattr__(self, "beta", beta)
        ...     def init_state(self, shape, dtype=jnp.float32):
        ...         return SquareState(jnp.zeros(shape, dtype))
        ...     def step(self, state, x):
        ...         h = sj.neurons.like(self.beta, x) * state.v + x * x
        ...         theta = sj.neurons.like(self.threshold, x)
        ...         v, s = sj.neurons.fire(h, theta, sj.neurons.Reset.ZERO, self.surrogate, True)
        ...         return SquareState(v), s
        >>> neuron = SquareLIF(beta=0.5)
        >>> xs = jnp.full((4, 2), 0.8)                        # [T, neurons]
        >>> _, spikes = sj.unroll(neuron, neuron.init_state((2,)), xs)
        >>> spikes[:, 0]
        Array([0., 1., 0., 1.], dtype=float32)
        >>> def loss(neuron):
        ...     return sj.unroll(neuron, neuron.init_state((2,)), xs)[1].sum()
        >>> grads = jax.grad(loss)(neuron)                    # a SquareLIF of gradients
        >>> bool(grads.beta > 0), [k for k, _ in jax.tree_util.tree_leaves_with_path(neuron)][:1]
        (True, [(GetAttrKey(name='beta'),)])
    """

    spiking: ClassVar[bool] = True
    trainable: ClassVar[tuple[str, ...]] = ()
    bounds: ClassVar[Mapping[str, Interval]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        pytree_dataclass(cls)

    @abc.abstractmethod
    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> Any:
        """The resting state for inputs of one time step with ``shape`` and ``dtype``."""

    @abc.abstractmethod
    def step(self, state: Any, x: Float[Array, "..."]) -> tuple[Any, Float[Array, "..."]]:
        """One time step: integrate ``x``, fire, reset. Returns ``(new_state, out)``."""
