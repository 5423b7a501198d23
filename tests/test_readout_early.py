"""Early decisions: the stopping rule against an independent NumPy reading, and its errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj


def reference(outputs, threshold, rule, accumulate):
    """Step by step in NumPy: integrate, test the confidence, stop at the first confident step."""
    T, B, K = outputs.shape
    predictions, steps = [], []
    for b in range(B):
        for t in range(T):
            seen = outputs[: t + 1, b].astype(np.float64)
            scores = {
                "mean": seen.mean(0),
                "sum": seen.sum(0),
                "max": seen.max(0),
                "last": seen[-1],
            }[accumulate]
            p = np.exp(scores - scores.max())
            p /= p.sum()
            if rule == "margin":
                top = np.sort(p)[::-1]
                confident = top[0] - top[1] >= threshold
            else:
                entropy = -np.sum(p * np.log(np.where(p > 0, p, 1.0)))
                confident = entropy / np.log(K) <= 1 - threshold
            if confident or t == T - 1:
                predictions.append(int(np.argmax(scores)))
                steps.append(t + 1)
                break
    return np.array(predictions), np.array(steps)


@pytest.mark.parametrize("rule", ["margin", "entropy"])
@pytest.mark.parametrize("accumulate", ["mean", "sum", "max", "last"])
def test_early_decision_matches_a_step_by_step_reading(rule, accumulate):
    # spike counts of 4 classes over 12 steps for 64 samples: ties and slow starts included
    outputs = jax.random.bernoulli(jax.random.key(0), 0.3, (12, 64, 4)).astype(jnp.float32)
    outputs = outputs.at[:, :8, 0].set(1.0)  # samples that become confident quickly
    for threshold in (0.0, 0.2, 0.5, 0.9):
        got = sj.readout.early_decision(outputs, threshold, rule=rule, accumulate=accumulate)
        expected = reference(np.asarray(outputs), threshold, rule, accumulate)
        np.testing.assert_array_equal(got[1], expected[1], err_msg=f"steps at {threshold}")
        np.testing.assert_array_equal(got[0], expected[0], err_msg=f"decisions at {threshold}")
    _, steps = sj.readout.early_decision(outputs, 0.0, rule=rule, accumulate=accumulate)
    assert np.all(np.asarray(steps) == 1)


def test_curve_has_a_row_per_threshold_and_per_fixed_step():
    outputs = jax.random.normal(jax.random.key(1), (5, 10, 3))
    labels = np.arange(10) % 3
    rows = sj.readout.early_exit_curve(outputs, labels, [0.0, 0.5])
    assert [r.get("threshold") for r in rows[:2]] == [0.0, 0.5]
    assert [r["steps"] for r in rows[2:]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert rows[0]["mean_steps"] == 1.0 and rows[0]["accuracy"] == rows[2]["accuracy"]


def test_errors_are_named():
    outputs = jnp.zeros((3, 2, 4))
    with pytest.raises(
        ValueError, match=r"`early_decision`: `threshold` must be a number in \[0, 1\]"
    ):
        sj.readout.early_decision(outputs, 1.5)
    with pytest.raises(ValueError, match=r"`early_decision`: `rule` must be one of"):
        sj.readout.early_decision(outputs, 0.5, rule="patience")
    with pytest.raises(ValueError, match=r"`early_decision`: `outputs` must be per-step class"):
        sj.readout.early_decision(jnp.zeros((2, 4)), 0.5)
    with pytest.raises(TypeError, match=r"`early_decision`: `outputs` must have a floating"):
        sj.readout.early_decision(jnp.zeros((3, 2, 4), jnp.int32), 0.5)
    with pytest.raises(ValueError, match=r"`early_exit_curve`: `labels` must be \[B\] = \[2\]"):
        sj.readout.early_exit_curve(outputs, np.zeros(3), [0.5])


def test_latency_leaves_out_samples_without_event_time_and_says_so():
    # [T=3, B=2, K=2]: both samples decide after 2 steps; sample 1 has no events (a NaN row).
    outputs = jnp.array([[[0.0, 0.0], [0.0, 0.0]], [[3.0, 0.0], [0.0, 3.0]], [[3.0, 0.0]] * 2])
    ends = np.array([[1000.0, 2000.0, 3000.0], [np.nan] * 3])
    row = sj.readout.early_exit_curve(outputs, [0, 1], [0.5], step_ends_us=ends)[0]
    assert (row["accuracy"], row["mean_steps"]) == (1.0, 2.0)
    assert (row["mean_latency_us"], row["max_latency_us"], row["latency_samples"]) == (
        2000.0,
        2000.0,
        1,
    )
    fixed = sj.readout.early_exit_curve(outputs, [0, 1], [], step_ends_us=ends)
    assert [(r["mean_latency_us"], r["latency_samples"]) for r in fixed] == [
        (1000.0, 1),
        (2000.0, 1),
        (3000.0, 1),
    ]
    none = sj.readout.early_exit_curve(outputs, [0, 1], [0.5], step_ends_us=np.full((2, 3), np.nan))
    assert (none[0]["mean_latency_us"], none[0]["latency_samples"]) == (None, 0)
    partly = ends.copy()
    partly[0, 2] = np.nan
    with pytest.raises(ValueError, match=r"`early_exit_curve`: `step_ends_us` must be finite"):
        sj.readout.early_exit_curve(outputs, [0, 1], [0.5], step_ends_us=partly)
    with pytest.raises(ValueError, match=r"a row only partly NaN"):
        sj.readout.early_exit_curve(outputs, [0, 1], [0.5], step_ends_us=np.full((2, 3), np.inf))
