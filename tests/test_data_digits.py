"""scikit-learn's digits: scaling and the fixed stratified split."""

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import datasets

from spikejax.data import DIGITS_NUM_SAMPLES, digits_split, load_digits


def test_split_is_disjoint_covering_and_fixed():
    train, test = digits_split()
    assert train.size == 1437 and test.size == 360
    assert np.intersect1d(train, test).size == 0
    assert np.array_equal(np.union1d(train, test), np.arange(DIGITS_NUM_SAMPLES))
    again = digits_split()
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    # Pinned: a change of the split (seed, ratio, scikit-learn's algorithm) must be noticed.
    assert test[:8].tolist() == [21, 24, 28, 34, 35, 37, 39, 42]


def test_split_is_stratified():
    labels = datasets.load_digits().target
    train, test = digits_split()
    per_class = np.bincount(labels)
    # Every class contributes 20 % of its samples to the test split, up to rounding.
    assert np.all(np.abs(np.bincount(labels[test]) - 0.2 * per_class) <= 1)
    assert np.all(np.abs(np.bincount(labels[train]) - 0.8 * per_class) <= 1)


@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_load_digits_scales_images(split):
    raw = datasets.load_digits()
    index = {"train": digits_split()[0], "test": digits_split()[1]}.get(
        split, np.arange(DIGITS_NUM_SAMPLES)
    )
    images, labels = load_digits(split)
    assert images.dtype == np.float32 and labels.dtype == np.int64
    assert images.shape == (index.size, 8, 8)
    np.testing.assert_array_equal(images, (raw.images[index] / 16).astype(np.float32))
    np.testing.assert_array_equal(labels, raw.target[index])
    assert images.min() == 0.0 and images.max() == 1.0


def test_load_digits_rejects_unknown_split():
    with pytest.raises(ValueError, match="`load_digits`: `split` must be one of"):
        load_digits("validation")


def test_missing_optional_package_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"`load_digits` needs .* pip install 'spikejax\[data\]'"):
        load_digits()
