"""The gradient methods a training config selects besides BPTT: ``tbptt``, ``ottt``, ``eprop``.

Each minimises the same objective as ``loss="tet"`` under BPTT, the mean over steps of the
per-step loss ``tet(O_t, y)``, but computes its gradient with the neuron state carried forward
step by step (`spikejax.init_state` / `spikejax.run`), so that memory does not grow with ``T``
(with the window for ``tbptt``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array

from spikejax import losses
from spikejax._stream import init_state, run
from spikejax.config import TrainConfig
from spikejax.online import OnlineGradient, refuse_batch_statistics

__all__ = ["StepGradient", "truncated_bptt"]

_OPTIONS = {"tbptt": ("window",), "ottt": ("decay",), "eprop": ()}


class StepGradient:
    """``gradient(model, inputs, y) -> (loss, outputs, grads, rates)`` for ``config.gradient``.

    ``grads`` has the structure of ``nnx.state(model, nnx.Param)``; ``rates`` maps
    ``"rate/<layer>"`` to the layer's mean spikes per neuron and step (empty for ``tbptt``).
    The online methods check the model (by its graph) on the first call, when the input's shape
    is known.
    """

    def __init__(self, config: TrainConfig, model: nnx.Module):
        fn = "Steps"
        self.method = config.gradient
        options = dict(config.gradient_options)
        unknown = sorted(set(options) - set(_OPTIONS[self.method]))
        if unknown:
            raise ValueError(
                f"`{fn}`: `train.gradient_options` of gradient {self.method!r} must be among "
                f"{_OPTIONS[self.method]}; got unknown {unknown}."
            )
        if self.method == "tbptt":
            window = options.get("window")
            if isinstance(window, bool) or not isinstance(window, int) or window < 1:
                raise ValueError(
                    f"`{fn}`: `train.gradient_options['window']` must be an int >= 1 with "
                    f"gradient 'tbptt'; got {window!r}."
                )
        # Before anything compiles: training switches batch norm into training mode.
        refuse_batch_statistics(fn, model, f"train.gradient {self.method!r}", training=True)
        if nnx.state(model, nnx.BatchStat):
            raise ValueError(
                f"`{fn}`: `train.gradient` {self.method!r} runs the model step by step, which "
                "would not update its batch statistics; the model has BatchStat variables "
                "(use gradient 'bptt')."
            )
        self.options = options
        loss_options = dict(config.loss_options)
        self.step_loss: Callable[[Array, Array], Array] = lambda o, y: losses.tet(
            o[None], y, **loss_options
        )
        self.model = model
        self.online: OnlineGradient | None = None

    def __call__(self, model: nnx.Module, inputs: Array, y: Array) -> tuple[Any, ...]:
        if self.method == "tbptt":
            loss, outputs, grads = truncated_bptt(
                model, inputs, y, self.options["window"], self.step_loss
            )
            return loss, outputs, grads, {}
        if self.online is None:
            example = jax.ShapeDtypeStruct(tuple(inputs.shape), inputs.dtype)
            self.online = OnlineGradient(
                self.model,
                example,
                method=self.method,
                decay=self.options.get("decay"),
                step_loss=self.step_loss,
            )
        result = self.online.value_and_grad(model, inputs, y)
        rates = {f"rate/{path}": rate for path, rate in result.rates.items()}
        return result.loss, result.outputs, result.grads, rates


def truncated_bptt(
    model: nnx.Module,
    xs: Array,
    y: Array,
    window: int,
    step_loss: Callable[[Array, Array], Array],
) -> tuple[Array, Array, nnx.State]:
    r"""Truncated BPTT of the mean per-step loss, with one window's intermediates alive at a time.

    $$
    L = \frac{1}{T} \sum_{t<T} \mathrm{step\_loss}(O_t, y)
    $$

    The run is cut into windows of ``window`` steps (the last may be shorter). Each window is
    differentiated on its own from the neuron state the previous one ended in, held fixed
    (no gradient flows across a window boundary), and the parameter gradients are summed. With
    ``window >= T`` this is BPTT of ``L``. What ``train.gradient = "tbptt"`` runs.

    Args:
        model: an NNX model that `spikejax.run` streams (its state from `spikejax.init_state`).
        xs: time-major inputs ``[T, B, ...]``.
        y: the labels ``step_loss`` takes.
        window: steps per window, an int >= 1.
        step_loss: ``step_loss(O_t, y) -> scalar``, e.g. `spikejax.online.ce_step`.

    Returns:
        ``(loss, outputs, grads)``: ``L``, the outputs ``[T, B, ...]`` and the gradients with
        the structure of ``nnx.state(model, nnx.Param)``.

    Raises:
        ValueError: ``window`` not an int >= 1.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> import spikejax as sj
        >>> model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
        >>> xs = jnp.ones((12, 2, 64))
        >>> y = jnp.array([1, 2])
        >>> loss, out, grads = sj.train.truncated_bptt(model, xs, y, 5, sj.online.ce_step)
        >>> out.shape
        (12, 2, 10)
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"`truncated_bptt`: `window` must be an int >= 1; got {window!r}.")
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    steps = xs.shape[0]

    def window_loss(params, state, chunk):
        out, state = run(nnx.merge(graphdef, params, rest), chunk, state)
        total = jnp.sum(jax.vmap(lambda o: step_loss(o, y))(out))
        return total / steps, (out, state)

    grad = jax.value_and_grad(window_loss, has_aux=True)

    def body(carry, chunk):
        state, grads, total = carry
        (loss, (out, state)), g = grad(params, jax.lax.stop_gradient(state), chunk)
        grads = jax.tree_util.tree_map(jnp.add, grads, g)
        return (state, grads, total + loss), out

    state = init_state(model, tuple(xs.shape[1:]), xs.dtype)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    full = (steps // window) * window
    carry = (state, zeros, jnp.zeros((), xs.dtype))
    outputs = []
    if full:
        chunks = xs[:full].reshape(full // window, window, *xs.shape[1:])
        carry, out = jax.lax.scan(body, carry, chunks)
        outputs.append(out.reshape(full, *out.shape[2:]))
    if full < steps:
        carry, out = body(carry, xs[full:])
        outputs.append(out)
    _, grads, total = carry
    return total, jnp.concatenate(outputs) if len(outputs) > 1 else outputs[0], grads
