"""Time-major, time-folded or static: the layout of every tensor a traced model computes.

Spiking models hold a tensor as ``[T, B, ...]`` (time-major), ``[T·B, ...]`` (folded for a
stateless layer) or ``[B, ...]`` (no time axis). A shape alone can be ambiguous (with ``B = 1``,
``[T, 1, C]`` and ``[T·1, C]``), so a new tensor takes the layout of the tensor it was computed
from whenever its shape allows, and a reshape that merges or splits exactly ``T`` and ``B`` is a
fold or an unfold.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Layouts"]


class Layouts:
    """Layout bookkeeping of a `Walk`: ``T``, ``B`` and the layout of
    each jaxpr variable (``self.lay``), set by the walk."""

    T: int | None
    B: int
    lay: dict[Any, str]

    def candidates(self, shape: tuple[int, ...]) -> tuple[str, ...]:
        """The layouts a shape can have: ``"tb"`` ([T, B, ...]), ``"folded"`` ([T·B, ...]),
        ``"b"`` ([B, ...], no time axis); ``("?",)`` when none fits."""
        T, B = self.T, self.B
        found = []
        if T is not None and len(shape) >= 2 and tuple(shape[:2]) == (T, B):
            found.append("tb")
        if T is not None and shape and shape[0] == T * B:
            found.append("folded")
        if shape and shape[0] == B:
            found.append("b")
        return tuple(found) or ("?",)

    def infer(self, shape: tuple[int, ...], like: str | None) -> str:
        """The layout of a new tensor: that of its input (``like``) when the shape allows it
        (which settles a batch of 1, where [T, 1, ...] and [T·1, ...] look alike)."""
        options = self.candidates(shape)
        return like if like in options else options[0]

    def layout_of(self, var: Any) -> str:
        return self.lay.get(var) or self.candidates(tuple(var.aval.shape))[0]

    def unfolded(self, var: Any) -> tuple[int, ...]:
        """A time-folded ``[T·B, ...]`` tensor's shape as ``[T, B, ...]``; others unchanged."""
        shape = tuple(int(d) for d in var.aval.shape)
        if self.layout_of(var) == "folded":
            return (self.T, self.B, *shape[1:])
        return shape

    def features(self, var: Any) -> tuple[int, ...]:
        shape = tuple(var.aval.shape)
        lay = self.layout_of(var)
        return tuple(shape[2:] if lay == "tb" else shape[1:] if lay in ("folded", "b") else shape)

    def _propagate(self, eqn: Any, derived: list) -> None:
        """Layouts of an operation's outputs, from its first activation input."""
        src = derived[0]
        like = self.layout_of(src)
        shape_in = tuple(src.aval.shape)
        for out in eqn.outvars:
            shape = tuple(out.aval.shape)
            if eqn.primitive.name == "reshape" and self._folds(shape_in, shape):
                self.lay[out] = "folded"
            elif eqn.primitive.name == "reshape" and self._folds(shape, shape_in):
                self.lay[out] = "tb"
            else:
                self.lay[out] = self.infer(shape, like)

    def _folds(self, tb: tuple[int, ...], folded: tuple[int, ...]) -> bool:
        """``folded`` is ``tb`` = [T, B, *rest] with time and batch merged."""
        T, B = self.T, self.B
        return (
            T is not None
            and len(tb) >= 2
            and tuple(tb[:2]) == (T, B)
            and tuple(folded) == (T * B, *tb[2:])
        )
