"""The JAX setting spikejax makes at import: a CPU computation runs on the thread that calls it.

JAX dispatches CPU computations asynchronously by default: the call returns at once and a worker
thread of the CPU client runs the computation, so XLA:CPU allocates the call's buffers on that
thread. glibc gives a worker thread its own malloc arena, whose heaps hold at most 64 MiB, so a
larger allocation is mapped afresh on every call and returned to the system when freed; `_malloc`'s
settings cannot keep it. A train step's temporaries are one such allocation (141 MiB for
`conv_nmnist`'s), so every step page-faulted and zero-filled them again: 33,000 page faults
(137 MB) per `conv_nmnist` step on a 2-core AMD EPYC. Run on the calling thread, the same
allocation comes from the main heap, which `_malloc`'s settings keep between calls: no page
faults, and the step fell from 177-202 to 136-149 ms, also in a loop that does not wait for each
step; `shd_mlp`'s and `lif_layer`'s steps and every compile time stayed within the noise.
(``MALLOC_ARENA_MAX=1`` also removes the faults, but then XLA's compiler threads share one heap
and compilation took 25 % longer.)

What is given up: Python no longer runs ahead of the CPU while a computation runs. On the CPU the
computation already uses every core, so there was little to overlap; a data pipeline that needs
the overlap can opt out. So, when spikejax is imported, it sets ``jax_cpu_enable_async_dispatch``
to ``False`` unless the environment sets ``JAX_CPU_ENABLE_ASYNC_DISPATCH`` (the user's choice
wins) or ``SPIKEJAX_KEEP_ASYNC_DISPATCH``. JAX reads the setting when it creates its CPU client,
so it takes effect if JAX has not run anything yet in the process (the usual order: ``import
spikejax`` before the first computation). It changes no result, applies only to computations on
one CPU device (JAX still dispatches multi-device ones asynchronously), and GPUs and TPUs ignore
it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import jax

__all__ = ["APPLIED", "OPT_OUT", "SETTING", "apply", "should_apply"]

#: The JAX configuration option spikejax sets to ``False``.
SETTING = "jax_cpu_enable_async_dispatch"
#: Set this environment variable (to anything) to keep JAX's asynchronous CPU dispatch.
OPT_OUT = "SPIKEJAX_KEEP_ASYNC_DISPATCH"


def should_apply(environ: Mapping[str, str]) -> bool:
    """Whether spikejax turns asynchronous CPU dispatch off for ``environ`` (see above)."""
    return OPT_OUT not in environ and SETTING.upper() not in environ


def apply(
    environ: Mapping[str, str] | None = None,
    update: Callable[[str, bool], None] | None = None,
) -> bool:
    """Turn JAX's asynchronous CPU dispatch off where `should_apply`; whether it did."""
    environ = os.environ if environ is None else environ
    if not should_apply(environ):
        return False
    (jax.config.update if update is None else update)(SETTING, False)
    return True


#: Whether importing spikejax turned asynchronous CPU dispatch off.
APPLIED = apply()
