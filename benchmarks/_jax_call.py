"""The timed call of the JAX frameworks (spikejax, Spyx): the same jit-compiled step for both.

``loss_fn(params, *data) -> (loss, aux)``. Modes: ``fwd`` (the loss), ``lif_layer`` step (loss and
``dL/dparams``, nothing persists between calls, nothing donated), other steps (forward, backward,
``optax.adam(lr)`` update, parameters and optimizer state donated and carried between calls).
Compiled ahead of time; the compile time is returned separately.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax
from _harness import Timer

__all__ = ["compiled_call"]


def compiled_call(
    loss_fn: Callable, params: Any, data: list, *, mode: str, workload: str, lr: float
) -> tuple[Callable[[], Any], Any, float]:
    """``(call, compiled, compile_seconds)``: ``call()`` runs the compiled step once and returns
    its loss; ``compiled`` is XLA's executable (for its cost and memory analyses)."""
    if mode == "fwd":

        def fwd(params, *data):
            return loss_fn(params, *data)[0]

        with Timer() as compile_timer:
            compiled = jax.jit(fwd).lower(params, *data).compile()

        def call():
            return compiled(params, *data).block_until_ready()

    elif workload == "lif_layer":

        def grad_step(params, *data):
            (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *data)
            return loss, grads

        with Timer() as compile_timer:
            compiled = jax.jit(grad_step).lower(params, *data).compile()

        def call():
            return jax.block_until_ready(compiled(params, *data))[0]

    else:
        optimizer = optax.adam(lr)
        opt_state = optimizer.init(params)

        def train_step(params, opt_state, *data):
            (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *data)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        with Timer() as compile_timer:
            jitted = jax.jit(train_step, donate_argnums=(0, 1))
            compiled = jitted.lower(params, opt_state, *data).compile()
        state = {"params": params, "opt_state": opt_state}

        def call():
            state["params"], state["opt_state"], loss = compiled(
                state["params"], state["opt_state"], *data
            )
            return loss.block_until_ready()

    return call, compiled, compile_timer.seconds
