"""Dense MACs per layer and time step: from a zoo entry's configuration, or read from the traced
network graph (no weights, no data)."""

from __future__ import annotations

from typing import Any

from flax import nnx

from spikejax.graph import trace
from spikejax.models._registry import abstract_input, abstract_rngs, config_costs, create, info

__all__ = ["macs_per_step", "traced_macs_per_step"]


def macs_per_step(model_or_name: nnx.Module | str, **overrides: Any) -> dict[str, int]:
    """Multiply-accumulates of every synaptic layer for one sample and one time step.

    Convolutions ``C_in·C_out·k²·H_out·W_out/groups``, linear layers over ``N`` tokens
    ``N·in·out``, the two attention products of each SSA block (``2·N²·D`` for ``(Q Kᵀ) V``,
    ``2·N·d·D`` for ``Q (Kᵀ V)``, all heads) and the classifier ``C·K``; batch norm, neurons,
    pooling and residual additions are not counted. Keys are the names of the synaptic nodes of
    `spikejax.graph.trace` (the layers' paths), in call order. How often each layer runs
    (once or ``T`` times) is the caller's business (see ``info(name).first_layer``).

    For a zoo name the numbers follow from the entry's configuration by shape arithmetic (no model
    is built, nothing is traced: microseconds); for a built model they are read from its network
    graph (`traced_macs_per_step`). Both apply the counting rules of
    `spikejax.graph.costs`, and they agree exactly for every entry.

    Example:
        >>> from spikejax import models
        >>> macs = models.macs_per_step("sew_resnet18")
        >>> macs["conv1.conv"]                           # 3·64·7²·112·112
        118013952
    """
    if isinstance(model_or_name, nnx.Module):
        return traced_macs_per_step(model_or_name, **overrides)
    return dict(config_costs("macs_per_step", model_or_name, overrides).macs)


def traced_macs_per_step(model_or_name: nnx.Module | str, **overrides: Any) -> dict[str, int]:
    """`macs_per_step` read from the model's network graph (`spikejax.graph.trace`).

    The model is traced abstractly (shapes only); a name is built abstractly with its overrides
    first. Takes about a second for a large model on a CPU.

    Example:
        >>> from spikejax import models
        >>> from spikejax.models._macs import traced_macs_per_step
        >>> traced_macs_per_step("sew_7bnet_dvs128", width=2)["stem.conv"]    # 2·2·128·128
        65536
    """
    if isinstance(model_or_name, nnx.Module):
        if overrides:
            raise TypeError(
                "`macs_per_step`: overrides apply only to a model name; got a model and "
                f"{sorted(overrides)}."
            )
        model = model_or_name
    else:
        info(model_or_name, **overrides)  # named errors for unknown names and overrides
        model = nnx.eval_shape(lambda: create(model_or_name, rngs=abstract_rngs(), **overrides))
    # A batch size unlike T keeps time-major [T, B, ...] and folded [T·B, ...] apart.
    batch = next(b for b in (3, 5, 7) if b != getattr(model, "T", None))
    graph = trace(model, abstract_input(model, batch=batch))
    return {node.name: node.macs for node in graph.synaptic}
