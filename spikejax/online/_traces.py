"""The per-layer pieces of the online methods: e-prop's eligibility traces and readout filter,
OTTT's presynaptic-trace decay (`spikejax.online.OnlineGradient` combines them)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax.online._chain import Chain, modules_by_path

__all__ = ["eligibility", "layer_leak", "readout_filter"]


def eligibility(neuron, state, current, x, eps, output=False):
    r"""``ε_t[s'] = Σ_s J^{hh}[s', s] ε_{t-1}[s] + J^{hI}[s'] ⊗ [x_t, 1]`` for element-wise
    neurons: one reverse pass per state variable gives that variable's Jacobian row for every
    neuron at once (no neuron depends on another). With ``output``, also the eligibility trace
    of the step's output ``z_t``, ``e_t = Σ_s J^{zh}[s] ε_{t-1}[s] + J^{zI} ⊗ [x_t, 1]``:
    ``(ε_t, e_t)``."""
    (new_state, out), vjp = jax.vjp(neuron.step, state, current)
    leaves, treedef = jax.tree_util.tree_flatten(new_state)
    x1 = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)

    def row(state_cotangent, out_cotangent):
        j_h, j_i = vjp((jax.tree_util.tree_unflatten(treedef, state_cotangent), out_cotangent))
        j_h = [v.reshape(v.shape[0], -1) for v in jax.tree_util.tree_leaves(j_h)]
        j_i = j_i.reshape(j_i.shape[0], -1)
        r = sum(jh[:, :, None] * e for jh, e in zip(j_h, eps, strict=True))
        return r + j_i[:, :, None] * x1[:, None, :]

    zeros = [jnp.zeros_like(v) for v in leaves]
    new_eps = tuple(
        row(
            [jnp.ones_like(v) if j == k else zeros[j] for j, v in enumerate(leaves)],
            jnp.zeros_like(out),
        )
        for k in range(len(leaves))
    )
    if not output:
        return new_eps
    return new_eps, row(zeros, jnp.ones_like(out))


def readout_filter(fn: str, chain: Chain, model: nnx.Module) -> tuple[float | None, dict]:
    """e-prop's readout filter: ``κ`` of a chain that ends in an ``LI`` readout, and the linear
    layers (by path, with the hidden neuron layer each feeds) whose traces it filters."""
    from spikejax.neurons import LI

    last = chain.links[-1]
    modules = modules_by_path(model)
    if last.kind != "neuron" or not isinstance(modules[last.path].neuron, LI):
        return None, {}
    layer = modules[last.path]
    beta = np.asarray(layer.neuron.beta)
    if beta.size == 0 or not np.all(beta == beta.flat[0]):
        raise ValueError(
            f"`{fn}`: e-prop filters the learning signal with the leak κ of readout layer "
            f"`{last.path}` (LI), which must be one value for all its neurons; its β goes from "
            f"{beta.min()} to {beta.max()}."
        )
    if "beta" in layer.trainable:
        raise ValueError(
            f"`{fn}`: e-prop filters the learning signal with the leak κ of readout layer "
            f"`{last.path}` (LI), which must stay fixed; this layer trains β (build it with "
            "trainable=() or train it with 'bptt')."
        )
    filtered = {
        link.path: link.feeds_neuron
        for link in chain.links
        if link.kind == "linear"
        and link.feeds_neuron is not None
        and link.feeds_neuron != last.path
    }
    return float(beta.flat[0]), filtered


def layer_leak(fn: str, path: str, layer) -> float:
    """A neuron layer's uniform membrane decay, for OTTT's presynaptic trace."""
    from spikejax.neurons import IF, LI, LIF

    neuron = layer.neuron
    if isinstance(neuron, IF):
        return 1.0
    if not isinstance(neuron, LIF | LI):
        raise ValueError(
            f"`{fn}`: layer `{path}` ({type(neuron).__name__}) has no single membrane decay for "
            "OTTT's presynaptic trace (LIF, LI and IF have one); pass `decay` or use 'eprop'."
        )
    beta = np.asarray(neuron.beta)
    if beta.size == 0 or not np.all(beta == beta.flat[0]):
        raise ValueError(
            f"`{fn}`: layer `{path}` ({type(neuron).__name__}) has a per-neuron decay β (from "
            f"{beta.min()} to {beta.max()}); OTTT's presynaptic trace needs one decay per layer: "
            "pass `decay`."
        )
    return float(beta.flat[0])
