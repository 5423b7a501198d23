"""`EventConv`: a convolution whose cost follows the input's spikes on the CPU."""

from __future__ import annotations

import math
from typing import Any

from jaxtyping import Array

from spikejax.layers._conv_layer import Conv
from spikejax.layers._event_linear import check_threshold

__all__ = ["EVENT_CONV_THRESHOLD", "EventConv"]

#: Default fraction of nonzero inputs up to which `EventConv` computes from them. Measured with
#: ``benchmarks/activity_curve_conv.py`` on a 2-core AMD EPYC CPU on 2026-12-03 at the sizes of
#: ``conv_nmnist``'s two convolutions (800 frames, 5 x 5, float32): the event train step broke
#: even between 20 and 30 % at 15 x 15 x 12 -> 64 (the forward at about 20 %), and between 30 and
#: 50 % at 34 x 34 x 2 -> 12; 15 % stays below both.
EVENT_CONV_THRESHOLD = 0.15


class EventConv(Conv):
    r"""`Conv` that, on the CPU, computes from the nonzero inputs when they are few (spikes).

    The same layer as `Conv` (and so an ``nnx.Conv``: parameters, checkpoints, network-graph
    node with the dense MACs, chip deployment, energy, conversion and NIR export are the
    same). Where `Conv` runs its ``"native"`` lowering (float32 on the CPU with the C++ kernels
    available), a call whose input has at most ``threshold`` of its entries nonzero computes
    the value and the kernel gradient from those entries only
    (`spikejax.kernels.event_conv_cpu`, `spikejax.kernels.event_conv_wgrad_cpu`): a silent
    input costs one pass over it. Above the threshold it runs the dense convolution, chosen on
    the device for every call, so nothing is ever truncated. Everywhere else (GPU, TPU, other
    dtypes, no kernels) it is `Conv`. Its values equal `Conv`'s up to float rounding (bit for
    bit when the sums are exact, e.g. binary spikes and dyadic weights): for each output, the
    terms

    $$ y_{n,p,q,o} = \sum_{(i,j,c):\ \tilde x \neq 0} \tilde x_{n,\,s_h p+i,\,s_w q+j,\,c}\,
        k_{i,j,c,o} + b_o $$

    are added in ascending ``(i, j, c)``. Use it time-folded (``TimeFolded(EventConv(...))``):
    one call then sees the whole sequence, whose activity fluctuates less than a step's.

    Args:
        in_features, out_features, kernel_size, strides: as `Conv`.
        threshold: largest fraction of nonzero entries of the (padded) input for the event path,
            in ``[0, 1]``; ``None``: `EVENT_CONV_THRESHOLD`, measured at ``conv_nmnist``'s
            sizes (rerun ``benchmarks/activity_curve_conv.py`` for yours).
        lowering: as `Conv`; the event path runs with ``"native"`` (what ``"auto"`` gives for
            float32 on the CPU where the kernels are available).
        **kwargs: the other keyword arguments of ``nnx.Conv``.

    Raises:
        ValueError: ``threshold`` outside ``[0, 1]``, and whatever `Conv` raises.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> conv = layers.EventConv(2, 4, (3, 3), rngs=nnx.Rngs(0))
        >>> spikes = jnp.zeros((5, 3, 8, 8, 2)).at[:, :, 2, 3, 1].set(1.0)  # [T, B, H, W, C]
        >>> dense = layers.Conv(2, 4, (3, 3), rngs=nnx.Rngs(0))
        >>> bool(jnp.allclose(conv(spikes), dense(spikes), atol=1e-6))
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] | None = 1,
        *,
        threshold: float | None = None,
        lowering: str = "auto",
        **kwargs: Any,
    ):
        check_threshold("EventConv", threshold)
        super().__init__(
            in_features, out_features, kernel_size, strides, lowering=lowering, **kwargs
        )
        self.threshold = None if threshold is None else float(threshold)

    def event_capacity(self, x: Array, padding) -> int | None:
        """``ceil(threshold · size)``, ``size`` the entries of ``x`` after zero padding by
        ``padding``: the most nonzero entries a call computes its value from."""
        threshold = EVENT_CONV_THRESHOLD if self.threshold is None else self.threshold
        (top, bottom), (left, right) = padding
        n, h, w, c = x.shape
        size = n * (h + top + bottom) * (w + left + right) * c
        return min(math.ceil(threshold * size), size)
