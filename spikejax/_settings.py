"""What importing spikejax changed in the process (see `_xla_flags`, `_malloc` and `_dispatch`)."""

from __future__ import annotations

from spikejax import _dispatch, _malloc, _xla_flags

__all__ = ["process_settings"]


def process_settings() -> dict[str, object]:
    """The process-wide settings importing spikejax made, for logs and benchmark records.

    Returns:
        ``{"xla_flags": entry or None, "malloc": names, "jax_config": {option: value}}``: the
        entry spikejax put first in ``XLA_FLAGS`` (XLA:CPU convolutions by Eigen; ``None`` if
        it added none), the glibc ``mallopt`` settings it made (XLA:CPU's buffers reused
        between calls; empty if none), and the JAX options it set
        (``jax_cpu_enable_async_dispatch: False``: CPU computations run on the calling thread,
        where their buffers are reused; empty if none). Opt out with
        ``SPIKEJAX_KEEP_XLA_FLAGS``, ``SPIKEJAX_KEEP_MALLOC`` and
        ``SPIKEJAX_KEEP_ASYNC_DISPATCH``.

    Example:
        >>> import spikejax as sj
        >>> sorted(sj.process_settings())
        ['jax_config', 'malloc', 'xla_flags']
    """
    return {
        "xla_flags": _xla_flags.ENTRY if _xla_flags.APPLIED else None,
        "malloc": list(_malloc.APPLIED),
        "jax_config": {_dispatch.SETTING: False} if _dispatch.APPLIED else {},
    }
