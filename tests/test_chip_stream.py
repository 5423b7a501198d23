"""Streaming on the chip emulators: ``chip.init_state`` / ``chip.run`` carry an explicit integer
state, and a sequence run in chunks of any length equals one ``emulate`` bit for bit (outputs,
final state against the step-by-step reference, counts added up over the chunks)."""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest
from flax import nnx

from spikejax import chip
from spikejax.chip.loihi.stepwise import run_stepwise
from spikejax.models import LIFMLP
from tests.test_chip_networks import ConvNet, RecurrentNet

T, B = 7, 3
CHUNKS = (1, T - 1)  # a one-step chunk and a longer one (each chunk length compiles once)


def _counts(shape, high, seed):
    return np.random.default_rng(seed).integers(0, high + 1, shape).astype(np.int32)


def _dense(profile):
    model = LIFMLP(6, (5,), 3, rngs=nnx.Rngs(1))
    return chip.quantize(model, profile)


CASES = {
    # name: (chip model, input step shape, largest input count)
    "loihi_dense": (lambda: _dense("loihi"), (6,), 1),
    "loihi_conv_pool": (
        lambda: chip.quantize(ConvNet("avg", seed=1), "loihi", input_levels=3, input_unit=1.0),
        (6, 6, 2),
        3,
    ),
    "loihi_recurrent": (lambda: chip.quantize(RecurrentNet(), "loihi"), (5,), 1),
    # Xylo maps Linear -> Spiking chains only (no recurrent layers); counts above its input cap
    # of 15 are clipped and counted, so the chunks' counts must add up to a non-zero total.
    "xylo_dense": (lambda: _dense("xylo"), (6,), 20),
}


def _chunks(x):
    starts = np.cumsum((0, *CHUNKS))
    return [x[a:b] for a, b in itertools.pairwise(starts)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_chunks_equal_one_emulate(case):
    make, step_shape, high = CASES[case]
    cm = make()
    x = _counts((T, B, *step_shape), high, seed=len(case))
    full, full_stats = chip.emulate(cm, x)
    state = chip.init_state(cm, x.shape[1:])
    outs, totals, states = [], None, []
    for chunk in _chunks(x):
        out, state, stats = chip.run(cm, chunk, state)
        outs.append(np.asarray(out))
        states.append(state)
        totals = stats if totals is None else jax.tree.map(lambda a, b: a + b, totals, stats)
    assert np.array_equal(np.concatenate(outs), np.asarray(full))
    assert any(np.any(np.asarray(v) != 0) for v in jax.tree.leaves(states[0]))  # not at rest
    assert jax.tree.map(int, totals) == jax.tree.map(int, full_stats)
    assert any(int(v) > 0 for v in jax.tree.leaves(full_stats))
    if case.startswith("xylo"):
        assert int(full_stats["layer_0"]["input_clips"]) > 0
        return
    # The step-by-step reference, continued from the state the batched emulator returned after
    # the first chunk, gives the rest of the outputs and ends in the same state, leaf by leaf.
    ref_out, ref_state = run_stepwise(cm, x[CHUNKS[0] :], states[0])
    assert np.array_equal(np.asarray(ref_out), np.asarray(full[CHUNKS[0] :]))
    assert jax.tree.structure(ref_state) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(ref_state), jax.tree.leaves(state), strict=True):
        assert a.dtype == b.dtype == np.int32 and np.array_equal(a, b)


def test_init_state_layout():
    """One entry per layer with int32 leaves [*batch, n]; Xylo's first layer has no delay."""
    s0 = chip.init_state(_dense("loihi"), (B, 6))
    assert sorted(s0) == ["layer_0", "layer_1"]
    assert {k: v.shape for k, v in s0["layer_0"].items()} == {
        "pending": (B, 6),
        "s": (B, 5),
        "u": (B, 5),
        "v": (B, 5),
    }
    x_state = chip.init_state(_dense("xylo"), (2, 4, 6))  # several batch axes
    assert sorted(x_state["layer_1"]) == ["isyn", "pending", "vmem"]
    assert x_state["layer_1"]["pending"].shape == (2, 4, 5)
    assert "pending" not in x_state["layer_0"]  # Xylo's input is not delayed
    assert all(v.dtype == np.int32 and not np.any(v) for v in jax.tree.leaves(x_state))


