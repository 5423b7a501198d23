"""What importing spikejax changed in the process (see `_xla_flags` and `_malloc`)."""

from __future__ import annotations

from spikejax import _malloc, _xla_flags

__all__ = ["process_settings"]


def process_settings() -> dict[str, object]:
    """The process-wide settings importing spikejax made, for logs and benchmark records.

    Returns:
        ``{"xla_flags": entry or None, "malloc": names}``: the entry spikejax put first in
        ``XLA_FLAGS`` (XLA:CPU convolutions by Eigen; ``None`` if it added none), and the glibc
        ``mallopt`` settings it made (XLA:CPU's buffers reused between calls; empty if none).
        Opt out with ``SPIKEJAX_KEEP_XLA_FLAGS`` and ``SPIKEJAX_KEEP_MALLOC``.

    Example:
        >>> import spikejax as sj
        >>> sorted(sj.process_settings())
        ['malloc', 'xla_flags']
    """
    return {
        "xla_flags": _xla_flags.ENTRY if _xla_flags.APPLIED else None,
        "malloc": list(_malloc.APPLIED),
    }
