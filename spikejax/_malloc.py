"""The glibc malloc settings spikejax makes at import: XLA:CPU's buffers reused, not re-mapped.

XLA:CPU allocates every call's temporaries and outputs with ``malloc``. glibc serves an
allocation above its mmap threshold (at most 32 MiB by default) with a fresh ``mmap`` and
returns it to the system when freed, so a train step whose buffers are that large page-faults
(and zero-fills) all of them again on every call. On a 2-core AMD EPYC this was a quarter of
`lif_layer`'s train step (16,900 page faults, 66 MiB, per call: 80-85 ms, 58-64 ms with the
settings below) and a fifth of `conv_nmnist`'s forward pass. So, when spikejax is imported, it
sets (``mallopt``)

- ``M_MMAP_THRESHOLD`` to 1 GiB: allocations below it come from the heap, where freed memory is
  reused by the next call;
- ``M_TRIM_THRESHOLD`` to 1 GiB: up to that much free memory at the top of the heap is kept
  rather than returned to the system after every call.

The cost is memory kept between calls: up to the largest working set the process had (at most
1 GiB of it unused at the heap's top), as an accelerator's caching allocator keeps its pool.
Nothing is computed differently. Where XLA allocates on one of its worker threads, glibc still
maps buffers above 64 MiB (a thread arena's largest heap) afresh; `_dispatch` keeps CPU
computations, and so their allocations, on the calling thread. (``MALLOC_ARENA_MAX=1`` in the
environment would move them into the main heap too, but makes compilation, whose threads then
share one heap, 10-25 % slower, so spikejax does not set it.)

The settings are made when the C library is glibc (Linux), unless ``SPIKEJAX_KEEP_MALLOC`` is set
or the environment already configures glibc's malloc (``MALLOC_*`` variables or a
``glibc.malloc`` tunable): the user's choice wins.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Callable, Mapping

__all__ = ["OPT_OUT", "SETTINGS", "APPLIED", "apply", "settings_to_apply"]

_GIB = 1 << 30
#: ``(name, mallopt parameter number, value)``; the numbers are glibc's ``malloc.h`` constants.
SETTINGS = (
    ("M_MMAP_THRESHOLD", -3, _GIB),
    ("M_TRIM_THRESHOLD", -1, _GIB),
)
#: Set this environment variable (to anything) to leave glibc's malloc as it is.
OPT_OUT = "SPIKEJAX_KEEP_MALLOC"


def _users_own(environ: Mapping[str, str]) -> bool:
    """Whether the environment already configures glibc's malloc (its variables or tunables)."""
    if any(name.startswith("MALLOC_") for name in environ):
        return True
    return "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")


def settings_to_apply(environ: Mapping[str, str], libc: str) -> tuple[tuple[str, int, int], ...]:
    """The `SETTINGS` spikejax would make for ``environ`` and C library ``libc`` (see above)."""
    if libc != "glibc" or OPT_OUT in environ or _users_own(environ):
        return ()
    return SETTINGS


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt


def apply(
    environ: Mapping[str, str] | None = None,
    libc: str | None = None,
    mallopt: Callable[[int, int], int] | None = None,
) -> tuple[str, ...]:
    """Make `settings_to_apply`'s settings; the names of those glibc accepted."""
    environ = os.environ if environ is None else environ
    libc = platform.libc_ver()[0] if libc is None else libc
    settings = settings_to_apply(environ, libc)
    if not settings:
        return ()
    mallopt = _glibc_mallopt() if mallopt is None else mallopt
    if mallopt is None:
        return ()
    # mallopt returns 1 on success; a glibc that refuses a value keeps its own.
    return tuple(name for name, param, value in settings if mallopt(param, value) == 1)


#: The settings importing spikejax made (names), empty if none.
APPLIED = apply()
