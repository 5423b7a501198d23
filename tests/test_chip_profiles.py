"""Every profile is honoured, and the straight-through twin is the chip.

For non-default Loihi and Xylo profiles (other state, weight, decay widths, shifts and caps),
``emulate`` (batched layers), ``replay`` / ``run`` (the traced network step by step) and a
plain-NumPy step-by-step reference written from docs/explanation/chip-semantics.md with the
profile's constants agree
bit for bit. ``chip_forward`` (the arithmetic on straight-through values) equals ``emulate`` on
random networks, for the default and the custom profiles.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import chip
from spikejax.chip import loihi, xylo
from spikejax.chip.export import expand_inputs, to_loihi_network, to_xylo_network, vendor_arrays
from spikejax.chip.ste import chip_forward
from spikejax.models._small import LIFMLP

LOIHI_PROFILES = {
    "narrow_state": chip.LoihiProfile(state_bits=20, vth_bits=13, bias_mant_bits=10),
    "short_weights_decays": chip.LoihiProfile(weight_bits=6, decay_bits=10, bias_exp_max=4),
    "no_offsets_wide": chip.LoihiProfile(
        du_offset=0, act_shift=4, vth_shift=4, vth_bits=20, state_bits=25, weight_bits=9
    ),
}
XYLO_PROFILES = {
    "int12": chip.XyloProfile(state_bits=12, weight_bits=6, weight_shift_max=4),
    "wide_small_caps": chip.XyloProfile(state_bits=20, input_cap=7, hidden_cap=5),
    "short_dash_wide_weights": chip.XyloProfile(dash_bits=3, weight_bits=9, readout_cap=2),
}


def chip_profile(name: str, arithmetic) -> chip.ChipProfile:
    return dataclasses.replace(chip.get_profile(name), arithmetic=arithmetic)


# ------------------------------------------------------ step-by-step references (NumPy, int64)


def ref_loihi(p, a: dict, s_in: np.ndarray) -> dict:
    """The traced two-layer Loihi network (chip semantics §2.3-2.5), constants of profile ``p``."""
    B = 1 << (p.state_bits - 1)
    one = 1 << p.decay_bits

    def decay(x, d):
        return np.sign(x) * ((np.abs(x) * (one - d)) >> p.decay_bits)

    def shift(x, e):
        return x << e if e >= 0 else x >> -e

    def lif(k, u, v, a_in):
        u_pre = decay(u, a[f"du{k}"] + p.du_offset) + (a_in << p.act_shift)
        u = np.where(u_pre > B, u_pre - 2 * B, np.where(u_pre <= -B, u_pre + 2 * B, u_pre))
        bias = a[f"bias_mant{k}"] << a[f"bias_exp{k}"]
        v = np.clip(decay(v, a[f"dv{k}"] + p.dv_offset) + u + bias, -(B - 1), B - 1)
        s = v > (a[f"vth{k}"] << p.vth_shift)
        return u, np.where(s, 0, v), s.astype(np.int64)

    n_hid, n_out = a["W1_raw"].shape[0], a["W2_raw"].shape[0]
    u1 = v1 = buf1 = np.zeros(n_hid, np.int64)
    u2 = v2 = buf2 = np.zeros(n_out, np.int64)
    rec = {k: [] for k in ("u1", "v1", "s1", "u2", "v2", "s2")}
    for t in range(s_in.shape[0]):
        a1, a2 = buf1, buf2
        buf1 = shift(a["W1_raw"] @ s_in[t].astype(np.int64), int(a["wexp1"]))
        u1, v1, s1 = lif(1, u1, v1, a1)
        buf2 = shift(a["W2_raw"] @ s1, int(a["wexp2"]))
        u2, v2, s2 = lif(2, u2, v2, a2)
        for key, value in zip(rec, (u1, v1, s1, u2, v2, s2), strict=True):
            rec[key].append(value)
    return {k: np.stack(v) for k, v in rec.items()}


def ref_xylo(p, a: dict, s_in: np.ndarray) -> dict:
    """The Xylo core (chip semantics §3.2-3.5) on synapse 1, with the constants of profile ``p``."""
    lo, hi = -(1 << (p.state_bits - 1)), (1 << (p.state_bits - 1)) - 1

    def delta(x, dash):
        d = x >> dash
        return np.where((x > 0) & (d == 0), 1, d)

    def ordered(acc, counts, w):  # one saturating add per source, ascending
        for i in range(counts.shape[0]):
            acc = np.clip(acc + counts[i] * w[i], lo, hi)
        return acc

    def evolve(isyn, vmem, dash_syn, dash_mem, bias, thr, cap):
        isyn = isyn - delta(isyn, dash_syn)
        dv = np.clip(-delta(vmem, dash_mem) + isyn, lo, hi)
        vmem = np.clip(vmem + np.clip(dv + bias, lo, hi), lo, hi)
        n = np.where(vmem >= thr, np.minimum(vmem // thr, cap), 0)
        return isyn, vmem - n * thr, n

    w_in = a["weights_in"][..., 0] << int(a["weight_shift_in"])
    w_rec = a["weights_rec"][..., 0] << int(a["weight_shift_rec"])
    w_out = a["weights_out"] << int(a["weight_shift_out"])
    n_hid, n_out = w_in.shape[1], w_out.shape[1]
    isyn = vmem = spk = np.zeros(n_hid, np.int64)
    isyn_o = vmem_o = np.zeros(n_out, np.int64)
    rec = {"spikes": [], "vmem": [], "vmem_out": []}
    for t in range(s_in.shape[0]):
        counts = np.concatenate([np.minimum(s_in[t], p.input_cap), spk])
        isyn = ordered(isyn, counts, np.concatenate([w_in, w_rec]))
        isyn_o = ordered(isyn_o, spk, w_out)
        isyn, vmem, spk = evolve(
            isyn, vmem, a["dash_syn"], a["dash_mem"], a["bias"], a["threshold"], p.hidden_cap
        )
        isyn_o, vmem_o, _ = evolve(
            isyn_o,
            vmem_o,
            a["dash_syn_out"],
            a["dash_mem_out"],
            a["bias_out"],
            a["threshold_out"],
            p.readout_cap,
        )
        for key, value in zip(rec, (spk, vmem, vmem_o), strict=True):
            rec[key].append(value)
    return {k: np.stack(v) for k, v in rec.items()}


def sharpened(model, gain: float):
    """``model`` with every kernel scaled by ``gain`` (more activity, more saturation)."""
    state = nnx.state(model)
    state = jax.tree_util.tree_map_with_path(
        lambda path, v: v * gain if "kernel" in jax.tree_util.keystr(path) else v, state
    )
    nnx.update(model, state)
    return model


# ---------------------------------------------------------------------------- every profile


@pytest.mark.parametrize("name", sorted(LOIHI_PROFILES))
def test_loihi_profile_emulate_replay_reference_agree(name):
    p = LOIHI_PROFILES[name]
    model = sharpened(LIFMLP(6, (9,), 4, rngs=nnx.Rngs(3)), 2.0)
    cm = chip.quantize(model, chip_profile("loihi", p), input_levels=2)
    assert cm.profile == p
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (30, 2, 6)) * (rng.random((30, 2, 6)) < 0.6)
    out, stats = chip.emulate(cm, x)
    lines = expand_inputs(cm, x)
    _, rec = jax.jit(loihi.run)(to_loihi_network(cm), jnp.asarray(lines, jnp.int32))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(rec["v2"]))
    arrays = {k: v.astype(np.int64) for k, v in vendor_arrays(cm).items()}
    for b in range(x.shape[1]):
        case = {**arrays, "s_in": lines[:, b], "reset": None}
        got = loihi.replay(case, profile=p)
        ref = ref_loihi(p, arrays, lines[:, b])
        for key, value in ref.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{name}: {key}")
        np.testing.assert_array_equal(got["v2"], np.asarray(out)[:, b])
    assert int(stats["layer_0"]["spikes"]) == int(rec["s1"].sum()) > 0


@pytest.mark.parametrize("name", sorted(XYLO_PROFILES))
def test_xylo_profile_emulate_replay_reference_agree(name):
    p = XYLO_PROFILES[name]
    model = sharpened(LIFMLP(5, (7, 6), 3, rngs=nnx.Rngs(4)), 3.0)
    levels = min(4, p.input_cap)
    cm = chip.quantize(model, chip_profile("xylo", p), input_levels=levels, saturate=True)
    x = np.random.default_rng(3).integers(0, p.input_cap + 3, (25, 2, 5))
    out, _ = chip.emulate(cm, x)
    _, rec = xylo.run(to_xylo_network(cm), jnp.asarray(x, jnp.int32))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(rec["vmem_out"]))
    arrays = {k: np.asarray(v).astype(np.int64) for k, v in vendor_arrays(cm).items()}
    for b in range(x.shape[1]):
        got = xylo.replay({**arrays, "s_in": x[:, b]}, profile=p)
        ref = ref_xylo(p, arrays, x[:, b])
        for key, value in ref.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{name}: {key}")
        np.testing.assert_array_equal(got["vmem_out"], np.asarray(out)[:, b])
    assert rec["spikes"].sum() > 0


def test_profiles_change_the_results():
    """A custom profile is not silently replaced by the default one."""
    model = sharpened(LIFMLP(6, (9,), 4, rngs=nnx.Rngs(3)), 2.0)
    cm = chip.quantize(model, "loihi")
    x = (np.random.default_rng(0).random((30, 2, 6)) < 0.5).astype(np.int32)
    custom = dataclasses.replace(cm, arithmetic=chip.LoihiProfile(du_offset=0, act_shift=5))
    a, _ = chip.emulate(cm, x)
    b, _ = chip.emulate(custom, x)
    assert not np.array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------- the twin is the chip


CASES = [("loihi", None, 0), ("xylo", None, 0), ("loihi", None, 1), ("xylo", None, 1)]
CASES += [("loihi", n, 2) for n in sorted(LOIHI_PROFILES)]
CASES += [("xylo", n, 2) for n in sorted(XYLO_PROFILES)]


@pytest.mark.parametrize(("family", "name", "seed"), CASES)
def test_twin_forward_equals_emulator_integers(family, name, seed):
    arithmetic = {**LOIHI_PROFILES, **XYLO_PROFILES}.get(name)
    profile = family if name is None else chip_profile(family, arithmetic)
    rng = np.random.default_rng(seed)
    hidden = (7,) if family == "loihi" else (7, 5)
    model = sharpened(LIFMLP(6, hidden, 3, rngs=nnx.Rngs(seed + 10)), 1.0 + 2 * rng.random())
    levels = 3
    cm = chip.quantize(model, profile, input_levels=levels, saturate=True)
    params = nnx.state(model)
    x = rng.integers(0, levels + 1, (16, 4, 6))
    y = jax.jit(lambda prm: chip_forward(prm, cm, x))(params)
    m = chip.requantize(params, cm, saturate=True)
    ints, _ = chip.emulate(m, x)
    # Documented rescaling: the readout membrane in float units is the integer times 1 / S.
    v_scale = cm.layers[-1].v_scale
    np.testing.assert_array_equal(
        np.asarray(y), np.asarray(ints).astype(np.float32) * np.float32(1.0 / v_scale)
    )
    in_chip_units = chip_forward(params, cm, x, chip_units=True)
    np.testing.assert_array_equal(np.asarray(in_chip_units).astype(np.int64), np.asarray(ints))
    if name is None:
        grads = jax.grad(lambda prm: jnp.sum(chip_forward(prm, cm, x)[-6:] ** 2))(params)
        for path, g in jax.tree_util.tree_leaves_with_path(grads):
            assert np.all(np.isfinite(np.asarray(g))), jax.tree_util.keystr(path)


def test_twin_uses_the_arithmetic_of_the_emulator(monkeypatch):
    """One arithmetic: changing the Loihi update changes emulate and the twin alike."""
    from spikejax.chip.loihi import arithmetic

    model = LIFMLP(6, (7,), 3, rngs=nnx.Rngs(0))
    cm = chip.quantize(model, "loihi")
    x = (np.random.default_rng(0).random((12, 2, 6)) < 0.5).astype(np.int32)
    params = nnx.state(model)
    before = np.asarray(chip_forward(params, cm, x))
    original = arithmetic.lif_update

    def biased(num, c, u, v, a_in, *, current=None):
        u, v, s, w, k = original(num, c, u, v, a_in, current=current)
        return u, num.add(v, u), s, w, k  # the current counted twice

    monkeypatch.setattr(arithmetic, "lif_update", biased)
    from spikejax.chip.loihi import layer

    monkeypatch.setattr(layer, "lif_update", biased)
    jax.clear_caches()
    emulated, _ = chip.emulate(cm, x)
    twin = np.asarray(chip_forward(params, cm, x))
    np.testing.assert_array_equal(
        twin, np.asarray(chip.outputs_to_float(cm, emulated)), err_msg="twin != emulate"
    )
    assert not np.array_equal(twin, before)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (chip.LoihiProfile, {"state_bits": 40}, "state_bits"),
        (chip.LoihiProfile, {"vth_bits": 20}, "vth_bits"),
        (chip.LoihiProfile, {"decay_bits": 0}, "decay_bits"),
        (chip.LoihiProfile, {"bias_mant_bits": 13, "bias_exp_max": 30}, "bias_exp_max"),
        (chip.XyloProfile, {"state_bits": 8, "weight_shift_max": 7}, "weight_shift_max"),
        (chip.XyloProfile, {"weight_bits": 16}, "weight_bits"),
        (chip.XyloProfile, {"input_cap": 0}, "input_cap"),
        (chip.XyloProfile, {"dash_bits": 2.5}, "dash_bits"),
    ],
)
def test_impossible_profile_names_the_field(cls, kwargs, field):
    with pytest.raises(ValueError, match=rf"`{cls.__name__}`: `{field}` must be an int in "):
        cls(**kwargs)


def test_replay_rejects_empty_time_and_foreign_profiles():
    model = LIFMLP(4, (3,), 2, rngs=nnx.Rngs(0))
    arrays = vendor_arrays(chip.quantize(model, "loihi"))
    case = {**arrays, "s_in": np.zeros((0, 4), np.uint8), "reset": None}
    with pytest.raises(ValueError, match=r"`loihi.replay`: `s_in` must have shape \(T, 4\) with T"):
        loihi.replay(case)
    with pytest.raises(TypeError, match=r"`loihi.replay`: `profile` must be a LoihiProfile"):
        loihi.replay(case, profile=chip.XYLO)
    xcase = {**vendor_arrays(chip.quantize(model, "xylo")), "s_in": np.zeros((0, 4), np.int64)}
    with pytest.raises(ValueError, match=r"`xylo.replay`: `s_in` must have shape \(T, 4\) with T"):
        xylo.replay(xcase)
