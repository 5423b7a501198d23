"""emulate (batched per-layer scans with saturation counts) and the straight-through forward.

Checked against the replay-path emulators (spikejax.chip.loihi.run / xylo.run, themselves pinned
to vendor traces), the recorded vendor traces, and NumPy / plain-Python references written from
docs/explanation/chip-semantics.md that count every wrap, clip, saturation and cap.
"""

import dataclasses
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import chip
from spikejax.chip import loihi, xylo
from spikejax.chip._emulate import chip_params
from spikejax.chip._graph import path_str
from spikejax.chip.export import expand_inputs, to_loihi_network, to_xylo_network
from spikejax.chip.loihi.layer import LoihiLayerConfig, loihi_layer
from spikejax.chip.ste import chip_forward, fake_quant
from spikejax.chip.xylo.layer import XyloLayerConfig, xylo_layer
from spikejax.layers import Spiking
from spikejax.models._small import LIFMLP
from spikejax.neurons import LI, CubaLIF

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "chip"
B23 = 1 << 23


class Cuba(nnx.Module):
    def __init__(self, n_in, n_hid, n_out, seed=0):
        rngs = nnx.Rngs(seed)
        self.fc1 = nnx.Linear(n_in, n_hid, rngs=rngs)
        self.sn1 = Spiking(CubaLIF(alpha=jnp.full((n_hid,), 0.5), beta=0.9))
        self.fc2 = nnx.Linear(n_hid, n_out, rngs=rngs)
        self.out = Spiking(LI(beta=0.8))

    def __call__(self, x):
        return self.out(self.fc2(self.sn1(self.fc1(x))))


def with_ints(cm, leaves, layer_changes):
    """``cm`` with some integer leaves replaced and some ChipLayer fields changed per layer."""

    def put(path, var):
        name = path_str(path)
        return var.replace(jnp.asarray(leaves[name], jnp.int32)) if name in leaves else var

    state = jax.tree_util.tree_map_with_path(
        put, cm.state, is_leaf=lambda v: isinstance(v, nnx.Variable)
    )
    layers = tuple(
        dataclasses.replace(layer, **layer_changes.get(k, {})) for k, layer in enumerate(cm.layers)
    )
    return dataclasses.replace(cm, state=state, layers=layers)


# ----------------------------------------------------------------------- independent references


def ref_decay(x, d):
    return np.sign(x) * ((np.abs(x) * (4096 - d)) >> 12)


def ref_loihi_layer(x, w, wexp, du, dv, vth, bias, readout):
    """Spec 2.3/2.4 in NumPy int64: Dense (shift after the sum, one step late), then CUBA LIF."""
    acc = x.astype(np.int64) @ w.astype(np.int64)
    buf = acc << wexp if wexp >= 0 else acc >> -wexp
    u = np.zeros(buf.shape[1:], np.int64)
    v = np.zeros_like(u)
    wraps = clips = spikes = 0
    out = []
    for t in range(x.shape[0]):
        a = buf[t - 1] if t else np.zeros_like(u)
        u_pre = ref_decay(u, du + 1) + (a << 6)
        u = np.where(u_pre > B23, u_pre - 2 * B23, np.where(u_pre <= -B23, u_pre + 2 * B23, u_pre))
        wraps += int(np.count_nonzero(u != u_pre))
        v_pre = ref_decay(v, dv) + u + bias
        v = np.clip(v_pre, -(B23 - 1), B23 - 1)
        clips += int(np.count_nonzero(v != v_pre))
        s = v > (vth << 6)
        spikes += int(s.sum())
        v = np.where(s, 0, v)
        out.append(v.copy() if readout else s.astype(np.int64))
    return np.stack(out), {"u_wraps": wraps, "v_saturations": clips, "spikes": spikes}


