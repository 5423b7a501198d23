"""Neuron models as pytrees: ``init_state(shape, dtype)`` and ``step(state, x) -> (state, out)``.

New neurons subclass `AbstractNeuron`; `static`, `Interval`,
`as_param`, `like`, `fire`, `reset_membrane` and `Reset` are the
building blocks the built-in neurons are written with.
"""

from spikejax._pytree import static as static
from spikejax.neurons._alif import ALIF as ALIF
from spikejax.neurons._alif import ALIFState as ALIFState
from spikejax.neurons._base import AbstractNeuron as AbstractNeuron
from spikejax.neurons._common import Reset as Reset
from spikejax.neurons._common import as_param as as_param
from spikejax.neurons._common import fire as fire
from spikejax.neurons._common import like as like
from spikejax.neurons._common import reset_membrane as reset_membrane
from spikejax.neurons._cuba import CubaLI as CubaLI
from spikejax.neurons._cuba import CubaLIF as CubaLIF
from spikejax.neurons._cuba import CubaLIFState as CubaLIFState
from spikejax.neurons._if import IF as IF
from spikejax.neurons._if import IFState as IFState
from spikejax.neurons._interval import Interval as Interval
from spikejax.neurons._izhikevich import Izhikevich as Izhikevich
from spikejax.neurons._izhikevich import IzhikevichState as IzhikevichState
from spikejax.neurons._leaf_bounds import leaf_bounds as leaf_bounds
from spikejax.neurons._li import LI as LI
from spikejax.neurons._li import LIState as LIState
from spikejax.neurons._lif import LIF as LIF
from spikejax.neurons._lif import LIFState as LIFState
from spikejax.neurons._plif import PLIF as PLIF
from spikejax.neurons._plif import PLIFState as PLIFState
from spikejax.neurons._recurrent import Recurrent as Recurrent
from spikejax.neurons._recurrent import RecurrentState as RecurrentState
from spikejax.neurons._refractory import RefractoryLIF as RefractoryLIF
from spikejax.neurons._refractory import RefractoryLIFState as RefractoryLIFState

__all__ = [
    "ALIF",
    "IF",
    "LI",
    "LIF",
    "PLIF",
    "ALIFState",
    "AbstractNeuron",
    "CubaLI",
    "CubaLIF",
    "CubaLIFState",
    "IFState",
    "Interval",
    "Izhikevich",
    "IzhikevichState",
    "LIFState",
    "LIState",
    "PLIFState",
    "Recurrent",
    "RecurrentState",
    "RefractoryLIF",
    "RefractoryLIFState",
    "Reset",
    "as_param",
    "fire",
    "leaf_bounds",
    "like",
    "reset_membrane",
    "static",
]
