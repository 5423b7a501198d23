"""Classification losses on time-major outputs ``[T, *batch, classes]`` with integer labels."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from spikejax._errors import check_choice, check_time_major
from spikejax.losses._common import check_labels, cross_entropy, scalar_param

__all__ = ["ce_count", "ce_membrane", "mse_count"]


def ce_count(
    spikes: Float[Array, "time *batch classes"], labels: Int[Array, "*batch"]
) -> Float[Array, ""]:
    r"""Softmax cross-entropy with the spike counts as logits.

    $$
    L = \frac{1}{B} \sum_b -\log \operatorname{softmax}(c_b)_{y_b}, \qquad
    c_{b,k} = \sum_t s_{t,b,k},
    $$

    with ``B`` the number of batch entries. The same as snnTorch's ``ce_count_loss``.

    Args:
        spikes: output spikes ``[T, *batch, classes]``, floating.
        labels: class indices ``[*batch]``, integer, in ``[0, classes)`` (checked when concrete).

    Returns:
        The scalar loss, in the dtype of ``spikes``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import losses
        >>> spikes = jnp.array([[[1.0, 0.0]], [[1.0, 0.0]]])   # [T=2, batch=1, classes=2]
        >>> losses.ce_count(spikes, jnp.array([0]))            # -log(e^2 / (e^2 + 1))
        Array(0.126928, dtype=float32)
    """
    fn = "ce_count"
    check_time_major(fn, "spikes", spikes, min_ndim=2)
    check_labels(fn, labels, spikes.shape[1:])
    return cross_entropy(jnp.sum(spikes, axis=0), labels)


def ce_membrane(
    v: Float[Array, "time *batch classes"],
    labels: Int[Array, "*batch"],
    *,
    reduce: str = "mean",
) -> Float[Array, ""]:
    r"""Softmax cross-entropy with a time-reduced membrane potential as logits.

    $$
    L = \frac{1}{B} \sum_b -\log \operatorname{softmax}(z_b)_{y_b}, \qquad
    z = \operatorname{mean}_t v_t \;|\; \max_t v_t \;|\; v_{T-1}
    \quad (\texttt{reduce="mean" | "max" | "last"}).
    $$

    ``"max"`` is snnTorch's ``ce_max_membrane_loss``.

    Args:
        v: membrane potentials ``[T, *batch, classes]``, floating.
        labels: class indices ``[*batch]``, integer, in ``[0, classes)`` (checked when concrete).
        reduce: ``"mean"`` (default), ``"max"`` or ``"last"``.

    Returns:
        The scalar loss, in the dtype of ``v``.
    """
    fn = "ce_membrane"
    check_choice(fn, "reduce", reduce, ("mean", "max", "last"))
    check_time_major(fn, "v", v, min_ndim=2)
    check_labels(fn, labels, v.shape[1:])
    if reduce == "mean":
        logits = jnp.mean(v, axis=0)
    elif reduce == "max":
        logits = jnp.max(v, axis=0)
    else:
        logits = v[-1]
    return cross_entropy(logits, labels)


def mse_count(
    spikes: Float[Array, "time *batch classes"],
    labels: Int[Array, "*batch"],
    *,
    correct_rate: float = 1.0,
    incorrect_rate: float = 0.0,
) -> Float[Array, ""]:
    r"""Mean squared error between spike counts and target counts, divided by ``T``.

    $$
    \begin{aligned}
    L = \frac{1}{T} \cdot \frac{1}{B\,K} \sum_{b,k} \big(c_{b,k} - T \rho_{b,k}\big)^2, \qquad
    c_{b,k} = \sum_t s_{t,b,k}, \qquad
    \rho_{b,k} = \begin{cases} \rho_\text{correct} & k = y_b \\
                               \rho_\text{incorrect} & k \ne y_b \end{cases}
    \end{aligned}
    $$

    with ``B`` batch entries and ``K`` classes. This is snnTorch's ``mse_count_loss`` (SLAYER's
    spike-count loss): ``MSELoss`` (mean over batch and classes) on the counts, then divided by
    ``num_steps``. One difference: snnTorch truncates the target count to an integer,
    ``int(T·ρ)``; here it is ``T·ρ`` exactly, so the two agree whenever ``T·ρ`` is a whole number.

    Args:
        spikes: output spikes ``[T, *batch, classes]``, floating.
        labels: class indices ``[*batch]``, integer, in ``[0, classes)`` (checked when concrete).
        correct_rate: target spikes per step ``ρ_correct`` of the labelled class, in ``[0, 1]``.
        incorrect_rate: target spikes per step ``ρ_incorrect`` of every other class, in ``[0, 1]``.

    Returns:
        The scalar loss, in the dtype of ``spikes``.

    Example:
        >>> import jax.numpy as jnp
        >>> from spikejax import losses
        >>> spikes = jnp.array([[[1.0, 1.0]], [[0.0, 1.0]]])   # counts (1, 2), targets (2, 0)
        >>> losses.mse_count(spikes, jnp.array([0]))           # ((1-2)^2 + (2-0)^2) / 2 / 2
        Array(1.25, dtype=float32)
    """
    fn = "mse_count"
    check_time_major(fn, "spikes", spikes, min_ndim=2)
    check_labels(fn, labels, spikes.shape[1:])
    on = scalar_param(fn, "correct_rate", correct_rate, spikes.dtype, low=0.0, high=1.0)
    off = scalar_param(fn, "incorrect_rate", incorrect_rate, spikes.dtype, low=0.0, high=1.0)
    num_steps, num_classes = spikes.shape[0], spikes.shape[-1]
    counts = jnp.sum(spikes, axis=0)
    is_label = jax.nn.one_hot(labels, num_classes, dtype=jnp.bool_)
    target = jnp.where(is_label, on * num_steps, off * num_steps)
    return jnp.mean(jnp.square(counts - target)) / num_steps