def ref_xylo_layer(counts, w, dash_syn, dash_mem, bias, thr, cap):
    """Spec 3.2-3.4 in plain Python: every event is its own saturating add (per-source count of
    adds that hit a rail), then the evolution with both intermediate saturations."""
    lo, hi = -32768, 32767

    def delta(x, d):
        r = x >> d
        return 1 if x > 0 and r == 0 else r

    def sat(x):
        return min(max(x, lo), hi)

    T, B, S = counts.shape
    n = w.shape[1]
    out = np.zeros((T, B, n), np.int64)
    vm_out = np.zeros((T, B, n), np.int64)
    st = dict(isyn_saturations=0, dv_saturations=0, vmem_saturations=0, spike_cap_hits=0, spikes=0)
    for b in range(B):
        isyn, vmem = [0] * n, [0] * n
        for t in range(T):
            for j in range(n):
                acc = isyn[j]
                for i in range(S):
                    hit = False
                    for _ in range(int(counts[t, b, i])):
                        new = acc + int(w[i, j])
                        hit |= not lo <= new <= hi
                        acc = sat(new)
                    st["isyn_saturations"] += hit
                isyn[j] = acc - delta(acc, int(dash_syn[j]))
                dv_pre = -delta(vmem[j], int(dash_mem[j])) + isyn[j]
                dv = sat(dv_pre)
                dv2 = sat(dv + int(bias[j]))
                v_pre = vmem[j] + dv2
                v = sat(v_pre)
                st["dv_saturations"] += (dv != dv_pre) + (dv2 != dv + int(bias[j]))
                st["vmem_saturations"] += v != v_pre
                k = 0
                if v >= thr[j]:
                    k = min(v // int(thr[j]), cap)
                    st["spike_cap_hits"] += v // int(thr[j]) > cap
                vmem[j] = v - k * int(thr[j])
                out[t, b, j], vm_out[t, b, j] = k, vmem[j]
                st["spikes"] += k
    return out, vm_out, st


# ---------------------------------------------------------------- consistency with replay path


def test_loihi_emulate_equals_replay_run():
    model = LIFMLP(6, (9,), 4, rngs=nnx.Rngs(3))
    cm = chip.quantize(model, "loihi", input_levels=3)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (40, 3, 6)) * (rng.random((40, 3, 6)) < 0.6)
    out, stats = chip.emulate(cm, x)
    _, rec = jax.jit(loihi.run)(to_loihi_network(cm), jnp.asarray(expand_inputs(cm, x), jnp.int32))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(rec["v2"]))
    assert int(stats["layer_0"]["spikes"]) == int(rec["s1"].sum()) > 0


def test_loihi_saturating_case_counts():
    cm = chip.quantize(Cuba(8, 5, 3), "loihi")
    rng = np.random.default_rng(1)
    leaves = {
        "fc1.kernel": 2 * rng.integers(0, 128, (8, 5)),
        "sn1.params.alpha": np.array([0, 5, 50, 4000, 4095]),
        "sn1.params.beta": np.array([0, 1, 3, 100, 4095]),
        "sn1.params.threshold": np.array([131071, 131071, 2000, 131071, 1]),
        "fc1.bias": rng.integers(-4096, 4096, 5),
        "fc2.kernel": -2 * rng.integers(0, 128, (5, 3)),
    }
    cm = with_ints(cm, leaves, {0: {"weight_exp": 7, "bias_exp": 3}, 1: {"weight_exp": 5}})
    x = (rng.random((60, 2, 8)) < 0.7).astype(np.int32)
    out, stats = chip.emulate(cm, x)
    params = chip_params(cm)
    s1, ref0 = ref_loihi_layer(
        x,
        leaves["fc1.kernel"],
        7,
        leaves["sn1.params.alpha"],
        leaves["sn1.params.beta"],
        leaves["sn1.params.threshold"],
        leaves["fc1.bias"] << 3,
        False,
    )
    p1 = {k: np.asarray(v, np.int64) for k, v in params[1].items()}
    v2, ref1 = ref_loihi_layer(
        s1, p1["weights"], 5, p1["du"], p1["dv"], p1["vth"], p1["bias_mant"], True
    )
    np.testing.assert_array_equal(np.asarray(out), v2)
    got0 = {k: int(v) for k, v in stats["layer_0"].items()}
    assert got0 == ref0 and ref0["u_wraps"] > 10 and ref0["v_saturations"] > 10
    got1 = {k: int(v) for k, v in stats["layer_1"].items()}
    assert got1 == {
        "readout_spikes": ref1["spikes"],
        "u_wraps": ref1["u_wraps"],
        "v_saturations": ref1["v_saturations"],
    }
    with pytest.raises(chip.ChipSaturationError, match=r"layer_0\.u_wraps"):
        chip.emulate(cm, x, throw=True)
    _, rec = loihi.run(to_loihi_network(cm), jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(rec["v2"]))


