"""Integer neuromorphic chips: profiles and bit-exact emulators (``loihi``, ``xylo``)."""

from spikejax.chip import loihi as loihi, xylo as xylo
from spikejax.chip._loihi_params import (
    LoihiDense as LoihiDense,
    LoihiLIF as LoihiLIF,
    LoihiNetwork as LoihiNetwork,
    LoihiReset as LoihiReset,
)
from spikejax.chip._profiles import (
    LOIHI as LOIHI,
    XYLO as XYLO,
    LoihiProfile as LoihiProfile,
    XyloProfile as XyloProfile,
)
from spikejax.chip._xylo_params import XyloNetwork as XyloNetwork

__all__ = [
    "LOIHI",
    "XYLO",
    "LoihiDense",
    "LoihiLIF",
    "LoihiNetwork",
    "LoihiProfile",
    "LoihiReset",
    "XyloNetwork",
    "XyloProfile",
    "loihi",
    "xylo",
]
