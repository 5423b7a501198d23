"""Bit-exact chip emulators: vendor trace replay, spec facts, and slow plain-Python references.

The references below are written from the text of docs/explanation/chip-semantics.md with Python
integers (unbounded,
``>>`` is an arithmetic shift), looping over neurons and, for Xylo, over single events one by one.
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spikejax import chip
from spikejax.chip import intmath, loihi, xylo

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "chip"

LOIHI_KEYS = {"u1", "v1", "s1", "u2", "v2", "s2", "dense1_a_buff", "dense2_a_buff"}
LOIHI_KEYS |= {"W1_eff", "W2_eff"}
XYLO_KEYS = {"isyn", "isyn2", "vmem", "spikes", "isyn_out", "vmem_out", "spikes_out"}


def load_case(name):
    """The replay input of chip semantics §4.3 and the stored arrays."""
    arrays = dict(np.load(FIXTURES / f"{name}.npz"))
    case = dict(arrays)
    if name.startswith("loihi"):
        params = json.loads((FIXTURES / f"{name}.json").read_text())["params"]
        case |= {k: v for k, v in params.items() if not isinstance(v, list)}
    return case, arrays


def assert_all_equal(out, expected, keys):
    assert set(out) == set(keys)
    for k in keys:
        assert out[k].shape == expected[k].shape, k
        bad = np.argwhere(out[k].astype(np.int64) != expected[k].astype(np.int64))
        assert bad.size == 0, f"{k}: first mismatches at {bad[:3].tolist()}"


# --------------------------------------------------------------------------------------------
# Vendor traces
# --------------------------------------------------------------------------------------------


def test_loihi_basic_trace_bit_exact():
    case, expected = load_case("loihi_basic")
    assert_all_equal(loihi.replay(case), expected, LOIHI_KEYS)


def test_xylo_basic_trace_bit_exact():
    case, expected = load_case("xylo_basic")
    assert_all_equal(xylo.replay(case), expected, XYLO_KEYS)


# --------------------------------------------------------------------------------------------
# Plain-Python Loihi reference (chip semantics §2)
# --------------------------------------------------------------------------------------------


def ref_effective(W, nwb):
    flat = [int(x) for row in W for x in row]
    if min(flat) >= 0:
        mode = "exc"
    elif max(flat) <= 0:
        mode = "inh"
    else:
        mode = "mixed"
    drop = 8 - nwb + (1 if mode == "mixed" else 0)
    out = []
    for row in W:
        new = []
        for x in row:
            m = -int(x) if mode == "inh" else int(x)
            m = min(max(m, -256 if mode == "mixed" else 0), 255)
            m = (m >> drop) << drop
            new.append(-m if mode == "inh" else m)
        out.append(new)
    return out


def ref_shift(x, e):
    return x << e if e > 0 else x >> -e


def ref_decay(x, d):
    m = (abs(x) * (4096 - d)) >> 12
    return m if x >= 0 else -m


def ref_dense(W, s, e):
    return [ref_shift(sum(w * int(si) for w, si in zip(row, s, strict=True)), e) for row in W]


def ref_lif(u, v, a, ts, du, dv, vth, bias, reset, counts):
    if reset is not None and ts % reset["interval"] == reset["offset"] % reset["interval"]:
        u, v = [0] * len(u), [0] * len(v)
        counts["resets"] += 1
    u_new, v_new, s_new = [], [], []
    for j in range(len(u)):
        u_pre = ref_decay(u[j], du + 1) + (a[j] << 6)
        if u_pre > 2**23:
            uj = u_pre - 2**24
        elif u_pre <= -(2**23):
            uj = u_pre + 2**24
        else:
            uj = u_pre
        counts["u_wraps"] += uj != u_pre
        v_pre = ref_decay(v[j], dv) + uj + bias[j]
        vj = min(max(v_pre, -(2**23 - 1)), 2**23 - 1)
        counts["v_clips"] += vj != v_pre
        sj = 1 if vj > (vth << 6) else 0
        u_new.append(uj)
        v_new.append(0 if sj else vj)
        s_new.append(sj)
    return u_new, v_new, s_new


def ref_loihi(case):
    """Spec 2.5, one row at a time; also counts wraps, clips and periodic resets."""
    W1 = ref_effective(case["W1_raw"].tolist(), case["nwb1"])
    W2 = ref_effective(case["W2_raw"].tolist(), case["nwb2"])
    rec = "Wrec_raw" in case
    Wr = ref_effective(case["Wrec_raw"].tolist(), case["nwbrec"]) if rec else None
    n_hid, n_out = len(W1), len(W2)
    bias1 = [
        ref_shift(int(m), int(e))
        for m, e in zip(case["bias_mant1"], case["bias_exp1"], strict=True)
    ]
    bias2 = [
        ref_shift(int(m), int(e))
        for m, e in zip(case["bias_mant2"], case["bias_exp2"], strict=True)
    ]
    u1, v1, u2, v2 = [0] * n_hid, [0] * n_hid, [0] * n_out, [0] * n_out
    buf1, buf2, bufr = [0] * n_hid, [0] * n_out, [0] * n_hid
    rows = {k: [] for k in ("u1", "v1", "s1", "u2", "v2", "s2", "b1", "b2", "br")}
    counts = {"u_wraps": 0, "v_clips": 0, "resets": 0}
    for t, s_in in enumerate(case["s_in"].tolist()):
        ts = t + 1
        a1 = [x + y for x, y in zip(buf1, bufr, strict=True)]
        a2 = buf2
        buf1 = ref_dense(W1, s_in, case["wexp1"])
        u1, v1, s1 = ref_lif(
            u1, v1, a1, ts, case["du1"], case["dv1"], case["vth1"], bias1, case["reset"], counts
        )
        if rec:
            bufr = ref_dense(Wr, s1, case["wexprec"])
        buf2 = ref_dense(W2, s1, case["wexp2"])
        u2, v2, s2 = ref_lif(
            u2, v2, a2, ts, case["du2"], case["dv2"], case["vth2"], bias2, case["reset"], counts
        )
        for k, x in zip(rows, (u1, v1, s1, u2, v2, s2, buf1, buf2, bufr), strict=True):
            rows[k].append(x)
    out = {k: np.array(rows[k], np.int64) for k in ("u1", "v1", "s1", "u2", "v2", "s2")}
    out |= {"dense1_a_buff": np.array(rows["b1"], np.int64)}
    out |= {"dense2_a_buff": np.array(rows["b2"], np.int64)}
    out |= {"W1_eff": np.array(W1, np.int64), "W2_eff": np.array(W2, np.int64)}
    if rec:
        out |= {"denserec_a_buff": np.array(rows["br"], np.int64), "Wrec_eff": np.array(Wr)}
    return out, counts


def random_loihi_case(
    seed, *, n_in, n_hid, n_out, T, rec, reset, wexp, nwb, du, dv, vth, p_in, w2_sign
):
    rng = np.random.default_rng(seed)
    W2 = rng.integers(-300, 300, (n_out, n_hid))
    W2 = {"mixed": W2, "inh": -np.abs(W2), "exc": np.abs(W2)}[w2_sign]
    case = {
        "s_in": (rng.random((T, n_in)) < p_in).astype(np.uint8),
        "W1_raw": rng.integers(-300, 300, (n_hid, n_in)),
        "W2_raw": W2,
        "bias_mant1": rng.integers(-4096, 4096, n_hid),
        "bias_exp1": rng.integers(0, 8, n_hid),
        "bias_mant2": rng.integers(-200, 200, n_out),
        "bias_exp2": rng.integers(0, 3, n_out),
        "du1": du[0],
        "dv1": dv[0],
        "vth1": vth[0],
        "du2": du[1],
        "dv2": dv[1],
        "vth2": vth[1],
        "wexp1": wexp[0],
        "wexp2": wexp[1],
        "wexprec": wexp[2],
        "nwb1": nwb[0],
        "nwb2": nwb[1],
        "nwbrec": nwb[2],
        "reset": reset,
        "p_in": p_in,
    }
    if rec:
        case["Wrec_raw"] = rng.integers(0, 400, (n_hid, n_hid))  # excitatory, clipped at 255
    return case


LOIHI_RANDOM = {
    # recurrence, weight exponents, reduced precision, periodic reset, inhibitory W2
    "recurrent_reset": dict(
        seed=1, n_in=5, n_hid=7, n_out=3, T=300, rec=True, reset={"interval": 23, "offset": 40},
        wexp=(3, -1, 2), nwb=(6, 5, 7), du=(300, 4095), dv=(100, 0), vth=(9000, 800), p_in=0.4,
        w2_sign="mixed",
    ),
    # u wrap and v saturation: strong drive, slow leaks, huge thresholds
    "wrap_saturate": dict(
        seed=2, n_in=6, n_hid=5, n_out=2, T=300, rec=True, reset=None,
        wexp=(6, 5, 4), nwb=(8, 8, 8), du=(0, 10), dv=(0, 1), vth=(131071, 131071), p_in=0.7,
        w2_sign="inh",
    ),
    # extremes: du = 4095 (no current memory), dv = 4095, tiny thresholds, no recurrence
    "extremes": dict(
        seed=3, n_in=3, n_hid=6, n_out=4, T=250, rec=False, reset={"interval": 1, "offset": 0},
        wexp=(-8, 7, 0), nwb=(1, 8, 8), du=(4095, 4095), dv=(4095, 0), vth=(0, 1), p_in=0.5,
        w2_sign="exc",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LOIHI_RANDOM))
def test_loihi_matches_python_reference(name):
    case = random_loihi_case(**LOIHI_RANDOM[name])
    expected, counts = ref_loihi(case)
    out = loihi.replay(case)
    assert_all_equal(out, expected, set(expected))
    if name == "wrap_saturate":
        assert counts["u_wraps"] > 10 and counts["v_clips"] > 10, counts
    if name == "recurrent_reset":
        assert counts["resets"] == 2 * len([t for t in range(1, 301) if t % 23 == 40 % 23])
        assert np.any(out["denserec_a_buff"] != 0) and out["s1"].mean() > 0.05
    assert out["s1"].any() and out["s2"].any()


# --------------------------------------------------------------------------------------------
# Loihi facts of the chip semantics (§2)
# --------------------------------------------------------------------------------------------


def test_loihi_effective_weight_examples():
    mixed = jnp.array([[103, -5, 91, 300, -300]], jnp.int32)
    assert loihi.effective_weights(mixed).tolist() == [[102, -6, 90, 254, -256]]
    # Inhibitory: magnitudes are truncated, i.e. rounded toward zero.
    inh = jnp.array([[-103, -5, -7, 0, -300]], jnp.int32)
    assert loihi.effective_weights(inh, 6).tolist() == [[-100, -4, -4, 0, -252]]
    assert loihi.effective_weights(jnp.array([[300, 7, 0]], jnp.int32), 7).tolist() == [[254, 6, 0]]
    # One positive entry makes an inhibitory matrix mixed (even values, -7 -> -8).
    assert loihi.effective_weights(jnp.array([[-7, -5, 1]], jnp.int32)).tolist() == [[-8, -6, 0]]
    assert loihi.effective_weights(jnp.zeros((2, 2), jnp.int32)).tolist() == [[0, 0], [0, 0]]
    raw = np.random.default_rng(0).integers(-400, 400, (6, 5))
    for nwb in range(1, 9):
        got = loihi.effective_weights(raw, nwb)
        assert got.tolist() == ref_effective(raw.tolist(), nwb)


def lif(**kwargs):
    params = dict(du=4095, dv=0, vth=131071, bias_mant=0, bias_exp=0) | kwargs
    return loihi.LoihiLIF(**params)


lif_step = jax.jit(loihi.lif_step)


def one_step(layer, u, v, a, ts=1):
    as32 = lambda x: jnp.array(x, jnp.int32)  # noqa: E731
    u, v, s = lif_step(layer, as32(u), as32(v), as32(a), as32(ts))
    return u.tolist(), v.tolist(), s.tolist()


def test_loihi_u_wraps_and_v_clips_symmetrically():
    # du = 4095: the current forgets everything, so u_pre = a << 6.
    u, _, _ = one_step(lif(), [0] * 4, [0] * 4, [2**17, -(2**17), 2**17 + 1, -(2**17) - 1])
    assert u == [2**23, 2**23, -(2**23) + 64, 2**23 - 64]
    # v saturates at -(2^23 - 1), never at -2^23.
    _, v, _ = one_step(lif(), [0, 0], [-(2**23 - 1), 0], [-(2**17) + 1, -(2**17) + 1])
    assert v == [-(2**23 - 1), -(2**23) + 64]
    # at the positive rail v = 2^23 - 1 exceeds the largest threshold: spike and reset.
    _, v, s = one_step(lif(), [0], [2**23 - 1], [2**16])
    assert (v, s) == ([0], [1])


def test_loihi_decays_truncate_toward_zero_with_du_plus_one():
    # du = 2047 decays by (du + 1) / 4096 = 1/2: -4097 -> -2048 (a floor would give -2049).
    u, _, _ = one_step(lif(du=2047), [-4097, 4097], [0, 0], [0, 0])
    assert u == [-2048, 2048]
    # du = 0 still leaks 1/4096.
    u, _, _ = one_step(lif(du=0), [4096 * 100], [0], [0])
    assert u == [4095 * 100]
    # dv = 0 keeps v; dv = 4095 keeps 1/4096 of it (toward zero).
    _, v, _ = one_step(lif(dv=0, du=4095), [0, 0], [123456, -123456], [0, 0])
    assert v == [123456, -123456]
    _, v, _ = one_step(lif(dv=4095, du=4095), [0, 0], [123456, -123456], [0, 0])
    assert v == [30, -30]


def test_loihi_threshold_is_strict_and_u_is_not_reset():
    layer = lif(vth=100, bias_mant=50, bias_exp=7)  # bias 6400 = 100 << 6
    u, v, s = one_step(layer, [0, 0], [0, 1], [0, 0])
    assert (s, v) == ([0, 1], [6400, 0])
    u, v, s = one_step(lif(vth=1), [0], [0], [5])
    assert (u, v, s) == ([320], [0], [1])


def test_loihi_du_4095_and_dv_0_over_time():
    n = loihi.LoihiNetwork(
        loihi.LoihiDense(np.array([[7]])),
        lif(du=4095, dv=0, vth=131071),
        loihi.LoihiDense(np.zeros((1, 1), np.int32)),
        lif(),
    )
    s_in = np.array([[1], [1], [0], [1], [0], [0]])
    _, rec = loihi.run(n, s_in)
    # u equals the delivered input only; v integrates u with no leak; one step of delay.
    assert rec["u1"][:, 0].tolist() == [0, 448, 448, 0, 448, 0]
    assert rec["v1"][:, 0].tolist() == [0, 448, 896, 896, 1344, 1344]


def test_loihi_periodic_reset_rows():
    net = loihi.LoihiNetwork(
        loihi.LoihiDense(np.zeros((1, 1), np.int32)),
        lif(dv=0, bias_mant=1, reset=loihi.LoihiReset(32, 5)),
        loihi.LoihiDense(np.zeros((1, 1), np.int32)),
        lif(dv=0, bias_mant=1, reset=loihi.LoihiReset(32, 37)),
    )
    _, rec = loihi.run(net, np.zeros((80, 1), np.int32))
    for key in ("v1", "v2"):
        v = rec[key][:, 0]
        assert np.flatnonzero(v == 1).tolist() == [0, 4, 36, 68]  # row = Lava step - 1
        assert v[3] == 4 and v[35] == 32  # bias integrated every step, also on reset rows


def test_loihi_dense_shifts_after_the_sum():
    s = jnp.array([1, 1], jnp.int32)
    exc = loihi.LoihiDense(np.array([[3, 3], [3, 0]]), weight_exp=-1)
    assert loihi.dense(exc, s).tolist() == [3, 1]  # 6 >> 1 (not 1 + 1), 3 >> 1
    inh = loihi.LoihiDense(np.array([[-3, -3], [-3, 0]]), weight_exp=-1)
    assert loihi.dense(inh, s).tolist() == [-3, -2]  # -6 >> 1, -3 >> 1 (floor)
    assert loihi.dense(loihi.LoihiDense(np.array([[3, 3]]), weight_exp=2), s).tolist() == [24]


def test_loihi_latencies_and_recurrent_delay():
    def network(w_rec):
        return loihi.LoihiNetwork(
            loihi.LoihiDense(np.array([[100], [0]])),
            lif(du=4095, dv=4095, vth=1),
            loihi.LoihiDense(np.array([[5, 0]])),
            lif(du=4095, dv=4095, vth=131071),
            None if w_rec is None else loihi.LoihiDense(w_rec),
        )

    s_in = np.zeros((6, 1), np.int32)
    s_in[0] = 1
    _, rec = loihi.run(network(np.array([[0, 0], [9, 0]])), s_in)
    assert rec["u1"][:, 0].tolist() == [0, 6400, 0, 0, 0, 0]  # input row 0 -> u1 row 1
    assert rec["s1"][:, 0].tolist() == [0, 1, 0, 0, 0, 0]
    assert rec["denserec_a_buff"][:, 1].tolist() == [0, 9, 0, 0, 0, 0]
    assert rec["u1"][:, 1].tolist() == [0, 0, 576, 0, 0, 0]  # recurrent: one more step
    assert rec["u2"][:, 0].tolist() == [0, 0, 320, 0, 0, 0]  # input row 0 -> u2 row 2
    _, plain = loihi.run(network(None), s_in)
    assert "denserec_a_buff" not in plain and plain["u1"][:, 1].tolist() == [0] * 6


# --------------------------------------------------------------------------------------------
# Plain-Python Xylo reference (chip semantics §3), one event at a time
# --------------------------------------------------------------------------------------------


def sat16(x):
    return min(max(x, -32768), 32767)


def ref_delta(x, dash):
    d = x >> dash
    return 1 if x > 0 and d == 0 else d


def ref_evolve(isyns, vmem, dashes, dash_mem, bias, thr, cap):
    isyns = [i - ref_delta(i, d) for i, d in zip(isyns, dashes, strict=True)]
    dv = sat16(-ref_delta(vmem, dash_mem) + sum(isyns))
    dv = sat16(dv + bias)
    vmem = sat16(vmem + dv)
    n = min(vmem // thr, cap) if vmem >= thr else 0
    return isyns, vmem - n * thr, n


def ref_xylo(case):
    """Spec 3.5 with every single event as its own saturating add; counts rail hits and bursts."""
    c = {k: v.tolist() for k, v in case.items()}
    n_in, n_hid, _ = np.shape(case["weights_in"])
    n_out = np.shape(case["weights_out"])[1]
    sh_in, sh_rec, sh_out = c["weight_shift_in"], c["weight_shift_rec"], c["weight_shift_out"]
    isyn = [[0, 0] for _ in range(n_hid)]
    vmem, spk = [0] * n_hid, [0] * n_hid
    isyn_out, vmem_out = [0] * n_out, [0] * n_out
    rows = {k: [] for k in XYLO_KEYS}
    stats = {"rail_hits": 0, "max_spikes": 0, "capped_inputs": 0, "burst_left": 0}

    def add(acc, w):
        stats["rail_hits"] += sat16(acc + w) != acc + w
        return sat16(acc + w)

    for counts in c["s_in"]:
        stats["capped_inputs"] += sum(x > 15 for x in counts)
        for j in range(n_hid):
            for k in range(2):
                for i in range(n_in):
                    for _ in range(min(counts[i], 15)):
                        isyn[j][k] = add(isyn[j][k], c["weights_in"][i][j][k] << sh_in)
                for h in range(n_hid):
                    for _ in range(spk[h]):
                        isyn[j][k] = add(isyn[j][k], c["weights_rec"][h][j][k] << sh_rec)
        for j in range(n_out):
            for h in range(n_hid):
                for _ in range(spk[h]):
                    isyn_out[j] = add(isyn_out[j], c["weights_out"][h][j] << sh_out)
        new_spk = []
        for j in range(n_hid):
            dashes = (c["dash_syn"][j], c["dash_syn_2"][j])
            isyn[j], vmem[j], n = ref_evolve(
                isyn[j], vmem[j], dashes, c["dash_mem"][j], c["bias"][j], c["threshold"][j], 31
            )
            stats["burst_left"] += n == 31 and vmem[j] >= c["threshold"][j]
            new_spk.append(n)
        spk = new_spk
        stats["max_spikes"] = max(stats["max_spikes"], *spk)
        spikes_out = []
        for j in range(n_out):
            (isyn_out[j],), vmem_out[j], n = ref_evolve(
                [isyn_out[j]],
                vmem_out[j],
                [c["dash_syn_out"][j]],
                c["dash_mem_out"][j],
                c["bias_out"][j],
                c["threshold_out"][j],
                1,
            )
            spikes_out.append(n)
        rows["isyn"].append([i[0] for i in isyn])
        rows["isyn2"].append([i[1] for i in isyn])
        rows["vmem"].append(list(vmem))
        rows["spikes"].append(spk)
        rows["isyn_out"].append(list(isyn_out))
        rows["vmem_out"].append(list(vmem_out))
        rows["spikes_out"].append(spikes_out)
    return {k: np.array(v, np.int64) for k, v in rows.items()}, stats


def random_xylo_case(seed, *, n_in, n_hid, n_out, T, max_in, thr, shifts, bias, w_scale):
    rng = np.random.default_rng(seed)
    w = lambda shape: np.clip(rng.normal(0, w_scale, shape), -128, 127).astype(np.int64)  # noqa: E731
    return {
        "s_in": rng.integers(0, max_in + 1, (T, n_in)) * (rng.random((T, n_in)) < 0.4),
        "weights_in": w((n_in, n_hid, 2)),
        "weights_rec": w((n_hid, n_hid, 2)),
        "weights_out": w((n_hid, n_out)),
        "dash_syn": rng.integers(0, 16, n_hid),
        "dash_syn_2": rng.integers(0, 16, n_hid),
        "dash_mem": rng.integers(0, 16, n_hid),
        "dash_syn_out": rng.integers(0, 16, n_out),
        "dash_mem_out": rng.integers(0, 16, n_out),
        "threshold": rng.integers(thr[0], thr[1], n_hid),
        "threshold_out": rng.integers(thr[0], thr[1], n_out),
        "bias": rng.integers(-bias, bias + 1, n_hid),
        "bias_out": rng.integers(-bias, bias + 1, n_out),
        "weight_shift_in": np.array(shifts[0]),
        "weight_shift_rec": np.array(shifts[1]),
        "weight_shift_out": np.array(shifts[2]),
        "has_bias": np.array(int(bias > 0)),
    }


XYLO_RANDOM = {
    # bursts up to 31 with leftover vmem, input counts above 15, recurrence, synapse 2, biases
    "bursts": dict(
        seed=4, n_in=4, n_hid=6, n_out=3, T=200, max_in=25, thr=(1, 40), shifts=(2, 0, 3),
        bias=50, w_scale=40.0,
    ),
    # heavy saturation: large shifts, extreme biases and thresholds
    "saturation": dict(
        seed=5, n_in=3, n_hid=5, n_out=2, T=200, max_in=20, thr=(20000, 32768), shifts=(7, 5, 7),
        bias=32768 - 1, w_scale=90.0,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(XYLO_RANDOM))
def test_xylo_matches_event_by_event_reference(name):
    case = random_xylo_case(**XYLO_RANDOM[name])
    expected, stats = ref_xylo(case)
    out = xylo.replay(case)
    assert_all_equal(out, expected, XYLO_KEYS)
    assert stats["capped_inputs"] > 0 and np.any(out["isyn2"] != 0)
    if name == "bursts":
        assert stats["max_spikes"] == 31 and stats["burst_left"] > 0, stats
    else:
        assert stats["rail_hits"] > 100 and np.any(out["vmem"] == -32768), stats


# --------------------------------------------------------------------------------------------
# Xylo facts of the chip semantics (§3)
# --------------------------------------------------------------------------------------------


def decayed(x, dash):
    x = jnp.array(x, jnp.int32)
    return (x - xylo.dash_delta(x, jnp.full(x.shape, dash, jnp.int32))).tolist()


def test_xylo_dash_decay_examples():
    assert decayed([32767, 5, 1, -1, -32768], 0) == [0, 0, 0, 0, 0]  # dash 0 clears
    assert decayed([1000, 1, -1000, -1], 15) == [999, 0, -999, 0]  # linear leak of 1
    assert decayed([3, 17, -3, -17, 0], 4) == [2, 16, -2, -15, 0]  # minimum step, toward zero
    x = np.arange(-40000, 40000, 37)
    for dash in (1, 6, 13):
        assert decayed(x, dash) == [int(v) - ref_delta(int(v), dash) for v in x]


def test_xylo_sequential_saturation_differs_from_summed():
    acc = jnp.array([[[30000]]], jnp.int32)  # (batch, post, syn) = (1, 1, 1)
    weights = jnp.array([[[5000]], [[-5000]]], jnp.int32)
    one = jnp.ones((1, 2), jnp.int32)
    assert xylo.accumulate(acc, one, weights).tolist() == [[[27767]]]
    assert xylo.accumulate(acc, one, weights[::-1]).tolist() == [[[30000]]]


def test_sequential_sat_add_matches_loop():
    rng = np.random.default_rng(0)
    inc = rng.integers(-40000, 40000, (3, 37)) * (rng.random((3, 37)) < 0.7)
    acc = rng.integers(-32768, 32768, 3)
    add = jax.jit(intmath.sequential_sat_add, static_argnames="axis")
    got = add(jnp.asarray(acc, jnp.int32), jnp.asarray(inc, jnp.int32), axis=1)
    expected = []
    for a, row in zip(acc.tolist(), inc.tolist(), strict=True):
        for x in row:
            a = sat16(a + x)
        expected.append(a)
    assert got.tolist() == expected


def test_loihi_decay_split_is_exact():
    x = np.concatenate([np.arange(-(2**24) + 1, 2**24, 9973), [2**24 - 1, -(2**24) + 1, 0]])
    for d in (0, 1, 409, 2048, 4095, 4096):
        got = loihi.decay(jnp.asarray(x, jnp.int32), jnp.int32(d))
        assert got.tolist() == [ref_decay(int(v), d) for v in x]


def test_intmath_shift_static_and_array():
    x = jnp.array([5, -5, 7, -7], jnp.int32)
    e = jnp.array([2, 2, -1, -1], jnp.int32)
    assert intmath.shift(x, e).tolist() == [20, -20, 3, -4]
    assert intmath.shift(x, -2).tolist() == [1, -2, 1, -2]
    assert intmath.shift(x, 0).tolist() == x.tolist()


def xylo_net(**kwargs):
    params = dict(
        weights_in=np.zeros((1, 2, 2), np.int32),
        weights_rec=np.zeros((2, 2, 2), np.int32),
        weights_out=np.zeros((2, 1), np.int32),
        dash_syn=0,
        dash_syn_2=0,
        dash_mem=15,
        threshold=32767,
        dash_syn_out=0,
        dash_mem_out=15,
        threshold_out=32767,
    )
    return xylo.XyloNetwork(**(params | kwargs))


def test_xylo_input_cap_synapse_2_and_delay_0():
    w_in = np.zeros((1, 2, 2), np.int64)
    w_in[0, 0, 0], w_in[0, 1, 1] = 3, 100
    net = xylo_net(weights_in=w_in, dash_syn=2, dash_syn_2=1)
    _, rec = xylo.run(net, np.array([[40], [15], [16], [0]]))
    # 15 events of weight 3 = 45, then decay: 45 - (45 >> 2) = 34; input acts in the same step.
    # Next rows: 34 + 45 = 79 -> 60; 60 + 45 = 105 -> 79 (16 events are capped to 15 as well).
    assert rec["isyn"][:3, 0].tolist() == [34, 60, 79]
    assert rec["isyn2"][0, 1] == 1500 - 750 and rec["isyn"][0, 1] == 0 and rec["isyn2"][0, 0] == 0
    assert rec["vmem"][0, 1] == 750 and rec["vmem"][0, 0] == 34


def test_xylo_burst_cap_31_leaves_vmem_above_threshold():
    w_in = np.full((1, 2, 2), 127)
    net = xylo_net(
        weights_in=w_in,
        weight_shift_in=7,
        threshold=np.array([10, 1000]),
        dash_syn=15,
        dash_syn_2=15,
    )
    _, rec = xylo.run(net, np.array([[15]]))
    # 15 events of 127 << 7 saturate both synapses at 32767 (decayed by 1); vmem saturates too.
    assert rec["isyn"][0].tolist() == [32766, 32766] and rec["isyn2"][0].tolist() == [32766, 32766]
    assert rec["spikes"][0].tolist() == [31, 31]
    assert rec["vmem"][0].tolist() == [32767 - 310, 32767 - 31000]
    assert rec["vmem"][0, 0] >= 10 and rec["vmem"][0, 1] >= 1000


def test_xylo_saturation_placement():
    # -delta(-32768, 0) = +32768 is kept before the saturation of the full sum.
    isyn = jnp.array([[[0, 0]]], jnp.int32)
    vmem = jnp.array([[-32768]], jnp.int32)
    z = jnp.zeros((1, 1), jnp.int32)
    num = xylo.arithmetic.IntegerNumerics(xylo.XYLO)

    def consts(dash, dash_mem, bias, thr):
        return xylo.arithmetic.NeuronConstants(dash, dash_mem, bias, thr)

    c = consts(jnp.zeros((1, 1, 2), jnp.int32), z, z, z + 5)
    _, v, n, _ = xylo.evolve(num, c, isyn, vmem, cap=31)
    assert (v.tolist(), n.tolist()) == ([[-1]], [[0]])
    # dv = sat16(isyn sum) then sat16(dv + bias): 20000 + 20000 -> 32767, - 30000 -> 2767.
    isyn = jnp.array([[[20000, 20000]]], jnp.int32)
    dash = jnp.full((1, 1, 2), 15, jnp.int32)
    bias = jnp.full((1, 1), -30000, jnp.int32)
    _, v, _, _ = xylo.evolve(num, consts(dash, z + 15, bias, z + 32767), isyn, vmem * 0, cap=31)
    assert v.tolist() == [[2767]]  # not 19999 + 19999 - 30000 = 9998


def test_xylo_bias_and_readout_delay():
    net = xylo_net(
        bias=np.array([7, -7]),
        threshold=np.array([19, 20]),
        weights_out=np.array([[100], [0]]),
        dash_syn_out=15,
    )
    _, rec = xylo.run(net, np.zeros((5, 1), np.int64))
    # dash_mem = 15: vmem leaks by one LSB each step: 7, 13, 19 = threshold -> spike (>=), 0, 7.
    assert rec["vmem"][:, 0].tolist() == [7, 13, 0, 7, 13]
    assert rec["spikes"][:, 0].tolist() == [0, 0, 1, 0, 0]
    assert rec["vmem"][:, 1].tolist() == [-7, -13, -19, -25, -31]
    # the hidden spike of row 2 reaches the readout at row 3: 100 - 1 (decay) = 99, then 98.
    assert rec["isyn_out"][:, 0].tolist() == [0, 0, 0, 99, 98]
    assert rec["vmem_out"][:, 0].tolist() == [0, 0, 0, 99, 99 - 1 + 98]


def test_xylo_recurrence_is_delayed_one_step():
    w_in = np.zeros((1, 2, 2), np.int64)
    w_in[0, 0, 0] = 50
    w_rec = np.zeros((2, 2, 2), np.int64)
    w_rec[0, 1, 1] = -9
    net = xylo_net(
        weights_in=w_in,
        weights_rec=w_rec,
        threshold=np.array([10, 100]),
        dash_syn=np.array([1, 15]),
        dash_syn_2=15,
    )
    _, rec = xylo.run(net, np.array([[1], [0], [0]]))
    # neuron 0: isyn 50 -> 25 -> 13 -> 7; vmem 25 -> 2 spikes, 5; 17 -> 1 spike, 7; 13 -> 1, 3.
    assert rec["isyn"][:, 0].tolist() == [25, 13, 7]
    assert rec["spikes"][:, 0].tolist() == [2, 1, 1]
    assert rec["vmem"][:, 0].tolist() == [5, 7, 3]
    # neuron 1 gets 2 * -9 at row 1 and 1 * -9 at row 2 on synapse 2.
    assert rec["isyn2"][:, 1].tolist() == [0, -17, -25]
    assert rec["vmem"][:, 1].tolist() == [0, -17, -41]


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_loihi_missing_keys_are_listed():
    case, _ = load_case("loihi_basic")
    del case["du1"], case["W2_raw"]
    with pytest.raises(ValueError, match=r"`loihi.replay`: `case`.*missing \['W2_raw', 'du1'\]"):
        loihi.replay(case)
    case, _ = load_case("loihi_basic")
    case["Wrec_raw"] = np.zeros((16, 16), np.int64)
    del case["wexprec"]
    with pytest.raises(ValueError, match=r"missing \['wexprec'\]"):
        loihi.replay(case)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("W1_raw", np.zeros((16, 8)), r"`W1_raw` must be an integer array.*float64"),
        ("s_in", np.full((200, 8), 2, np.uint8), r"`s_in` must be .*\[0, 1\]; got \[2"),
        ("du1", 4096, r"`du1` must be .*\[0, 4095\]; got \[4096\]"),
        ("dv2", -1, r"`dv2` must be .*\[0, 4095\]"),
        ("vth1", 131072, r"`vth1` must be .*\[0, 131071\]"),
        ("bias_mant1", np.full(16, 4096), r"`bias_mant1` must be .*\[-4096, 4095\]"),
        ("bias_exp2", np.full(4, 8), r"`bias_exp2` must be .*\[0, 7\]"),
        ("nwb1", 0, r"`nwb1` must be .*\[1, 8\]"),
        ("nwb2", 9, r"`nwb2` must be .*\[1, 8\]"),
        ("wexp1", 8, r"`wexp1` must be .*\[-8, 7\]"),
        ("du2", 3.0, r"`du2` must be an integer"),
        ("reset", {"interval": 0, "offset": 0}, r"`reset\['interval'\]` must be .*\[1, "),
        ("reset", {"period": 3}, r"`reset` must be None or a dict"),
        ("bias_mant2", np.zeros(5, np.int64), r"`bias_mant2` must have shape \(4,\)"),
        ("s_in", np.zeros((200, 7), np.uint8), r"`s_in` must have shape \(T, 8\)"),
    ],
)
def test_loihi_bad_input(key, value, match):
    case, _ = load_case("loihi_basic")
    case[key] = value
    with pytest.raises(ValueError, match=match):
        loihi.replay(case)


def test_loihi_constructor_checks():
    with pytest.raises(ValueError, match=r"`LoihiDense`: `weights` must be .*\[-256, 255\]"):
        loihi.LoihiDense(np.array([[3, 256]]))
    with pytest.raises(ValueError, match=r"`LoihiReset`: `interval`"):
        loihi.LoihiReset(0)
    with pytest.raises(ValueError, match=r"`LoihiNetwork`: `lif1.vth` must be a scalar or"):
        loihi.LoihiNetwork(
            loihi.LoihiDense(np.ones((3, 2), np.int32)),
            lif(vth=np.ones(2, np.int32)),
            loihi.LoihiDense(np.ones((1, 3), np.int32)),
            lif(),
        )


def test_xylo_missing_keys_are_listed():
    case, _ = load_case("xylo_basic")
    del case["dash_mem"], case["threshold_out"]
    with pytest.raises(ValueError, match=r"`xylo.replay`: `case`.*missing \['dash_mem', 'thr"):
        xylo.replay(case)


@pytest.mark.parametrize(
    "key, value, match",
    [
        (
            "weights_in",
            np.full((8, 16, 2), 128),
            r"`weights_in` must be .*\[-128, 127\]; got \[128",
        ),
        ("weights_out", np.zeros((16, 4)), r"`weights_out` must be an integer array.*float64"),
        ("dash_syn_2", np.full(16, 16), r"`dash_syn_2` must be .*\[0, 15\]"),
        ("threshold", np.full(16, 32768), r"`threshold` must be .*\[0, 32767\]"),
        ("threshold_out", np.zeros(4, np.int64), r"`threshold_out` must be >= 1.*unsupported"),
        ("bias", np.full(16, -32769), r"`bias` must be .*\[-32768, 32767\]"),
        ("weight_shift_rec", np.array(8), r"`weight_shift_rec` must be .*\[0, 7\]"),
        ("s_in", -np.ones((200, 8), np.int64), r"`s_in` must be .*\[0, "),
        ("weights_rec", np.zeros((16, 16, 1), np.int64), r"`weights_rec` must have shape"),
    ],
)
def test_xylo_bad_input(key, value, match):
    case, _ = load_case("xylo_basic")
    case[key] = value
    with pytest.raises(ValueError, match=match):
        xylo.replay(case)


# --------------------------------------------------------------------------------------------
# Batching, jit, vmap, int32 only
# --------------------------------------------------------------------------------------------


def test_loihi_batch_and_vmap_equal_loop():
    case = random_loihi_case(**(LOIHI_RANDOM["recurrent_reset"] | {"T": 60}))
    net = loihi.network_from_case(case)
    s = jnp.asarray(np.random.default_rng(1).random((60, 3, 5)) < 0.4, jnp.int32)
    run = jax.jit(loihi.run)
    _, batched = run(net, s)
    vmapped = jax.jit(jax.vmap(lambda x: loihi.run(net, x)[1], in_axes=1, out_axes=1))(s)
    for b in range(3):
        _, single = run(net, s[:, b])
        for k, v in single.items():
            assert np.array_equal(batched[k][:, b], v) and np.array_equal(vmapped[k][:, b], v), k


def test_xylo_batch_and_vmap_equal_loop():
    case = random_xylo_case(**(XYLO_RANDOM["bursts"] | {"T": 50}))
    net = xylo.XyloNetwork(**{k: case[k] for k in case if k not in ("s_in", "has_bias")})
    s = jnp.asarray(np.random.default_rng(2).integers(0, 20, (50, 3, 4)), jnp.int32)
    run = jax.jit(xylo.run)
    _, batched = run(net, s)
    vmapped = jax.jit(jax.vmap(lambda x: xylo.run(net, x)[1], in_axes=1, out_axes=1))(s)
    for b in range(3):
        _, single = run(net, s[:, b])
        for k, v in single.items():
            assert np.array_equal(batched[k][:, b], v) and np.array_equal(vmapped[k][:, b], v), k


def test_parameters_are_int32_pytrees_and_x64_stays_off():
    case, _ = load_case("loihi_basic")
    net = loihi.network_from_case(case)
    leaves = jax.tree_util.tree_leaves(net)
    assert leaves and all(leaf.dtype == jnp.int32 for leaf in leaves)
    _, rec = jax.jit(loihi.run)(net, jnp.asarray(case["s_in"], jnp.int32))
    assert all(v.dtype == jnp.int32 for v in rec.values())
    assert not jax.config.jax_enable_x64
    source = pathlib.Path(chip.__file__).parent
    assert not any("enable_x64" in f.read_text() for f in source.rglob("*.py"))