@pytest.mark.parametrize("steps", [1, 3, 64])
@pytest.mark.parametrize("du_is_max", [False, True])
@pytest.mark.parametrize("readout", [False, True])
def test_loihi_layer_chunks_match_reference(monkeypatch, steps, du_is_max, readout):
    """Whatever the chunk length (one step, chunks plus a shorter rest, one chunk longer than T),
    outputs and counts equal the step-by-step reference, across wraps and clips."""
    from spikejax.chip.loihi import layer as loihi_layer_module

    monkeypatch.setattr(loihi_layer_module, "_CHUNK_BYTES", 4 * 2 * 4 * steps)  # batch 2, n_out 4
    rng = np.random.default_rng(steps)
    T = 11
    x = (rng.random((T, 2, 10)) < 0.7).astype(np.int32)
    w = 2 * rng.integers(-20, 128, (10, 4))
    du = np.full(4, 4095) if du_is_max else rng.integers(0, 4096, 4)
    # neurons 0 and 1 barely decay and never reach threshold, so v runs into its rail
    dv = np.array([0, 10, *rng.integers(0, 4096, 2)])
    vth = np.array([131071, 131071, *rng.integers(1, 20000, 2)])
    bias = rng.integers(-3000, 3000, 4)
    cfg = LoihiLayerConfig(7, 2, 1, du_is_max, readout)
    params = {"weights": w, "du": du, "dv": dv, "vth": vth, "bias_mant": bias}
    params = {k: jnp.asarray(v, jnp.int32) for k, v in params.items()}
    out, stats = jax.jit(loihi_layer, static_argnums=0)(cfg, params, jnp.asarray(x))
    ref, counts = ref_loihi_layer(x, w, 7, du, dv, vth, bias << 2, readout)
    np.testing.assert_array_equal(np.asarray(out), ref)
    assert out.dtype == (jnp.int32 if readout else jnp.int8)
    spikes = "readout_spikes" if readout else "spikes"
    assert {k: int(v) for k, v in stats.items()} == {
        spikes: counts["spikes"],
        "u_wraps": counts["u_wraps"],
        "v_saturations": counts["v_saturations"],
    }
    assert counts["u_wraps"] > 0 and counts["spikes"] > 0 and counts["v_saturations"] > 0


def test_xylo_saturating_case_counts_and_replay():
    model = Cuba(4, 5, 3, seed=2)
    cm = chip.quantize(model, "xylo")
    rng = np.random.default_rng(2)
    leaves = {
        "fc1.kernel": rng.integers(-128, 128, (4, 5)),
        "fc1.bias": rng.integers(-3000, 3000, 5),
        "sn1.params.alpha": np.array([0, 1, 2, 8, 15]),
        "sn1.params.beta": np.array([0, 1, 4, 15, 2]),
        "sn1.params.threshold": np.array([10, 3000, 200, 32767, 1]),
        "fc2.kernel": rng.integers(-128, 128, (5, 3)),
        "out.params.beta": np.array([0, 3, 15]),
    }
    cm = with_ints(cm, leaves, {0: {"weight_exp": 7}, 1: {"weight_exp": 6}})
    x = rng.integers(0, 21, (25, 2, 4)) * (rng.random((25, 2, 4)) < 0.5)
    out, stats = chip.emulate(cm, x)
    exact, stats_exact = chip.emulate(cm, x, exact=True)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(exact))
    assert jax.tree.map(int, stats) == jax.tree.map(int, stats_exact)
    # Independent per-event reference.
    w0 = leaves["fc1.kernel"] << 7
    s1, _, ref0 = ref_xylo_layer(
        np.minimum(x, 15),
        w0,
        leaves["sn1.params.alpha"],
        leaves["sn1.params.beta"],
        leaves["fc1.bias"],
        leaves["sn1.params.threshold"],
        31,
    )
    params = chip_params(cm)
    p1 = {k: np.asarray(v) for k, v in params[1].items()}
    delayed = np.concatenate([np.zeros_like(s1[:1]), s1[:-1]])
    _, vm, ref1 = ref_xylo_layer(
        delayed, p1["weights"] << 6, p1["dash_syn"], p1["dash_mem"], p1["bias"], p1["threshold"], 1
    )
    np.testing.assert_array_equal(np.asarray(out), vm)
    got0 = {k: int(v) for k, v in stats["layer_0"].items()}
    assert got0.pop("input_clips") == int(np.count_nonzero(x > 15)) > 0
    assert got0 == ref0
    assert (
        ref0["isyn_saturations"] > 5 and ref0["spike_cap_hits"] > 0 and ref0["dv_saturations"] > 0
    )
    got1 = {k: int(v) for k, v in stats["layer_1"].items()}
    ref1["readout_spikes"] = ref1.pop("spikes")
    assert got1 == ref1
    _, rec = xylo.run(to_xylo_network(cm), jnp.asarray(x, jnp.int32))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(rec["vmem_out"]))
    np.testing.assert_array_equal(s1, np.asarray(rec["spikes"]))


