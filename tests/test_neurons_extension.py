"""Neurons of one's own from public names; state checks in ``unroll``; Izhikevich, RefractoryLIF."""

import ast
import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj
from spikejax.neurons import LIF, AbstractNeuron, Izhikevich, RefractoryLIF

ROOT = pathlib.Path(sj.__file__).parent

# ------------------------------------------------------------------------- subclassing = pytree

CALLS = []


class Counter(AbstractNeuron):
    """A test neuron with a leaf, a static field and an int32 step counter in its state."""

    gain: jax.Array
    mode: str = sj.neurons.static("plain")

    def __post_init__(self):
        CALLS.append(1)
        object.__setattr__(self, "gain", sj.neurons.as_param("Counter", "gain", self.gain))

    def init_state(self, shape, dtype=jnp.float32):
        return (jnp.zeros(shape, dtype), jnp.zeros((), jnp.int32))

    def step(self, state, x):
        v, n = state
        v = v + sj.neurons.like(self.gain, x) * x
        return (v, n + 1), v


def test_subclass_is_a_frozen_keyed_pytree_without_decorator():
    neuron = Counter(gain=2.0, mode="other")
    paths, treedef = jax.tree_util.tree_flatten_with_path(neuron)
    assert [p for p, _ in paths] == [(jax.tree_util.GetAttrKey("gain"),)]
    assert dataclasses.is_dataclass(neuron)
    with pytest.raises(dataclasses.FrozenInstanceError):
        neuron.gain = 3.0
    assert neuron != Counter(gain=2.0, mode="other")  # eq=False: identity
    CALLS.clear()
    rebuilt = jax.tree_util.tree_unflatten(treedef, [jnp.float32(5.0)])
    jax.jit(lambda n: n.gain * 2)(neuron)
    assert CALLS == []  # unflattening bypasses __init__/__post_init__
    assert rebuilt.mode == "other" and float(rebuilt.gain) == 5.0
    assert jax.tree_util.tree_structure(Counter(gain=1.0)) != treedef  # static field in treedef


def test_state_leaves_of_other_shapes_and_dtypes_run_through_unroll():
    neuron = Counter(gain=0.5)
    xs = jnp.ones((5, 3))
    (v, n), _out = sj.unroll(neuron, neuron.init_state((3,)), xs)
    assert int(n) == 5 and n.dtype == jnp.int32
    np.testing.assert_allclose(v, 2.5)
    (_, n), _ = sj.truncated_unroll(neuron, neuron.init_state((3,)), xs, window=2, remat=2)
    assert int(n) == 5


# ------------------------------------------------------------------------ state0 is checked


def test_state_leaf_with_wrong_dtype_is_named():
    neuron = RefractoryLIF(beta=0.9)
    state = neuron.init_state((4,))._replace(count=jnp.zeros((4,), jnp.float32))
    with pytest.raises(TypeError, match=r"`unroll`: `state0\.count` has dtype float32 .*int32"):
        sj.unroll(neuron, state, jnp.zeros((3, 4)))


def test_state_leaf_with_wrong_fixed_shape_is_named():
    neuron = Counter(gain=1.0)
    state = (jnp.zeros((4,)), jnp.zeros((4,), jnp.int32))
    with pytest.raises(ValueError, match=r"`state0\[1\]` must have shape \(\), .*got \(4,\)"):
        sj.unroll(neuron, state, jnp.zeros((3, 4)))


def test_state_of_another_structure_is_named():
    neuron = RefractoryLIF(beta=0.9)
    with pytest.raises(ValueError, match="`unroll`: `state0` must have the tree structure"):
        sj.unroll(neuron, LIF(beta=0.9).init_state((4,)), jnp.zeros((3, 4)))


def test_step_shape_the_neuron_rejects_is_named():
    rnn = sj.neurons.Recurrent(sj.neurons.IF(), jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`unroll`: `xs` must be .*\(5, 4, 3\).*Recurrent"):
        sj.unroll(rnn, rnn.init_state((4, 2)), jnp.zeros((5, 4, 3)))


# --------------------------------------------------------------------------------- RefractoryLIF


def test_refractory_holds_the_membrane_and_ignores_input():
    neuron = RefractoryLIF(beta=0.5, threshold=1.0, refractory=3, reset="subtract")
    xs = jnp.array([[1.5], [9.0], [-9.0], [9.0], [0.0]])
    states = []
    state = neuron.init_state((1,))
    for x in xs:
        state, s = neuron.step(state, x)
        states.append((float(state.v[0]), int(state.count[0]), float(s[0])))
    # fires at 0 (v = 0.5 after the soft reset), then 3 steps held at 0.5 whatever the input
    assert states[:4] == [(0.5, 3, 1.0), (0.5, 2, 0.0), (0.5, 1, 0.0), (0.5, 0, 0.0)]
    assert states[4] == (0.25, 0, 0.0)  # integration resumes: 0.5·0.5 + 0


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
def test_refractory_zero_is_lif(reset):
    xs = jnp.asarray(np.random.default_rng(0).uniform(-0.5, 1.5, (40, 3, 5)), jnp.float32)
    beta = jnp.linspace(0.5, 0.9, 5)
    lif = LIF(beta=beta, reset=reset)
    ref = RefractoryLIF(beta=beta, refractory=0, reset=reset)
    _, s_lif = sj.unroll(lif, lif.init_state((3, 5)), xs)
    (_v, count), s_ref = sj.unroll(ref, ref.init_state((3, 5)), xs)
    np.testing.assert_array_equal(s_lif, s_ref)
    assert int(count.max()) == 0 and 0 < float(s_ref.mean()) < 1


def test_refractory_gradient_is_blocked_while_held():
    neuron = RefractoryLIF(beta=0.9, refractory=2)

    def v_final(xs):
        (v, _), _ = sj.unroll(neuron, neuron.init_state((1,)), xs)
        return v.sum()

    # spike at step 0; steps 1, 2 are refractory: their inputs cannot matter
    g = jax.grad(v_final)(jnp.array([[2.0], [0.3], [0.3], [0.3]]))
    assert float(g[1, 0]) == 0.0 and float(g[2, 0]) == 0.0 and float(g[3, 0]) == 1.0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_refractory_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match=r"^`RefractoryLIF`: `refractory` must be an int >= 0"):
        RefractoryLIF(beta=0.9, refractory=bad)


