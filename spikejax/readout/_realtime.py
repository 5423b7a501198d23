"""Real-time event input: a recorded event stream fed to a model bin by bin, as it would arrive.

`EventStream` cuts a stream of events (tonic's structured array ``x, y, t, p``, ``t`` in µs, as
the readers of `spikejax.data` return) into consecutive bins of ``bin_us`` µs of event time,
turns each bin into one input frame (the same `spikejax.data.ToFrames` conversion the training
pipeline uses, spatial downsampling included), and runs the model one step per bin with its
neuron state carried (`spikejax.run`) in a step function compiled once. After the stream it
applies the early-decision rule of `spikejax.readout.early_decision` to the per-bin readout:
the rule is causal (the decision after bin ``k`` reads bins ``1 … k`` only), so the decision bin
is the one a live system would have stopped at, and the latency is its end in event time.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax._stream import init_state, run
from spikejax.readout._early import accumulated_scores, early_decision

__all__ = ["EventStream", "StreamResult"]


class StreamResult(NamedTuple):
    """One stream run through `EventStream`.

    Attributes:
        outputs: the model's output of every bin ``[n_bins, K]``.
        probabilities: the softmax of the accumulated scores after every bin ``[n_bins, K]``,
            what the decision rule reads.
        bin_end_us: the end of every bin in event time, µs after the stream's start ``[n_bins]``.
        events_per_bin: events that fell in each bin ``[n_bins]``.
        wall_s: wall-clock seconds each bin took (frame, compiled step, result on the host).
        prediction: the class decided.
        decision_bin: bins integrated until the decision (``1 … n_bins``).
        latency_us: event time from the stream's start to the end of the decision bin, µs.
    """

    outputs: np.ndarray
    probabilities: np.ndarray
    bin_end_us: np.ndarray
    events_per_bin: np.ndarray
    wall_s: np.ndarray
    prediction: int
    decision_bin: int
    latency_us: float


class EventStream:
    """Feed event streams through ``model`` in real-time bins, one compiled step per bin.

    Args:
        model: a model on time-major frames ``[T, 1, *features]`` (batch of one stream).
        sensor_size: ``(width, height, polarities)`` of the sensor.
        bin_us: bin length in µs of event time (e.g. 1000 for 1 ms bins); a model reads bins of
            the length it was trained on.
        spatial_factor: spatial downsampling of each frame, as in training, or ``None``.
        flatten: flatten each frame to a feature vector (``data.flatten`` in training);
            otherwise channels-last ``[H, W, P]``.
        **kwargs: passed to the model call.

    Example:
        >>> import numpy as np, spikejax as sj
        >>> from flax import nnx
        >>> net = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), in_features=2 * 4 * 4, hidden=(8,))
        >>> events = np.zeros(3, dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
        >>> events["t"] = [0, 1500, 4200]                       # µs
        >>> stream = sj.readout.EventStream(net, (4, 4, 2), bin_us=1000)
        >>> result = stream(events, threshold=0.9)
        >>> result.outputs.shape, result.events_per_bin.tolist(), result.bin_end_us.tolist()
        ((5, 10), [1, 1, 0, 0, 1], [1000, 2000, 3000, 4000, 5000])
    """

    def __init__(
        self,
        model: nnx.Module,
        sensor_size: tuple[int, int, int],
        *,
        bin_us: int,
        spatial_factor: float | None = None,
        flatten: bool = True,
        **kwargs: Any,
    ):
        from spikejax.data import EVENT_DTYPE, ToFrames

        fn = "EventStream"
        if isinstance(bin_us, bool) or not isinstance(bin_us, int) or bin_us < 1:
            raise ValueError(f"`{fn}`: `bin_us` must be an int >= 1 (µs); got {bin_us!r}.")
        self.bin_us = bin_us
        self.flatten = flatten
        self.to_frame = ToFrames(
            tuple(sensor_size),
            time_window=bin_us,
            start_time=0,
            end_time=bin_us,
            spatial_factor=spatial_factor,
            channels_last=not flatten,
        )
        probe = self._frame(np.zeros(0, dtype=EVENT_DTYPE))
        self.state0 = init_state(model, (1, *probe.shape), jnp.float32, **kwargs)
        graphdef, variables = nnx.split(model)
        self.traces = 0

        def step(variables, state, frame):
            self.traces += 1
            out, state = run(nnx.merge(graphdef, variables), frame[None, None], state, **kwargs)
            return out[0, 0], state

        self._variables = variables
        self._step = jax.jit(step)

    def _frame(self, events: np.ndarray) -> np.ndarray:
        frame = np.asarray(self.to_frame(events), np.float32)[0]
        return frame.reshape(-1) if self.flatten else frame

    def __call__(
        self,
        events: np.ndarray,
        *,
        threshold: float,
        rule: str = "margin",
        accumulate: str = "mean",
        t_start: int | None = None,
        duration_us: int | None = None,
    ) -> StreamResult:
        """Run one stream: every bin from ``t_start`` (default: the first event) until the last
        event (or for ``duration_us``), then the decision by ``threshold``/``rule``/``accumulate``
        (see `spikejax.readout.early_decision`; checked before the stream runs)."""
        fn = "EventStream"
        if not isinstance(events, np.ndarray) or events.dtype.names is None:
            raise TypeError(
                f"`{fn}`: `events` must be a structured array with fields x, y, t, p; got "
                f"{type(events).__name__}."
            )
        missing = [f for f in ("x", "y", "t", "p") if f not in events.dtype.names]
        if missing:
            raise ValueError(f"`{fn}`: `events` must have fields x, y, t, p; missing {missing}.")
        t = events["t"].astype(np.int64)
        if t.size and np.any(np.diff(t) < 0):
            raise ValueError(f"`{fn}`: `events['t']` must be sorted in time (a recorded stream).")
        early_decision(jnp.zeros((1, 1, 2)), threshold, rule=rule, accumulate=accumulate)
        start = int(t[0]) if t_start is None and t.size else int(t_start or 0)
        end = start + duration_us if duration_us is not None else (int(t[-1]) + 1 if t.size else 0)
        n_bins = max(1, -(-(end - start) // self.bin_us))
        edges = np.searchsorted(t, start + self.bin_us * np.arange(n_bins + 1), side="left")
        state, outputs, walls = self.state0, [], []
        for k in range(n_bins):
            tick = time.perf_counter()
            chunk = events[edges[k] : edges[k + 1]].copy()
            chunk["t"] = chunk["t"] - (start + k * self.bin_us)  # bin-relative time
            out, state = self._step(self._variables, state, jnp.asarray(self._frame(chunk)))
            outputs.append(np.asarray(out))  # on the host, as a live system reads it
            walls.append(time.perf_counter() - tick)
        outputs_arr = np.stack(outputs)
        prediction, steps = early_decision(
            jnp.asarray(outputs_arr)[:, None], threshold, rule=rule, accumulate=accumulate
        )
        decision_bin = int(steps[0])
        scores = accumulated_scores(jnp.asarray(outputs_arr, jnp.float32), accumulate)
        return StreamResult(
            outputs=outputs_arr,
            probabilities=np.asarray(jax.nn.softmax(scores, axis=-1)),
            bin_end_us=self.bin_us * np.arange(1, n_bins + 1),
            events_per_bin=np.diff(edges),
            wall_s=np.asarray(walls),
            prediction=int(prediction[0]),
            decision_bin=decision_bin,
            latency_us=float(decision_bin * self.bin_us),
        )
