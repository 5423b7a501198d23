"""How a many-core chip holds a layer: its neurons split over cores, each core's axons, synapses
and synaptic memory, counted from the layer's connectivity.

A layer's neurons are split, in row-major order (channels last), into blocks of at most
``per_core`` neurons, one block per core. For each core:

* **axons** (input lines, the core's fan-in): the presynaptic neurons that reach at least one of
  its neurons, times the input lines per presynaptic neuron (``lines``: event counts up to
  ``input_levels`` take that many binary lines on the first layer). A dense layer reaches every
  presynaptic neuron; a convolution or pooling window only its receptive field (padding taps
  reach nothing);
* **synapses**: the connections into its neurons (each presynaptic neuron of a folded sum pool
  is its own connection);
* **synaptic memory**: NengoLoihi's dense format (blocks of up to 64 weights plus 10 header bits,
  rounded up to 64-bit words, `synapse_bits`). A dense layer stores one weight per axon and
  neuron. A convolution shares its weights (Loihi's population axons index one stored kernel):
  the core stores the kernel of its output channels once, ``kh · kw · c_in / groups`` rows of
  one weight per channel; a pooling relay stores its window for each of its channels. On a
  binary crossbar (TrueNorth) nothing is shared: one bit per axon and neuron.

A neuron's **fan-out** is the number of cores of the next layer it reaches (one output axon
each); a core's fan-out is the sum over its neurons.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from spikejax.chip._graph import LayerSpec
from spikejax.chip.connectivity import apply

__all__ = ["Core", "core_plan", "fan_out", "synapse_bits"]


def synapse_bits(n_axons: int, n_targets: int, weight_bits: int) -> int:
    """Weight memory of ``n_axons`` axons that each reach ``n_targets`` neurons of one core, in
    NengoLoihi's dense format: blocks of up to 64 weights, ``weight_bits`` each plus 10 header
    bits, rounded up to 64-bit words.

    Example:
        >>> from spikejax.chip.fit import synapse_bits
        >>> synapse_bits(1, 128, 8)                 # 2 blocks of 64 weights: 2 * 576 bits
        1152
    """
    bits = 0
    for start in range(0, n_targets, 64):
        n = min(64, n_targets - start)
        bits += -64 * (-(n * weight_bits + 10) // 64)
    return n_axons * bits


@dataclasses.dataclass(frozen=True)
class Core:
    """One core of a layer.

    Attributes:
        neurons: ``(first, stop)`` indices of its neurons (row-major, channels last).
        axons: input lines it receives.
        synapses: connections into its neurons.
        memory_bits: synaptic memory it needs.
    """

    neurons: tuple[int, int]
    axons: int
    synapses: int
    memory_bits: int


_BATCH = 64  # cores whose receptive fields are computed at once (bounds the memory)


def _counts(spec: LayerSpec, blocks: list[tuple[int, int]]) -> np.ndarray:
    """``[len(blocks), n_in]``: synapses from each presynaptic neuron into each block of the
    layer's neurons (the transpose of the layer's linear map with unit weights, applied to each
    block's indicator)."""
    conn = spec.conn
    if conn.op == "pool":
        ones = jnp.ones((), jnp.float32)
    else:
        c_in = conn.pooled_shape[-1] // conn.groups
        ones = jnp.ones((*conn.kernel, c_in, conn.out_shape[-1]), jnp.float32)
    indicator = np.zeros((len(blocks), spec.n_out), np.float32)
    for i, (a, b) in enumerate(blocks):
        indicator[i, a:b] = 1.0
    x = jnp.zeros((len(blocks), spec.n_in), jnp.float32)
    _, vjp = jax.vjp(lambda x: apply(conn, x, ones, precision=jax.lax.Precision.HIGHEST), x)
    return np.rint(np.asarray(vjp(jnp.asarray(indicator))[0])).astype(np.int64)


def _memory(spec: LayerSpec, axons: int, n: int, c_core: int, bits: int, crossbar: bool) -> int:
    conn = spec.conn
    if crossbar:
        return axons * n
    if conn.op == "conv":
        rows = math.prod(conn.kernel) * (conn.pooled_shape[-1] // conn.groups)
        return synapse_bits(rows, c_core, bits)
    if conn.op == "pool":
        return synapse_bits(math.prod(conn.kernel), c_core, bits)
    return synapse_bits(axons, n, bits)


def core_plan(
    spec: LayerSpec, per_core: int, lines: int, weight_bits: int, crossbar: bool = False
) -> tuple[list[Core], np.ndarray]:
    """The cores of a layer with at most ``per_core`` neurons each (see the module docstring),
    and, per presynaptic neuron, the number of these cores it reaches (``(n_in,)``: its output
    axons into this layer).

    Example:
        >>> from flax import nnx
        >>> from spikejax import chip, models
        >>> net = models.ConvSNN(1, (2,), 4, image_size=(4, 4), pool=1, rngs=nnx.Rngs(0))
        >>> spec = chip.quantize(net, "loihi").layers[0].spec   # a 3x3 conv, 1 -> 2 channels
        >>> spec.synapse.op, spec.n_in, spec.n_out
        ('conv', 16, 32)
        >>> cores, targets = core_plan(spec, 16, 1, 8)
        >>> [(c.neurons, c.axons, c.synapses) for c in cores], targets.tolist()[::4]
        ([((0, 16), 12, 100), ((16, 32), 12, 100)], [1, 2, 2, 1])
    """
    n = spec.n_out
    blocks = [(a, min(a + per_core, n)) for a in range(0, n, per_core)]
    channels = spec.conn.out_shape[-1]
    dense = spec.conn.op == "dense"
    targets = np.full(spec.n_in, len(blocks), np.int64) if dense else np.zeros(spec.n_in, np.int64)
    cores = []
    for start in range(0, len(blocks), _BATCH):
        batch = blocks[start : start + _BATCH]
        counts = None if dense else _counts(spec, batch)
        for i, (a, b) in enumerate(batch):
            if dense:
                axons, synapses = spec.n_in * lines, spec.n_in * (b - a) * lines
            else:
                reach = counts[i]
                targets += reach > 0
                axons, synapses = int(np.count_nonzero(reach)) * lines, int(np.sum(reach)) * lines
            c_core = min(b - a, channels)  # channels of a contiguous run of neurons
            memory = _memory(spec, axons, b - a, c_core, weight_bits, crossbar)
            cores.append(Core((a, b), axons, synapses, memory))
    return cores, targets


def fan_out(layer: list[Core], targets: np.ndarray) -> int:
    """The largest fan-out of a core of ``layer``: the sum over its neurons of ``targets``, the
    cores of the next layer each neuron reaches (from `core_plan` of the next layer)."""
    return max(int(np.sum(targets[a:b])) for a, b in (c.neurons for c in layer))