@pytest.mark.parametrize(
    ("kwargs", "arg", "fragment"),
    [
        ({"beta": 1.5}, "beta", "[0.0, 1.0]"),
        ({"beta": 0.9, "threshold": 0.0}, "threshold", "(0.0, inf]"),
        ({"beta": np.nan}, "beta", "finite"),
        ({"beta": 0.9, "reset": "soft"}, "reset", "subtract"),
    ],
)
def test_refractory_value_errors(kwargs, arg, fragment):
    with pytest.raises(ValueError, match=rf"^`RefractoryLIF`: `{arg}` must") as info:
        RefractoryLIF(**kwargs)
    assert fragment in str(info.value)


# ------------------------------------------------------------------------------------ Izhikevich


def _spike_steps(neuron, current, steps=2000):
    xs = jnp.full((steps, 1), current, jnp.float32)
    _, s = sj.unroll(neuron, neuron.init_state((1,)), xs)
    return np.flatnonzero(np.asarray(s[:, 0]))


def test_izhikevich_regular_spiking_adapts_and_fast_spiking_does_not():
    rs = _spike_steps(Izhikevich(), 10.0)  # 1 s at dt = 0.5 ms
    fs = _spike_steps(Izhikevich(a=0.1, b=0.2, c=-65.0, d=2.0), 10.0)
    isi_rs, isi_fs = np.diff(rs), np.diff(fs)
    assert isi_rs[0] < isi_rs[-1]  # spike-frequency adaptation
    assert len(fs) > 2 * len(rs)
    assert abs(int(isi_fs[-1]) - int(isi_fs[-2])) <= 1  # tonic, no adaptation
    assert len(_spike_steps(Izhikevich(), 0.0)) == 0  # rests without input


def test_izhikevich_resets_v_to_c_and_bumps_u_by_d():
    neuron = Izhikevich(c=-60.0, d=5.0)
    state = sj.neurons.IzhikevichState(v=jnp.array([29.0]), u=jnp.array([-10.0]))
    state, s = neuron.step(state, jnp.array([0.0]))
    w = -10.0 + 0.5 * 0.02 * (0.2 * 29.0 + 10.0)
    assert float(s[0]) == 1.0 and float(state.v[0]) == -60.0
    np.testing.assert_allclose(float(state.u[0]), w + 5.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "arg", "fragment"),
    [
        ({"a": 0.0}, "a", "(0.0, inf]"),
        ({"dt": -0.5}, "dt", "(0.0, inf]"),
        ({"d": np.inf}, "d", "finite"),
        ({"c": 40.0}, "c", "below `v_peak`"),
    ],
)
def test_izhikevich_value_errors(kwargs, arg, fragment):
    with pytest.raises(ValueError, match=rf"^`Izhikevich`: `{arg}` must") as info:
        Izhikevich(**kwargs)
    assert fragment in str(info.value)


def test_izhikevich_rejects_a_non_surrogate():
    with pytest.raises(TypeError, match=r"^`Izhikevich`: `surrogate` must"):
        Izhikevich(surrogate="atan")


# --------------------------------------------------------------------------- public names only


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


@pytest.mark.parametrize("name", ["_izhikevich.py", "_refractory.py"])
def test_new_neurons_use_public_names_only(name):
    for module, names in _imports(ROOT / "neurons" / name):
        if module.startswith("spikejax"):
            assert module in ("spikejax", "spikejax.neurons", "spikejax.surrogate"), module
            assert all(n in [*sj.neurons.__all__, "AbstractSurrogate"] for n in names)


def test_no_module_imports_another_modules_private_names():
    files = [*list((ROOT / "neurons").glob("*.py")), ROOT / "_unroll.py"]
    files += [ROOT / "layers" / "_bounds.py", ROOT / "layers" / "_spiking.py"]
    for path in files:
        for module, names in _imports(path):
            if module.startswith("spikejax"):
                private = [n for n in names if n.startswith("_")]
                assert not private, (path.name, module, private)
