"""Choosing an `unroll` backend: ``auto`` picks, fused backends refuse by name, and every way in
(``remat``, ``truncated_unroll``, ``layers.Spiking``) reaches them with the scan's results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj
from spikejax import layers
from spikejax import neurons as nr

XS = jax.random.uniform(jax.random.key(0), (6, 2, 3), minval=-0.2, maxval=1.2)
LIF = nr.LIF(beta=jnp.linspace(0.5, 0.95, 3), threshold=0.8)
RECURRENT = nr.Recurrent(nr.LIF(beta=0.8), jnp.full((3, 3), 0.1))


def _top_level(fn, *args):
    return {eqn.primitive.name for eqn in jax.make_jaxpr(fn)(*args).eqns}


def test_auto_is_the_custom_vjp_scan_on_cpu_where_it_applies():
    assert jax.default_backend() == "cpu"
    state0 = LIF.init_state((2, 3))
    auto = _top_level(lambda xs: sj.unroll(LIF, state0, xs), XS)
    assert "custom_vjp_call" in auto and "scan" not in auto
    assert "scan" in _top_level(lambda xs: sj.unroll(LIF, state0, xs, backend="scan"), XS)
    # Recurrent couples neurons: auto falls back to the scan.
    rec0 = RECURRENT.init_state((2, 3))
    assert "scan" in _top_level(lambda xs: sj.unroll(RECURRENT, rec0, xs), XS)


def test_auto_is_the_scan_off_cpu(monkeypatch):
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert sj._unroll.choose_backend("unroll", "auto", LIF, LIF.init_state((2, 3)), XS) == "scan"


@pytest.mark.parametrize("backend", ["scan_vjp", "pallas"])
@pytest.mark.parametrize(
    ("neuron", "why"),
    [
        (RECURRENT, "Recurrent is not one of the elementwise neurons"),
        (nr.RefractoryLIF(beta=0.9), "RefractoryLIF is not one of the elementwise neurons"),
    ],
)
def test_explicit_fused_backend_refuses_other_neurons_by_name(neuron, why, backend):
    state0 = neuron.init_state((2, 3))
    with pytest.raises(ValueError, match=f"`unroll`: `backend='{backend}'` runs only .*{why}"):
        sj.unroll(neuron, state0, XS, backend=backend)
    with pytest.raises(ValueError, match=f"`truncated_unroll`: `backend='{backend}'`.*{why}"):
        sj.truncated_unroll(neuron, state0, XS, window=2, backend=backend)


def test_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match=r"`unroll`: `backend` must be one of \('auto', 'scan'"):
        sj.unroll(LIF, LIF.init_state((2, 3)), XS, backend="fast")
    with pytest.raises(ValueError, match=r"`Spiking`: `backend` must be one of .*got 'fast'"):
        layers.Spiking(LIF, backend="fast")


def test_every_way_in_reaches_the_fused_backends_with_the_scan_results():
    """remat (all chunkings), truncated BPTT and the Spiking layer: spikes bit for bit, gradients
    with respect to the parameters and the input to float rounding. One compiled program."""
    state0 = LIF.init_state((2, 3))
    w = jnp.linspace(-1.0, 1.0, XS.size).reshape(XS.shape)

    def runs(neuron, xs):
        out = {}
        for backend in ("scan", "scan_vjp", "pallas"):
            for remat in (False, True, 4):
                out[backend, "remat", remat] = lambda n, x, b=backend, r=remat: sj.unroll(
                    n, state0, x, remat=r, backend=b
                )[1]
            out[backend, "truncated"] = lambda n, x, b=backend: sj.truncated_unroll(
                n, state0, x, window=4, backend=b
            )[1]
        results = {}
        for key, fn in out.items():
            spikes, vjp = jax.vjp(fn, neuron, xs)
            results[key] = (spikes, vjp(w))
        return results

    results = jax.jit(runs)(LIF, XS)
    for key, (spikes, grads) in results.items():
        reference = results[("scan", *key[1:])]
        np.testing.assert_array_equal(spikes, reference[0], err_msg=str(key))
        for got, want in zip(
            jax.tree_util.tree_leaves(grads), jax.tree_util.tree_leaves(reference[1]), strict=True
        ):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=str(key))
    assert 0 < float(results["scan", "remat", False][0].mean()) < 1

    layer = layers.Spiking(LIF, backend="pallas")
    np.testing.assert_array_equal(layer(XS), results["scan", "remat", False][0])
    with pytest.raises(ValueError, match=r"`unroll`: `backend='pallas'`.*Recurrent"):
        layers.Spiking(RECURRENT, backend="pallas")(XS)
