"""`EventLinear`: a dense synaptic layer whose cost follows the input's spikes."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
from flax import nnx
from flax.nnx.nn.linear import default_bias_init, default_kernel_init
from jaxtyping import Array, Float

from spikejax.layers._event import EVENT_METHODS, event_matmul, resolve_method

__all__ = ["EVENT_THRESHOLD", "NATIVE_EVENT_THRESHOLD", "EventLinear", "default_threshold"]

#: Default fraction of nonzero inputs up to which `EventLinear` takes the event path. Measured
#: with ``benchmarks/activity_curve.py`` at the ``shd_mlp`` sizes (64 × 100 rows, 700 -> 256,
#: float32) on a 2-core AMD EPYC CPU, in two runs: the event path's break-even against
#: ``nnx.Linear``, interpolated between the measured activities, lay at 3.2–4.6 % (forward and
#: train step); 2.5 % stays below it, where the event path was faster in every run.
EVENT_THRESHOLD = 0.025

#: The same break-even for the C++ CPU kernels (``method="native"``, what ``"auto"`` runs for
#: float32 on the CPU where they are available), measured the same way on 2026-12-03 after the
#: weight-gradient kernel took one chunk of inputs per thread: the event train step broke even
#: at about 28 % (full curve) and between 30 and 35 % (5 % steps from 10 to 35 %, nine
#: repeats), the forward between 20 and 50 % and between 30 and 35 %; at 20 % the event train
#: step was 13-16 % faster than the dense one in both runs. (Before that change, three runs put
#: the break-even between 12.5 and 20 %, and the threshold was 12.5 %.)
NATIVE_EVENT_THRESHOLD = 0.2


def check_threshold(layer: str, threshold: Any) -> None:
    """Raise unless ``threshold`` is ``None`` or a number in ``[0, 1]`` (an event layer's)."""
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0.0 <= threshold <= 1.0
    ):
        raise ValueError(f"`{layer}`: `threshold` must be a number in [0, 1]; got {threshold!r}.")


def default_threshold(method: str, dtype: Any) -> float:
    """`EventLinear`'s default threshold for the method that runs (`resolve_method`):
    `NATIVE_EVENT_THRESHOLD` for the C++ CPU kernels, `EVENT_THRESHOLD` for the XLA programs."""
    return NATIVE_EVENT_THRESHOLD if resolve_method(method, dtype) == "native" else EVENT_THRESHOLD


