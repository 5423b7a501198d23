"""scikit-learn's bundled handwritten digits: 1,797 real 8×8 images, no download needed.

The images are the UCI "Optical Recognition of Handwritten Digits" test set that ships inside
scikit-learn (``sklearn.datasets.load_digits``): 4-bit intensities (0…16) of 43 writers' digits,
about 180 per class. Here they are scaled to ``[0, 1]`` and split once, stratified by class, into a
fixed train/test split: 80 % / 20 % with ``random_state=0`` (1,437 / 360 images).
"""

from __future__ import annotations

import numpy as np

from spikejax._errors import check_choice
from spikejax.data._optional import optional_import

__all__ = [
    "DIGITS_NUM_SAMPLES",
    "DIGITS_SPLIT_SEED",
    "DIGITS_TEST_FRACTION",
    "digits_split",
    "load_digits",
]

#: Number of images in scikit-learn's digits.
DIGITS_NUM_SAMPLES = 1797
#: ``random_state`` of the stratified split.
DIGITS_SPLIT_SEED = 0
#: Fraction of each class held out for the test split.
DIGITS_TEST_FRACTION = 0.2


def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = optional_import("sklearn.datasets", "load_digits").load_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target)


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fixed stratified split into scikit-learn's 1,797 digits.

    ``sklearn.model_selection.train_test_split`` with ``test_size=0.2``, ``stratify=labels`` and
    ``random_state=0``; each index array is sorted ascending.

    Returns:
        ``(train_indices, test_indices)``: disjoint int64 arrays of 1,437 and 360 indices that
        together cover ``0 … 1796``.

    Example:
        >>> from spikejax.data import digits_split
        >>> train, test = digits_split()
        >>> len(train), len(test)
        (1437, 360)
    """
    split = optional_import("sklearn.model_selection", "digits_split").train_test_split
    _, labels = _raw_digits()
    train, test = split(
        np.arange(labels.size),
        test_size=DIGITS_TEST_FRACTION,
        stratify=labels,
        random_state=DIGITS_SPLIT_SEED,
    )
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)


def load_digits(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The handwritten digits of one split as NumPy arrays.

    Intensities are scikit-learn's 4-bit values divided by 16, so they lie in ``[0, 1]``.

    Args:
        split: ``"train"`` (1,437 images), ``"test"`` (360) or ``"all"`` (1,797, in scikit-learn's
            order); see `digits_split`.

    Returns:
        ``(images, labels)``: float32 ``[N, 8, 8]`` in ``[0, 1]`` and int64 ``[N]`` in ``0 … 9``.

    Example:
        >>> from spikejax.data import load_digits
        >>> images, labels = load_digits("test")
        >>> images.shape, images.dtype, float(images.max()), labels[:5]
        ((360, 8, 8), dtype('float32'), 1.0, array([1, 4, 8, 6, 5]))
    """
    check_choice("load_digits", "split", split, ("train", "test", "all"))
    images, labels = _raw_digits()
    images = (images / 16.0).astype(np.float32)
    labels = labels.astype(np.int64)
    if split == "all":
        return images, labels
    train, test = digits_split()
    index = train if split == "train" else test
    return images[index], labels[index]
