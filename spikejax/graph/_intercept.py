"""Seeing module calls while a model is traced: every NNX module call opens a named scope.

During `spikejax.graph.trace` the ``__call__`` of every module class in the model is wrapped
so that each call runs inside ``jax.named_scope("sjcall<k>")``; the scope name travels with every
operation the call emits into the jaxpr, which is how operations are attributed to modules. The
wrappers pass straight through outside a trace (and in other threads), and are removed when the
last concurrent trace ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import re
import threading
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from spikejax.graph._protocol import AbstractNode

__all__ = ["Call", "Session", "argument_position", "call_indices", "intercept"]

_SCOPE = re.compile(r"sjcall(\d+)")
_ARG = re.compile(r"sjarg(\d+)_(\d+)")


def _mark(arg: Any, call: int, position: int) -> Any:
    """A declared node's array argument passed through a copy that names its position: the
    node's inputs are then listed in argument order (XLA removes the copy)."""
    if not isinstance(arg, jax.Array):
        return arg
    with jax.named_scope(f"sjarg{call}_{position}"):
        return jnp.copy(arg)


@dataclasses.dataclass
class Call:
    """One module call seen during a trace."""

    index: int
    module: nnx.Module
    path: str | None  # dotted path in the model; None for a module outside the model's tree
    parent: int | None
    in_shapes: tuple[tuple[int, ...] | None, ...]


class Session:
    """The calls of one trace, in call order, and which call an error was raised in."""

    def __init__(self, paths: dict[int, str]):
        self.paths = paths
        self.calls: list[Call] = []
        self.stack: list[int] = []
        self.failed_in: dict[int, int] = {}  # id(exception) -> innermost call index

    def run(self, module: nnx.Module, method: Any, args: tuple, kwargs: dict) -> Any:
        index = len(self.calls)
        parent = self.stack[-1] if self.stack else None
        shapes = tuple(tuple(a.shape) if hasattr(a, "shape") else None for a in args)
        self.calls.append(Call(index, module, self.paths.get(id(module)), parent, shapes))
        self.stack.append(index)
        try:
            with jax.named_scope(f"sjcall{index}"):
                if isinstance(module, AbstractNode):
                    args = tuple(_mark(a, index, i) for i, a in enumerate(args))
                return method(module, *args, **kwargs)
        except Exception as error:
            self.failed_in.setdefault(id(error), index)
            raise
        finally:
            self.stack.pop()

    def current(self) -> nnx.Module | None:
        return self.calls[self.stack[-1]].module if self.stack else None


_ACTIVE: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "spikejax_graph_session", default=None
)
_LOCK = threading.Lock()
_PATCHED: dict[type, tuple[Any, int]] = {}  # class -> (original __call__, users)


def _owner_of_call(cls: type) -> type | None:
    """The class in ``cls``'s MRO that defines ``__call__`` (the one to wrap)."""
    for klass in cls.__mro__:
        if "__call__" in vars(klass) and issubclass(klass, nnx.Module):
            return klass
    return None


def _wrapper(original: Any) -> Any:
    def __call__(self, *args, **kwargs):
        session = _ACTIVE.get()
        if session is None or session.current() is self:  # not tracing, or super().__call__
            return original(self, *args, **kwargs)
        return session.run(self, original, args, kwargs)

    __call__.__wrapped__ = original
    return __call__


@contextlib.contextmanager
def intercept(model: nnx.Module, paths: dict[int, str]) -> Iterator[Session]:
    """Wrap the calls of every module class in ``model`` while the context is open."""
    classes = {_owner_of_call(type(m)) for _, m in nnx.iter_modules(model)} - {None}
    with _LOCK:
        for cls in classes:
            original, users = _PATCHED.get(cls, (vars(cls)["__call__"], 0))
            if users == 0:
                cls.__call__ = _wrapper(original)
            _PATCHED[cls] = (original, users + 1)
    session = Session(paths)
    token = _ACTIVE.set(session)
    try:
        yield session
    finally:
        _ACTIVE.reset(token)
        with _LOCK:
            for cls in classes:
                original, users = _PATCHED[cls]
                if users == 1:
                    cls.__call__ = original
                    del _PATCHED[cls]
                else:
                    _PATCHED[cls] = (original, users - 1)


def call_indices(name_stack: Any) -> list[int]:
    """The module calls an operation was emitted in, outermost first."""
    return [int(k) for k in _SCOPE.findall(str(name_stack))]


def argument_position(name_stack: Any) -> int | None:
    """The argument position an operation marks (see `_mark`), if it is such a mark."""
    found = _ARG.findall(str(name_stack))
    return int(found[-1][1]) if found else None
