"""Early decisions: stop integrating a sample once its accumulated readout is confident."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from spikejax._errors import check_choice, check_floating

__all__ = ["ACCUMULATE", "RULES", "accumulated_scores", "early_decision", "early_exit_curve"]

RULES = ("margin", "entropy")
ACCUMULATE = ("mean", "sum", "max", "last")


def accumulated_scores(outputs: Array, accumulate: str) -> Array:
    """The class scores after each step ``t``: the readout of ``outputs[:t+1]`` (the scores the
    early-decision rule reads)."""
    if accumulate == "last":
        return outputs
    if accumulate == "max":
        return jax.lax.cummax(outputs, axis=0)
    total = jnp.cumsum(outputs, axis=0)
    if accumulate == "sum":
        return total
    steps = jnp.arange(1, outputs.shape[0] + 1, dtype=outputs.dtype)
    return total / steps.reshape((-1,) + (1,) * (outputs.ndim - 1))


def _check(fn: str, outputs: Any, threshold: Any, rule: str, accumulate: str) -> None:
    if not hasattr(outputs, "ndim") or outputs.ndim != 3:
        raise ValueError(
            f"`{fn}`: `outputs` must be per-step class scores [T, B, K]; got "
            f"{getattr(outputs, 'shape', type(outputs).__name__)}."
        )
    check_floating(fn, "outputs", outputs)
    check_choice(fn, "rule", rule, RULES)
    check_choice(fn, "accumulate", accumulate, ACCUMULATE)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise TypeError(f"`{fn}`: `threshold` must be a number in [0, 1]; got {threshold!r}.")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"`{fn}`: `threshold` must be a number in [0, 1]; got {threshold!r}.")


def early_decision(
    outputs: Float[Array, "time batch classes"],
    threshold: float,
    *,
    rule: str = "margin",
    accumulate: str = "mean",
) -> tuple[Int[Array, " batch"], Int[Array, " batch"]]:
    r"""Per sample, the first step at which the readout is confident, and its decision then.

    After step ``t`` the class scores are the readout of the outputs so far (``accumulate``:
    their running ``"mean"``, ``"sum"`` or ``"max"``, or ``"last"`` for outputs that already
    accumulate, e.g. a membrane), and ``p = softmax(scores)``. The sample stops at the first
    ``t`` where

    $$
    p_{(1)} - p_{(2)} \ge \text{threshold} \quad(\texttt{"margin"})
    \qquad\text{or}\qquad
    -\textstyle\sum_k p_k \log p_k / \log K \le 1 - \text{threshold} \quad(\texttt{"entropy"})
    $$

    (the two largest probabilities; the entropy normalised to ``[0, 1]``), and decides
    ``argmax p``; a sample that never becomes confident decides at the last step. Later steps do
    not change the decision, so evaluating all ``T`` steps and applying this rule equals
    stopping each sample early. ``threshold = 0`` stops every sample after one step.

    Args:
        outputs: per-step class scores ``[T, B, K]`` (spike counts, membranes, per-step logits).
        threshold: confidence in ``[0, 1]``.
        rule: ``"margin"`` or ``"entropy"``.
        accumulate: ``"mean"``, ``"sum"``, ``"max"`` or ``"last"``.

    Returns:
        ``(predictions, steps)``: int32 ``[B]``; ``steps`` in ``1 … T`` is the number of steps
        integrated.

    Example:
        >>> import jax.numpy as jnp, spikejax as sj
        >>> outputs = jnp.array([[[0.0, 0.0]], [[3.0, 0.0]], [[3.0, 0.0]]])   # [T=3, B=1, K=2]
        >>> sj.readout.early_decision(outputs, 0.5, accumulate="sum")
        (Array([0], dtype=int32), Array([2], dtype=int32))
    """
    fn = "early_decision"
    _check(fn, outputs, threshold, rule, accumulate)
    scores = accumulated_scores(outputs.astype(jnp.float32), accumulate)
    p = jax.nn.softmax(scores, axis=-1)
    if rule == "margin":
        top = jax.lax.top_k(p, 2)[0] if p.shape[-1] > 1 else jnp.concatenate([p, 0 * p], -1)
        confident = top[..., 0] - top[..., 1] >= threshold
    else:
        entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(p), 0.0), axis=-1)
        confident = entropy / jnp.log(jnp.float32(max(p.shape[-1], 2))) <= 1.0 - threshold
    confident = confident.at[-1].set(True)  # a sample that is never confident decides at T
    stop = jnp.argmax(confident, axis=0)
    decisions = jnp.argmax(scores, axis=-1)
    predictions = jnp.take_along_axis(decisions, stop[None], axis=0)[0]
    return predictions.astype(jnp.int32), (stop + 1).astype(jnp.int32)


def early_exit_curve(
    outputs: Float[Array, "time batch classes"],
    labels: Any,
    thresholds: Sequence[float],
    *,
    rule: str = "margin",
    accumulate: str = "mean",
    step_ends_us: Any = None,
) -> list[dict[str, float]]:
    """Accuracy against mean steps used, for each threshold, and for fixed ``T`` for comparison.

    Args:
        outputs, labels: per-step class scores ``[T, B, K]`` and labels ``[B]``.
        thresholds, rule, accumulate: as for `early_decision`.
        step_ends_us: for event data, when each step of each sample ends in µs of event time,
            ``[B, T]`` (e.g. `spikejax.data.ToFrames.frame_ends_us` of each sample): a sample
            that decides after ``n`` steps has a latency of ``step_ends_us[b, n - 1]``. A row of
            NaN marks a sample without event time (an empty recording): its decision counts in
            the accuracy and steps but not in the latencies, whose rows say over how many
            samples they are taken (``"latency_samples"``).

    Returns:
        One dict per threshold: ``{"threshold", "accuracy", "mean_steps", "max_steps"}``, then one
        per fixed number of steps ``t = 1 … T``: ``{"steps", "accuracy"}`` (every sample stopped
        after ``t`` steps). With ``step_ends_us`` the threshold rows also hold the latency to
        decision ``"mean_latency_us"`` and ``"max_latency_us"``, the fixed rows
        ``"mean_latency_us"``, and both ``"latency_samples"`` (latencies ``None`` when no sample
        has event time).

    Example:
        >>> import jax.numpy as jnp, numpy as np, spikejax as sj
        >>> outputs = jnp.array([[[0.0, 0.0]], [[3.0, 0.0]], [[3.0, 0.0]]])   # [T=3, B=1, K=2]
        >>> ends = np.array([[1000.0, 2000.0, 3000.0]])                     # 1 ms bins
        >>> row = sj.readout.early_exit_curve(outputs, [0], [0.5], step_ends_us=ends)[0]
        >>> row["mean_steps"], row["mean_latency_us"]
        (2.0, 2000.0)
    """
    fn = "early_exit_curve"
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != outputs.shape[1]:
        raise ValueError(
            f"`{fn}`: `labels` must be [B] = [{outputs.shape[1]}]; got shape {y.shape}."
        )
    ends = None
    if step_ends_us is not None:
        ends = np.asarray(step_ends_us, np.float64)
        want = (outputs.shape[1], outputs.shape[0])
        if ends.shape != want:
            raise ValueError(
                f"`{fn}`: `step_ends_us` must be [B, T] = {list(want)}; got shape {ends.shape}."
            )
        nan = np.isnan(ends)
        timed = ~nan.any(axis=1)
        if np.any(nan.any(axis=1) & ~nan.all(axis=1)) or np.isinf(ends).any():
            raise ValueError(
                f"`{fn}`: `step_ends_us` must be finite, or a whole row of NaN for a sample "
                "without event time; got infinite values or a row only partly NaN."
            )
    rows: list[dict[str, float]] = []
    for threshold in thresholds:
        predictions, steps = early_decision(outputs, threshold, rule=rule, accumulate=accumulate)
        steps = np.asarray(steps)
        row = {
            "threshold": float(threshold),
            "accuracy": float(np.mean(np.asarray(predictions) == y)),
            "mean_steps": float(steps.mean()),
            "max_steps": float(steps.max()),
        }
        if ends is not None:
            latency = np.take_along_axis(ends, steps[:, None] - 1, axis=1)[:, 0][timed]
            row |= {
                "mean_latency_us": float(latency.mean()) if latency.size else None,
                "max_latency_us": float(latency.max()) if latency.size else None,
                "latency_samples": int(latency.size),
            }
        rows.append(row)
    fixed = np.asarray(jnp.argmax(accumulated_scores(outputs.astype(jnp.float32), accumulate), -1))
    for t in range(outputs.shape[0]):
        row = {"steps": float(t + 1), "accuracy": float(np.mean(fixed[t] == y))}
        if ends is not None:
            at_t = ends[timed, t]
            row["mean_latency_us"] = float(at_t.mean()) if at_t.size else None
            row["latency_samples"] = int(at_t.size)
        rows.append(row)
    return rows
