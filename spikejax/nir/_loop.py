"""A cycle of a NIR graph run step by step: the members of one strongly connected component,
with every back edge reading the previous step's value."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax.neurons import AbstractNeuron, Reset, fire, like, static
from spikejax.surrogate import ATan

__all__ = ["STATELESS", "Loop", "LoopState", "apply_stateless"]

#: The stateless node types that may sit inside a cycle.
STATELESS = ("Affine", "Linear", "Scale", "Threshold")


class LoopState(NamedTuple):
    """State of `Loop`. ``neurons``: each member neuron's state by name; ``previous``: the
    previous step's output of every member that a back edge reads (zeros at the start)."""

    neurons: dict[str, Any]
    previous: dict[str, Float[Array, "..."]]


def apply_stateless(kind: str, params: dict[str, Array], x: Float[Array, "..."]) -> Array:
    """One step of a stateless member: ``W x + b`` | ``W x`` | ``s ⊙ x`` | ``1[x > θ]``."""
    if kind in ("Affine", "Linear"):
        y = x @ params["weight"].astype(x.dtype).T
        return y + like(params["bias"], y) if kind == "Affine" else y
    if kind == "Scale":
        return x * like(params["scale"], x)
    theta = jnp.broadcast_to(params["threshold"].astype(x.dtype), x.shape)
    return fire(x, theta, Reset.NONE, ATan(), True, strict=True)[1]


class Loop(AbstractNeuron):
    r"""The members of a cycle of a NIR graph, advanced together one step at a time.

    One step: the members run in ``plan`` order; a member's input is the sum of its sources'
    outputs, where a forward edge reads this step's output and a back edge (one that closes a
    cycle) reads the previous step's, zero at the first step; the ``entry`` member also receives
    the loop's input ``x``. The output is the ``exit`` member's output. So the recurrent network
    ``s_t = LIF(W_in x_t + W_rec s_{t-1} + b)`` is the loop ``LIF → Affine(W_rec, b) → LIF`` whose
    back edge is ``Affine → LIF``.

    Args:
        nodes: each member's neuron (spikejax neurons and `Delay`) or the
            arrays of a stateless member (``{"weight": ..., "bias": ...}``; see
            `STATELESS`).
        plan: ``((name, type, ((source, back), ...)), ...)`` in step order.
        entry, exit: the members receiving the input and giving the output.
        shapes: ``((name, feature shape), ...)`` of every member's output.
    """

    spiking = False

    nodes: dict[str, Any]
    plan: tuple = static(())
    entry: str = static("")
    exit: str = static("")
    shapes: tuple = static(())

    @property
    def trainable(self) -> tuple[str, ...]:
        """The weights of stateless members and every member neuron's trainable leaves."""
        names = []
        for name, kind, _ in self.plan:
            node = self.nodes[name]
            if isinstance(node, AbstractNeuron):
                names += [f"nodes.{name}.{leaf}" for leaf in type(node).trainable]
            elif kind != "Threshold":
                names += [f"nodes.{name}.{key}" for key in sorted(node)]
        return tuple(names)

    def _batch(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        entry = dict(self.shapes)[self.entry]
        kind = dict((n, k) for n, k, _ in self.plan)[self.entry]
        if kind in ("Affine", "Linear"):
            entry = (*entry[:-1], self.nodes[self.entry]["weight"].shape[1])
        return tuple(shape[: len(shape) - len(entry)])

    def init_state(self, shape: tuple[int, ...], dtype: Any = jnp.float32) -> LoopState:
        batch = self._batch(tuple(shape))
        shapes = dict(self.shapes)
        neurons = {
            name: self.nodes[name].init_state((*batch, *shapes[name]), dtype)
            for name, _, _ in self.plan
            if isinstance(self.nodes[name], AbstractNeuron)
        }
        backs = sorted({src for _, _, sources in self.plan for src, back in sources if back})
        previous = {src: jnp.zeros((*batch, *shapes[src]), dtype) for src in backs}
        return LoopState(neurons, previous)

    def step(
        self, state: LoopState, x: Float[Array, "..."]
    ) -> tuple[LoopState, Float[Array, "..."]]:
        values: dict[str, Array] = {}
        neurons = dict(state.neurons)
        for name, kind, sources in self.plan:
            parts = [state.previous[src] if back else values[src] for src, back in sources]
            if name == self.entry:
                parts.append(x)
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            node = self.nodes[name]
            if isinstance(node, AbstractNeuron):
                neurons[name], values[name] = node.step(state.neurons[name], total)
            else:
                values[name] = apply_stateless(kind, node, total)
        previous = {src: values[src] for src in state.previous}
        return LoopState(neurons, previous), values[self.exit]
