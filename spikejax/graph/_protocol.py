"""The public way for a user-defined layer to appear in the network graph."""

from __future__ import annotations

from flax import nnx

from spikejax.graph._nodes import NodeSpec

__all__ = ["AbstractNode"]


class AbstractNode(nnx.Module):
    """Base for an NNX layer that declares its own node in `spikejax.graph.trace`.

    The tracer knows ``nnx.Linear``, ``nnx.Conv``, normalisation and dropout layers, every
    `spikejax.layers` layer, pooling, reshapes and residual joins. A module of any other class
    is a container: its children become nodes and the operations of its own code are classified
    one by one. When its own code does something that is none of those (a matrix product with its
    own weights, an attention product), subclass ``AbstractNode`` and implement
    `graph_node`: the operations of the module's own code then form one node of the declared
    kind, whose inputs are the tensors its code receives from outside, and whose MACs are counted
    from the products and convolutions it executes (or given by the declaration). Child modules
    stay nodes of their own.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> from flax import nnx
        >>> class Bilinear(sj.graph.AbstractNode):
        ...     def __init__(self, n, *, rngs):
        ...         self.w = nnx.Param(jnp.ones((n, n)))
        ...     def __call__(self, x):                       # x W xᵀ per sample
        ...         return jnp.einsum("bi,ij,bj->b", x, self.w[...], x)
        ...     def graph_node(self):
        ...         return sj.graph.NodeSpec("op", {"form": "bilinear"})
        >>> graph = sj.graph.trace(Bilinear(4, rngs=nnx.Rngs(0)), jnp.ones((3, 4)))
        >>> [(n.name, n.kind, n.params, n.macs) for n in graph]
        [('<root>', 'op', 16, 20)]
    """

    def graph_node(self) -> NodeSpec:
        """The node this module's own operations form: its kind, attributes and optionally MACs."""
        raise NotImplementedError(
            f"`{type(self).__name__}.graph_node`: a subclass of spikejax.graph.AbstractNode must "
            "return a spikejax.graph.NodeSpec."
        )
