"""The C++ forward kernel of `LIF` layers: its call (`lif_forward_cpu`), which layers it runs,
and running them in the neuron's own shapes."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from spikejax.kernels._native import native_status, require_native
from spikejax.kernels._support import flatten
from spikejax.neurons import LIF, LIFState
from spikejax.surrogate import SmoothTwin

__all__ = [
    "KERNEL_LIF_FIELDS",
    "LIF_RESETS",
    "lif_forward_cpu",
    "lif_kernel_forward",
    "lif_kernel_refusal",
]

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


#: `lif_forward_cpu`'s ``reset`` codes (the kernel's).
LIF_RESETS = {"subtract": 0, "zero": 1, "none": 2}


def lif_forward_cpu(
    xs: Float[Array, "time neurons"],
    v0: Float[Array, " neurons"],
    beta: Float[Array, " neurons"],
    threshold: Float[Array, " neurons"],
    *,
    reset: str,
    states: bool = False,
) -> tuple[Float[Array, "time neurons"], Float[Array, " neurons"]] | tuple[Array, Array, Array]:
    """All ``T`` steps of an LIF layer by the C++ CPU kernel (float32, CPU only):
    ``(spikes, v_final)``, and with ``states`` also the membrane entering every step ``[T, M]``.

    Per neuron ``m`` and step ``t``, the arithmetic of `spikejax.neurons.LIF`'s step without
    input resistance, leak or decayed input (``h`` by one fused multiply-add where the CPU has
    one, as XLA computes it there):

    $$ h = \\beta v + x_t,\\quad s_t = \\Theta(h - \\theta),\\quad
       v \\leftarrow h - s_t\\theta \\;|\\; h(1 - s_t) \\;|\\; h
       \\quad(\\text{reset: subtract | zero | none}) $$

    No gradient is defined here: `spikejax.unroll` (``backend="scan_vjp"``, the CPU's default)
    runs it for the forward pass of an `LIF` it applies to and differentiates by its own
    backward scan.

    Args:
        xs: input currents ``[T, M]``.
        v0: the membrane before the first step ``[M]``.
        beta: decay per neuron ``[M]``.
        threshold: threshold per neuron ``[M]``.
        reset: ``"subtract"``, ``"zero"`` or ``"none"``.
        states: also return the membrane entering each step.

    Raises:
        RuntimeError: the kernels are not available (`native_status` says why).
        TypeError: an argument is not a float32 array (``xs`` 2-d).
        ValueError: the shapes disagree, or ``reset`` is not one of the three.
    """
    require_native("lif_forward_cpu", xs=xs)
    for arg, value in (("v0", v0), ("beta", beta), ("threshold", threshold)):
        if getattr(value, "dtype", None) != jnp.float32:
            raise TypeError(
                f"`lif_forward_cpu`: `{arg}` must be a float32 array; got "
                f"{getattr(value, 'dtype', type(value).__name__)}."
            )
        if tuple(value.shape) != (xs.shape[1],):
            raise ValueError(
                f"`lif_forward_cpu`: `{arg}` must have shape ({xs.shape[1]},) (one entry per "
                f"neuron of `xs` {tuple(xs.shape)}); got {tuple(value.shape)}."
            )
    if reset not in LIF_RESETS:
        raise ValueError(
            f"`lif_forward_cpu`: `reset` must be one of {tuple(LIF_RESETS)}; got {reset!r}."
        )
    out = _lif_call(reset, states)(xs[None], v0[None], beta[None], threshold[None])
    return tuple(a[0] for a in out)


@functools.cache
def _lif_call(reset: str, states: bool):
    """The kernel call on ``P`` independent layers (``xs [P, T, M]``, the rest ``[P, M]``) for
    one reset mode. Under ``vmap`` the batch joins ``P``: the layers stay where vmap puts them
    (batch first), so no copy is made, and every batch member runs in the same call."""

    @jax.custom_batching.custom_vmap
    def call(xs, v0, beta, threshold):
        out = [
            jax.ShapeDtypeStruct(xs.shape, jnp.float32),
            jax.ShapeDtypeStruct(v0.shape, jnp.float32),
        ]
        target = "spikejax_lif_forward_f32"
        if states:
            out.append(jax.ShapeDtypeStruct(xs.shape, jnp.float32))
            target = "spikejax_lif_forward_states_f32"
        ffi = jax.ffi.ffi_call(target, out)
        return tuple(ffi(xs, v0, beta, threshold, reset=np.int64(LIF_RESETS[reset])))

    @call.def_vmap
    def _batch_as_layers(axis_size, in_batched, xs, v0, beta, threshold):
        def layers(a, is_batched):  # [batch, P, ...] -> [batch · P, ...]
            a = a if is_batched else jnp.broadcast_to(a, (axis_size, *a.shape))
            return a.reshape(axis_size * a.shape[1], *a.shape[2:])

        out = call(*map(layers, (xs, v0, beta, threshold), in_batched))
        out = tuple(a.reshape(axis_size, -1, *a.shape[1:]) for a in out)
        return out, tuple(True for _ in out)

    return call
