"""Building a run's model: a zoo name, or a ``module:callable`` factory the user vouches for.

A run directory is data. Its ``config.json`` may name a factory ``"module:callable"`` (copied
from the Python config file that trained it), but reading a run never imports a module that the
file names: a factory is imported only from a configuration the user runs as code
(`fit` with a `Config` built in Python), or taken
from the user explicitly when a run is read (``load_run(run_dir, factory=...)``, the block of
`trusted_factory`, or ``--factory`` on the command line). The one exception is a model
class of the library itself (``"spikejax.<module>:<Class>"`` naming an ``nnx.Module`` subclass):
the installed package is code the user already runs, and nothing is imported from elsewhere.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flax import nnx

from spikejax.config import ModelConfig

__all__ = ["build_model", "import_factory", "library_model", "run_factory", "trusted_factory"]

_TRUSTED: contextvars.ContextVar[Callable[..., nnx.Module] | None] = contextvars.ContextVar(
    "spikejax_trusted_factory", default=None
)


def import_factory(name: str, *, fn: str = "import_factory") -> Callable[..., Any]:
    """Import the model factory ``"module:callable"`` and return it.

    Only for a name the user gives as code or on the command line: spikejax never calls it on a
    name read from a run directory (``spikejax eval --factory`` passes the user's own).

    Args:
        name: ``"module:callable"``, e.g. ``"spikejax.models:LIFMLP"``.
        fn: the function named in error messages.

    Raises:
        ValueError: ``name`` is not ``"module:callable"`` or cannot be imported.
        TypeError: what it names is not callable.

    Example:
        >>> from spikejax import train
        >>> train.import_factory("spikejax.models:LIFMLP").__name__
        'LIFMLP'
    """
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise ValueError(f"`{fn}`: a model factory must be 'module:callable'; got {name!r}.")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as error:
        raise ValueError(
            f"`{fn}`: `model.name` {name!r} must name an importable 'module:callable'; {error}."
        ) from error
    if not callable(factory):
        raise TypeError(f"`{fn}`: the factory {name!r} must be callable; got {factory!r}.")
    return factory


def library_model(name: str) -> type[nnx.Module] | None:
    """The model class that ``"spikejax.<module>:<Class>"`` names inside the installed package,
    or ``None`` (another package, no such class, or not an ``nnx.Module`` subclass)."""
    module_name, _, attr = name.partition(":")
    if module_name != "spikejax" and not module_name.startswith("spikejax."):
        return None
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, nnx.Module) else None


@contextlib.contextmanager
def trusted_factory(factory: Callable[..., nnx.Module]) -> Iterator[None]:
    """Within the block, reading a run whose ``config.json`` names a ``module:callable`` model
    factory builds the model with ``factory`` (e.g. around ``spikejax.chip.deploy``).

    Example:
        >>> from spikejax.models import LIFMLP
        >>> from spikejax.train import trusted_factory
        >>> with trusted_factory(LIFMLP):
        ...     pass
    """
    if not callable(factory):
        raise TypeError(f"`trusted_factory`: `factory` must be callable; got {factory!r}.")
    token = _TRUSTED.set(factory)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def run_factory(
    fn: str, config: ModelConfig, source: Path, factory: Callable[..., Any] | None
) -> Callable[..., Any] | None:
    """The factory that builds the model of a run read from ``source`` (its ``config.json``):
    ``None`` for a zoo name, else ``factory``, the one of `trusted_factory`, or a model
    class of the library.

    Raises:
        TypeError: ``factory`` is not callable.
        ValueError: the file names another factory and none was given.
    """
    if factory is not None and not callable(factory):
        raise TypeError(f"`{fn}`: `factory` must be callable or None; got {factory!r}.")
    if ":" not in config.name:
        return factory
    factory = factory if factory is not None else _TRUSTED.get()
    if factory is not None:
        return factory
    found = library_model(config.name)
    if found is not None:
        return found
    raise ValueError(
        f"`{fn}`: `factory` must be given for the run's model: {source} names the model factory "
        f"{config.name!r}, and a run directory is data, so nothing it names is imported. If you "
        f"trust that code, pass it explicitly: `{fn}(run_dir, factory=<callable>)` in Python, "
        f"or `--factory {config.name}` on the command line; got none."
    )


def build_model(
    config: ModelConfig, *, rngs: nnx.Rngs, factory: Callable[..., Any] | None = None
) -> nnx.Module:
    """The model of ``config``: ``factory(rngs=rngs, **options)`` when given; else
    ``spikejax.models.create(name, rngs=rngs, **options)``, or for a name
    ``"package.module:factory"`` (a configuration the user runs as Python) the imported
    ``factory(rngs=rngs, **options)``."""
    options = dict(config.options)
    if factory is None and ":" in config.name:
        factory = import_factory(config.name, fn="build_model")
    if factory is not None:
        return factory(rngs=rngs, **options)
    from spikejax import models

    return models.create(config.name, rngs=rngs, **options)
