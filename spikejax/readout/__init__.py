"""Readouts: time-major outputs ``[T, *batch, classes]`` reduced over time."""

from spikejax.readout._early import early_decision as early_decision
from spikejax.readout._early import early_exit_curve as early_exit_curve
from spikejax.readout._readouts import first_spike_time as first_spike_time
from spikejax.readout._readouts import membrane_last as membrane_last
from spikejax.readout._readouts import membrane_max as membrane_max
from spikejax.readout._readouts import membrane_mean as membrane_mean
from spikejax.readout._readouts import spike_count as spike_count
from spikejax.readout._readouts import spike_rate as spike_rate
from spikejax.readout._realtime import EventStream as EventStream
from spikejax.readout._realtime import StreamResult as StreamResult

__all__ = [
    "EventStream",
    "StreamResult",
    "early_decision",
    "early_exit_curve",
    "first_spike_time",
    "membrane_last",
    "membrane_max",
    "membrane_mean",
    "spike_count",
    "spike_rate",
]
