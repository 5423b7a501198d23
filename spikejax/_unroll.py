"""``unroll``: the one place where neurons meet ``lax.scan``."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from spikejax import kernels
from spikejax._errors import check_choice, check_floating
from spikejax.debug import check_time_major
from spikejax.neurons import AbstractNeuron

__all__ = [
    "BACKENDS",
    "check_backend",
    "check_positive_int",
    "check_remat",
    "choose_backend",
    "truncated_unroll",
    "unroll",
]

BACKENDS = ("auto", "scan", "scan_vjp", "pallas")


def _check_inputs(fn: str, neuron: Any, state0: Any, xs: Any) -> None:
    if not isinstance(neuron, AbstractNeuron):
        raise TypeError(
            f"`{fn}`: `neuron` must be a spikejax neuron (AbstractNeuron); got {neuron!r}."
        )
    if not hasattr(xs, "shape") or not hasattr(xs, "dtype"):
        raise TypeError(f"`{fn}`: `xs` must be an array [T, *shape]; got {type(xs).__name__}.")
    check_floating(fn, "xs", xs)
    if xs.ndim == 0:
        raise ValueError(f"`{fn}`: `xs` must be time-major [T, *shape]; got a scalar.")
    if xs.shape[0] == 0:
        raise ValueError(
            f"`{fn}`: `xs` must have at least one time step (T >= 1); got shape {xs.shape}."
        )
    _check_state(fn, neuron, state0, xs)


_BUILD = "create it with `neuron.init_state(xs.shape[1:], xs.dtype)`"


def _check_state(fn: str, neuron: AbstractNeuron, state0: Any, xs: Any) -> None:
    """``state0`` must match, leaf by leaf, the state the neuron declares for one step of ``xs``:
    ``jax.eval_shape(lambda: neuron.init_state(xs.shape[1:], xs.dtype))`` (tree structure, shape
    and dtype). Leaves whose shape or dtype does not follow the input (an int32 countdown, a step
    counter) are thereby allowed exactly as the neuron declares them."""
    step_shape = tuple(xs.shape[1:])
    try:
        expected = jax.eval_shape(lambda: neuron.init_state(step_shape, xs.dtype))
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"`{fn}`: `xs` must be time-major [T, *shape] with a step shape the neuron accepts; "
            f"got {tuple(xs.shape)}, for which `neuron.init_state` fails: {error}"
        ) from error
    expected_paths, expected_def = jax.tree_util.tree_flatten_with_path(expected)
    got_paths, got_def = jax.tree_util.tree_flatten_with_path(state0)
    if got_def != expected_def:
        raise ValueError(
            f"`{fn}`: `state0` must have the tree structure that `neuron.init_state` declares, "
            f"{expected_def}; got {got_def}. Create it with `neuron.init_state(shape, dtype)`."
        )
    for (path, leaf), (_, want) in zip(got_paths, expected_paths, strict=True):
        where = f"state0{jax.tree_util.keystr(path)}"
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            raise TypeError(
                f"`{fn}`: `{where}` must be an array; got {type(leaf).__name__}; {_BUILD}."
            )
        shape = tuple(leaf.shape)
        if shape != tuple(want.shape):
            if tuple(want.shape) == step_shape:  # the usual case: a state made for other inputs
                raise ValueError(
                    f"`{fn}`: `xs` must be time-major [T, *shape] matching state shape {shape} "
                    f"(`{where}`); got {tuple(xs.shape)}. If `xs` is right, {_BUILD}."
                )
            raise ValueError(
                f"`{fn}`: `{where}` must have shape {tuple(want.shape)}, as `neuron.init_state` "
                f"declares for `xs` of shape {tuple(xs.shape)}; got {shape}; {_BUILD}."
            )
        if leaf.dtype != want.dtype:
            raise TypeError(
                f"`{fn}`: `{where}` has dtype {leaf.dtype} but `xs` has {xs.dtype}, for which "
                f"`neuron.init_state` declares {want.dtype}; {_BUILD}."
            )


def _in_windows(window_fn, state0, xs: Float[Array, "T ..."], length: int):
    """Apply ``window_fn(state, xs_window) -> (state, ys)`` to consecutive ``length``-step windows.

    Full windows run under one ``lax.scan``; the last ``T mod length`` steps run as a shorter
    window.
    """
    T = xs.shape[0]
    n_full, tail = divmod(T, length)
    outputs = []
    state = state0
    if n_full:
        windows = xs[: n_full * length].reshape((n_full, length, *xs.shape[1:]))
        state, ys = jax.lax.scan(window_fn, state, windows)
        outputs.append(jax.tree_util.tree_map(lambda y: y.reshape((-1, *y.shape[2:])), ys))
    if tail:
        state, ys = window_fn(state, xs[n_full * length :])
        outputs.append(ys)
    if len(outputs) == 1:
        return state, outputs[0]
    return state, jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), *outputs)


def _run(neuron: AbstractNeuron, state0: Any, xs, remat: bool | int, n_unroll: int, backend: str):
    def scan(state, window_xs):
        if backend == "scan_vjp":
            return kernels.scan_vjp(neuron, state, window_xs, unroll=n_unroll)
        if backend == "pallas":
            return kernels.pallas_unroll(neuron, state, window_xs)
        return jax.lax.scan(neuron.step, state, window_xs, unroll=n_unroll)

    if remat is False:
        return scan(state0, xs)
    # Checkpointed BPTT: only the state at chunk boundaries is kept for the backward pass; each
    # chunk is recomputed when its gradient is needed, so residual memory is O(T/chunk + chunk).
    if remat is True:
        chunk = _sqrt_chunk(xs.shape[0])
    else:
        chunk = remat
    return _in_windows(jax.checkpoint(scan), state0, xs, chunk)


def _sqrt_chunk(T: int) -> int:
    """A chunk length near sqrt(T): a divisor of T within a factor 2 of sqrt(T) when there is one.

    A divisor avoids the shorter tail window, whose outputs must be concatenated to the others':
    that copy of the whole [T, ...] output would cost as much memory as remat saves.
    """
    root = max(1, math.isqrt(T - 1) + 1)  # ceil(sqrt(T))
    divisors = [d for d in range(max(1, root // 2), 2 * root + 1) if T % d == 0]
    return min(divisors, key=lambda d: abs(d - math.sqrt(T))) if divisors else root


def check_positive_int(fn: str, arg: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{fn}`: `{arg}` must be a positive int; got {value!r}.")


def check_backend(fn: str, backend: Any) -> None:
    """Raise ``ValueError`` unless ``backend`` is one of `BACKENDS`."""
    check_choice(fn, "backend", backend, BACKENDS)


def choose_backend(fn: str, backend: str, neuron: AbstractNeuron, state0: Any, xs: Any) -> str:
    """The backend that runs: ``"auto"`` resolved, an explicit fused backend checked.

    ``"auto"`` is ``"scan_vjp"`` where it applies (`spikejax.kernels.refusal` is ``None``) and the
    default JAX backend is the CPU, where it was measured faster; ``"scan"`` otherwise (the
    kernels are not measured on GPU/TPU yet). An explicit ``"scan_vjp"`` or ``"pallas"`` for a
    neuron they cannot run raises ``ValueError`` saying why.
    """
    check_backend(fn, backend)
    if backend == "scan":
        return backend
    reason = kernels.refusal(neuron, state0, xs)
    if backend == "auto":
        return "scan_vjp" if reason is None and jax.default_backend() == "cpu" else "scan"
    if reason is not None:
        raise ValueError(
            f"`{fn}`: `backend={backend!r}` runs only elementwise neurons on floating states; "
            f"got one it cannot run: {reason}. Use backend='scan' (or 'auto', which falls back "
            "to it)."
        )
    return backend


def check_remat(fn: str, remat: Any) -> None:
    if remat is not True and remat is not False:
        if isinstance(remat, bool) or not isinstance(remat, int) or remat < 1:
            raise ValueError(
                f"`{fn}`: `remat` must be a bool or a positive int chunk length; got {remat!r}."
            )


def unroll(
    neuron: AbstractNeuron,
    state0: Any,
    xs: Float[Array, "time ..."],
    *,
    remat: bool | int = False,
    unroll: int = 1,
    backend: str = "auto",
) -> tuple[Any, Float[Array, "time ..."]]:
    """Run ``neuron.step`` over the leading (time) axis of ``xs``.

    Args:
        neuron: any spikejax neuron.
        state0: its state for one time step, e.g. ``neuron.init_state(xs.shape[1:], xs.dtype)``.
            It must match what the neuron declares for that step,
            ``jax.eval_shape(lambda: neuron.init_state(xs.shape[1:], xs.dtype))``: the same tree
            structure and, leaf by leaf, the same shape and dtype (for most neurons every leaf has
            shape ``xs.shape[1:]`` and the dtype of ``xs``; a neuron may declare others, such as
            an int32 refractory countdown). A mismatch raises, naming the leaf.
        xs: time-major input ``[T, *batch, *neurons]``, floating, ``T >= 1``.
        remat: checkpointed BPTT. ``False`` stores every step's intermediates for the backward
            pass (memory O(T)). ``True`` splits time into chunks of about ``sqrt(T)`` steps (a
            divisor of ``T`` within a factor 2 of ``sqrt(T)`` when one exists, else
            ``ceil(sqrt(T))``) and stores only the state at chunk boundaries, recomputing one
            chunk at a time in the backward pass (residual memory O(sqrt T), about one extra
            forward pass of compute). An
            ``int`` sets the chunk length. Results and gradients are identical either way.
        unroll: how many steps ``lax.scan`` unrolls per loop iteration (speed; results identical).
        backend: how the steps run (speed; the forward results are identical bit for bit):

            * ``"scan"``: ``lax.scan(neuron.step, ...)``, differentiated by JAX. The reference;
              runs every neuron; the only one with forward-mode autodiff (``jax.jvp``).
            * ``"scan_vjp"``: the same forward scan with a hand-written VJP: the backward pass is
              one reverse scan that recomputes each step from the stored state entering it and
              applies ``jax.vjp`` of ``neuron.step`` (surrogate derivative fused into the loop
              body), accumulating parameter gradients per neuron and summing them once after
              the loop (`spikejax.kernels.scan_vjp`).
            * ``"pallas"``: all ``T`` steps, forward and backward, in one Pallas kernel with a
              grid over blocks of neurons (`spikejax.kernels.pallas_unroll`); for GPU/TPU, in
              Pallas's interpret mode (slow, for checking) on the CPU.
            * ``"auto"`` (default): ``"scan_vjp"`` where it applies and the default JAX backend is
              the CPU (measured there: forward + backward of a 16 x 512 LIF layer 1.1x to
              1.3x less CPU time, and a third less memory when its decay is trained),
              ``"scan"`` everywhere else (not yet measured on GPU/TPU).

            The fused backends run the elementwise neurons, `spikejax.kernels.ELEMENTWISE_NEURONS`
            (IF, LIF, LI, CubaLIF, CubaLI, ALIF, PLIF, Izhikevich; not ``Recurrent``, whose step
            couples neurons, nor ``RefractoryLIF``, whose countdown is an integer); naming one
            of them for another neuron raises ``ValueError``. Their gradients with respect to
            ``xs`` and ``state0`` equal the scan's up to float rounding (in the tests mostly
            bit for bit); parameter gradients are the same sums in another order. Neither
            defines forward-mode autodiff: for ``jax.jvp``/``jax.jacfwd`` pass
            ``backend="scan"``.

    Returns:
        ``(final_state, outputs)`` with ``outputs`` of shape ``[T, *batch, *neurons]``.

    Non-finite inputs are not checked by default (inside ``jit`` the values are unknown). A NaN
    input makes the membrane NaN from that step on, and ``NaN >= threshold`` is false, so the
    neuron silently stops spiking ("no spike"), with NaN gradients; an infinite input fires every
    step. Check data where it enters: `spikejax.data.Loader` refuses non-finite samples by
    index (``check_finite=True``, the default); inside compiled code, a function wrapped in
    `spikejax.debug.checked` fails at the first ``unroll`` whose ``xs`` holds NaN or inf
    (naming the step) and at the first operation that makes a NaN.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> lif = sj.neurons.LIF(beta=0.9)
        >>> xs = jnp.full((4, 2), 0.4)                       # [T, neurons]
        >>> state, spikes = sj.unroll(lif, lif.init_state((2,)), xs)
        >>> spikes[:, 0]
        Array([0., 0., 1., 0.], dtype=float32)
    """
    _check_inputs("unroll", neuron, state0, xs)
    check_time_major("unroll", "xs", xs)
    check_positive_int("unroll", "unroll", unroll)
    check_remat("unroll", remat)
    backend = choose_backend("unroll", backend, neuron, state0, xs)
    return _run(neuron, state0, xs, remat, unroll, backend)


def truncated_unroll(
    neuron: AbstractNeuron,
    state0: Any,
    xs: Float[Array, "time ..."],
    *,
    window: int,
    remat: bool | int = False,
    unroll: int = 1,
    backend: str = "auto",
) -> tuple[Any, Float[Array, "time ..."]]:
    """Truncated BPTT: like `unroll`, but gradients flow back at most ``window`` steps.

    Time is cut into consecutive windows of ``window`` steps (the last may be shorter). The state
    entering each window is ``stop_gradient``-ed, so the forward values are exactly those of
    `unroll` while the gradient of an output at step t only reaches inputs and parameters
    through steps of its own window. Parameter gradients from all windows are summed.
    ``remat``, ``unroll`` and ``backend`` are those of `unroll`.
    """
    _check_inputs("truncated_unroll", neuron, state0, xs)
    check_positive_int("truncated_unroll", "window", window)
    check_positive_int("truncated_unroll", "unroll", unroll)
    check_remat("truncated_unroll", remat)
    backend = choose_backend("truncated_unroll", backend, neuron, state0, xs)

    def run_window(state, window_xs):
        return _run(neuron, jax.lax.stop_gradient(state), window_xs, remat, unroll, backend)

    return _in_windows(run_window, state0, xs, window)
