"""A quantized Loihi network step by step: every layer of one time step, then the next step.

The reference for `spikejax.chip.emulate` on any network that deploys (dense and
convolutional synapses, pooling relays, recurrent layers): one ``lax.scan`` over time whose body
runs every layer in the order of the traced Lava network (`spikejax.chip.loihi.step`),
each layer integrating the Dense buffers of the previous step and filling its buffer with this
step's presynaptic spikes::

    a_k    = synapse(pending_k, W_k) (+ shift(W_rec s_k[t-1], rec_exp))
    pending_k = s_{k-1}[t]                                   # s_0 = the input events
    (u_k, v_k, s_k[t]) = lif_update(u_k, v_k, a_k)

(``synapse(pending_k)`` is Lava's Dense buffer filled in the previous step), from the state of
`spikejax.chip.init_state` (``u``, ``v``, ``s``, ``pending`` per layer) or rest.

with the functions of `spikejax.chip.loihi.arithmetic` on int32 values, one step at a
time, the current decayed by its constant every step (no shortcut for ``du`` at its maximum).
The batched emulator instead runs each layer's synapses for many steps at once and scans only
the neuron updates; both must agree bit for bit.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Int

from spikejax.chip._emulate import check_inputs, chip_params, layer_configs
from spikejax.chip._model import ChipModel
from spikejax.chip._stream import check_state, init_state
from spikejax.chip.loihi.arithmetic import IntegerNumerics, lif_constants, lif_update, synapse

__all__ = ["run_stepwise"]


def run_stepwise(
    chip_model: ChipModel, inputs: Any, state: dict | None = None
) -> tuple[Int[Array, "time *batch n_out"], dict]:
    """The outputs of a quantized Loihi network (spikes, or an LI readout's membrane), computed
    step by step (see the module docstring), and the state after the last step; equal to
    ``spikejax.chip.run(chip_model, inputs, state)[:2]`` (from rest without ``state``: the
    outputs of ``emulate(chip_model, inputs)``).

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from spikejax import chip
        >>> from spikejax.chip.loihi.stepwise import run_stepwise
        >>> from spikejax.models import LIFMLP
        >>> cm = chip.quantize(LIFMLP(6, (5,), 3, rngs=nnx.Rngs(0)), "loihi")
        >>> x = (np.random.default_rng(0).random((12, 2, 6)) < 0.5).astype(np.int32)
        >>> bool(np.array_equal(run_stepwise(cm, x)[0], chip.emulate(cm, x)[0]))
        True
    """
    fn = "run_stepwise"
    if not isinstance(chip_model, ChipModel) or chip_model.chip != "loihi":
        raise TypeError(f"`{fn}`: `chip_model` must be a Loihi ChipModel; got {chip_model!r}.")
    x = check_inputs(fn, chip_model, inputs)
    batch = tuple(x.shape[1:-1])
    if state is None:
        state = init_state(chip_model, inputs.shape[1:])
    check_state(fn, chip_model, state, batch)
    flat = x.reshape((x.shape[0], -1, x.shape[-1]))
    n = flat.shape[1]
    carry = [
        tuple(jnp.reshape(state[f"layer_{k}"][leaf], (n, -1)) for leaf in _LEAVES)
        for k in range(len(chip_model.layers))
    ]
    out, final = _run(layer_configs(chip_model), chip_params(chip_model), flat, carry)
    final = {
        f"layer_{k}": {
            leaf: a.reshape((*batch, a.shape[-1])) for leaf, a in zip(_LEAVES, c, strict=True)
        }
        for k, c in enumerate(final)
    }
    return out.reshape((*x.shape[:-1], out.shape[-1])), final


_LEAVES = ("u", "v", "s", "pending")


@functools.partial(jax.jit, static_argnums=(0,))
def _run(configs: tuple, params: tuple, x: Int[Array, "time batch n_in"], carry: list):
    batch = x.shape[1]
    num = IntegerNumerics(configs[0].profile)
    consts = []
    for cfg, prm in zip(configs, params, strict=True):
        shape = (batch, prm["du"].shape[0])
        consts.append(
            lif_constants(
                cfg.profile, shape, prm["du"], prm["dv"], prm["vth"], prm["bias_mant"], cfg.bias_exp
            )
        )

    def step(state, x_t):
        new, pre = [], x_t
        for cfg, prm, c, (u, v, s_prev, pending) in zip(
            configs, params, consts, state, strict=True
        ):
            w = prm["weights"]
            a = synapse(
                pending, w, cfg.weight_exp, cfg.profile, max_count=cfg.max_count, conn=cfg.conn
            )
            if cfg.rec_exp is not None:
                a = a + synapse(s_prev, prm["rec_weights"], cfg.rec_exp, cfg.profile)
            u, v, s, _, _ = lif_update(num, c, u, v, a)
            new.append((u, v, s, pre.astype(jnp.int32)))
            pre = v if cfg.readout else s
        return new, pre

    final, out = jax.lax.scan(step, carry, x)
    return out, final
