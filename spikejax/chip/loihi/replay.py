"""Replay of a recorded Lava trace case (chip semantics §4) on the step-by-step network.

The network of the conformance traces is in -> Dense W1 -> LIF1 -> Dense W2 -> LIF2, with an
optional recurrent Dense from LIF1 to LIF1. `replay` builds its `LoihiNetwork` with a
profile (default: Lava's) and runs the jit-compiled `run`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from spikejax.chip._checks import as_int, check_shape, require_keys
from spikejax.chip.loihi.network import run
from spikejax.chip.loihi.params import LoihiDense, LoihiLIF, LoihiNetwork, LoihiReset
from spikejax.chip.loihi.profile import LOIHI, LoihiProfile

__all__ = ["REQUIRED_KEYS", "network_from_case", "replay"]

_FN = "loihi.replay"
REQUIRED_KEYS = (
    "s_in",
    "W1_raw",
    "W2_raw",
    "bias_mant1",
    "bias_exp1",
    "bias_mant2",
    "bias_exp2",
    "du1",
    "dv1",
    "vth1",
    "du2",
    "dv2",
    "vth2",
    "wexp1",
    "wexp2",
    "nwb1",
    "nwb2",
    "reset",
)
RECURRENT_KEYS = ("Wrec_raw", "wexprec", "nwbrec")

_run = jax.jit(run)


def _check_profile(profile: Any) -> None:
    if not isinstance(profile, LoihiProfile):
        raise TypeError(f"`{_FN}`: `profile` must be a LoihiProfile; got {profile!r}.")


def _reset(case: dict[str, Any]) -> LoihiReset | None:
    reset = case["reset"]
    if reset is None:
        return None
    if not isinstance(reset, dict) or not {"interval", "offset"} <= set(reset):
        raise ValueError(
            f"`{_FN}`: `reset` must be None or a dict with the keys 'interval' and 'offset'; "
            f"got {reset!r}."
        )
    interval = as_int(_FN, "reset['interval']", reset["interval"], low=1)
    return LoihiReset(interval, as_int(_FN, "reset['offset']", reset["offset"]))


def _layer(case: dict[str, Any], i: int, reset: LoihiReset | None, p: LoihiProfile) -> LoihiLIF:
    lo_b, hi_b = p.bias_mant_bounds
    ranges = {
        f"du{i}": (0, p.decay_max),
        f"dv{i}": (0, p.decay_max),
        f"vth{i}": (0, p.vth_max),
        f"bias_mant{i}": (lo_b, hi_b),
        f"bias_exp{i}": (0, p.bias_exp_max),
    }
    v = {
        k[: -len(str(i))]: as_int(_FN, k, case[k], low=lo, high=hi)
        for k, (lo, hi) in ranges.items()
    }
    return LoihiLIF(**v, reset=reset, profile=p)


def _dense(case: dict[str, Any], w_key: str, suffix: str, p: LoihiProfile) -> LoihiDense:
    w = as_int(_FN, w_key, case[w_key])
    if w.ndim != 2:
        raise ValueError(f"`{_FN}`: `{w_key}` must be a matrix (post, pre); got shape {w.shape}.")
    nwb = as_int(_FN, f"nwb{suffix}", case[f"nwb{suffix}"], low=1, high=p.weight_bits)
    exp = as_int(
        _FN,
        f"wexp{suffix}",
        case[f"wexp{suffix}"],
        low=p.weight_exp_min,
        high=p.weight_exp_max,
    )
    return LoihiDense.from_raw(w, nwb, exp, profile=p)


def network_from_case(case: dict[str, Any], *, profile: LoihiProfile = LOIHI) -> LoihiNetwork:
    """The `LoihiNetwork` of a trace case (chip semantics §4.1: npz arrays plus JSON scalars).

    Raw weights are reduced with `effective_weights` using ``nwb*``; ``reset`` (None or
    ``{"interval", "offset"}``) applies to both layers. Every value is checked by name against
    the ranges of ``profile``.
    """
    _check_profile(profile)
    require_keys(_FN, case, REQUIRED_KEYS)
    if "Wrec_raw" in case:
        require_keys(_FN, case, RECURRENT_KEYS)
    reset = _reset(case)
    p = profile
    w1 = _dense(case, "W1_raw", "1", p)
    w2 = _dense(case, "W2_raw", "2", p)
    rec = _dense(case, "Wrec_raw", "rec", p) if "Wrec_raw" in case else None
    n_hid, n_in = w1.weights.shape
    n_out = w2.weights.shape[0]
    shapes = {"W2_raw": (n_out, n_hid), "Wrec_raw": (n_hid, n_hid)}
    shapes |= {"bias_mant1": (n_hid,), "bias_exp1": (n_hid,)}
    shapes |= {"bias_mant2": (n_out,), "bias_exp2": (n_out,)}
    for key, shape in shapes.items():
        if key in case:
            check_shape(_FN, key, np.asarray(case[key]), shape, f"(W1_raw is {(n_hid, n_in)})")
    return LoihiNetwork(w1, _layer(case, 1, reset, p), w2, _layer(case, 2, reset, p), rec)


def replay(case: dict[str, Any], *, profile: LoihiProfile = LOIHI) -> dict[str, np.ndarray]:
    """Replay one recorded Lava trace case with the jit-compiled emulator.

    Args:
        case: the npz arrays (``s_in`` (T, n_in) binary, ``W1_raw`` (n_hid, n_in), ``W2_raw``
            (n_out, n_hid), optional ``Wrec_raw`` (n_hid, n_hid), ``bias_mant1/2``,
            ``bias_exp1/2``) plus the scalar JSON params (``du1, dv1, vth1, du2, dv2, vth2, wexp1,
            wexp2, nwb1, nwb2``, ``wexprec, nwbrec`` with ``Wrec_raw``, ``reset``); other keys
            (e.g. ``p_in`` or the recorded outputs) are ignored.
        profile: the arithmetic (default: Lava's bit-accurate models, the traces' profile).

    Returns:
        int64 arrays ``u1, v1, s1, u2, v2, s2, dense1_a_buff, dense2_a_buff`` (T, n) and
        ``W1_eff, W2_eff``, plus ``denserec_a_buff, Wrec_eff`` when ``Wrec_raw`` is given.
    """
    net = network_from_case(case, profile=profile)
    n_in = net.sizes[0]
    s_in = as_int(_FN, "s_in", case["s_in"], low=0, high=1)
    if s_in.ndim != 2 or s_in.shape[1] != n_in or s_in.shape[0] == 0:
        raise ValueError(
            f"`{_FN}`: `s_in` must have shape (T, {n_in}) with T >= 1 to match `W1_raw`; got "
            f"{s_in.shape}."
        )
    _, record = _run(net, s_in)
    out = {k: np.asarray(v).astype(np.int64) for k, v in record.items()}
    out["W1_eff"] = np.asarray(net.dense1.weights).astype(np.int64)
    out["W2_eff"] = np.asarray(net.dense2.weights).astype(np.int64)
    if net.dense_rec is not None:
        out["Wrec_eff"] = np.asarray(net.dense_rec.weights).astype(np.int64)
    return out
