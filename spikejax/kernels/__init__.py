"""Fused multi-step neuron kernels: the backends of `spikejax.unroll` other than ``"scan"``.

Both run the neuron's own ``step`` (one concept, one place: the dynamics stay in
`spikejax.neurons`) with its parameters broadcast to one value per neuron, for the elementwise
neurons in `ELEMENTWISE_NEURONS`; `refusal` says why another neuron or state is not run.

* `scan_vjp`: ``lax.scan`` forward, hand-written backward as one reverse scan (any backend).
* `pallas_unroll`: the whole time loop inside one Pallas kernel, forward and backward, with a
  grid over blocks of neurons (GPU/TPU; Pallas's interpret mode on the CPU).

And C++ CPU kernels, compiled on first use (`native_status` says whether they are available in
this process, and why not): the event-driven synapses' products (`event_matmul_cpu`,
`event_wgrad_cpu`, behind `spikejax.layers.event_matmul`) and the count that chooses them
(`count_nonzero_cpu`), the convolutions' (`event_conv_cpu`
and `event_conv_wgrad_cpu` from the input's nonzero entries, `conv_kernel_grad_cpu` and
`conv_input_grad_cpu` from the cotangent's, behind `spikejax.layers.Conv` and
`spikejax.layers.EventConv`), and the forward pass of an `LIF` layer over all its steps
(`lif_forward_cpu`, behind `scan_vjp` where `lif_kernel_refusal` is ``None``).
"""

from spikejax.kernels._native import NativeStatus as NativeStatus
from spikejax.kernels._native import count_nonzero_cpu as count_nonzero_cpu
from spikejax.kernels._native import event_matmul_cpu as event_matmul_cpu
from spikejax.kernels._native import event_wgrad_cpu as event_wgrad_cpu
from spikejax.kernels._native import native_status as native_status
from spikejax.kernels._native_conv import conv_input_grad_cpu as conv_input_grad_cpu
from spikejax.kernels._native_conv import conv_kernel_grad_cpu as conv_kernel_grad_cpu
from spikejax.kernels._native_conv import event_conv_cpu as event_conv_cpu
from spikejax.kernels._native_conv import event_conv_wgrad_cpu as event_conv_wgrad_cpu
from spikejax.kernels._native_lif import KERNEL_LIF_FIELDS as KERNEL_LIF_FIELDS
from spikejax.kernels._native_lif import lif_forward_cpu as lif_forward_cpu
from spikejax.kernels._native_lif import lif_kernel_refusal as lif_kernel_refusal
from spikejax.kernels._pallas import DEFAULT_BLOCK as DEFAULT_BLOCK
from spikejax.kernels._pallas import pallas_unroll as pallas_unroll
from spikejax.kernels._scan_vjp import scan_vjp as scan_vjp
from spikejax.kernels._support import ELEMENTWISE_NEURONS as ELEMENTWISE_NEURONS
from spikejax.kernels._support import flatten as flatten
from spikejax.kernels._support import refusal as refusal
from spikejax.kernels._support import unflatten as unflatten

__all__ = [
    "DEFAULT_BLOCK",
    "ELEMENTWISE_NEURONS",
    "KERNEL_LIF_FIELDS",
    "NativeStatus",
    "conv_input_grad_cpu",
    "conv_kernel_grad_cpu",
    "count_nonzero_cpu",
    "event_conv_cpu",
    "event_conv_wgrad_cpu",
    "event_matmul_cpu",
    "event_wgrad_cpu",
    "flatten",
    "lif_forward_cpu",
    "lif_kernel_refusal",
    "native_status",
    "pallas_unroll",
    "refusal",
    "scan_vjp",
    "unflatten",
]