def test_xylo_two_hidden_layers_equal_replay_run():
    model = LIFMLP(5, (7, 6), 3, rngs=nnx.Rngs(4))
    cm = chip.quantize(model, "xylo", input_levels=4)
    x = np.random.default_rng(3).integers(0, 5, (20, 1, 5))
    out, _ = chip.emulate(cm, x)
    _, rec = xylo.run(to_xylo_network(cm), jnp.asarray(x, jnp.int32))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(rec["vmem_out"]))
    assert rec["spikes"].sum() > 0


def test_layers_reproduce_vendor_traces():
    arrays = dict(np.load(FIXTURES / "loihi_basic.npz"))
    p = json.loads((FIXTURES / "loihi_basic.json").read_text())["params"]
    s_in = jnp.asarray(arrays["s_in"][:, None], jnp.int32)
    for k, x in ((1, s_in), (2, jnp.asarray(arrays["s1"][:, None], jnp.int32))):
        bexp = arrays[f"bias_exp{k}"]
        assert np.all(bexp == bexp[0])
        params = {"weights": jnp.asarray(arrays[f"W{k}_eff"].T, jnp.int32)}
        params |= {n: jnp.int32(p[f"{n}{k}"]) for n in ("du", "dv", "vth")}
        params["bias_mant"] = jnp.asarray(arrays[f"bias_mant{k}"], jnp.int32)
        for readout, key in ((False, f"s{k}"), (True, f"v{k}")):
            cfg = LoihiLayerConfig(p[f"wexp{k}"], int(bexp[0]), 1, False, readout)
            out, _ = loihi_layer(cfg, params, x)
            np.testing.assert_array_equal(np.asarray(out)[:, 0], arrays[key], err_msg=key)
    a = dict(np.load(FIXTURES / "xylo_basic.npz"))
    assert not a["weights_in"][..., 1].any() and not a["weights_rec"].any()
    hidden = {
        "weights": a["weights_in"][..., 0],
        "dash_syn": a["dash_syn"],
        "dash_mem": a["dash_mem"],
        "threshold": a["threshold"],
        "bias": a["bias"],
    }
    readout = {
        "weights": a["weights_out"],
        "dash_syn": a["dash_syn_out"],
        "dash_mem": a["dash_mem_out"],
        "threshold": a["threshold_out"],
        "bias": a["bias_out"],
    }
    counts = jnp.asarray(np.minimum(a["s_in"], 15)[:, None], jnp.int32)
    as32 = lambda d: {k: jnp.asarray(v, jnp.int32) for k, v in d.items()}  # noqa: E731
    spikes, _ = xylo_layer(XyloLayerConfig(0, 31, False), as32(hidden), counts)
    np.testing.assert_array_equal(np.asarray(spikes)[:, 0], a["spikes"])
    delayed = jnp.concatenate([jnp.zeros_like(spikes[:1]), spikes[:-1]])
    for flag, key in ((False, "spikes_out"), (True, "vmem_out")):
        out, _ = xylo_layer(XyloLayerConfig(0, 1, flag), as32(readout), delayed)
        np.testing.assert_array_equal(np.asarray(out)[:, 0], a[key], err_msg=key)


