"""Which `LIF` layers the C++ forward kernel runs, and running them in the neuron's own shapes."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from spikejax.kernels._native import lif_forward_cpu, native_status
from spikejax.kernels._support import flatten
from spikejax.neurons import LIF, LIFState
from spikejax.surrogate import SmoothTwin

__all__ = ["KERNEL_LIF_FIELDS", "lif_kernel_forward", "lif_kernel_refusal"]

#: The fields of `LIF` the kernel was written against. It is the one copy of a neuron's update
#: outside `spikejax.neurons` (tested bit for bit against ``LIF.step``); should `LIF` gain an
#: option, the kernel refuses every LIF until this list and the kernel are brought up to date,
#: rather than run without it.
KERNEL_LIF_FIELDS = (
    "beta",
    "threshold",
    "reset",
    "surrogate",
    "detach_reset",
    "decay_input",
    "r",
    "v_leak",
    "v_reset",
    "strict",
)


def lif_kernel_refusal(neuron: Any, state0: Any, xs: Any) -> str | None:
    """Why `lif_forward_cpu` cannot run ``neuron`` over ``xs``; ``None`` if it can.

    It runs an exact `LIF` (not a subclass) without input resistance, leak, decayed input,
    hard-reset value or strict threshold, whose spikes are the Heaviside step (not a
    `SmoothTwin`), on float32, on the CPU, where the kernels are available.
    """
    if type(neuron) is not LIF:
        return f"{type(neuron).__name__} is not LIF"
    unknown = sorted({f.name for f in dataclasses.fields(LIF)} - set(KERNEL_LIF_FIELDS))
    if unknown:
        return f"LIF has options the kernel was not written for: {', '.join(unknown)}"
    options = {
        "r": neuron.r is not None,
        "v_leak": neuron.v_leak is not None,
        "v_reset": neuron.v_reset is not None,
        "decay_input": neuron.decay_input,
        "strict": neuron.strict,
    }
    used = [name for name, on in options.items() if on]
    if used:
        return f"the kernel runs LIF without {', '.join(used)}"
    if isinstance(neuron.surrogate, SmoothTwin):
        return "a SmoothTwin surrogate's forward is not the spike"
    if jnp.dtype(xs.dtype) != jnp.float32 or jnp.dtype(state0.v.dtype) != jnp.float32:
        return f"the kernel runs float32; got {jnp.dtype(xs.dtype)}"
    if jax.default_backend() != "cpu":
        return f"the kernel runs on the CPU; the default backend is {jax.default_backend()}"
    status = native_status()
    return None if status.available else status.reason


def lif_kernel_forward(neuron: LIF, state0: LIFState, xs: Any, *, states: bool):
    """``(final_state, spikes)`` of ``neuron`` over ``xs`` by `lif_forward_cpu`, and with
    ``states`` the state entering every step (``LIFState`` of ``[T, *shape]``). Under ``vmap``,
    by ``LIF.step``'s scan batched over the members instead (same results; faster there)."""
    flat_neuron, flat_state, flat_xs = flatten(neuron, state0, xs)
    beta = flat_neuron.beta.astype(jnp.float32)
    threshold = flat_neuron.threshold.astype(jnp.float32)
    out = _forward(neuron.reset.value, states)(flat_xs, flat_state.v, beta, threshold)
    final = LIFState(out[1].reshape(xs.shape[1:]))
    spikes = out[0].reshape(xs.shape)
    if states:
        return final, spikes, LIFState(out[2].reshape(xs.shape))
    return final, spikes


@functools.cache
def _forward(reset: str, states: bool):
    """`lif_forward_cpu` for one layer; under ``vmap`` (a population of models) the neuron's own
    scan instead, batched by XLA over every member: there its loop trips are shared by the whole
    population, and the kernel's call measured slower (a 16-member population of 32 x 128 LIF
    layers over 100 steps: forward and backward 16 ms by the scan, 48-56 ms with the kernel,
    which paid 25,000 page faults a call for its batched buffers)."""

    @jax.custom_batching.custom_vmap
    def run(xs, v0, beta, threshold):
        return lif_forward_cpu(xs, v0, beta, threshold, reset=reset, states=states)

    @run.def_vmap
    def _scan_when_batched(axis_size, in_batched, xs, v0, beta, threshold):
        def one(xs, v0, beta, threshold):
            lif = LIF(beta=beta, threshold=threshold, reset=reset)

            def body(v, x):
                new, spikes = lif.step(LIFState(v), x)
                return new.v, ((spikes, v) if states else spikes)

            v, outputs = jax.lax.scan(body, v0, xs)
            return (outputs[0], v, outputs[1]) if states else (outputs, v)

        axes = tuple(0 if b else None for b in in_batched)
        out = jax.vmap(one, in_axes=axes, axis_size=axis_size)(xs, v0, beta, threshold)
        return out, tuple(True for _ in out)

    return run
