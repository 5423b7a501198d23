"""Images in class folders (ImageNet's layout), resized and centre-cropped (never downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikejax._errors import check_choice
from spikejax.data._files import require_dir

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageFolder"]

# Per-channel mean and standard deviation of ImageNet's training images in [0, 1] (R, G, B).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_SUFFIXES = (".jpeg", ".jpg", ".png")


def _pillow(fn: str) -> Any:
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            f"`{fn}` needs the package `Pillow` to decode images: pip install Pillow."
        ) from error
    return Image


def _positive(fn: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{fn}`: `{arg}` must be an int >= 1; got {value!r}.")
    return int(value)


class ImageFolder:
    """An image classification dataset stored as ``root/<split>/<class>/<image>``.

    ImageNet's layout: ``root/train/n01440764/n01440764_10026.JPEG`` … and ``root/val/<wnid>/``
    (the validation images moved into class folders, as the usual preparation script does). The
    classes are the sorted folder names of ``root/train`` for both splits, so labels agree;
    images are ``.JPEG``/``.jpg``/``.png`` files (any case), ordered by path.

    ``dataset[i]`` decodes image ``i`` with Pillow, converts it to RGB, resizes it (bilinear) so
    that its shorter side is ``resize`` pixels (the longer side ``⌊resize · long / short⌋``),
    crops the central ``image_size × image_size`` square (offsets ``round((size − crop) / 2)``),
    and returns float32 ``(x / 255 − mean) / std`` per channel (`IMAGENET_MEAN`,
    `IMAGENET_STD`), channels-last ``[image_size, image_size, 3]``, with its label: the
    standard evaluation transform (256 → 224). No random augmentation.

    Args:
        root: folder that contains ``train/`` (and ``val/``).
        split: ``"train"`` or ``"val"``.
        image_size: side of the centre crop.
        resize: shorter side after resizing; must be ``>= image_size``.
        allow_empty: accept class folders without images (e.g. a validation subset); by default
            they are an error that lists them.

    Attributes:
        classes: class folder names, sorted.
        files, labels: per sample.

    Raises:
        ImportError: Pillow is not installed (the message names it).
        FileNotFoundError: ``root/train`` or ``root/<split>`` is missing, or holds no images.
        ValueError: a class folder of ``val`` is not a class of ``train``, or a class folder is
            empty (without ``allow_empty``).
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        image_size: int = 224,
        resize: int = 256,
        allow_empty: bool = False,
    ):
        fn = "ImageFolder"
        self._image = _pillow(fn)
        check_choice(fn, "split", split, ("train", "val"))
        self.image_size = _positive(fn, "image_size", image_size)
        self.resize = _positive(fn, "resize", resize)
        if self.resize < self.image_size:
            raise ValueError(
                f"`{fn}`: `resize` must be >= `image_size`={image_size}; got {resize}."
            )
        root = Path(root).expanduser()
        what = "one folder of images per class, e.g. ImageNet's train/<wnid>/*.JPEG"
        train = require_dir(fn, root / "train", what)
        self.classes = tuple(sorted(p.name for p in train.iterdir() if p.is_dir()))
        folder = require_dir(fn, root / split, what)
        index = {name: i for i, name in enumerate(self.classes)}
        files, labels, empty = [], [], []
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            if sub.name not in index:
                raise ValueError(
                    f"`{fn}`: every class folder of {folder} must be a class of {train}; "
                    f"got {sub.name!r}."
                )
            images = sorted(
                p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES
            )
            files += images
            labels += [index[sub.name]] * len(images)
            if not images:
                empty.append(str(sub))
        if files and empty and not allow_empty:
            raise ValueError(
                f"`{fn}`: every class folder must hold images ({', '.join(_SUFFIXES)}); these "
                f"are empty: {empty} (pass allow_empty=True to accept them)."
            )
        if not files:
            raise FileNotFoundError(
                f"`{fn}`: found no images ({', '.join(_SUFFIXES)}) in the class folders of "
                f"{folder} ({what}); the split is empty."
            )
        self.files = files
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """``(image float32 [S, S, 3], label)`` of sample ``index`` (see the class docstring)."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"`ImageFolder`: index must be an int; got {index!r}.")
        if not -len(self) <= index < len(self):
            raise IndexError(f"`ImageFolder`: index {index} out of range for {len(self)} images.")
        index = int(index) % len(self)
        with self._image.open(self.files[index]) as image:
            image = image.convert("RGB")
            width, height = image.size
            crop = self.image_size
            if width <= height:
                size = (self.resize, int(self.resize * height / width))
            else:
                size = (int(self.resize * width / height), self.resize)
            if size != (width, height):
                image = image.resize(size, self._image.Resampling.BILINEAR)
            width, height = image.size
            left, top = round((width - crop) / 2), round((height - crop) / 2)
            pixels = np.asarray(image.crop((left, top, left + crop, top + crop)), np.float32)
        mean = np.asarray(IMAGENET_MEAN, np.float32)
        std = np.asarray(IMAGENET_STD, np.float32)
        return (pixels / np.float32(255.0) - mean) / std, int(self.labels[index])
