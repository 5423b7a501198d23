"""Fine-tune a float MLP on its chip's exact forward (quantization-aware training, QAT).

`finetune` trains the float model's trainable leaves (``nnx.Param``: Linear kernels and
biases, and any neuron leaf the model trains) with Adam on the loss of the chip's outputs, through
`spikejax.chip.ste.chip_forward`: the forward is the integer emulator, the gradient that of
the float twins. It returns the fine-tuned network requantized with the formats it was trained
with, so that the chip reproduces the forward the training saw.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax.chip._emulate import encode_inputs
from spikejax.chip._graph import flat_state, path_str
from spikejax.chip._model import ChipModel
from spikejax.chip._quantize import requantize
from spikejax.chip.ste import chip_forward

__all__ = ["finetune", "latency", "reduce_time"]


def latency(chip_model: ChipModel) -> int:
    """Steps between an input and the readout's response: one per Dense on Loihi; on Xylo one per
    layer after the first."""
    return len(chip_model.layers) - (0 if chip_model.chip == "loihi" else 1)


def reduce_time(out: jax.Array, readout: str) -> jax.Array:
    """Class scores from outputs ``[T, *batch, K]``: ``"mean"``, ``"max"`` or ``"last"`` over
    time, or ``"count"`` (the sum)."""
    if readout == "max":
        return jnp.max(out, axis=0)
    if readout == "last":
        return out[-1]
    if readout == "count":
        return jnp.sum(out, axis=0)
    return jnp.mean(out, axis=0)


def finetune(
    chip_model: ChipModel,
    model: nnx.Module,
    x_train: Any,
    y_train: Any,
    *,
    readout: str = "mean",
    epochs: int = 3,
    lr: float = 5e-4,
    batch_size: int = 64,
    seed: int = 0,
) -> tuple[ChipModel, list[float]]:
    """Straight-through fine-tuning of ``model``'s trainable leaves on the chip's forward.

    Args:
        chip_model: the quantized ``model`` (its formats stay fixed).
        model: the float model (not modified).
        x_train: time-major float inputs ``[T, N, n_in]`` in ``[0, 1]`` (as the model takes them).
        y_train: labels ``[N]``.
        readout: time reduction of the outputs (`reduce_time`); the loss is the softmax
            cross-entropy of the reduced outputs of the steps aligned with the float network
            (the chip's `latency` steps later, the input followed by empty steps).
        epochs, lr, batch_size, seed: Adam training schedule and batch order.

    Returns:
        ``(requantized chip model, per-step losses)``; values the training pushed beyond a
        leaf's range are clipped (counted in ``report``), as the forward clipped them.
    """
    import optax

    state = nnx.state(model)
    flat = flat_state(state)
    trainable = set(flat_state(nnx.state(model, nnx.Param)))
    paths = [p for p, _ in chip_model.formats]
    folded = {p for p, f in chip_model.formats if f.name == "folded"}  # no chip parameter
    params = {
        p: jnp.asarray(flat[p], jnp.float32) for p in paths if p in trainable and p not in folded
    }
    fixed = {p: jnp.asarray(flat[p], jnp.float32) for p in paths if p not in params}
    lag = latency(chip_model)
    tx = optax.adam(lr)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
        def loss_fn(params):
            out = chip_forward({**params, **fixed}, chip_model, x)[lag:]
            logits = reduce_time(out, readout)
            return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))

        loss, grads = jax.value_and_grad(loss_fn)(params)
        # Optax mixes Python floats with integer step counts (Adam's bias correction), which
        # strict dtype promotion rejects: its update runs with the standard rules.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
        return params, opt_state, loss

    x_all, y_all = np.asarray(x_train, np.float32), np.asarray(y_train)
    batch = min(batch_size, x_all.shape[1])
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(x_all.shape[1])
        for start in range(0, len(order) - batch + 1, batch):
            idx = order[start : start + batch]
            xb = encode_inputs(chip_model, x_all[:, idx])
            xb = jnp.concatenate([xb, jnp.zeros((lag, *xb.shape[1:]), xb.dtype)])
            params, opt_state, loss = step(params, opt_state, xb, jnp.asarray(y_all[idx]))
            losses.append(float(loss))

    def put(path, leaf):
        name = path_str(path)
        if name not in params:
            return leaf
        return leaf.replace(jnp.asarray(params[name], jnp.asarray(leaf.get_value()).dtype))

    tuned = jax.tree_util.tree_map_with_path(
        put, state, is_leaf=lambda v: isinstance(v, nnx.Variable)
    )
    return requantize(tuned, chip_model, saturate=True), losses