def test_bad_state_and_chunks_are_refused():
    cm = _dense("loihi")
    x = _counts((T, B, 6), 1, seed=4)
    state = chip.init_state(cm, (B, 6))
    with pytest.raises(
        ValueError,
        match=r"`state\['layer_0'\]\['pending'\]` has shape \(2, 6\) \(int32\), but \(3, 6\)",
    ):
        chip.run(cm, x, chip.init_state(cm, (2, 6)))
    bad = {k: dict(v) for k, v in state.items()}
    bad["layer_1"]["v"] = bad["layer_1"]["v"].astype(np.float32)
    with pytest.raises(ValueError, match=r"`chip.run`: `state\['layer_1'\]\['v'\]` .*float32"):
        chip.run(cm, x, bad)
    with pytest.raises(
        ValueError, match=r"must be a dict with the layers \['layer_0', 'layer_1'\]"
    ):
        chip.run(cm, x, {"layer_0": state["layer_0"]})
    with pytest.raises(ValueError, match=r"state\['layer_0'\]` must hold the leaves"):
        chip.run(cm, x, {"layer_0": {"u": state["layer_0"]["u"]}, "layer_1": state["layer_1"]})
    xylo_state = chip.init_state(_dense("xylo"), (B, 6))
    with pytest.raises(ValueError, match=r"must be a dict with the layers"):
        chip.run(cm, x, {**xylo_state, "layer_2": xylo_state["layer_0"]})
    with pytest.raises(ValueError, match=r"`chip.run`: `inputs` must be time-major .*T >= 1"):
        chip.run(cm, x[:0], state)
    with pytest.raises(
        ValueError, match=r"`chip.init_state`: `batch_shape` must be .*\(\*batch, 6\)"
    ):
        chip.init_state(cm, (B, 7))
    with pytest.raises(TypeError, match=r"`chip.run`: `chip_model` must be a ChipModel"):
        chip.run(object(), x, state)


def _replay_nets():
    """The step-by-step trace networks: Loihi with recurrence and a periodic reset (which counts
    Lava steps), Xylo with recurrent events."""
    from spikejax.chip import loihi, xylo

    r = np.random.default_rng(5)
    lif = loihi.LoihiLIF(du=300, dv=100, vth=40, bias_mant=3, reset=loihi.LoihiReset(6, 4))
    net_l = loihi.LoihiNetwork(
        dense1=loihi.LoihiDense(r.integers(-100, 200, (4, 3))),
        lif1=lif,
        dense2=loihi.LoihiDense(r.integers(-100, 200, (2, 4))),
        lif2=loihi.LoihiLIF(du=100, dv=50, vth=20),
        dense_rec=loihi.LoihiDense(r.integers(-50, 100, (4, 4))),
    )
    net_x = xylo.XyloNetwork(
        weights_in=r.integers(-60, 120, (3, 4, 2)),
        weights_rec=r.integers(-40, 60, (4, 4, 2)),
        weights_out=r.integers(-60, 120, (4, 2)),
        dash_syn=2,
        dash_syn_2=3,
        dash_mem=3,
        threshold=100,
        dash_syn_out=2,
        dash_mem_out=3,
        threshold_out=200,
    )
    # 12 steps: the reset (Lava steps 4 and 10) falls in both halves
    return (loihi, net_l, (r.random((12, B, 3)) < 0.5).astype(np.int32)), (
        xylo,
        net_x,
        r.integers(0, 4, (12, B, 3)).astype(np.int32),
    )


def test_replay_networks_continue_from_a_state():
    for module, net, x in _replay_nets():
        final, full = module.run(net, x)
        state, recs, start = None, [], 0
        for n in (x.shape[0] // 2,) * 2:  # two halves: one compilation for both
            kw = {"first_step": start + 1} if module.__name__.endswith("loihi") else {}
            state, rec = module.run(net, x[start : start + n], state, **kw)
            recs.append(rec)
            start += n
        assert any(np.any(np.asarray(v) != 0) for k, v in full.items() if k.startswith("s"))
        for key, value in full.items():
            got = np.concatenate([np.asarray(r[key]) for r in recs])
            assert np.array_equal(got, np.asarray(value)), (module.__name__, key)
        for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(final), strict=True):
            assert np.array_equal(a, b)
        bad = module.init_state(net, (B + 1,))
        with pytest.raises(ValueError, match=r"`(loihi|xylo).run`: `state\.\w+` has shape \(4, "):
            module.run(net, x, bad)
