"""Folding an inference-mode batch norm into the Linear or Conv layer before it."""

from __future__ import annotations

import numpy as np

__all__ = ["fold_batchnorm"]


def fold_batchnorm(
    kernel: np.ndarray,
    bias: np.ndarray,
    *,
    scale: np.ndarray | None,
    offset: np.ndarray | None,
    mean: np.ndarray,
    var: np.ndarray,
    epsilon: float,
) -> tuple[np.ndarray, np.ndarray]:
    r"""``W' = g·W`` and ``b' = g·(b − μ) + β`` with ``g = γ/\sqrt{σ² + ε}``, per output channel.

    ``BN(x W + b) = (x W + b − μ)·g + β = x (g W) + (g (b − μ) + β)`` exactly, so the folded layer
    equals the layer followed by batch norm in evaluation mode (running statistics) up to float
    rounding. ``kernel``'s last axis is the output channel (``(in, out)`` for a Linear layer,
    ``(kh, kw, in/groups, out)`` for a convolution). Computed in float64.

    Args:
        kernel, bias: the layer's weights and bias (zeros when it has none).
        scale, offset: batch norm's ``γ`` and ``β`` (``None``: 1 and 0).
        mean, var: its running mean ``μ`` and variance ``σ²``.
        epsilon: its ``ε``.

    Example:
        >>> import numpy as np
        >>> from spikejax import convert
        >>> w, b = convert.fold_batchnorm(
        ...     np.ones((2, 1)), np.zeros(1), scale=np.array([2.0]), offset=np.array([1.0]),
        ...     mean=np.array([0.5]), var=np.array([3.0]), epsilon=1.0)
        >>> w.ravel().tolist(), b.tolist()                    # g = 2/√4 = 1
        ([1.0, 1.0], [0.5])
    """
    out = kernel.shape[-1]
    gamma = np.ones(out) if scale is None else np.asarray(scale, np.float64)
    beta = np.zeros(out) if offset is None else np.asarray(offset, np.float64)
    g = gamma / np.sqrt(np.asarray(var, np.float64) + float(epsilon))
    folded_kernel = np.asarray(kernel, np.float64) * g
    folded_bias = g * (np.asarray(bias, np.float64) - np.asarray(mean, np.float64)) + beta
    return folded_kernel, folded_bias
