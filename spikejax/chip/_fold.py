"""Batch norm folded into a layer's synapses: the one place where the folding is computed.

A layer ``synapse → batch norm → neurons`` drives its neurons with, per output channel ``c``,

$$
\\gamma_c \\frac{(x W)_c + b_c - \\mu_c}{\\sqrt{\\sigma^2_c + \\epsilon}} + \\beta_c
= (x W')_c + b'_c, \\quad W'_{\\cdot c} = k_c W_{\\cdot c}, \\quad
b'_c = k_c (b_c - \\mu_c) + \\beta_c,
$$

with $k_c = \\gamma_c / \\sqrt{\\sigma^2_c + \\epsilon}$

(running statistics: the evaluation-mode network). The chip holds ``W'`` and ``b'``; in the
chip model's tree the kernel leaf keeps the integers of ``W'`` with a per-channel format scale
that includes ``1 / k`` (so that it decodes to the float kernel ``W``), the norm's ``bias`` leaf
holds the integers of ``b'`` with the origin ``k (\\mu - b)`` (decoding to ``\\beta``), and the
norm's scale and statistics (and the Linear/Conv bias) are folded: they decode to their own
values and take no chip resource.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikejax.chip._graph import LayerSpec

__all__ = ["Folded", "fold"]


class Folded:
    """The folded float values of one layer.

    Attributes:
        w: the effective kernel ``W'`` (the kernel's shape), float64.
        bias: the effective bias ``b'`` per channel, or ``None`` without any bias.
        factor: ``k`` per channel (ones without a norm).
        bias_path: the leaf that holds ``b'`` on the chip (the norm's ``bias``, else the layer's).
        bias_origin: ``value of bias_path - b'``: the origin of that leaf's format.
        folded: ``(path, float value)`` of every leaf that the folding absorbs.
    """

    def __init__(self, w, bias, factor, bias_path, bias_origin, folded):
        self.w, self.bias, self.factor = w, bias, factor
        self.bias_path, self.bias_origin, self.folded = bias_path, bias_origin, folded


def fold(spec: LayerSpec, flat: dict[str, Any]) -> Folded:
    """The folded float values of ``spec``'s synapse, bias and batch norm (see the module)."""
    w = np.asarray(flat[spec.kernel], np.float64)
    channels = w.shape[-1]
    b = None if spec.bias is None else np.asarray(flat[spec.bias], np.float64)
    if spec.norm is None:
        return Folded(w, b, np.ones(channels), spec.bias, np.zeros(channels), ())
    leaves = {name: np.asarray(flat[path], np.float64) for name, path in spec.norm}
    paths = dict(spec.norm)

    def per_channel(x):
        return np.broadcast_to(x, (channels,))

    k = per_channel(leaves["scale"]) / np.sqrt(per_channel(leaves["var"]) + spec.norm_eps)
    mean, beta = per_channel(leaves["mean"]), per_channel(leaves["bias"])
    b0 = np.zeros(channels) if b is None else per_channel(b)
    bias = k * (b0 - mean) + beta
    folded = tuple((paths[name], leaves[name]) for name in ("scale", "mean", "var"))
    if spec.bias is not None:
        folded += ((spec.bias, b),)
    return Folded(w * k, bias, k, paths["bias"], beta - bias, folded)
