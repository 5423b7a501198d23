"""A deterministic dynamic-vision-sensor (DVS) simulator: frames in, ON/OFF events out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from spikejax.data._events import EVENT_DTYPE

__all__ = ["simulate_dvs"]


def _scalar(fn: str, arg: str, value: Any, *, low: float, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"`{fn}`: `{arg}` must be a real number; got {value!r}.")
    value = float(value)
    ok = math.isfinite(value) and (value > low if low_open else value >= low)
    if not ok:
        rule = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"`{fn}`: `{arg}` must be finite and {rule}; got {value!r}.")
    return value


def _check_movie(fn: str, frames: Any, times_us: Any) -> tuple[np.ndarray, np.ndarray]:
    frames = np.asarray(frames)
    times = np.asarray(times_us)
    for arg, arr in (("frames", frames), ("times_us", times)):
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise TypeError(f"`{fn}`: `{arg}` must hold real numbers; got dtype {arr.dtype}.")
    if frames.ndim != 3 or frames.shape[0] < 2:
        raise ValueError(
            f"`{fn}`: `frames` must have shape [steps >= 2, height, width]; got {frames.shape}."
        )
    if times.shape != frames.shape[:1]:
        raise ValueError(
            f"`{fn}`: `times_us` must have shape ({frames.shape[0]},) (one time per frame); "
            f"got {times.shape}."
        )
    frames = frames.astype(np.float64)
    times = times.astype(np.float64)
    if not np.all(np.isfinite(frames)) or np.any(frames < 0):
        raise ValueError(
            f"`{fn}`: `frames` must be finite intensities >= 0; got min {frames.min()}."
        )
    if not np.all(np.isfinite(times)) or times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ValueError(
            f"`{fn}`: `times_us` must be finite, >= 0 and strictly increasing; got {times[:5]}…"
        )
    return frames, times


def simulate_dvs(
    frames: Any,
    times_us: Any,
    *,
    threshold: float = 0.2,
    threshold_sigma: float = 0.0,
    log_eps: float = 0.1,
    refractory_us: float = 0.0,
    noise_rate_hz: float = 0.0,
    seed: int | Sequence[int] = 0,
) -> np.ndarray:
    r"""Events a DVS pixel array would emit while viewing a sequence of frames.

    Each pixel compares its log-intensity with a reference level that moves by one contrast step
    ``C`` at each of its events (Lichtsteiner, Posch & Delbruck, IEEE JSSC 43(2), 2008), with the
    log-intensity linear in time between frames.
    With ``L_k = ln(I_k + ε)`` the log-intensity of frame ``k`` at time ``t_k`` and ``r`` the
    pixel's reference, between frames ``k - 1`` and ``k``:

    $$
    \begin{aligned}
    n &= \lfloor |L_k - r| / C \rfloor, \qquad s = \operatorname{sign}(L_k - r)\\
    t^{(j)} &= \Big\lfloor t_{k-1} + (t_k - t_{k-1})
               \frac{r + s\,j\,C - L_{k-1}}{L_k - L_{k-1}} \Big\rfloor, \quad j = 1 \dots n\\
    r &\leftarrow r + s\,n\,C
    \end{aligned}
    $$

    so a step that crosses several contrast levels emits several events, each at the interpolated
    time its level was crossed (an ON event ``p = 1`` for ``s > 0``, OFF ``p = 0`` otherwise).
    ``C = threshold · exp(threshold_sigma · z)`` per pixel with ``z ~ N(0, 1)`` (mismatch between
    pixels; ``C = threshold`` when ``threshold_sigma = 0``). The reference starts at
    ``r = L_0 + C (u - 1/2)`` with ``u ~ U[0, 1)`` per pixel: the pixels' state when the recording
    begins is unknown, and a common phase would make every pixel whose intensity returns exactly to
    ``L_0`` sit exactly on a contrast level, where rounding alone decides whether it fires.

    Optional effects, applied in this order (everything is deterministic for a ``seed``):

    * background noise: a Poisson number of events with mean
      ``noise_rate_hz · (t_last - t_0) · 1e-6 · height · width``, each at a uniformly drawn pixel,
      time in ``[t_0, t_last)`` (floored to µs) and polarity;
    * refractory period: an event closer than ``refractory_us`` to the previous *kept* event of its
      pixel is removed (the reference level still moves: the change is consumed).

    Args:
        frames: linear intensities ``>= 0``, shape ``[steps, height, width]`` (``steps >= 2``).
        times_us: time of each frame in µs, shape ``[steps]``, strictly increasing, ``>= 0``.
        threshold: contrast threshold ``C > 0`` (in log-intensity units).
        threshold_sigma: log-normal spread of ``C`` between pixels, ``>= 0``.
        log_eps: ``ε > 0`` added before the logarithm (the sensor's dark level).
        refractory_us: refractory period in µs, ``>= 0``.
        noise_rate_hz: background-noise rate per pixel in Hz, ``>= 0``.
        seed: seed of ``numpy.random.default_rng`` for the initial references, mismatch and noise.

    Returns:
        A structured array with fields ``x`` (column), ``y`` (row), ``t`` (µs), ``p`` (1 ON, 0 OFF),
        all int64 (`EVENT_DTYPE`), sorted by ``t`` then ``y``, ``x``, ``p``.

    Example:
        >>> import numpy as np
        >>> from spikejax.data import simulate_dvs
        >>> frames = np.array([[[1.0]], [[np.e ** 0.5]]]) - 0.1  # ln(I + 0.1): 0 -> 0.5
        >>> simulate_dvs(frames, [0, 1000], threshold=0.2)
        array([(0, 0, 454, 1), (0, 0, 854, 1)],
              dtype=[('x', '<i8'), ('y', '<i8'), ('t', '<i8'), ('p', '<i8')])
    """
    fn = "simulate_dvs"
    frames, times = _check_movie(fn, frames, times_us)
    threshold = _scalar(fn, "threshold", threshold, low=0.0, low_open=True)
    threshold_sigma = _scalar(fn, "threshold_sigma", threshold_sigma, low=0.0)
    log_eps = _scalar(fn, "log_eps", log_eps, low=0.0, low_open=True)
    refractory_us = _scalar(fn, "refractory_us", refractory_us, low=0.0)
    noise_rate_hz = _scalar(fn, "noise_rate_hz", noise_rate_hz, low=0.0)
    rng = np.random.default_rng(seed)

    steps, height, width = frames.shape
    log_i = np.log(frames.reshape(steps, height * width) + log_eps)
    contrast = np.full(height * width, threshold)
    if threshold_sigma > 0:
        contrast = threshold * np.exp(threshold_sigma * rng.standard_normal(height * width))
    ref = log_i[0] + contrast * (rng.uniform(size=height * width) - 0.5)

    pixels, stamps, signs = [], [], []
    for k in range(1, steps):
        diff = log_i[k] - ref
        counts = np.floor(np.abs(diff) / contrast).astype(np.int64)
        hit = np.flatnonzero(counts)
        if hit.size == 0:
            continue
        counts = counts[hit]
        sign = np.sign(diff[hit])
        pix = np.repeat(hit, counts)
        # j = 1 … n within each pixel's run of events.
        j = np.arange(pix.size) - np.repeat(np.cumsum(counts) - counts, counts) + 1
        s = np.repeat(sign, counts)
        level = ref[pix] + s * j * contrast[pix]
        l0, l1 = log_i[k - 1, pix], log_i[k, pix]
        frac = (level - l0) / (l1 - l0)
        pixels.append(pix)
        stamps.append(np.floor(times[k - 1] + (times[k] - times[k - 1]) * frac))
        signs.append(s > 0)
        ref[hit] += sign * counts * contrast[hit]

    pix = np.concatenate([np.zeros(0, np.int64), *pixels])
    t = np.concatenate([np.zeros(0), *stamps]).astype(np.int64)
    on = np.concatenate([np.zeros(0, bool), *signs])

    if noise_rate_hz > 0:
        mean = noise_rate_hz * (times[-1] - times[0]) * 1e-6 * height * width
        count = int(rng.poisson(mean))
        pix = np.concatenate([pix, rng.integers(0, height * width, count)])
        noise_t = np.floor(rng.uniform(times[0], times[-1], count)).astype(np.int64)
        t = np.concatenate([t, noise_t])
        on = np.concatenate([on, rng.integers(0, 2, count).astype(bool)])

    if refractory_us > 0 and pix.size:
        keep = np.ones(pix.size, bool)
        last_pix, last_t = -1, 0
        for i in np.lexsort((t, pix)):
            if pix[i] == last_pix and t[i] - last_t < refractory_us:
                keep[i] = False
                continue
            last_pix, last_t = pix[i], t[i]
        pix, t, on = pix[keep], t[keep], on[keep]

    events = np.empty(pix.size, EVENT_DTYPE)
    events["x"] = pix % width
    events["y"] = pix // width
    events["t"] = t
    events["p"] = on
    order = np.lexsort((events["p"], events["x"], events["y"], events["t"]))
    return events[order]
