"""The spiking network a conversion returns: ordinary spikejax layers run in the ANN's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

__all__ = ["ConvertedSNN", "Step"]

#: One step of the program: ``(op, output name, input names, argument)``. ``op`` is ``"layer"``
#: (the module ``layers[argument]``), ``"scale"`` (multiply by the constant ``argument``),
#: ``"add"``, or ``"reshape"`` (to per-sample features ``argument``).
Step = tuple[str, str, tuple[str, ...], Any]


class ConvertedSNN(nnx.Module):
    """A spiking network converted from an ANN (see `spikejax.convert.ann_to_snn`).

    Its layers are ordinary spikejax layers — ``TimeFolded(nnx.Linear | nnx.Conv | pooling)``,
    ``Spiking(IF)`` and a ``Spiking(LI(beta=1))`` readout that accumulates the last layer's
    input — held in ``layers`` and run in the order of ``program``: the graph of the ANN, with
    residual additions and the constant rescalings they need. It traces to a network graph,
    trains, estimates energy and deploys like any other model.

    Called on a static batch ``[B, *input_shape]`` (repeated for ``T`` steps: direct encoding)
    or a time-major ``[T', B, *input_shape]``, it returns the readout membrane ``[T, B, K]``:
    the running sum of the last layer's input, so ``out[t] / (t + 1)`` estimates the ANN's
    output after ``t + 1`` steps and ``argmax out[t]`` is its prediction.

    Attributes:
        layers: the modules, in program order.
        program: static steps (see `Step`).
        T: time steps for a static input.
        input_shape: the ANN's per-sample input shape.
    """

    def __init__(
        self, layers: Sequence[nnx.Module], program: Sequence[Step], *, T: int, input_shape
    ):
        self.layers = nnx.List(list(layers))
        self.program = tuple(program)
        self.T = int(T)
        self.input_shape = tuple(int(d) for d in input_shape)

    def __call__(self, x: Float[Array, "..."]) -> Float[Array, "time batch classes"]:
        n = len(self.input_shape)
        if x.ndim == n + 1 and tuple(x.shape[1:]) == self.input_shape:
            x = jnp.broadcast_to(x[None], (self.T, *x.shape))
        elif x.ndim != n + 2 or tuple(x.shape[2:]) != self.input_shape:
            sample = ", ".join(map(str, self.input_shape))
            raise ValueError(
                f"`ConvertedSNN`: `x` must be a static batch [B, {sample}] or time-major "
                f"[T, B, {sample}]; got {tuple(x.shape)}."
            )
        values = {"input": x}
        name = "input"
        for op, name, sources, argument in self.program:
            inputs = [values[s] for s in sources]
            if op == "layer":
                values[name] = self.layers[argument](inputs[0])
            elif op == "scale":
                values[name] = inputs[0] * jnp.asarray(argument, inputs[0].dtype)
            elif op == "add":
                values[name] = inputs[0] + inputs[1]
            else:  # reshape to per-sample features, keeping [T, B]
                values[name] = inputs[0].reshape((*inputs[0].shape[:2], *argument))
        return values[name]
