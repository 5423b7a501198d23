"""The compiled training and evaluation steps of a run.

`Steps` splits an NNX model and its optimizer into graph definitions and a state pytree
once; the jitted steps take the state, merge it inside, and return the new state, so the state's
buffers are donated and reused in place. Every input has a fixed shape (full training batches,
padded and masked evaluation batches, ``T`` fixed by the config) and the step counter is an array,
so each step compiles exactly once (``Steps.traces`` counts the traces).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from flax import nnx
from jaxtyping import Array

from spikejax import losses, plasticity
from spikejax.config import Config, OptimizerConfig
from spikejax.layers import project_params
from spikejax.models import record
from spikejax.train._gradients import StepGradient
from spikejax.train._parallel import Placement

__all__ = ["Steps", "build_optimizer", "hyperparameters"]

_LOSSES = {
    "ce_membrane": losses.ce_membrane,
    "ce_count": losses.ce_count,
    "mse_count": losses.mse_count,
    "tet": losses.tet,
}


def build_optimizer(
    config: OptimizerConfig, total_steps: int
) -> tuple[optax.GradientTransformation, Callable[[Array], Array]]:
    """The optax transformation and learning-rate schedule of ``config`` for a run of
    ``total_steps`` steps.

    ``cosine`` decays from ``lr`` to 0 over ``total_steps``; ``warmup_cosine`` rises linearly from
    0 to ``lr`` over ``warmup_steps`` and then decays to 0 at ``total_steps``. Gradient clipping (by
    global norm) comes first; ``sgd`` adds ``weight_decay · params`` to the gradient, ``adamw``
    decays the weights decoupled from the gradient. The numbers of `hyperparameters` are
    held in the optimizer state by ``optax.inject_hyperparams`` (the population sweeps of
    `spikejax.train.fit_population` give each run its own).

    Example:
        >>> from spikejax.config import OptimizerConfig
        >>> from spikejax.train import build_optimizer
        >>> tx, schedule = build_optimizer(OptimizerConfig(lr=0.1, schedule="cosine"), 10)
        >>> float(schedule(0)), float(schedule(5)), float(schedule(10))
        (0.1, 0.05, 0.0)
    """
    if config.schedule == "warmup_cosine" and config.warmup_steps >= total_steps:
        raise ValueError(
            f"`build_optimizer`: `warmup_steps` must be < the run's {total_steps} steps; "
            f"got {config.warmup_steps}."
        )

    def schedule_of(lr: Any) -> Callable[[Array], Array]:
        if config.schedule == "constant":
            return optax.constant_schedule(lr)
        if config.schedule == "cosine":
            return optax.cosine_decay_schedule(lr, max(total_steps, 1))
        return optax.warmup_cosine_decay_schedule(
            0.0, lr, config.warmup_steps, total_steps, end_value=0.0
        )

    # The numbers are arrays in the optimizer state (optax.inject_hyperparams), not constants of
    # the compiled step: a population of runs that differ only in them shares one step under
    # ``vmap``. Which transformations the chain holds is decided by ``config`` alone.
    def chain(lr, weight_decay=0.0, momentum=0.0, grad_clip=0.0):
        parts = []
        if config.grad_clip > 0:
            parts.append(optax.clip_by_global_norm(grad_clip))
        if config.name == "adam":
            parts.append(optax.adam(schedule_of(lr)))
        elif config.name == "adamw":
            parts.append(optax.adamw(schedule_of(lr), weight_decay=weight_decay))
        else:
            if config.weight_decay:
                parts.append(optax.add_decayed_weights(weight_decay))
            parts.append(optax.sgd(schedule_of(lr), momentum=momentum if config.momentum else None))
        return optax.chain(*parts)

    return optax.inject_hyperparams(chain)(**hyperparameters(config)), schedule_of(config.lr)


def hyperparameters(config: OptimizerConfig) -> dict[str, float]:
    """The numbers of ``config`` that `build_optimizer` keeps in the optimizer state
    (``state.hyperparams``): ``lr``, and ``weight_decay``, ``momentum``, ``grad_clip`` where the
    optimizer uses them.

    Example:
        >>> from spikejax.config import OptimizerConfig
        >>> from spikejax.train._steps import hyperparameters
        >>> hyperparameters(OptimizerConfig(name="adamw", lr=0.1, weight_decay=0.01))
        {'lr': 0.1, 'weight_decay': 0.01}
    """
    out = {"lr": config.lr}
    if config.name == "adamw" or (config.name == "sgd" and config.weight_decay):
        out["weight_decay"] = config.weight_decay
    if config.name == "sgd" and config.momentum:
        out["momentum"] = config.momentum
    if config.grad_clip > 0:
        out["grad_clip"] = config.grad_clip
    return out


def _check_loss_options(name: str, options: dict[str, Any]) -> None:
    if name == "ce":
        allowed: tuple[str, ...] = ()
    else:
        parameters = inspect.signature(_LOSSES[name]).parameters.values()
        allowed = tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"`Steps`: `train.loss_options` of loss {name!r} must be among {allowed}; got "
            f"unknown {unknown}."
        )


class Steps:
    """``train_step`` and ``eval_step`` for a model, an optax transformation and a config.

    The train state is the dict ``{"model": nnx.State, "opt": nnx.State}``.

    * ``train_step(state, x, y, step) -> (state, metrics)``: one optimizer step on a full batch
      (``x`` as delivered by the loader, integer labels ``y`` ``[B]``, ``step`` an int32 scalar
      array), followed by `spikejax.layers.project_params` so that every trained neuron
      parameter stays in its valid interval. The state is donated. ``metrics``: ``loss``,
      ``accuracy``, ``grad_norm`` (before clipping), ``lr`` and ``rate/<layer>`` (mean spikes per
      neuron per step of every spiking neuron node of the model's graph, by node name; see
      `spikejax.graph.record`), each a scalar array.
    * ``eval_step(model_state, x, y, mask, index) -> sums``: the model in evaluation mode on a
      padded batch; sums over the real samples (``mask``): ``loss``, ``correct``, ``count`` and
      ``rate/<layer>`` (per-sample rates summed), plus the per-sample ``prediction`` ``[B]``.

    Inputs are made by ``prepare(x, key)`` inside the step; with ``train_key, eval_key =
    split(key(seed))`` the key is ``fold_in(train_key, step)`` for training and
    ``fold_in(eval_key, index)`` for the evaluation batch ``index``, so a run is reproducible and
    resumable bit for bit.

    Args:
        config: the run configuration (loss, seed).
        model: the NNX model (its state is taken as the initial state).
        tx: the optax transformation.
        schedule: the learning-rate schedule (for the ``lr`` metric).
        prepare: ``prepare(x, key) -> inputs`` (see `spikejax.train._data.make_prepare`).
        placement: the data-parallel mesh of the run (see `spikejax.train._parallel`): the
            initial state is replicated on it, batches and labels come split over it, and every
            output is replicated. ``None`` compiles for the default device, placing nothing.
    """

    def __init__(
        self,
        config: Config,
        model: nnx.Module,
        tx: optax.GradientTransformation,
        schedule: Callable[[Array], Array],
        prepare: Callable[[Array, Array], Array],
        *,
        placement: Placement | None = None,
    ):
        self.loss_name = config.train.loss
        gradient = config.train.gradient
        self.gradient = None if gradient == "bptt" else StepGradient(config.train, model)
        self.loss_options = dict(config.train.loss_options)
        _check_loss_options(self.loss_name, self.loss_options)
        self.schedule = schedule
        self.prepare = prepare
        self.train_key, self.eval_key = jr.split(jr.key(config.seed))
        self.traces = {"train": 0, "eval": 0}
        # The plastic synapses of a learning.method="stdp" run (set by `fit`): every update
        # receives their recorded spike trains.
        self.synapses: plasticity.Synapses | None = None
        model.train()
        optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
        self.train_graphdef, model_state = nnx.split(model)
        self.opt_graphdef, opt_state = nnx.split(optimizer)
        model.eval()
        self.eval_graphdef = nnx.graphdef(model)
        model.train()
        self.initial_state = {"model": model_state, "opt": opt_state}
        self.placement = placement
        if placement is None:
            self.train_step = jax.jit(self._train_step, donate_argnums=0)
            self.eval_step = jax.jit(self._eval_step)
        else:  # every output replicated; the state stays where it is (donated)
            self.initial_state = placement.replicate(self.initial_state)
            whole, split = placement.replicated, placement.split
            self.train_step = jax.jit(
                self._train_step,
                donate_argnums=0,
                in_shardings=(whole, split, split, whole),
                out_shardings=whole,
            )
            self.eval_step = jax.jit(
                self._eval_step,
                in_shardings=(whole, split, split, split, whole),
                out_shardings=whole,
            )

    # ------------------------------------------------------------------------------ helpers

    def placed(self, *arrays: Any) -> tuple[Any, ...]:
        """Host batches as the steps take them: split over the mesh (as given without one)."""
        if self.placement is None:
            return arrays
        return tuple(self.placement.batch(a) for a in arrays)

    def counter(self, value: int) -> Array:
        """A step or batch index as the steps take it: an int32 scalar (replicated on the
        mesh)."""
        if self.placement is None:
            return jnp.int32(value)
        return self.placement.replicate(np.int32(value))

    def eval_model(self, model_state: nnx.State) -> nnx.Module:
        """The model in evaluation mode with ``model_state``."""
        return nnx.merge(self.eval_graphdef, model_state)

    def logits(self, outputs: Array) -> Array:
        """Per-sample class scores ``[B, K]`` from the model outputs, as the loss reads them."""
        if self.loss_name == "ce":
            return outputs
        if self.loss_name in ("ce_count", "mse_count"):
            return jnp.sum(outputs, axis=0)
        if self.loss_name == "ce_membrane":
            reduce = self.loss_options.get("reduce", "mean")
            if reduce == "max":
                return jnp.max(outputs, axis=0)
            if reduce == "last":
                return outputs[-1]
        return jnp.mean(outputs, axis=0)

    def _per_sample_loss(self, outputs: Array, y: Array) -> Array:
        fn = "Steps"
        if self.loss_name == "ce":
            if outputs.ndim != 2:
                raise ValueError(
                    f"`{fn}`: loss 'ce' needs model outputs [B, K] (logits); got shape "
                    f"{tuple(outputs.shape)}. Use a time-major loss such as 'ce_membrane'."
                )
            return optax.softmax_cross_entropy_with_integer_labels(outputs, y)
        if outputs.ndim != 3:
            raise ValueError(
                f"`{fn}`: loss {self.loss_name!r} needs time-major model outputs [T, B, K]; got "
                f"shape {tuple(outputs.shape)}. Use train.loss='ce' for a model returning logits."
            )
        loss = _LOSSES[self.loss_name]
        options = self.loss_options
        return jax.vmap(lambda o, label: loss(o[:, None], label[None], **options), (1, 0))(
            outputs, y
        )

    @staticmethod
    def _rates(spikes: dict[str, Array]) -> dict[str, Array]:
        """Per-sample firing rate ``[B]`` of each recorded spiking layer ``[T, B, ...]``."""
        rates = {}
        for path, s in spikes.items():
            axes = tuple(i for i in range(s.ndim) if i != 1)
            rates[f"rate/{path}"] = jnp.mean(s.astype(jnp.float32), axis=axes)
        return rates

    # -------------------------------------------------------------------------------- steps

    def _train_step(self, state, x, y, step):
        self.traces["train"] += 1
        with jax.numpy_dtype_promotion("standard"):
            lr = jnp.asarray(self.schedule(step), jnp.float32)
        return self.train_fn(state, x, y, jr.fold_in(self.train_key, step), lr)

    def train_fn(self, state, x, y, key, lr):
        """The body of ``train_step`` (not jitted; ``vmap``-able over runs): one optimizer step
        with the input key ``key`` (``fold_in(train_key, step)``) and the learning rate ``lr``
        of this step (reported as the ``lr`` metric; the update reads its own from the state)."""
        model = nnx.merge(self.train_graphdef, state["model"])
        optimizer = nnx.merge(self.opt_graphdef, state["opt"])
        inputs = self.prepare(x, key)
        y = y.astype(jnp.int32)

        def loss_fn(model):
            outputs, recording = record(model, inputs)
            loss = jnp.mean(self._per_sample_loss(outputs, y))
            correct = jnp.argmax(self.logits(outputs), axis=-1) == y
            rates = {k: jnp.mean(v) for k, v in self._rates(recording.spikes).items()}
            return loss, (jnp.mean(correct.astype(jnp.float32)), rates, recording)

        if self.gradient is None:
            aux = nnx.value_and_grad(loss_fn, has_aux=True)(model)
            (loss, (accuracy, rates, recording)), grads = aux
        else:  # tbptt, ottt, eprop: the state carried forward step by step
            loss, outputs, grads, rates = self.gradient(model, inputs, y)
            correct = jnp.argmax(self.logits(outputs), axis=-1) == y
            accuracy = jnp.mean(correct.astype(jnp.float32))
        grad_norm = optax.tree.norm(grads)
        # Optax mixes Python floats with integer step counts (e.g. Adam's bias correction
        # ``b1 ** count``), which strict dtype promotion rejects; its update runs with the standard
        # rules. The model's own computation above stays under the caller's promotion setting.
        with jax.numpy_dtype_promotion("standard"):
            extra = {}
            if self.synapses is not None:
                extra["activity"] = plasticity.activity(recording, self.synapses)
            optimizer.update(model, grads, **extra)
        # Trained neuron parameters back onto their valid intervals (β in [0, 1], θ > 0).
        project_params(model)
        metrics = {
            "loss": loss.astype(jnp.float32),
            "accuracy": accuracy,
            "grad_norm": grad_norm.astype(jnp.float32),
            "lr": lr,
            **rates,
        }
        return {"model": nnx.state(model), "opt": nnx.state(optimizer)}, metrics

    def _eval_step(self, model_state, x, y, mask, index):
        self.traces["eval"] += 1
        return self.eval_fn(model_state, x, y, mask, jr.fold_in(self.eval_key, index))

    def eval_fn(self, model_state, x, y, mask, key):
        """The body of ``eval_step`` (not jitted; ``vmap``-able over runs) with the input key
        ``key`` (``fold_in(eval_key, index)``)."""
        model = self.eval_model(model_state)
        outputs, recording = record(model, self.prepare(x, key))
        y = y.astype(jnp.int32)
        weight = mask.astype(jnp.float32)
        prediction = jnp.argmax(self.logits(outputs), axis=-1)
        sums = {
            "loss": jnp.sum(self._per_sample_loss(outputs, y).astype(jnp.float32) * weight),
            "correct": jnp.sum((prediction == y).astype(jnp.float32) * weight),
            "count": jnp.sum(weight),
        }
        for name, rate in self._rates(recording.spikes).items():
            sums[name] = jnp.sum(rate * weight)
        return sums, prediction
