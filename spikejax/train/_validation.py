"""The validation split of a run: a stratified, seeded part of the training split."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["VAL_STREAM", "validation_split"]

# Second word of the generator seed ``[seed, VAL_STREAM]``: the validation draw does not share its
# random stream with the loader's shuffling (``[seed, epoch]``) for any epoch a run can reach.
VAL_STREAM = 0x76616C


def validation_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, val)`` splitting a training split, class by class.

    Of the ``n_c`` samples of class ``c``, ``k_c = min(floor(fraction · n_c + 1/2), n_c - 1)``
    go to validation (so every class keeps a training sample), drawn without replacement by one
    generator ``numpy.random.default_rng([seed, VAL_STREAM])`` as
    ``generator.permutation(members_c)[:k_c]``, classes in increasing order. Both index arrays
    are sorted, disjoint, and together hold every index once.

    Args:
        labels: integer labels ``[N]`` of the training split.
        fraction: share of each class held out, in ``[0, 1)``.
        seed: the run's seed (``>= 0``).

    Example:
        >>> import numpy as np
        >>> from spikejax.train._validation import validation_split
        >>> train, val = validation_split(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.25, 0)
        >>> len(train), len(val), sorted(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])[val].tolist())
        (7, 3, [0, 1, 1])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not (labels.size == 0 or np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(
            f"`validation_split`: `labels` must be integer labels [N]; got {labels.dtype} "
            f"{labels.shape}."
        )
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise TypeError(f"`validation_split`: `fraction` must be a float; got {fraction!r}.")
    if not 0 <= fraction < 1:
        raise ValueError(f"`validation_split`: `fraction` must be in [0, 1); got {fraction!r}.")
    generator = np.random.default_rng([seed, VAL_STREAM])
    val = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = min(math.floor(fraction * members.size + 0.5), members.size - 1)
        val.append(generator.permutation(members)[:k])
    val_idx = np.sort(np.concatenate(val)).astype(np.int64) if val else np.zeros(0, np.int64)
    keep = np.ones(labels.size, bool)
    keep[val_idx] = False
    return np.flatnonzero(keep).astype(np.int64), val_idx
