"""Streaming on the chip emulators: ``init_state(chip_model, batch_shape)`` and
``run(chip_model, chunk, state) -> (outputs, state, stats)``, as `spikejax.init_state` and
`spikejax.run` for float models.

The state is an explicit pytree of int32 arrays, ``{"layer_k": {leaf: [*batch, n]}}``: every
neuron's registers and the one-step synaptic delay between layers (`state_shapes`), so a
sequence run in chunks equals one `spikejax.chip.emulate` bit for bit. The arithmetic is that
of `emulate` (the same batched layers of `spikejax.chip.loihi.layer` and
`spikejax.chip.xylo.layer`), started from the given state instead of rest.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax.chip._checks import check_like
from spikejax.chip._emulate import (
    check_inputs,
    check_saturation,
    chip_params,
    layer_configs,
    state_shapes,
    stream_layers,
)
from spikejax.chip._model import ChipModel

__all__ = ["check_state", "init_state", "run"]

ChipState = dict[str, dict[str, Int[Array, "*batch n"]]]


def _check_model(fn: str, chip_model: Any) -> None:
    if not isinstance(chip_model, ChipModel):
        raise TypeError(
            f"`{fn}`: `chip_model` must be a ChipModel; got {type(chip_model).__name__}."
        )


def init_state(chip_model: ChipModel, batch_shape: tuple[int, ...]) -> ChipState:
    """The resting state of a quantized network for inputs whose time steps have
    ``batch_shape``.

    Args:
        chip_model: from `spikejax.chip.quantize`.
        batch_shape: the shape of one time step of the input, ``(*batch, *input_shape)`` (the
            input's shape without its time axis, as for `spikejax.init_state`).

    Returns:
        ``{"layer_k": {leaf: int32 zeros (*batch, n)}}``, the leaves of `state_shapes`: Loihi
        ``u``, ``v``, ``s`` (last spikes) and ``pending`` (the synaptic delay register: the
        events that reached the layer in the last step, delivered in the next); Xylo ``isyn``,
        ``vmem`` and, after the first layer, ``pending``.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from spikejax import chip
        >>> from spikejax.models import LIFMLP
        >>> cm = chip.quantize(LIFMLP(16, (8,), 4, rngs=nnx.Rngs(0)), "loihi")
        >>> x = (np.random.default_rng(0).random((20, 3, 16)) < 0.3).astype(np.int32)
        >>> state = chip.init_state(cm, x.shape[1:])
        >>> {k: v["u"].shape for k, v in state.items()}
        {'layer_0': (3, 8), 'layer_1': (3, 4)}
        >>> a, state, _ = chip.run(cm, x[:7], state)     # the stream in two chunks ...
        >>> b, state, _ = chip.run(cm, x[7:], state)
        >>> bool(np.array_equal(np.concatenate([a, b]), chip.emulate(cm, x)[0]))  # ... = one run
        True
    """
    fn = "chip.init_state"
    _check_model(fn, chip_model)
    batch = _batch(fn, chip_model, batch_shape)
    return {
        layer: {name: jnp.zeros((*batch, n), jnp.int32) for name, n in leaves.items()}
        for layer, leaves in state_shapes(chip_model.chip, chip_model.sizes).items()
    }


def _batch(fn: str, chip_model: ChipModel, batch_shape: Any) -> tuple[int, ...]:
    shape = chip_model.input_shape
    want = f"(*batch, {', '.join(map(str, shape))})"
    try:
        dims = tuple(batch_shape)
    except TypeError:
        dims = None
    k = len(shape)
    if (
        dims is None
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims)
        or len(dims) < k
        or dims[len(dims) - k :] != tuple(shape)
    ):
        raise ValueError(
            f"`{fn}`: `batch_shape` must be the shape of one time step of the input {want} of "
            f"positive ints; got {batch_shape!r}."
        )
    return dims[: len(dims) - k]


def check_state(fn: str, chip_model: ChipModel, state: Any, batch: tuple[int, ...]) -> None:
    """``state`` must have the layers, leaves, shapes ``(*batch, n)`` and int32 dtype of
    `init_state` for this chip model and batch; otherwise ``ValueError`` naming the leaf and
    both shapes."""
    layout = state_shapes(chip_model.chip, chip_model.sizes)
    hint = "build it with spikejax.chip.init_state(chip_model, inputs.shape[1:])"
    if not isinstance(state, dict) or set(state) != set(layout):
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"`{fn}`: `state` must be a dict with the layers {sorted(layout)} of this "
            f"{chip_model.chip} network; got {got}; {hint}."
        )
    for layer, leaves in layout.items():
        entry = state[layer]
        if not isinstance(entry, dict) or set(entry) != set(leaves):
            got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ValueError(
                f"`{fn}`: `state['{layer}']` must hold the leaves {sorted(leaves)}; got {got}; "
                f"{hint}."
            )
    want = {
        layer: {name: jax.ShapeDtypeStruct((*batch, n), jnp.int32) for name, n in leaves.items()}
        for layer, leaves in layout.items()
    }
    check_like(fn, "state", state, want, hint)


def run(
    chip_model: ChipModel,
    inputs: Any,
    state: ChipState,
    *,
    throw: bool = False,
    exact: bool = False,
) -> tuple[Int[Array, "time *batch n_out"], ChipState, dict[str, dict[str, Int[Array, ""]]]]:
    """Run a quantized network on the chunk ``inputs`` from ``state``.

    Chunks of a sequence run one after another, each from the state the previous one returned
    (the first from `init_state`), equal one `spikejax.chip.emulate` of the whole sequence bit
    for bit, outputs and state alike, and their counts add up to the counts of that run:
    ``emulate(cm, x)`` is ``run(cm, x, init_state(cm, x.shape[1:]))`` without the state.

    Args:
        chip_model: from `spikejax.chip.quantize`.
        inputs: a chunk of time-major events ``[T_chunk >= 1, *batch, *input_shape]``, as for
            `spikejax.chip.emulate`.
        state: from `init_state` or a previous ``run``, for the same batch.
        throw: raise `spikejax.chip.ChipSaturationError` when a count of this chunk is non-zero.
        exact: Xylo only: the ordered accumulation at every step (as in ``emulate``).

    Returns:
        ``(outputs, state, stats)``: the outputs ``[T_chunk, *batch, n_out]`` and the state
        after the last step (`spikejax.run`'s pair), and ``emulate``'s per-layer int32 counts
        over this chunk.

    Raises:
        ValueError: inputs as in ``emulate`` (a chunk of zero steps included); a state of
            another network or batch (naming the leaf and both shapes).
    """
    fn = "chip.run"
    _check_model(fn, chip_model)
    x = check_inputs(fn, chip_model, inputs)
    batch = tuple(x.shape[1:-1])
    check_state(fn, chip_model, state, batch)
    flat = x.reshape((x.shape[0], -1, x.shape[-1]))
    n = flat.shape[1]
    carried = jax.tree.map(lambda a: jnp.reshape(a, (n, a.shape[-1])), state)
    out, stats, final = stream_layers(
        chip_model.chip, layer_configs(chip_model, exact), chip_params(chip_model), flat, carried
    )
    out = out.reshape((*x.shape[:-1], out.shape[-1]))
    final = jax.tree.map(lambda a: jnp.reshape(a, (*batch, a.shape[-1])), final)
    if throw:
        check_saturation(fn, stats)
    return out, final, stats
