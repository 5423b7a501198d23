"""``Evolution``: evolve a spikejax model's parameters (all, or a chosen subset) with an
evolution strategy, the whole population evaluated with ``vmap`` inside one jit."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
from flax import nnx
from jaxtyping import Array, Float

from spikejax.evolve._genome import Genome
from spikejax.evolve._strategies import STRATEGIES, build

__all__ = ["Evolution", "EvolutionState"]


class EvolutionState(NamedTuple):
    """The strategy's state (evosax's, with its mean, spread and best member so far) and the
    number of generations."""

    strategy: Any
    generation: Array


def _standard(fn: Callable) -> Any:
    """Run evosax code under JAX's standard promotion rules (it mixes ranks and Python floats);
    the model's own computation stays under the caller's settings."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        return fn()


class Evolution:
    r"""Evolve ``model``'s chosen numbers to maximise ``fitness(model, batch)``.

    One generation (`step`): the strategy proposes ``population`` genomes
    $x_1..x_P$ around its mean, each becomes a model (`Genome`),
    ``fitness`` is evaluated for all of them with ``vmap`` (sharded over the population axis when
    several devices are given), and the strategy moves its distribution towards the fitter
    members (evosax minimises, so it is told ``-fitness``). `model` is the model at the
    strategy's mean. ``step`` is a pure function of its arguments: jit it once
    (``jax.jit(evolution.step)``) and call it every generation.

    With ``sigma = 0`` there is no search: every member is the mean and a generation leaves the
    distribution as it is (the strategies' updates divide by the spread; they are not called).

    Args:
        model: any spikejax model; its current values are the starting mean.
        fitness: ``fitness(model, batch) -> scalar`` (higher is better), traceable; with
            ``has_aux``: ``(scalar, aux)``, ``aux`` any pytree reported per member.
        strategy: ``"open_es"``, ``"snes"`` or ``"cma_es"`` (`spikejax.evolve._strategies`).
        population: members per generation (even for ``"open_es"``: antithetic pairs).
        params: what evolves (`spikejax.evolve.select`): default every ``nnx.Param``.
        mask: also evolve a binary connectivity mask of every chosen kernel.
        mask_init: the starting value of every mask gene (> 0: connected); about ``sigma`` lets
            the first generations already cut connections.
        sigma: the initial (``open_es``: fixed) standard deviation of the search noise.
        lr: the learning rate of the mean (``open_es``: Adam; ``snes``: its natural gradient).
        devices: devices to shard the population over (default all of the default backend);
            ``population`` must be a multiple of their number.
        has_aux: ``fitness`` returns ``(fitness, aux)``.

    Example:
        >>> import jax, jax.numpy as jnp, jax.random as jr, spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
        >>> xs, ys = jnp.ones((4, 16, 64)), jnp.arange(16) % 10
        >>> def fitness(model, batch):
        ...     logits = jnp.mean(model(batch[0]), axis=0)
        ...     return jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(16), batch[1]])
        >>> ev = sj.evolve.Evolution(net, fitness, strategy="snes", population=8,
        ...                          params=["*.threshold", "head.*"], sigma=0.05)
        >>> state = ev.init(key=jr.key(0))
        >>> state, metrics = jax.jit(ev.step)(state, (xs, ys), jr.key(1))
        >>> metrics["fitness"].shape, int(state.generation)
        ((8,), 1)
    """

    def __init__(
        self,
        model: nnx.Module,
        fitness: Callable[[nnx.Module, Any], Array],
        *,
        strategy: str = "snes",
        population: int = 32,
        params: Sequence[str] | Callable[[str, Any], bool] | None = None,
        mask: bool = False,
        mask_init: float = 1.0,
        sigma: float = 0.05,
        lr: float = 0.05,
        devices: Sequence[Any] | None = None,
        has_aux: bool = False,
    ):
        fn = "Evolution"
        if not isinstance(model, nnx.Module):
            raise TypeError(f"`{fn}`: `model` must be an nnx.Module; got {type(model).__name__}.")
        if not callable(fitness):
            raise TypeError(f"`{fn}`: `fitness` must be callable(model, batch); got {fitness!r}.")
        if strategy not in STRATEGIES:
            raise ValueError(f"`{fn}`: `strategy` must be one of {STRATEGIES}; got {strategy!r}.")
        if isinstance(population, bool) or not isinstance(population, int) or population < 1:
            raise ValueError(f"`{fn}`: `population` must be an int >= 1; got {population!r}.")
        if strategy == "open_es" and population % 2:
            raise ValueError(
                f"`{fn}`: `population` must be even for 'open_es' (antithetic pairs); got "
                f"{population}."
            )
        for name, value, low in (("sigma", sigma, 0.0), ("lr", lr, 0.0)):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value < low:
                raise ValueError(f"`{fn}`: `{name}` must be a finite number >= 0; got {value!r}.")
        self.devices = tuple(jax.devices() if devices is None else devices)
        if not self.devices:
            raise ValueError(f"`{fn}`: `devices` must hold at least one device; got none.")
        if population % len(self.devices):
            raise ValueError(
                f"`{fn}`: `population` ({population}) must divide evenly across the "
                f"{len(self.devices)} devices; choose a multiple of {len(self.devices)}."
            )
        self.genome = Genome(model, params, mask=mask, mask_init=mask_init)
        self.fitness = fitness
        self.has_aux = bool(has_aux)
        self.strategy = strategy
        self.population = population
        self.sigma = float(sigma)
        self.algorithm, self.hyper = _standard(
            lambda: build(strategy, population, self.genome.size, sigma=self.sigma, lr=lr)
        )
        if len(self.devices) > 1:
            mesh = jax.sharding.Mesh(self.devices, ("population",))
            self.sharding = jax.sharding.NamedSharding(
                mesh, jax.sharding.PartitionSpec("population")
            )
        else:
            self.sharding = None

    # ----------------------------------------------------------------------------------------

    def init(self, *, key: Array) -> EvolutionState:
        """The strategy's state with the model's current values as the mean."""
        mean = self.genome.initial
        state = _standard(lambda: self.algorithm.init(key, mean, self.hyper))
        return EvolutionState(state, jnp.zeros((), jnp.int32))

    def evaluate(self, population: Float[Array, "P D"], batch: Any) -> Any:
        """``fitness`` of every member on ``batch`` ``[P]`` (with ``has_aux``: ``(fitness,
        aux)``, ``aux`` stacked over members), with ``vmap`` over the population (sharded over
        ``devices`` when there are several)."""
        if self.sharding is not None:
            population = jax.lax.with_sharding_constraint(population, self.sharding)

        def one(vector):
            result = self.fitness(self.genome.model_of(vector), batch)
            if self.has_aux:
                return jnp.asarray(result[0], jnp.float32), result[1]
            return jnp.asarray(result, jnp.float32)

        return jax.vmap(one)(population)

    def ask(self, state: EvolutionState, key: Array) -> Float[Array, "P D"]:
        """The next population ``[P, D]`` (with ``sigma = 0``: ``P`` copies of the mean)."""
        if self.sigma == 0.0:
            return jnp.broadcast_to(state.strategy.mean, (self.population, self.genome.size))
        population, _ = _standard(lambda: self.algorithm.ask(key, state.strategy, self.hyper))
        return population

    def step(self, state: EvolutionState, batch: Any, key: Array) -> tuple[EvolutionState, dict]:
        """One generation on ``batch``; returns the new state and the metrics ``fitness``
        (every member's, ``[P]``), ``best``, ``mean``, ``density`` (present connections of
        the mean's mask, 1 without one) and, with ``has_aux``, ``aux`` (every member's)."""
        ask_key, tell_key = jr.split(key)
        population = self.ask(state, ask_key)
        fitness = self.evaluate(population, batch)
        aux = None
        if self.has_aux:
            fitness, aux = fitness
        strategy = state.strategy
        if self.sigma != 0.0:
            strategy, _ = _standard(
                lambda: self.algorithm.tell(tell_key, population, -fitness, strategy, self.hyper)
            )
        metrics = {
            "fitness": fitness,
            "best": jnp.max(fitness),
            "mean": jnp.mean(fitness),
            "density": self.genome.density(strategy.mean),
        }
        if self.has_aux:
            metrics["aux"] = aux
        return EvolutionState(strategy, state.generation + 1), metrics

    def mean(self, state: EvolutionState) -> Float[Array, " D"]:
        """The strategy's mean genome."""
        return state.strategy.mean

    def model(self, state: EvolutionState) -> nnx.Module:
        """The model at the strategy's mean."""
        return self.genome.model_of(state.strategy.mean)