# --------------------------------------------------------------------------------- input errors


def test_emulate_input_errors_and_jit():
    cm = chip.quantize(LIFMLP(4, (3,), 2, rngs=nnx.Rngs(0)), "loihi")
    with pytest.raises(ValueError, match=r"`emulate`: `inputs` must hold binary spikes \(0 or 1\)"):
        chip.emulate(cm, np.full((5, 1, 4), 2))
    with pytest.raises(ValueError, match=r"binary spikes.*got \[0\.5"):
        chip.emulate(cm, np.full((5, 1, 4), 0.5, np.float32))
    with pytest.raises(ValueError, match=r"time-major \[T, \*batch, 4\]"):
        chip.emulate(cm, np.zeros((5, 1, 3)))
    with pytest.raises(TypeError, match="integer dtype when traced"):
        jax.jit(lambda x: chip.emulate(cm, x)[0])(jnp.zeros((5, 1, 4), jnp.float32))
    with pytest.raises(ValueError, match="`throw=True` needs concrete results"):
        jax.jit(lambda x: chip.emulate(cm, x, throw=True)[0])(jnp.zeros((5, 1, 4), jnp.int32))
    with pytest.raises(TypeError, match="must be a ChipModel"):
        chip.emulate(object(), np.zeros((5, 1, 4)))
    x = (np.random.default_rng(0).random((6, 2, 3, 4)) < 0.5).astype(np.float32)
    out, _ = chip.emulate(cm, x, throw=True)
    jitted = jax.jit(lambda x: chip.emulate(cm, x)[0])(jnp.asarray(x, jnp.int8))
    assert out.shape == (6, 2, 3, 2) and np.array_equal(np.asarray(out), np.asarray(jitted))
    xcm = chip.quantize(LIFMLP(4, (3,), 2, rngs=nnx.Rngs(0)), "xylo")
    with pytest.raises(ValueError, match="integer event counts >= 0"):
        chip.emulate(xcm, np.full((5, 1, 4), -1))
    with pytest.raises(ValueError, match=r"`encode_inputs`: `x` must lie in \[0, 1\]"):
        chip.encode_inputs(xcm, np.full((2, 1, 4), 1.5))


# ------------------------------------------------------------------------- straight-through


@pytest.mark.parametrize(("profile", "levels", "hidden"), [("loihi", 3, (7,)), ("xylo", 2, (7, 5))])
def test_ste_forward_is_emulate_and_gradients_flow(profile, levels, hidden):
    model = LIFMLP(6, hidden, 3, rngs=nnx.Rngs(5))
    cm = chip.quantize(model, profile, input_levels=levels)
    params = nnx.state(model)
    x = np.random.default_rng(6).integers(0, levels + 1, (12, 4, 6))
    y = jax.jit(lambda p: chip_forward(p, cm, x))(params)
    ref = chip.outputs_to_float(cm, chip.emulate(chip.requantize(params, cm), x)[0])
    np.testing.assert_array_equal(np.asarray(y), np.asarray(ref))
    grads = jax.jit(jax.grad(lambda p: jnp.sum(chip_forward(p, cm, x)[-6:] ** 2)))(params)
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        g = np.asarray(g)
        assert np.all(np.isfinite(g)) and np.any(g != 0), jax.tree_util.keystr(path)


def test_fake_quant():
    x = jnp.array([0.26, -3.0, 0.74, 0.1])
    np.testing.assert_allclose(fake_quant(x, 4, 0.25), [0.25, -2.0, 0.75, 0.0])
    g = jax.grad(lambda x: fake_quant(x, 3, 0.25).sum())(x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="`fake_quant`: `bits` must be an int >= 1"):
        fake_quant(x, 0, 0.25)
    deq = chip.ste.fake_quantize(
        nnx.state(LIFMLP(4, (3,), 2, rngs=nnx.Rngs(0))),
        chip.quantize(LIFMLP(4, (3,), 2, rngs=nnx.Rngs(0)), "xylo"),
    )
    beta = deq["blocks"][0]["sn"]["params"]["beta"][...]
    np.testing.assert_allclose(beta, 0.875)  # 0.9 -> the nearest 1 - 2**-dash
