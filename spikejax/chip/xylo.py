"""Bit-exact emulator of the SynSense Xylo core v2 (XyloSim 0.1 / Rockpool 3.1), in int32.

Inputs -> hidden layer (two synapses per neuron, recurrent weights, multi-spike up to 31 per step)
-> readout (one synapse, at most one spike per step). Parameters form a pytree
(:class:`XyloNetwork`) of int32 leaves; :func:`run` is a pure, jit- and vmap-compatible
``lax.scan`` over time and :func:`replay` runs a recorded trace case.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from spikejax.chip._checks import as_int, require_keys
from spikejax.chip._profiles import XYLO as XYLO
from spikejax.chip._profiles import XyloProfile as XyloProfile
from spikejax.chip._xylo_params import (
    HIDDEN_FIELDS,
    READOUT_FIELDS,
    SHIFT_FIELDS,
)
from spikejax.chip._xylo_params import (
    XyloNetwork as XyloNetwork,
)
from spikejax.chip._xylo_step import (
    XyloState as XyloState,
)
from spikejax.chip._xylo_step import (
    accumulate as accumulate,
)
from spikejax.chip._xylo_step import (
    evolve as evolve,
)
from spikejax.chip._xylo_step import (
    init_state as init_state,
)
from spikejax.chip._xylo_step import (
    run as run,
)
from spikejax.chip._xylo_step import (
    step as step,
)

__all__ = [
    "XYLO",
    "XyloNetwork",
    "XyloProfile",
    "XyloState",
    "accumulate",
    "evolve",
    "init_state",
    "replay",
    "run",
    "step",
]

_FN = "xylo.replay"
REQUIRED_KEYS = (
    "s_in",
    "weights_in",
    "weights_rec",
    "weights_out",
    *HIDDEN_FIELDS,
    *READOUT_FIELDS,
    *SHIFT_FIELDS,
)

_run = jax.jit(run)


def replay(case: dict[str, Any]) -> dict[str, np.ndarray]:
    """Replay one recorded XyloSim trace case with the jit-compiled emulator.

    Args:
        case: the npz arrays: ``s_in`` (T, n_in) raw input counts (capped at 15 per step here),
            the parameters of :class:`XyloNetwork` under their names; other keys (``has_bias``,
            the recorded outputs) are ignored.

    Returns:
        int64 arrays ``isyn, isyn2, vmem, spikes`` (T, n_hid) and ``isyn_out, vmem_out,
        spikes_out`` (T, n_out).
    """
    require_keys(_FN, case, REQUIRED_KEYS)
    net = XyloNetwork(**{k: case[k] for k in REQUIRED_KEYS if k != "s_in"})
    n_in = net.sizes[0]
    s_in = as_int(_FN, "s_in", case["s_in"], low=0)
    if s_in.ndim != 2 or s_in.shape[1] != n_in:
        raise ValueError(
            f"`{_FN}`: `s_in` must have shape (T, {n_in}) to match `weights_in`; got {s_in.shape}."
        )
    _, record = _run(net, s_in)
    return {k: np.asarray(v).astype(np.int64) for k, v in record.items()}
