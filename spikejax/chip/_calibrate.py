"""Peak magnitudes of a float MLP's currents and membranes on sample inputs (for quantization).

`calibrate` runs the float network layer by layer with its own neurons and returns, per
layer, the largest ``|x|`` of the synaptic input ``x = s W + b`` and of the membrane (and synaptic
current of a CubaLIF) over all steps and samples. `spikejax.chip.quantize` takes these as
``peaks`` to choose scales at which the chip's states do not saturate where the float ones stay.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax._errors import check_floating
from spikejax.chip._fold import fold
from spikejax.chip._graph import LayerSpec, describe, flat_state
from spikejax.chip.connectivity import apply
from spikejax.neurons import IF, LI, LIF, CubaLIF, Recurrent

__all__ = ["calibrate", "float_layer", "float_neuron"]


def float_neuron(spec: LayerSpec, flat: dict[str, Any]) -> Any:
    """The float neuron of a layer, rebuilt from its leaves (unknown settings: class defaults,
    ``decay_input=False``)."""
    leaves = {name: jnp.asarray(flat[path]) for name, path in spec.leaves}
    kwargs: dict[str, Any] = {}
    if spec.reset is not None and spec.kind != "li":
        kwargs["reset"] = spec.reset
    if spec.decay_input and spec.kind in ("lif", "li"):
        kwargs["decay_input"] = True
    cls = {"lif": LIF, "if": IF, "cuba": CubaLIF, "li": LI}[spec.kind]
    neuron = cls(**leaves, **kwargs)
    if spec.rec_kernel is not None:
        return Recurrent(neuron, jnp.asarray(flat[spec.rec_kernel]))
    return neuron


def calibrate(model: Any, inputs: Any) -> tuple[float, ...]:
    """Per layer, ``max(|x|, |v|, |i|)`` over the float run on ``inputs`` ``[T, *batch, n_in]``.

    Args:
        model: the float model or its ``nnx.state`` (as for `spikejax.chip.quantize`).
        inputs: float inputs the model receives (spikes, or analog values).

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from spikejax import chip
        >>> from spikejax.models import LIFMLP
        >>> model = LIFMLP(4, (3,), 2, rngs=nnx.Rngs(0))
        >>> len(chip.calibrate(model, np.ones((5, 2, 4), np.float32)))
        2
    """
    fn = "calibrate"
    specs = describe(model, fn=fn)
    state = nnx.state(model) if isinstance(model, nnx.Module) else model
    flat = flat_state(state)
    x = jnp.asarray(inputs)
    check_floating(fn, "inputs", x)
    in_shape = specs[0].in_shape
    k = len(in_shape)
    if x.ndim < max(2, 1 + k) or tuple(x.shape[x.ndim - k :]) != in_shape:
        raise ValueError(
            f"`{fn}`: `inputs` must be [T, *batch, {', '.join(map(str, in_shape))}]; got "
            f"{tuple(x.shape)}."
        )
    x = x.reshape((x.shape[0], -1, specs[0].n_in))
    peaks = []
    for spec in specs:
        _, out, peak = float_layer(spec, flat, x)
        peaks.append(peak)
        x = out
    return tuple(float(np.float64(p)) for p in peaks)


def float_layer(spec: LayerSpec, flat: dict[str, Any], x: jax.Array):
    """The float layer on ``x`` ``[T, B, n_in]``: ``(synaptic input, output [T, B, n_out], peak
    of |input|, |membrane| and |current|)``; a relay's output is the max pool of its spikes."""
    T, B = x.shape[:2]
    flat_x = x.reshape((T * B, spec.n_in))
    if spec.kind == "or":
        out = apply(spec.conn, flat_x, jnp.ones((), x.dtype)) > 0
        return None, out.astype(x.dtype).reshape((T, B, spec.n_out)), 0.0
    fd = fold(spec, flat)
    w = jnp.asarray(fd.w, x.dtype)
    cur = apply(spec.conn, flat_x, w, precision=jax.lax.Precision.HIGHEST)
    cur = cur * jnp.asarray(spec.conn.pool_scale, x.dtype)
    cur = cur.reshape((T, B, *spec.out_shape))
    if fd.bias is not None:
        cur = cur + jnp.broadcast_to(jnp.asarray(fd.bias, x.dtype), cur.shape)
    neuron = float_neuron(spec, flat)

    def step(state, x_t):
        state, out = neuron.step(state, x_t)
        return state, (out, state)

    _, (out, states) = jax.lax.scan(step, neuron.init_state(cur.shape[1:], cur.dtype), cur)
    peak = float(jnp.max(jnp.abs(cur)))
    for s in jax.tree.leaves(states):
        peak = max(peak, float(jnp.max(jnp.abs(s))))
    return cur, out.reshape((T, B, spec.n_out)), peak
