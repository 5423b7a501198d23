"""Event-driven synaptic products: ``x @ W`` whose cost grows with the number of nonzero inputs.

A spike tensor is mostly zeros. Instead of multiplying every input by every weight, the product
lists the nonzero entries of ``x`` (the events), adds up the weight rows they select, and forms
the weight gradient from those rows only. The list has a fixed length (the capacity) because
shapes are static under ``jit``; a batch with more events than that runs the dense product
instead (``lax.switch``, decided on the device), so no event is ever dropped. Below the capacity
the smallest of a few list lengths (capacity, capacity/4, ..., 0) that holds the events is
used, so that the cost follows the number of events and a silent input costs one pass over it.

How events are listed: the nonzero pattern of ``x`` is packed into 32-bit words (one pass over
``x``), the words' population counts are summed cumulatively, and event ``k`` is found by a
running maximum over the slots of the words' first slots followed by a bit select inside the
word. This costs one pass over ``x`` plus ``O(capacity)``, far below the ``rows·in·out`` of the
product.

How rows are added: on the CPU, for float32, by C++ kernels called through XLA's FFI
(`spikejax.kernels.event_matmul_cpu` and `spikejax.kernels.event_wgrad_cpu`: each row's events
are listed and their weight rows summed in vector registers, on XLA's thread pool); where those
are not available, by a loop over the events in XLA, one weight row per trip, updating the
output row in place (XLA's CPU gather copies rows element by element, several times slower than
this loop); on GPU/TPU by a gather of the selected rows and a sorted segment sum, all in
parallel. The C++ kernels and the XLA loop add the same terms in the same order: their results
are equal bit for bit.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, Int

from spikejax import kernels
from spikejax.layers._branch import shared_branch

__all__ = ["EVENT_METHODS", "event_matmul", "event_slots", "resolve_method"]

_WORD = 32  # bits per packed word
#: How the selected rows are added: ``"native"`` (the C++ CPU kernels, float32), ``"loop"`` (one
#: row a trip in XLA), ``"gather"`` (a gather and a segment sum, parallel: GPU/TPU), ``"auto"``
#: (native on the CPU for float32 where available, else loop on the CPU and gather elsewhere).
EVENT_METHODS = ("auto", "loop", "gather", "native")


def _check(x: Any, w: Any, capacity: Any, method: Any) -> None:
    if method not in EVENT_METHODS:
        raise ValueError(
            f"`event_matmul`: `method` must be one of {EVENT_METHODS}; got {method!r}."
        )
    for arg, value in (("x", x), ("w", w)):
        if not hasattr(value, "shape") or not hasattr(value, "dtype"):
            raise TypeError(
                f"`event_matmul`: `{arg}` must be an array; got {type(value).__name__}."
            )
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise TypeError(
                f"`event_matmul`: `{arg}` must have a floating dtype; got {value.dtype}."
            )
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(
            "`event_matmul`: `x` must be [rows, in] and `w` [in, out] with matching `in`; got "
            f"shapes {tuple(x.shape)} and {tuple(w.shape)}."
        )
    if x.dtype != w.dtype:
        raise TypeError(
            f"`event_matmul`: `x` and `w` must have the same dtype; got {x.dtype} and {w.dtype}."
        )
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise ValueError(
            f"`event_matmul`: `capacity` must be a non-negative int; got {capacity!r}."
        )


def _pack(x: Array) -> tuple[Array, Array]:
    """The nonzero pattern of ``x`` as 32-bit words, row by row, and each word's bit count."""
    n_rows, n_in = x.shape
    n_words = -(-n_in // _WORD)
    mask = jnp.pad(x != 0, ((0, 0), (0, n_words * _WORD - n_in)))
    bits = mask.reshape(n_rows * n_words, _WORD).astype(jnp.uint32)
    words = jnp.sum(bits << jnp.arange(_WORD, dtype=jnp.uint32)[None, :], axis=1, dtype=jnp.uint32)
    return words, lax.population_count(words).astype(jnp.int32)


def _slots(words: Array, counts: Array, shape: tuple[int, int], capacity: int):
    """`event_slots` from the packed words: ``(rows, cols)`` of the first ``capacity`` events."""
    n_rows, n_in = shape
    n_words = -(-n_in // _WORD)
    k = jnp.arange(capacity, dtype=jnp.int32)
    if words.shape[0] == 0 or capacity == 0:
        return jnp.full_like(k, n_rows), jnp.full_like(k, n_in)
    ends = jnp.cumsum(counts, dtype=jnp.int32)  # events up to and including each word
    starts = ends - counts
    # Every word with events marks its first slot; the slots after it, up to the next mark, are
    # its events too (a running maximum). Marks past the capacity are dropped.
    marks = jnp.where(counts > 0, starts, capacity)
    ids = jnp.arange(words.shape[0], dtype=jnp.int32)
    word = lax.cummax(jnp.zeros_like(k).at[marks].max(ids, mode="drop"), axis=0)
    j = k - starts[word]  # the event's rank inside its word
    bits_left = words[word]
    position = jnp.zeros_like(k)
    for width in (16, 8, 4, 2, 1):  # select the j-th set bit by halving the word
        low = bits_left & jnp.uint32((1 << width) - 1)
        in_low = lax.population_count(low).astype(jnp.int32)
        high = j >= in_low
        j = jnp.where(high, j - in_low, j)
        bits_left = jnp.where(high, bits_left >> jnp.uint32(width), low)
        position = position + jnp.where(high, width, 0)
    valid = k < ends[-1]
    rows = jnp.where(valid, word // n_words, n_rows)
    cols = jnp.where(valid, (word % n_words) * _WORD + position, n_in)
    return rows, cols


def event_slots(
    x: Float[Array, "batch features"], capacity: int
) -> tuple[Int[Array, " capacity"], Int[Array, " capacity"], Int[Array, ""]]:
    """The nonzero entries of ``x`` in row-major order: ``(rows, cols, count)``.

    ``rows[k], cols[k]`` locate the ``k``-th nonzero entry for ``k < min(count, capacity)``;
    later slots hold ``rows = x.shape[0]`` and ``cols = x.shape[1]`` (one past the end).
    ``count`` is the number of nonzero entries of ``x``, also when it exceeds ``capacity``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import layers
        >>> x = jnp.array([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
        >>> rows, cols, count = layers.event_slots(x, 4)
        >>> rows.tolist(), cols.tolist(), int(count)
        ([0, 1, 1, 2], [1, 0, 2, 3], 3)
    """
    if not hasattr(x, "ndim") or x.ndim != 2:
        raise ValueError(
            f"`event_slots`: `x` must be a 2-d array [rows, in]; got {getattr(x, 'shape', x)!r}."
        )
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise ValueError(f"`event_slots`: `capacity` must be a non-negative int; got {capacity!r}.")
    words, counts = _pack(x)
    rows, cols = _slots(words, counts, x.shape, capacity)
    return rows, cols, jnp.sum(counts, dtype=jnp.int32)


def _tiers(capacity: int) -> tuple[int, ...]:
    """Event capacities from the largest down: ``capacity``, ``capacity/4``, ... (while at least
    512), then 0. A call runs the smallest that holds its events, so that listing the events
    costs at most about four times as much as there are events (a list slot costs a small
    fraction of an event's row), and a silent input almost nothing."""
    tiers = [capacity]
    while tiers[-1] // 4 >= 512:
        tiers.append(tiers[-1] // 4)
    if tiers[-1] != 0:
        tiers.append(0)
    return tuple(tiers)


def _accumulator(dtype: Any) -> Any:
    """Sums of weight rows run in at least float32 (as the dense product accumulates)."""
    return jnp.promote_types(dtype, jnp.float32)


def _dense(x: Array, w: Array, precision: Any) -> Array:
    return lax.dot_general(x, w, (((1,), (0,)), ((), ())), precision=precision)


def _values(x: Array, rows: Array, cols: Array) -> Array:
    """The nonzero values at the slots (0 in the empty slots)."""
    return x.at[rows, cols].get(mode="fill", fill_value=0)


def _scatter_rows_loop(src, src_idx, dst_idx, scale, count, dst_shape, acc):
    """``dst[dst_idx[k]] += scale[k] * src[src_idx[k]]`` for ``k < count``, one row a trip."""

    def body(k, dst):
        row = lax.dynamic_slice_in_dim(src, src_idx[k], 1, 0).astype(acc)
        here = lax.dynamic_slice_in_dim(dst, dst_idx[k], 1, 0)
        return lax.dynamic_update_slice_in_dim(dst, here + scale[k] * row, dst_idx[k], 0)

    return lax.fori_loop(0, count, body, jnp.zeros(dst_shape, acc))


def _scatter_rows_parallel(src, src_idx, dst_idx, scale, count, dst_shape, acc, sorted_dst):
    """The same sum as `_scatter_rows_loop`, as a gather and a segment sum (GPU/TPU)."""
    del count  # empty slots point one past the end and are dropped by the segment sum
    picked = src.at[src_idx].get(mode="fill", fill_value=0).astype(acc) * scale[:, None]
    return jax.ops.segment_sum(
        picked, dst_idx, num_segments=dst_shape[0], indices_are_sorted=sorted_dst
    )


def _add_rows(src, src_idx, dst_idx, scale, count, dst_shape, sorted_dst, method):
    acc = _accumulator(src.dtype)
    if src_idx.shape[0] == 0:  # capacity 0: the event path serves only silent inputs
        return jnp.zeros(dst_shape, acc)
    scale = scale.astype(acc)
    count = jnp.minimum(count, src_idx.shape[0])
    args = (src, src_idx, dst_idx, scale, count)
    if method == "loop":
        return _scatter_rows_loop(*args, dst_shape, acc)
    if method == "gather":
        return _scatter_rows_parallel(*args, dst_shape, acc, sorted_dst)
    return lax.platform_dependent(
        *args,
        cpu=lambda *a: _scatter_rows_loop(*a, dst_shape, acc),
        default=lambda *a: _scatter_rows_parallel(*a, dst_shape, acc, sorted_dst),
    )


def resolve_method(method: str, dtype: Any) -> str:
    """The method that runs: ``"auto"`` becomes ``"native"`` when the default backend is the CPU,
    ``dtype`` is float32 and `spikejax.kernels.native_status` says the kernels are available
    (it stays ``"auto"``, the XLA loop on the CPU and the gather elsewhere, otherwise). An
    explicit ``"native"`` that cannot run raises ``ValueError`` saying why."""
    native_ok = jax.default_backend() == "cpu" and jnp.dtype(dtype) == jnp.float32
    if method == "auto":
        return "native" if native_ok and kernels.native_status().available else "auto"
    if method == "native":
        if not native_ok:
            raise ValueError(
                "`event_matmul`: `method='native'` runs float32 on the CPU; got "
                f"{jnp.dtype(dtype)} on {jax.default_backend()}. Use method='auto'."
            )
        status = kernels.native_status()
        if not status.available:
            raise ValueError(
                f"`event_matmul`: `method='native'`: the C++ CPU kernels are not available: "
                f"{status.reason}. Use method='auto' (the XLA loop)."
            )
    return method


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _event_matmul(x: Array, w: Array, capacity: int, precision: Any, method: str) -> Array:
    return _fwd(x, w, capacity, precision, method)[0]


def _branch(counts: Array, capacity: int) -> tuple[Array, Array, tuple[int, ...]]:
    """``(count, branch, tiers)``: branch 0 is the dense product, branch ``i`` the event tier
    ``tiers[i - 1]``, the smallest that holds the ``count`` events."""
    count = jnp.sum(counts, dtype=jnp.int32)
    tiers = _tiers(capacity)
    return count, shared_branch(sum((count <= c).astype(jnp.int32) for c in tiers)), tiers


def _fwd(x, w, capacity, precision, method):
    if method == "native":
        # The kernel lists each row's events itself: no tiers, one count for the branch.
        events = shared_branch((kernels.count_nonzero_cpu(x) <= capacity).astype(jnp.int32))
        y = lax.switch(
            events, [lambda: _dense(x, w, precision), lambda: kernels.event_matmul_cpu(x, w)]
        )
        return y, (x, w, events)
    words, counts = _pack(x)
    count, branch, tiers = _branch(counts, capacity)
    shape = (x.shape[0], w.shape[1])
    dtype = jnp.result_type(x, w)

    def tier(c):
        def events():
            rows, cols = _slots(words, counts, x.shape, c)
            values = _values(x, rows, cols)
            return _add_rows(w, cols, rows, values, count, shape, True, method).astype(dtype)

        return events

    y = lax.switch(branch, [lambda: _dense(x, w, precision), *(tier(c) for c in tiers)])
    # The backward lists the events again, in the same tier: cheaper than keeping them.
    return y, (x, w, words, counts)


def _bwd(capacity, precision, method, residuals, g):
    x, w = residuals[:2]
    # The input gradient stays dense: every input, spiking or not, receives g Wᵀ.
    dx = jax.vjp(lambda x: _dense(x, w, precision), x)[1](g)[0]

    def dense():
        return jax.vjp(lambda w: _dense(x, w, precision), w)[1](g)[0]

    if method == "native":
        return dx, lax.switch(residuals[2], [dense, lambda: kernels.event_wgrad_cpu(x, g)])
    words, counts = residuals[2:]
    count, branch, tiers = _branch(counts, capacity)

    def tier(c):
        def events():
            rows, cols = _slots(words, counts, x.shape, c)
            values = _values(x, rows, cols)
            dw = _add_rows(g, rows, cols, values, count, w.shape, False, method)
            return dw.astype(w.dtype)

        return events

    return dx, lax.switch(branch, [dense, *(tier(c) for c in tiers)])


_event_matmul.defvjp(_fwd, _bwd)


def event_matmul(
    x: Float[Array, "batch features_in"],
    w: Float[Array, "features_in features_out"],
    *,
    capacity: int,
    precision: Any = None,
    method: str = "auto",
) -> Float[Array, "batch features_out"]:
    """``x @ w`` computed from the nonzero entries of ``x`` when there are at most ``capacity``.

    With ``E`` the nonzero entries ``(r, c)`` of ``x`` (events, in row-major order),

    $$ y_r = \\sum_{(r, c) \\in E} x_{rc} W_{c,:}, \\qquad
       \\frac{\\partial L}{\\partial W_{c,:}} = \\sum_{(r, c) \\in E} x_{rc}
       \\frac{\\partial L}{\\partial y_r}, \\qquad
       \\frac{\\partial L}{\\partial x} = \\frac{\\partial L}{\\partial y} W^\\top, $$

    which is ``x @ w`` and its gradients for any values of ``x`` (binary spikes, spike counts,
    graded events). The forward and the weight gradient cost ``O(|E|·out)`` plus one pass over
    ``x``; the input gradient is the dense product (the layer below needs all of it). When
    ``x`` has more than ``capacity`` nonzero entries the dense product (``lax.dot_general``)
    and its gradients run instead, decided on the device per call (``lax.cond``), so the
    result never depends on the capacity beyond rounding.

    Rounding: the events' rows are summed in row order, in at least float32; the dense product
    sums in its own blocked order, so the two agree to the rounding of a sum of ``|E_r|``
    terms per output, and bit for bit when the sums are exact (e.g. weights on a coarse binary
    grid). Under ``vmap`` one branch runs for all members: the dense product if any member
    has more than ``capacity`` events, else the events (each member its own). Forward-mode
    differentiation (``jax.jvp``) is not defined (the gradient is a ``custom_vjp``).

    Args:
        x: ``[rows, in]`` inputs, floating, the same dtype as ``w``.
        w: ``[in, out]`` weights.
        capacity: how many nonzero entries the event path handles (static).
        precision: passed to the dense product (``lax.dot_general``).
        method: how the events' rows are added, one of `EVENT_METHODS`: ``"native"`` by the C++
            CPU kernels (float32; `spikejax.kernels.event_matmul_cpu`), ``"loop"`` one row a trip
            in XLA (XLA's CPU gather copies element by element), ``"gather"`` gathers all rows
            and sums them in parallel (GPU/TPU), ``"auto"`` picks (`resolve_method`): native
            on the CPU for float32 where the kernels are available, else loop on the CPU and
            gather elsewhere. Native and loop give equal results, bit for bit.

    Returns:
        ``[rows, out]``, dtype of ``x``.

    Raises:
        TypeError: ``x`` or ``w`` is not a floating array, or their dtypes differ.
        ValueError: the shapes do not chain, ``capacity`` is not a non-negative int, or
            ``method="native"`` cannot run (not float32 on the CPU, or the kernels are not
            available: the message says why).

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import layers
        >>> x = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
        >>> w = jnp.arange(6.0).reshape(3, 2)
        >>> layers.event_matmul(x, w, capacity=4).tolist()
        [[2.0, 3.0], [4.0, 6.0]]
    """
    _check(x, w, capacity, method)
    return _event_matmul(x, w, capacity, precision, resolve_method(method, x.dtype))
