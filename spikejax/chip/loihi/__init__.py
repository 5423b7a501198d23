"""Bit-exact emulator of Loihi CUBA-LIF networks (Lava 0.10 bit-accurate models), in int32.

* `profile`: `LoihiProfile`, every constant of the core;
* `arithmetic`: the integer synapse and CUBA-LIF update, the one
  arithmetic that every path below runs;
* `weights`: effective weights (sign mode, clip, truncation);
* `params`: the parameter trees (`LoihiNetwork`, ...);
* `network`: the traced network step by step (`run`);
* `layer`: the batched emulator of one layer (behind ``emulate``);
* `replay`: `replay` of a recorded trace case.
"""

from spikejax.chip.loihi import arithmetic as arithmetic
from spikejax.chip.loihi.arithmetic import decay as decay
from spikejax.chip.loihi.network import LoihiState as LoihiState
from spikejax.chip.loihi.network import dense as dense
from spikejax.chip.loihi.network import init_state as init_state
from spikejax.chip.loihi.network import lif_step as lif_step
from spikejax.chip.loihi.network import run as run
from spikejax.chip.loihi.network import step as step
from spikejax.chip.loihi.params import LoihiDense as LoihiDense
from spikejax.chip.loihi.params import LoihiLIF as LoihiLIF
from spikejax.chip.loihi.params import LoihiNetwork as LoihiNetwork
from spikejax.chip.loihi.params import LoihiReset as LoihiReset
from spikejax.chip.loihi.profile import LOIHI as LOIHI
from spikejax.chip.loihi.profile import LoihiProfile as LoihiProfile
from spikejax.chip.loihi.replay import network_from_case as network_from_case
from spikejax.chip.loihi.replay import replay as replay
from spikejax.chip.loihi.weights import effective_weights as effective_weights

__all__ = [
    "LOIHI",
    "LoihiDense",
    "LoihiLIF",
    "LoihiNetwork",
    "LoihiProfile",
    "LoihiReset",
    "LoihiState",
    "arithmetic",
    "decay",
    "dense",
    "effective_weights",
    "init_state",
    "lif_step",
    "network_from_case",
    "replay",
    "run",
    "step",
]
