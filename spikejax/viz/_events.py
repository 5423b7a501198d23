"""Event frames as pictures: a grid of frames, and an animated GIF of the stream.

Polarity colours: with two polarity channels (tonic's order: channel 0 = polarity 0, "OFF";
channel 1 = polarity 1, "ON"), ON events are red and OFF events blue on a white background; one
channel is drawn in black. The intensity of a pixel is its event count divided by ``vmax`` (by
default the 99th percentile of the non-zero counts over all frames, so one hot pixel does not
wash out the rest; counts above ``vmax`` are drawn at full intensity).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from spikejax._errors import check_choice
from spikejax._io import atomic_write_bytes
from spikejax.viz._common import as_numeric, finish, new_figure

__all__ = ["EventAnimation", "animate_events", "event_rgb", "plot_frames"]

_LAYOUTS = ("tchw", "thwc", "thw")


def _frames(fn: str, frames: Any, layout: str) -> np.ndarray:
    """``frames`` as float64 ``[T, H, W, C]`` (C = 1 or 2), checked."""
    check_choice(fn, "layout", layout, _LAYOUTS)
    a = as_numeric(fn, "frames", frames)
    if a.ndim != len(layout):
        raise ValueError(
            f"`{fn}`: `frames` must have rank {len(layout)} [{', '.join(layout.upper())}] "
            f"(layout={layout!r}); got shape {a.shape}."
        )
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(f"`{fn}`: `frames` must be non-empty; got shape {a.shape}.")
    a = a.astype(np.float64)
    if layout == "tchw":
        a = np.moveaxis(a, 1, -1)
    elif layout == "thw":
        a = a[..., None]
    if a.shape[-1] not in (1, 2):
        raise ValueError(
            f"`{fn}`: `frames` must have 1 or 2 polarity channels (layout={layout!r}); got "
            f"{a.shape[-1]} in shape {np.shape(frames)}."
        )
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        bad = a[~(np.isfinite(a) & (a >= 0))][:3]
        raise ValueError(f"`{fn}`: `frames` must be finite event counts >= 0; got {bad.tolist()}.")
    return a


def _vmax(fn: str, a: np.ndarray, vmax: float | None) -> float:
    if vmax is not None:
        if isinstance(vmax, bool) or not np.isfinite(vmax) or vmax <= 0:
            raise ValueError(f"`{fn}`: `vmax` must be a finite number > 0; got {vmax!r}.")
        return float(vmax)
    nonzero = a[a > 0]
    return float(np.percentile(nonzero, 99)) if nonzero.size else 1.0


def event_rgb(frames: Any, *, layout: str = "tchw", vmax: float | None = None) -> np.ndarray:
    """RGB pictures ``[T, H, W, 3]`` (float in ``[0, 1]``) of event frames (module docstring).

    With two channels, ``off = min(c_0 / vmax, 1)`` and ``on = min(c_1 / vmax, 1)`` give
    ``rgb = (1 - off, 1 - on - off, 1 - on)`` clipped to ``[0, 1]``; with one channel ``c``,
    ``rgb = 1 - min(c / vmax, 1)`` in every colour.

    Args:
        frames: event counts, ``[T, C, H, W]`` (``layout="tchw"``, `ToFrames`
            per sample), ``[T, H, W, C]`` (``"thwc"``, the models' layout) or ``[T, H, W]``
            (``"thw"``); ``C`` is 1 or 2.
        layout: the axis order of ``frames``.
        vmax: the count drawn at full intensity (default: the 99th percentile of the non-zero
            counts).

    Example:
        >>> import numpy as np
        >>> from spikejax.viz import event_rgb
        >>> f = np.zeros((1, 2, 1, 2)); f[0, 1, 0, 0] = 3; f[0, 0, 0, 1] = 3  # ON, OFF
        >>> event_rgb(f, vmax=3.0)[0, 0].tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    a = _frames("event_rgb", frames, layout)
    level = np.minimum(a / _vmax("event_rgb", a, vmax), 1.0)
    if a.shape[-1] == 1:
        grey = 1.0 - level[..., 0]
        return np.stack([grey, grey, grey], axis=-1)
    off, on = level[..., 0], level[..., 1]
    rgb = np.stack([1.0 - off, 1.0 - on - off, 1.0 - on], axis=-1)
    return np.clip(rgb, 0.0, 1.0)


def plot_frames(
    frames: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    layout: str = "tchw",
    max_frames: int = 16,
    ncols: int = 8,
    vmax: float | None = None,
    title: str | None = None,
):
    """A grid of event frames, one panel per time step, ON red and OFF blue (see
    `event_rgb`).

    A sample with more than ``max_frames`` frames is drawn through ``max_frames`` evenly spaced
    ones (their steps are in the panel titles).

    Args:
        frames: ``[T, C, H, W]``, ``[T, H, W, C]`` or ``[T, H, W]`` event counts (``layout``).
        path: if given, the figure is also written there (its suffix picks the format),
            atomically.
        layout: ``"tchw"``, ``"thwc"`` or ``"thw"``.
        max_frames: most panels (``>= 1``).
        ncols: panels per row (``>= 1``).
        vmax: the count drawn at full intensity (default: see `event_rgb`).
        title: figure title.

    Returns:
        The Matplotlib ``Figure``.

    Example:
        >>> import numpy as np
        >>> from spikejax.viz import plot_frames
        >>> frames = np.random.default_rng(0).poisson(0.2, (20, 2, 16, 16))
        >>> fig = plot_frames(frames, max_frames=4)
        >>> [ax.get_title() for ax in fig.axes]
        ['t = 0', 't = 6', 't = 13', 't = 19']
    """
    fn = "plot_frames"
    for arg, value in (("max_frames", max_frames), ("ncols", ncols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{fn}`: `{arg}` must be an int >= 1; got {value!r}.")
    a = _frames(fn, frames, layout)
    rgb = event_rgb(a, layout="thwc", vmax=_vmax(fn, a, vmax))
    steps = a.shape[0]
    shown = np.unique(np.linspace(0, steps - 1, min(steps, max_frames)).round().astype(int))
    cols = min(ncols, shown.size)
    rows = -(-shown.size // cols)
    height, width = a.shape[1:3]
    panel = 1.6
    aspect = height / width
    fig, axes = new_figure(rows, cols, figsize=(panel * cols, panel * aspect * rows + 0.5))
    for i, ax in enumerate(axes.ravel()):
        if i < shown.size:  # ticks off, frame on: the sensor's edge stays visible on white
            ax.imshow(rgb[shown[i]], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"t = {shown[i]}", fontsize="small")
        else:
            ax.set_axis_off()
    channels = "ON red, OFF blue" if a.shape[-1] == 2 else "events in black"
    shown_text = "" if shown.size == steps else f" ({shown.size} shown)"
    summary = f"{steps} frames{shown_text} of {height}×{width}, {int(a.sum())} events; {channels}"
    fig.suptitle(summary if title is None else f"{title}\n{summary}", fontsize="medium")
    return finish(fn, fig, path)


@dataclasses.dataclass(frozen=True)
class EventAnimation:
    """An animated GIF of event frames, made by `animate_events`.

    Shows itself in Jupyter and Colab (an ``<img>`` of the GIF), and `save` writes it.

    Attributes:
        gif: the GIF file's bytes.
        frames: the number of frames.
        fps: frames per second.
    """

    gif: bytes
    frames: int
    fps: float

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the GIF to ``path`` (suffix ``.gif``) atomically; return the path."""
        path = Path(path)
        if path.suffix.lower() != ".gif":
            raise ValueError(f"`EventAnimation.save`: `path` must end in .gif; got {str(path)!r}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_bytes(path, self.gif)

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.gif).decode("ascii")
        return f'<img src="data:image/gif;base64,{data}" alt="event stream, {self.frames} frames"/>'


def animate_events(
    frames: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    layout: str = "tchw",
    fps: float = 10.0,
    scale: int = 4,
    vmax: float | None = None,
) -> EventAnimation:
    """An animated GIF of event frames (Pillow), one GIF frame per time step, looping.

    Colours as in `event_rgb`; each pixel becomes ``scale × scale`` pixels (nearest
    neighbour, so events stay sharp).

    Args:
        frames: ``[T, C, H, W]``, ``[T, H, W, C]`` or ``[T, H, W]`` event counts (``layout``).
        path: if given, the GIF is also written there (suffix ``.gif``), atomically.
        layout: ``"tchw"``, ``"thwc"`` or ``"thw"``.
        fps: frames per second (> 0).
        scale: pixels per sensor pixel (int ``>= 1``).
        vmax: the count drawn at full intensity (default: see `event_rgb`).

    Returns:
        The `EventAnimation` (displayed inline by Jupyter).

    Example:
        >>> import numpy as np
        >>> from spikejax.viz import animate_events
        >>> frames = np.random.default_rng(0).poisson(0.2, (6, 2, 8, 8))
        >>> gif = animate_events(frames, fps=5)
        >>> gif.gif[:6], gif.frames
        (b'GIF89a', 6)
    """
    fn = "animate_events"
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError(f"`{fn}` needs Pillow: pip install 'spikejax[data]'.") from e
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps < float("inf"):
        raise ValueError(f"`{fn}`: `fps` must be a finite number > 0; got {fps!r}.")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"`{fn}`: `scale` must be an int >= 1; got {scale!r}.")
    a = _frames(fn, frames, layout)
    rgb = event_rgb(a, layout="thwc", vmax=_vmax(fn, a, vmax))
    pixels = np.repeat(np.repeat(rgb, scale, axis=1), scale, axis=2)
    images = [Image.fromarray(np.round(255 * f).astype(np.uint8), "RGB") for f in pixels]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(1, round(1000 / fps)),
        loop=0,
    )
    animation = EventAnimation(buffer.getvalue(), len(images), float(fps))
    if path is not None:
        animation.save(path)
    return animation
