"""Write the Xylo-sized digits: 4x4 images (16 input channels) of the classes 0-7.

scikit-learn's bundled 8x8 digits in the fixed split of :mod:`spikejax.data.digits`, averaged
over 2x2 blocks (values in [0, 1]) and restricted to the first 8 classes (Xylo has 8 readout
neurons). Output: ``data.npz`` next to this file, with ``x_train, y_train, x_test, y_test``.

    .venv/bin/python experiments/xylo_digits/prepare.py
"""

from pathlib import Path

import numpy as np

from spikejax.data.digits import load_digits

CLASSES = 8


def split(name: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_digits(name)
    images = np.asarray(images, np.float32).reshape(-1, 8, 8)
    small = images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)
    keep = labels < CLASSES
    return small[keep].astype(np.float32), labels[keep].astype(np.int64)


if __name__ == "__main__":
    x_tr, y_tr = split("train")
    x_te, y_te = split("test")
    assert x_tr.min() >= 0 and x_tr.max() <= 1, (x_tr.min(), x_tr.max())
    out = Path(__file__).with_name("data.npz")
    np.savez(out, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    print(f"wrote {out}: {len(y_tr)} train / {len(y_te)} test samples, 16 channels, 8 classes")
