"""The ``learning`` section of a configuration: local plasticity and evolution in `fit`.

* ``"stdp"``: `plastic_tx` puts a rule of `spikejax.plasticity` (and its homeostasis) in
  front of the run's optimizer; `Steps` hands each batch's recorded spike trains to it.
* ``"evolve"``: `EvolveSteps` replaces the gradient step by one generation of
  `spikejax.evolve.Evolution` per batch; evaluation is the run's usual one.

The train state keeps the layout ``{"model": nnx.State, "opt": nnx.State}`` of every run (for an
evolution, ``"opt"`` holds the strategy's state), so checkpoints, resuming and `load_run` work
unchanged.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from flax import nnx

from spikejax import evolve, plasticity
from spikejax.config import Config

__all__ = ["EvolveSteps", "plastic_tx"]

_RULES = {"stdp": plasticity.stdp, "triplet_stdp": plasticity.triplet_stdp}
_HOMEOSTASIS = ("normalize", "threshold")


def _keywords(fn: Any) -> tuple[str, ...]:
    return tuple(
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    )


def plastic_tx(
    config: Config, model: nnx.Module, example: Any, tx: optax.GradientTransformation
) -> tuple[optax.GradientTransformation, plasticity.Synapses]:
    """``(optax.chain(rule, [adaptive threshold], tx, [normalise], [clip]), synapses)`` for a
    ``learning.method="stdp"`` configuration; ``example`` is the model's input ``[T, B, ...]``
    (concrete or abstract). Bounds ``w_min`` and ``w_max`` go to the rule (its weight
    dependence) and, given both, clip the weights after the update."""
    fn = "fit"
    options = dict(config.learning.options)
    if config.train.gradient != "bptt":
        raise ValueError(
            f"`{fn}`: learning.method='stdp' records the spike trains of a whole forward pass; "
            f"`train.gradient` must be 'bptt'; got {config.train.gradient!r}."
        )
    name = options.pop("rule", "stdp")
    if name not in _RULES:
        raise ValueError(
            f"`{fn}`: `learning.options['rule']` must be one of {tuple(_RULES)}; got {name!r}."
        )
    rule = _RULES[name]
    params = options.pop("params", None)
    homeostasis = {k: options.pop(k) for k in _HOMEOSTASIS if k in options}
    allowed = tuple(k for k in _keywords(rule) if k not in ("keep_gradient", "reset"))
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"`{fn}`: `learning.options` of rule {name!r} must be among "
            f"{('rule', 'params', *_HOMEOSTASIS, *allowed)}; got unknown {unknown}."
        )
    synapses = plasticity.synapses(model, example, params=None if params is None else tuple(params))
    parts = [rule(synapses, **options)]
    if "threshold" in homeostasis:
        parts.append(plasticity.adaptive_threshold(synapses, **dict(homeostasis["threshold"])))
    parts.append(tx)
    if "normalize" in homeostasis:
        parts.append(plasticity.normalize_weights(synapses, total=homeostasis["normalize"]))
    if "w_min" in options and "w_max" in options:  # the rule's bounds, kept exactly
        parts.append(
            plasticity.clip_weights(synapses, w_min=options["w_min"], w_max=options["w_max"])
        )
    return optax.chain(*parts), synapses


def _as_state(strategy_state: Any) -> nnx.State:
    leaves = jax.tree.leaves(strategy_state)
    return nnx.State({f"{i:04d}": jnp.asarray(leaf) for i, leaf in enumerate(leaves)})


class EvolveSteps:
    """Train and evaluation steps of a ``learning.method="evolve"`` run.

    ``train_step(state, x, y, step)`` is one generation on the batch: every member's fitness is
    minus its mean loss on the batch (the configured loss, evaluation mode, the same input
    encoding for every member); the new model is the strategy's mean. Metrics: ``loss`` (the
    population's mean loss), ``best_loss``, ``density`` (present connections with
    ``mask``), ``accuracy`` (of the best member), ``lr`` (0: no optimizer) and ``grad_norm``
    (0: no gradient). Every other attribute (evaluation, input preparation, keys, device
    placement, trace counts) is that of ``base``, the run's `Steps`.
    """

    def __init__(self, config: Config, model: nnx.Module, base: Any):
        fn = "fit"
        options = dict(config.learning.options)
        allowed = ("strategy", "population", "params", "mask", "sigma", "lr")
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(
                f"`{fn}`: `learning.options` of method 'evolve' must be among {allowed}; got "
                f"unknown {unknown}."
            )
        if "params" in options:
            options["params"] = tuple(options["params"])
        self.base = base
        self.evolution = evolve.Evolution(model, self._fitness, has_aux=True, **options)
        strategy = self.evolution.init(key=jr.fold_in(jr.key(config.seed), 1))
        self._treedef = jax.tree.structure(strategy)
        self.initial_state = {"model": base.initial_state["model"], "opt": _as_state(strategy)}
        self.train_step = jax.jit(self._train_step, donate_argnums=0)

    def __getattr__(self, name: str) -> Any:
        # Everything but the train step and its state is the base steps' own: evaluation,
        # input preparation, keys, device placement, trace counts.
        return getattr(self.__dict__["base"], name)

    def _fitness(self, model: nnx.Module, batch: Any) -> jax.Array:
        x, y, key = batch
        mask = jnp.ones(y.shape, jnp.float32)
        sums, _ = self.base.eval_fn(nnx.state(model), x, y, mask, key)
        return -sums["loss"] / sums["count"], sums["correct"] / sums["count"]

    def _train_step(self, state, x, y, step):
        self.base.traces["train"] += 1
        leaves = [state["opt"][f"{i:04d}"][...] for i in range(self._treedef.num_leaves)]
        strategy = jax.tree.unflatten(self._treedef, leaves)
        key = jr.fold_in(self.base.train_key, step)
        batch = (x, y.astype(jnp.int32), key)
        strategy, metrics = self.evolution.step(strategy, batch, jr.fold_in(key, 1))
        model = self.evolution.model(strategy)
        best = jnp.argmax(metrics["fitness"])
        out = {
            "loss": -metrics["mean"],
            "best_loss": -metrics["best"],
            "accuracy": metrics["aux"][best],
            "density": metrics["density"],
            "lr": jnp.zeros((), jnp.float32),
            "grad_norm": jnp.zeros((), jnp.float32),
        }
        model_state = nnx.state(model)
        return {"model": model_state, "opt": _as_state(strategy)}, out


def learning_tx(
    config: Config, model: nnx.Module, example: Any, tx: optax.GradientTransformation
) -> tuple[optax.GradientTransformation, plasticity.Synapses | None]:
    """The run's optax transformation for its ``learning.method`` and, for ``"stdp"``, the
    plastic synapses (``example``: the model's input, concrete or abstract)."""
    if config.learning.method != "stdp":
        return tx, None
    return plastic_tx(config, model, example, tx)


def learning_steps(
    config: Config, model: nnx.Module, steps: Any, synapses: plasticity.Synapses | None
) -> Any:
    """The run's steps: ``steps`` themselves (given the plastic ``synapses`` for ``"stdp"``),
    or `EvolveSteps` around them for ``"evolve"``."""
    if config.learning.method == "evolve":
        return EvolveSteps(config, model, steps)
    steps.synapses = synapses
    return steps
