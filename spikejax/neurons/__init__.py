"""Neuron models as pytrees: ``init_state(shape, dtype)`` and ``step(state, x) -> (state, out)``."""

from spikejax.neurons._alif import ALIF as ALIF
from spikejax.neurons._alif import ALIFState as ALIFState
from spikejax.neurons._base import AbstractNeuron as AbstractNeuron
from spikejax.neurons._common import Reset as Reset
from spikejax.neurons._cuba import CubaLIF as CubaLIF
from spikejax.neurons._cuba import CubaLIFState as CubaLIFState
from spikejax.neurons._if import IF as IF
from spikejax.neurons._if import IFState as IFState
from spikejax.neurons._li import LI as LI
from spikejax.neurons._li import LIState as LIState
from spikejax.neurons._lif import LIF as LIF
from spikejax.neurons._lif import LIFState as LIFState
from spikejax.neurons._plif import PLIF as PLIF
from spikejax.neurons._plif import PLIFState as PLIFState
from spikejax.neurons._recurrent import Recurrent as Recurrent
from spikejax.neurons._recurrent import RecurrentState as RecurrentState

__all__ = [
    "ALIF",
    "IF",
    "LI",
    "LIF",
    "PLIF",
    "ALIFState",
    "AbstractNeuron",
    "CubaLIF",
    "CubaLIFState",
    "IFState",
    "LIFState",
    "LIState",
    "PLIFState",
    "Recurrent",
    "RecurrentState",
    "Reset",
]
