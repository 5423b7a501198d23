"""Which numbers of a model evolve, and the flat genome vector that holds them.

A `Genome` splits ``nnx.state(model)`` once into the chosen leaves (flattened into one
vector, in a fixed order) and everything else; ``model_of(vector)`` rebuilds the model with the
vector's values, so a population ``[P, D]`` becomes ``P`` models under ``vmap``. With ``mask``,
the genome also carries one real number per weight of every chosen kernel; the connection is
present where that number is positive (``kernel · [m > 0]``), so a strategy evolves the binary
connectivity together with the weights.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float

from spikejax.graph import path_str

__all__ = ["Genome", "select"]


def _leaf_path(path: Any) -> str:
    text = path_str(path)
    return text[: -len(".value")] if text.endswith(".value") else text


def _candidates(model: nnx.Module) -> dict[str, Any]:
    """Every floating leaf of ``nnx.state(model)`` that is not a random state, by path."""
    out = {}
    for path, var in jax.tree_util.tree_leaves_with_path(
        nnx.state(model), is_leaf=lambda x: isinstance(x, nnx.Variable)
    ):
        if isinstance(var, nnx.RngState) or not isinstance(var, nnx.Variable):
            continue
        value = var[...]
        if jnp.issubdtype(value.dtype, jnp.floating):
            out[_leaf_path(path)] = var
    return out


def select(
    model: nnx.Module, params: Sequence[str] | Callable[[str, Any], bool] | None = None
) -> tuple[str, ...]:
    """Paths of the leaves of ``model`` that ``params`` chooses, in state order.

    Args:
        model: the model.
        params: ``None``: every trainable parameter (``nnx.Param``); a sequence of glob patterns
            over dotted paths (``"*.threshold"`` for every threshold, ``"blocks.0.*"``, an exact
            path), matched against every floating leaf of ``nnx.state(model)`` (fixed neuron
            parameters too: evolution needs no gradient); or ``filter(path, variable) -> bool``.

    Raises:
        ValueError: the choice is empty (the message lists the leaves there are).

    Example:
        >>> import spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(8,))
        >>> sj.evolve.select(net, ["*.threshold"])
        ('blocks.0.sn.params.threshold',)
    """
    fn = "evolve.select"
    candidates = _candidates(model)
    if params is None:
        chosen = [p for p, v in candidates.items() if isinstance(v, nnx.Param)]
    elif callable(params):
        chosen = [p for p, v in candidates.items() if params(p, v)]
    elif isinstance(params, str) or not isinstance(params, Sequence):
        raise TypeError(
            f"`{fn}`: `params` must be None, a sequence of path patterns or a filter function; "
            f"got {params!r}."
        )
    else:
        chosen = [p for p in candidates if any(fnmatch.fnmatchcase(p, pat) for pat in params)]
    if not chosen:
        raise ValueError(
            f"`{fn}`: `params` must choose at least one floating leaf of the model; {params!r} "
            f"chose none. The leaves are: {', '.join(candidates)}."
        )
    return tuple(chosen)


class Genome:
    """The chosen leaves of a model as one flat vector (module docstring).

    Args:
        model: the model (its current values are the genome's starting point).
        params: see `select`.
        mask: evolve a connectivity mask for every chosen leaf named ``*.kernel``.
        mask_init: the starting value of every mask gene (positive: connected).

    Attributes:
        paths: the chosen leaves, in genome order.
        masked: the kernels that carry a mask.
        size: the genome's length ``D``.
    """

    def __init__(
        self,
        model: nnx.Module,
        params: Sequence[str] | Callable[[str, Any], bool] | None = None,
        *,
        mask: bool = False,
        mask_init: float = 1.0,
    ):
        self.paths = select(model, params)
        self.masked = tuple(p for p in self.paths if p.endswith(".kernel")) if mask else ()
        if mask and not self.masked:
            raise ValueError(
                f"`Genome`: `mask=True` needs a chosen kernel (a leaf named *.kernel); the chosen "
                f"leaves are {self.paths}."
            )
        if not math.isfinite(mask_init) or mask_init <= 0:
            raise ValueError(f"`Genome`: `mask_init` must be a finite number > 0; got {mask_init}.")
        self.graphdef, state = nnx.split(model)
        self.state = state
        leaves = _candidates(model)
        self.shapes = {p: tuple(leaves[p][...].shape) for p in self.paths}
        self.dtypes = {p: leaves[p][...].dtype for p in self.paths}
        self.sizes = {p: int(np.prod(s)) for p, s in self.shapes.items()}
        weights = [jnp.ravel(leaves[p][...]).astype(jnp.float32) for p in self.paths]
        genes = [jnp.full((self.sizes[p],), mask_init, jnp.float32) for p in self.masked]
        self.initial = jnp.concatenate(weights + genes)
        self.size = int(self.initial.shape[0])

    def split(self, vector: Float[Array, " D"]) -> tuple[dict[str, Array], dict[str, Array]]:
        """``({path: leaf}, {kernel path: mask genes})`` of a genome vector."""
        values, masks, start = {}, {}, 0
        for p in self.paths:
            chunk = vector[start : start + self.sizes[p]]
            values[p] = chunk.reshape(self.shapes[p]).astype(self.dtypes[p])
            start += self.sizes[p]
        for p in self.masked:
            masks[p] = vector[start : start + self.sizes[p]].reshape(self.shapes[p])
            start += self.sizes[p]
        return values, masks

    def leaves(self, vector: Float[Array, " D"]) -> dict[str, Array]:
        """The chosen leaves as the model sees them (masked kernels multiplied by their mask)."""
        values, masks = self.split(vector)
        for p, genes in masks.items():
            values[p] = values[p] * (genes > 0).astype(values[p].dtype)
        return values

    def model_of(self, vector: Float[Array, " D"]) -> nnx.Module:
        """A model with the genome's values in the chosen leaves and the rest unchanged."""
        values = self.leaves(vector)

        def put(path, var):  # new variables: the model may be mutated inside a transformation
            name = _leaf_path(path)
            return var.replace(values[name] if name in values else var[...])

        state = jax.tree_util.tree_map_with_path(
            put, self.state, is_leaf=lambda x: isinstance(x, nnx.Variable)
        )
        return nnx.merge(self.graphdef, state)

    def density(self, vector: Float[Array, " D"]) -> Array:
        """The share of present connections over the masked kernels (1 without a mask)."""
        _, masks = self.split(vector)
        if not masks:
            return jnp.ones((), jnp.float32)
        on = sum(jnp.sum(m > 0) for m in masks.values())
        return on.astype(jnp.float32) / sum(self.sizes[p] for p in self.masked)
