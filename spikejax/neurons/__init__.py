"""Neuron models as pytrees: ``init_state(shape, dtype)`` and ``step(state, x) -> (state, out)``."""

from spikejax.neurons._base import AbstractNeuron as AbstractNeuron
from spikejax.neurons._common import Reset as Reset
from spikejax.neurons._lif import LIF as LIF, LIFState as LIFState

__all__ = ["LIF", "AbstractNeuron", "LIFState", "Reset"]
