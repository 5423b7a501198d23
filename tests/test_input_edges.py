"""Library edges: values that are not what a function takes get a named error, never a crash from
inside NumPy or a silent conversion."""

import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_spike_names_its_arguments():
    atan = sj.surrogate.ATan()
    with pytest.raises(TypeError, match=r"`spike`: `x` must be a floating array .*got float 0.3"):
        sj.surrogate.spike(0.3, atan)
    with pytest.raises(TypeError, match=r"`spike`: `x` must be a floating array .*int32"):
        sj.surrogate.spike(jnp.arange(3), atan)
    with pytest.raises(TypeError, match=r"`spike`: `x` must be a floating array .*bool"):
        sj.surrogate.spike(jnp.array([True]), atan)
    with pytest.raises(TypeError, match=r"`spike`: `surrogate` must be a spikejax.surrogate"):
        sj.surrogate.spike(jnp.asarray(0.3), "atan")
    assert float(sj.surrogate.spike(jnp.asarray(0.3), atan)) == 1.0


def test_neuron_parameters_must_be_numbers():
    with pytest.raises(TypeError, match=r"`LIF`: `beta` must be a real number or array; got str"):
        sj.neurons.LIF(beta="0.5")
    with pytest.raises(TypeError, match=r"`IF`: `threshold` must be a real number or array"):
        sj.neurons.IF(threshold=np.array(["1.0"]))
    with pytest.raises(TypeError, match=r"`LIF`: `beta` must be a real number or array; got True"):
        sj.neurons.LIF(beta=True)
    assert sj.neurons.LIF(beta=[0.5, 0.25]).beta.shape == (2,)
    assert sj.neurons.LIF(beta=jnp.asarray(0.5, jnp.bfloat16)).beta.dtype == jnp.bfloat16


def test_unroll_refuses_integer_and_boolean_inputs():
    lif = sj.neurons.LIF(beta=0.9)
    for xs in (jnp.ones((3, 2), jnp.int32), jnp.ones((3, 2), bool)):
        with pytest.raises(TypeError, match=r"`unroll`: `xs` must have a floating dtype"):
            sj.unroll(lif, lif.init_state((2,)), xs)


def test_damaged_dataset_files_are_named(tmp_path):
    from spikejax.data import SHD, DVSGesture

    h5py = pytest.importorskip("h5py")
    path = tmp_path / "SHD" / "shd_test.h5"
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        f["labels"] = np.zeros(3, np.uint16)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # truncated
    with pytest.raises(ValueError, match=r"`SHD`: .*shd_test.h5 must be a readable HDF5 file"):
        SHD(tmp_path, train=False)

    npy = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_led" / "3.npy"
    npy.parent.mkdir(parents=True)
    np.save(npy, np.zeros((50, 4)))
    npy.write_bytes(npy.read_bytes()[:100])  # the header and part of the data
    dataset = DVSGesture(tmp_path)
    with pytest.raises(ValueError, match=r"`DVSGesture`: .*3.npy must be a readable .npy array"):
        dataset.events(0)


def test_overrides_refuse_non_finite_numbers():
    from spikejax.config import apply_overrides, load_config

    config = load_config(ROOT / "experiments" / "digits_lif_mlp" / "config.py")
    for text in ("nan", "inf", "-inf"):
        with pytest.raises(ValueError, match=r"`apply_overrides`: `model.options.threshold` must"):
            apply_overrides(config, [f"model.options.threshold={text}"])
    changed = apply_overrides(config, ["model.options.threshold=0.5"])
    assert changed.model.options["threshold"] == 0.5


def test_debug_checked_finds_nan_inside_compiled_code():
    import jax

    lif = sj.neurons.LIF(beta=0.9)
    fc = jnp.ones((3, 4))

    def run(x):  # a static input repeated for T steps, through a layer, into the neurons
        xs = jnp.broadcast_to(x @ fc, (5, *x.shape[:-1], 4))
        return sj.unroll(lif, lif.init_state(xs.shape[1:]), xs)[1].sum()

    good, bad = jnp.ones((2, 3)), jnp.ones((2, 3)).at[1, 0].set(jnp.inf)
    checked = sj.debug.checked(jax.jit(run))
    assert float(checked(good)) == float(run(good))
    with pytest.raises(Exception, match=r"`unroll`: `xs` must be finite; step 0 holds NaN or inf"):
        checked(bad)
    assert float(run(bad)) >= 0  # unchecked: no error
