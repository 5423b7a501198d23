"""NaN and inf checks inside compiled code, on request.

A NaN input current never crosses a threshold, so a spiking network turns NaN data into silence
rather than into NaN outputs (see `spikejax.unroll`): the data boundaries (``Loader``,
evaluation) refuse non-finite inputs, and inside compiled code ``checked`` finds where a
non-finite value appears.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any

import jax.numpy as jnp
from jax.experimental import checkify

__all__ = ["checked", "check_time_major", "enabled"]

_CHECKING: contextvars.ContextVar[bool] = contextvars.ContextVar("spikejax_debug", default=False)


def enabled() -> bool:
    """Whether the function being traced runs under `checked`."""
    return _CHECKING.get()


@contextlib.contextmanager
def _checking() -> Iterator[None]:
    token = _CHECKING.set(True)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with NaN/inf checks: every floating operation that produces a NaN (JAX's
    ``checkify.float_checks``), and every `spikejax.unroll` input ``xs`` that holds NaN or
    inf, raise ``checkify.JaxRuntimeError`` naming the first failure (for ``unroll``: the time
    step). ``fn`` may be jitted (``checked(jax.jit(step))``: the checks are compiled into it and
    the error is raised after the call returns); each check costs one reduction.

    Example:
        >>> import jax, jax.numpy as jnp, spikejax as sj
        >>> lif = sj.neurons.LIF(beta=0.9)
        >>> def run(xs):
        ...     return sj.unroll(lif, lif.init_state(xs.shape[1:]), xs)[1].sum()
        >>> xs = jnp.ones((4, 2)).at[2, 1].set(jnp.nan)
        >>> float(run(xs))                  # neuron 1 falls silent at step 2: no error
        6.0
        >>> sj.debug.checked(jax.jit(run))(xs)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        jax._src.checkify.JaxRuntimeError: `unroll`: `xs` must be finite; step 2 holds NaN or inf...
    """

    def traced(*args: Any, **kwargs: Any) -> Any:
        with _checking():
            return fn(*args, **kwargs)

    functional = checkify.checkify(traced, errors=checkify.float_checks | checkify.user_checks)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        error, out = functional(*args, **kwargs)
        error.throw()
        return out

    return run


def check_time_major(fn: str, arg: str, xs: Any) -> None:
    """Under `checked`: fail if ``xs`` ``[T, ...]`` holds NaN or inf, naming the step."""
    if not enabled():
        return
    finite = jnp.isfinite(xs).reshape((xs.shape[0], -1)).all(axis=1)
    first = jnp.argmin(finite)
    checkify.check(
        jnp.all(finite),
        f"`{fn}`: `{arg}` must be finite; step {{step}} holds NaN or inf (a NaN current never "
        "crosses a threshold, so without this check the neuron just falls silent).",
        step=first,
    )
