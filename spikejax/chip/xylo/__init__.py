"""Bit-exact emulator of the SynSense Xylo core v2 (XyloSim 0.1 / Rockpool 3.1), in int32.

* `profile`: `XyloProfile`, every constant of the core;
* `arithmetic`: ordered saturating accumulation and the neuron update,
  the one arithmetic that every path below runs;
* `params`: the parameter tree (`XyloNetwork`);
* `network`: the traced network step by step (`run`);
* `layer`: the batched emulator of one layer (behind ``emulate``);
* `replay`: `replay` of a recorded trace case.
"""

from spikejax.chip.xylo import arithmetic as arithmetic
from spikejax.chip.xylo.arithmetic import accumulate as accumulate
from spikejax.chip.xylo.arithmetic import dash_delta as dash_delta
from spikejax.chip.xylo.arithmetic import evolve as evolve
from spikejax.chip.xylo.network import XyloState as XyloState
from spikejax.chip.xylo.network import init_state as init_state
from spikejax.chip.xylo.network import run as run
from spikejax.chip.xylo.network import step as step
from spikejax.chip.xylo.params import XyloNetwork as XyloNetwork
from spikejax.chip.xylo.profile import XYLO as XYLO
from spikejax.chip.xylo.profile import XyloProfile as XyloProfile
from spikejax.chip.xylo.replay import replay as replay

__all__ = [
    "XYLO",
    "XyloNetwork",
    "XyloProfile",
    "XyloState",
    "accumulate",
    "arithmetic",
    "dash_delta",
    "evolve",
    "init_state",
    "replay",
    "run",
    "step",
]
