"""Replay of a recorded XyloSim trace case (chip semantics §4) on the step-by-step network.

`replay` builds the `XyloNetwork` of a case with a profile
(default: XyloSim's) and runs the jit-compiled `run`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from spikejax.chip._checks import as_int, require_keys
from spikejax.chip.xylo.network import run
from spikejax.chip.xylo.params import HIDDEN_FIELDS, READOUT_FIELDS, SHIFT_FIELDS, XyloNetwork
from spikejax.chip.xylo.profile import XYLO, XyloProfile

__all__ = ["REQUIRED_KEYS", "replay"]

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


def replay(case: dict[str, Any], *, profile: XyloProfile = XYLO) -> dict[str, np.ndarray]:
    """Replay one recorded XyloSim trace case with the jit-compiled emulator.

    Args:
        case: the npz arrays: ``s_in`` (T, n_in) raw input counts (capped at 15 per step here),
            the parameters of `XyloNetwork` under their names; other keys (``has_bias``,
            the recorded outputs) are ignored.
        profile: the arithmetic (default: XyloSim's, the traces' profile).

    Returns:
        int64 arrays ``isyn, isyn2, vmem, spikes`` (T, n_hid) and ``isyn_out, vmem_out,
        spikes_out`` (T, n_out).
    """
    if not isinstance(profile, XyloProfile):
        raise TypeError(f"`{_FN}`: `profile` must be a XyloProfile; got {profile!r}.")
    require_keys(_FN, case, REQUIRED_KEYS)
    net = XyloNetwork(**{k: case[k] for k in REQUIRED_KEYS if k != "s_in"}, profile=profile)
    n_in = net.sizes[0]
    s_in = as_int(_FN, "s_in", case["s_in"], low=0)
    if s_in.ndim != 2 or s_in.shape[1] != n_in or s_in.shape[0] == 0:
        raise ValueError(
            f"`{_FN}`: `s_in` must have shape (T, {n_in}) with T >= 1 to match `weights_in`; got "
            f"{s_in.shape}."
        )
    _, record = _run(net, s_in)
    return {k: np.asarray(v).astype(np.int64) for k, v in record.items()}