class EventLinear(nnx.Linear):
    """``nnx.Linear`` that computes from the nonzero inputs when they are few (spike inputs).

    The same layer as ``nnx.Linear`` — same ``kernel [in, out]`` and ``bias [out]``
    parameters, initialisers, checkpoints, network-graph node (a ``linear`` node with the dense
    layer's MACs), chip deployment and energy accounting — whose product is
    `spikejax.layers.event_matmul`: when at most ``threshold`` of the inputs of a call are
    nonzero, the output adds up the weight rows of the nonzero inputs and the weight gradient is
    formed from those rows only; above it the dense product runs. The choice is made on the
    device for every call, so a batch with more spikes than expected is computed densely,
    never truncated. Results equal ``nnx.Linear``'s to rounding (bit for bit when the sums are
    exact), for any input values: binary spikes, spike counts or graded events.

    Use it time-folded, in place of ``TimeFolded(nnx.Linear(...))``: one call then sees the
    ``[T*B, in]`` spikes of the whole sequence, so the fixed costs (one pass over the input to
    list its spikes, one branch) are paid once per sequence instead of once per step, and the
    capacity covers the sequence's total activity, which fluctuates far less than a single
    step's.

    ``threshold`` fixes the event capacity of a call with ``R`` rows as
    ``ceil(threshold · R · in_features)`` nonzero inputs. The default (``None``) is where the
    event path stopped being faster than the dense product in ``benchmarks/activity_curve.py``
    on a 2-core CPU, for the method that runs (`default_threshold`): `NATIVE_EVENT_THRESHOLD`
    for the C++ CPU kernels (float32 on the CPU), `EVENT_THRESHOLD` for the XLA programs. It
    depends on the backend and the layer's sizes, so rerun the benchmark for yours.
    ``threshold=0`` takes the event path only for silent inputs; ``threshold=1`` always.

    Args:
        in_features: input size.
        out_features: output size.
        threshold: largest fraction of nonzero inputs for the event path, in ``[0, 1]``;
            ``None``: `default_threshold` of the method that runs.
        method: how the event path adds rows (`spikejax.layers.event_matmul`): ``"auto"``,
            ``"native"``, ``"loop"`` or ``"gather"``.
        use_bias: add a learned bias.
        dtype: computation dtype (as ``nnx.Linear``).
        param_dtype: parameter dtype.
        precision: precision of the dense product.
        kernel_init: kernel initialiser.
        bias_init: bias initialiser.
        rngs: random streams for the initialisers.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from spikejax import layers
        >>> fc = layers.TimeFolded(layers.EventLinear(700, 256, rngs=nnx.Rngs(0)))
        >>> spikes = jnp.zeros((100, 4, 700)).at[::10, :, ::50].set(1.0)  # 0.2 % active
        >>> dense = layers.TimeFolded(nnx.Linear(700, 256, rngs=nnx.Rngs(0)))
        >>> bool(jnp.allclose(fc(spikes), dense(spikes), atol=1e-5))
        True
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        threshold: float | None = None,
        method: str = "auto",
        use_bias: bool = True,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        precision: Any = None,
        kernel_init: Any = default_kernel_init,
        bias_init: Any = default_bias_init,
        rngs: nnx.Rngs,
    ):
        check_threshold("EventLinear", threshold)
        if method not in EVENT_METHODS:
            raise ValueError(
                f"`EventLinear`: `method` must be one of {EVENT_METHODS}; got {method!r}."
            )
        super().__init__(
            in_features,
            out_features,
            use_bias=use_bias,
            dtype=dtype,
            param_dtype=param_dtype,
            precision=precision,
            kernel_init=kernel_init,
            bias_init=bias_init,
            rngs=rngs,
        )
        self.threshold = None if threshold is None else float(threshold)
        self.method = method

    def capacity(self, rows: int, dtype: Any = jnp.float32) -> int:
        """How many nonzero inputs a call with ``rows`` rows of ``dtype`` handles on the event
        path."""
        threshold = self.threshold
        if threshold is None:
            threshold = default_threshold(self.method, dtype)
        return min(math.ceil(threshold * rows * self.in_features), rows * self.in_features)

    def __call__(self, inputs: Float[Array, "... features_in"]) -> Float[Array, "... features_out"]:
        """``inputs @ kernel + bias`` over the last axis; leading axes are rows."""
        if not hasattr(inputs, "shape") or inputs.ndim < 1:
            raise ValueError(
                "`EventLinear`: `inputs` must be an array [..., in_features]; got "
                f"{getattr(inputs, 'shape', type(inputs).__name__)}."
            )
        if inputs.shape[-1] != self.in_features:
            raise ValueError(
                f"`EventLinear`: `inputs` must end in in_features={self.in_features}; got shape "
                f"{tuple(inputs.shape)}."
            )
        kernel = self.kernel[...]
        bias = self.bias[...] if self.bias is not None else None
        inputs, kernel, bias = self.promote_dtype((inputs, kernel, bias), dtype=self.dtype)
        lead = inputs.shape[:-1]
        rows = math.prod(lead)
        flat = inputs.reshape((rows, self.in_features))
        y = event_matmul(
            flat,
            kernel,
            capacity=self.capacity(rows, flat.dtype),
            precision=self.precision,
            method=self.method,
        )
        y = y.reshape((*lead, self.out_features))
        if bias is not None:
            y += jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        return y
