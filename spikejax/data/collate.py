"""Batching of samples: stacking, and time-major padding of variable-length sequences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pad_batch", "pad_time_major"]


def _same_dtype(fn: str, items: Sequence[np.ndarray]) -> np.dtype:
    dtype = items[0].dtype
    for i, item in enumerate(items):
        if item.dtype != dtype:
            raise ValueError(
                f"`{fn}`: every sample must have dtype {dtype} (that of sample 0); "
                f"got {item.dtype} for sample {i}."
            )
    return dtype


def pad_batch(items: Sequence[np.ndarray], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack samples of equal shape along a new leading batch axis, zero-padded to ``batch_size``.

    Args:
        items: ``1 <= len(items) <= batch_size`` arrays of one shape and dtype.
        batch_size: the size ``B`` of the batch axis.

    Returns:
        ``(x, mask)``: ``x`` of shape ``[B, *shape]`` (rows ``len(items):`` are zeros) and the bool
        ``mask`` ``[B]``, true for real samples.

    Example:
        >>> import numpy as np
        >>> from spikejax.data import pad_batch
        >>> x, mask = pad_batch([np.ones(2), np.full(2, 2.0)], 3)
        >>> x.tolist(), mask.tolist()
        ([[1.0, 1.0], [2.0, 2.0], [0.0, 0.0]], [True, True, False])
    """
    fn = "pad_batch"
    items = [np.asarray(item) for item in items]
    if not 1 <= len(items) <= batch_size:
        raise ValueError(
            f"`{fn}`: `items` must hold 1 … batch_size={batch_size} samples; got {len(items)}."
        )
    dtype = _same_dtype(fn, items)
    shape = items[0].shape
    for i, item in enumerate(items):
        if item.shape != shape:
            raise ValueError(
                f"`{fn}`: every sample must have shape {shape} (that of sample 0); "
                f"got {item.shape} for sample {i}."
            )
    x = np.zeros((batch_size, *shape), dtype)
    x[: len(items)] = np.stack(items)
    mask = np.arange(batch_size) < len(items)
    return x, mask


def pad_time_major(
    sequences: Sequence[np.ndarray],
    *,
    num_steps: int | None = None,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Collate sequences ``[T_i, *shape]`` into one time-major batch ``[T, B, *shape]``.

    Shorter sequences are zero-padded at the end; nothing is truncated.

    Args:
        sequences: arrays with a leading time axis, equal trailing shapes and one dtype.
        num_steps: ``T``; at least every ``T_i``. Default: ``max_i T_i``.
        batch_size: ``B``; at least ``len(sequences)``, the extra columns being padding.
            Default: ``len(sequences)``.

    Returns:
        ``(x, mask)``: ``x`` ``[T, B, *shape]`` and the bool ``mask`` ``[T, B]``, where
        ``mask[t, b]`` is true iff ``b < len(sequences)`` and ``t < T_b``.

    Example:
        >>> import numpy as np
        >>> from spikejax.data import pad_time_major
        >>> x, mask = pad_time_major([np.ones((3, 2)), np.ones((1, 2))])
        >>> x.shape, mask.astype(int).tolist()
        ((3, 2, 2), [[1, 1], [1, 0], [1, 0]])
    """
    fn = "pad_time_major"
    sequences = [np.asarray(s) for s in sequences]
    batch = len(sequences) if batch_size is None else batch_size
    if not 1 <= len(sequences) <= batch:
        raise ValueError(
            f"`{fn}`: `sequences` must hold 1 … batch_size={batch} sequences; got {len(sequences)}."
        )
    dtype = _same_dtype(fn, sequences)
    for i, s in enumerate(sequences):
        if s.ndim < 1 or s.shape[1:] != sequences[0].shape[1:]:
            raise ValueError(
                f"`{fn}`: every sequence must have shape [T, *{sequences[0].shape[1:]}] "
                f"(that of sequence 0); got {s.shape} for sequence {i}."
            )
    lengths = np.array([s.shape[0] for s in sequences])
    steps = int(lengths.max()) if num_steps is None else num_steps
    if lengths.max() > steps:
        i = int(np.argmax(lengths))
        raise ValueError(
            f"`{fn}`: sequences must be at most num_steps={steps} long (nothing is truncated); "
            f"got length {lengths[i]} for sequence {i}."
        )
    x = np.zeros((steps, batch, *sequences[0].shape[1:]), dtype)
    mask = np.zeros((steps, batch), bool)
    for b, s in enumerate(sequences):
        x[: s.shape[0], b] = s
        mask[: s.shape[0], b] = True
    return x, mask
