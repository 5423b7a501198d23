"""Dense MACs per layer and time step: from a zoo entry's configuration, or measured from a
recorded forward pass (no weights, no data)."""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from spikejax.models._record import record
from spikejax.models._registry import abstract_input, abstract_rngs, config_costs, create, info

__all__ = ["macs_per_step", "traced_macs_per_step"]


def macs_per_step(model_or_name: nnx.Module | str, **overrides: Any) -> dict[str, int]:
    """Multiply-accumulates of every synaptic layer for one sample and one time step.

    Convolutions ``C_in·C_out·k²·H_out·W_out/groups``, linear layers over ``N`` tokens
    ``N·in·out``, the two attention products of each SSA block (``2·N²·D`` for ``(Q Kᵀ) V``,
    ``2·N·d·D`` for ``Q (Kᵀ V)``, all heads) and the classifier ``C·K``; batch norm, neurons,
    pooling and residual additions are not counted. Keys are the layer paths of
    :func:`spikejax.models.record`, in forward order. How often each layer runs (once or ``T``
    times) is the caller's business (see ``info(name).first_layer``).

    For a zoo name the numbers follow from the entry's configuration by shape arithmetic (no model
    is built, nothing is traced: microseconds); for a built model they are measured from a forward
    pass traced abstractly (:func:`traced_macs_per_step`). The two agree exactly for every entry.

    Example:
        >>> from spikejax import models
        >>> macs = models.macs_per_step("sew_resnet18")
        >>> macs["conv1"]                                # 3·64·7²·112·112
        118013952
    """
    if isinstance(model_or_name, nnx.Module):
        return traced_macs_per_step(model_or_name, **overrides)
    return dict(config_costs("macs_per_step", model_or_name, overrides).macs)


def traced_macs_per_step(model_or_name: nnx.Module | str, **overrides: Any) -> dict[str, int]:
    """:func:`macs_per_step` measured from the model's own forward pass.

    The pass runs under ``jax.eval_shape`` (shapes only) with :func:`spikejax.models.record`,
    which collects the MACs each layer reports from the shapes it sees; a name is built with its
    overrides inside the trace. Takes about a second for a large model on a CPU.

    Example:
        >>> from spikejax import models
        >>> from spikejax.models._macs import traced_macs_per_step
        >>> traced_macs_per_step("sew_7bnet_dvs128", width=2)["stem"]     # 2·2·128·128
        65536
    """
    if isinstance(model_or_name, nnx.Module):
        if overrides:
            raise TypeError(
                "`macs_per_step`: overrides apply only to a model name; got a model and "
                f"{sorted(overrides)}."
            )
        graphdef, state = nnx.split(model_or_name)
        x = abstract_input(model_or_name)

        def run(state, x):
            return record(nnx.merge(graphdef, state), x)[1]

        recording = jax.eval_shape(run, state, x)
    else:
        info(model_or_name, **overrides)  # named errors for unknown names and overrides

        def run_named():
            model = create(model_or_name, rngs=abstract_rngs(), **overrides)
            return record(model, _zeros_input(model))[1]

        recording = jax.eval_shape(run_named)
    return dict(recording.macs)


def _zeros_input(model: nnx.Module) -> jax.Array:
    """Zeros of the shape of one sample of the model's input (traced inside eval_shape)."""
    spec = abstract_input(model)
    return jax.numpy.zeros(spec.shape, spec.dtype)
