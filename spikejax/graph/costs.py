"""Counting rules shared by every consumer: multiply-accumulates of a matrix product and of a
convolution, from shapes alone.

`spikejax.graph.trace` applies them to the products a model really executes; the zoo's
configuration walk (``spikejax.models.macs_per_step`` of a name) applies them to the shapes its
configuration implies. Nothing else in the library counts MACs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["conv_macs", "matmul_macs", "out_size"]


def matmul_macs(batch: int, m: int, k: int, n: int) -> int:
    """MACs of ``batch`` products of an ``m×k`` by a ``k×n`` matrix: ``batch·m·k·n``.

    A linear layer ``in → out`` over ``N`` tokens is ``matmul_macs(1, N, in, out)``; the two
    attention products ``(Q Kᵀ) V`` of ``H`` heads over ``N`` tokens are
    ``matmul_macs(H, N, d_qk, N) + matmul_macs(H, N, N, d_v)``.

    Example:
        >>> from spikejax.graph import costs
        >>> costs.matmul_macs(1, 1, 64, 128)
        8192
    """
    return int(batch) * int(m) * int(k) * int(n)


def conv_macs(
    out_spatial: Sequence[int], kernel: Sequence[int], in_channels: int, out_channels: int, groups=1
) -> int:
    """MACs of a convolution for one sample: ``Π out_spatial · Π kernel · C_in/groups · C_out``.

    Example:
        >>> from spikejax.graph import costs
        >>> costs.conv_macs((112, 112), (7, 7), 3, 64)          # SEW-ResNet's first convolution
        118013952
    """
    per_output = math.prod(kernel) * (int(in_channels) // int(groups))
    return math.prod(out_spatial) * per_output * int(out_channels)


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a window of ``kernel`` taps sliding by ``stride`` over ``size`` inputs
    padded by ``padding`` on both sides: ``⌊(size + 2·padding − kernel)/stride⌋ + 1``."""
    return (size + 2 * padding - kernel) // stride + 1
