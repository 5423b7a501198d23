"""Trained neuron parameters stay in their declared intervals: projection, checks, intervals."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import spikejax as sj
from spikejax.layers import Spiking, check_params, project_params
from spikejax.neurons import ALIF, LI, LIF, CubaLIF, Interval
from tests.helpers import neuron_registry

N, T, B = 4, 8, 3


class Net(nnx.Module):
    """One layer of every neuron with learnable decays/thresholds, all trainable leaves on."""

    def __init__(self):
        per = jnp.linspace(0.5, 0.95, N)
        self.lif = Spiking(LIF(beta=per, threshold=0.8), trainable=("beta", "threshold"))
        self.alif = Spiking(
            ALIF(beta=per, rho=0.9, gamma=0.5), trainable=("beta", "rho", "gamma", "threshold")
        )
        self.cuba = Spiking(CubaLIF(alpha=0.8, beta=per), trainable=("alpha", "beta", "threshold"))
        self.li = Spiking(LI(beta=per), trainable=("beta",))

    def __call__(self, xs):
        return self.lif(xs), self.alif(xs), self.cuba(xs), self.li(xs)


XS = jnp.asarray(np.random.default_rng(0).uniform(-0.2, 0.8, (T, B, N)), jnp.float32)


def loss_fn(model):
    """More spikes and a larger readout: pushes β up, θ and γ down, without limit."""
    a, b, c, d = model(XS)
    return -(a.mean() + b.mean() + c.mean() + d.mean())


def train(tx, *, project, steps=1000):
    model = Net()
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        grads = nnx.grad(loss_fn)(model)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats and int counts
            optimizer.update(model, grads)
        if project:
            project_params(model)

    for _ in range(steps):
        step(model, optimizer)
    return model


def trained_values(model):
    """``{"lif.beta": array, ...}`` of every trainable neuron leaf."""
    values = {}
    for name in ("lif", "alif", "cuba", "li"):
        layer = getattr(model, name)
        for leaf in layer.trainable:
            values[f"{name}.{leaf}"] = np.asarray(getattr(layer.params, leaf)[...])
    return values


def in_range(name, value):
    leaf = name.split(".")[1]
    if leaf in ("alpha", "beta", "rho"):
        return np.all((value >= 0) & (value <= 1))
    if leaf == "threshold":
        return np.all(value > 0)
    if leaf == "gamma":
        return np.all(value >= 0)
    raise AssertionError(name)


OPTIMIZERS = {"sgd": lambda: optax.sgd(1.0), "adam": lambda: optax.adam(1.0)}


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_projection_keeps_every_leaf_valid_through_1000_steps(opt):
    model = train(OPTIMIZERS[opt](), project=True)
    values = trained_values(model)
    for name, value in values.items():
        assert np.all(np.isfinite(value)), name
        assert in_range(name, value), (name, value)
    check_params(model)  # the named check agrees
    # The optimizer really drove the leaves to the edges: decays at 1, thresholds at the floor.
    assert np.all(values["lif.beta"] == 1.0)
    assert np.all(values["lif.threshold"] == np.finfo(np.float32).tiny)


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_without_projection_the_leaves_leave_their_intervals(opt):
    values = trained_values(train(OPTIMIZERS[opt](), project=False, steps=50))
    outside = [name for name, value in values.items() if not in_range(name, value)]
    assert {"lif.beta", "lif.threshold", "alif.threshold", "cuba.threshold"} <= set(outside)
    with pytest.raises(ValueError, match=r"`check_params`: `model\.\w+\.params\.\w+` must"):
        check_params(net_with(values))


def net_with(values):
    """A fresh ``Net`` holding ``values`` (bypassing the constructors' checks)."""
    model = Net()
    for key, value in values.items():
        name, leaf = key.split(".")
        getattr(getattr(model, name).params, leaf)[...] = jnp.asarray(value)
    return model


def test_projection_is_identity_inside_and_leaves_fixed_leaves_alone():
    model = Net()
    before = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model)))
    project_params(model)
    after = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model)))
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b, strict=True), before, after)


def test_projection_under_jit_matches_eager_and_touches_only_params():
    layer = Spiking(LIF(beta=0.9, threshold=1.0), trainable=("beta",))
    layer.params.beta[...] = jnp.float32(1.7)
    layer.params.threshold[...] = jnp.float32(-1.0)  # Fixed: not the projection's business
    nnx.jit(project_params)(layer)
    assert float(layer.params.beta[...]) == 1.0
    assert float(layer.params.threshold[...]) == -1.0
    with pytest.raises(ValueError, match=r"`model\.params\.threshold` must lie in \(0\.0, inf\]"):
        check_params(layer)


def test_nested_neuron_leaves_use_the_wrapped_class_bounds():
    rnn = sj.neurons.Recurrent(LIF(beta=0.9), jnp.zeros((N, N)))
    layer = Spiking(rnn, trainable=("weight", "neuron.beta"))
    layer.params.neuron.beta[...] = jnp.float32(-3.0)
    layer.params.weight[...] = jnp.full((N, N), 50.0)  # unbounded: kept
    with pytest.raises(ValueError, match=r"`fit`: `run\.params\.neuron\.beta` must lie in \[0"):
        check_params(layer, fn="fit", where="run")
    project_params(layer)
    assert float(layer.params.neuron.beta[...]) == 0.0
    np.testing.assert_array_equal(layer.params.weight[...], 50.0)
    check_params(layer)


def test_every_registry_neuron_satisfies_its_own_bounds():
    for name, neuron in neuron_registry().items():
        bounds = sj.neurons.leaf_bounds(neuron)
        for leaf, interval in zip(
            jax.tree.leaves(neuron),
            jax.tree.leaves(bounds, is_leaf=lambda x: isinstance(x, Interval)),
            strict=True,
        ):
            assert np.all(interval.contains(np.asarray(leaf))), name
            np.testing.assert_array_equal(interval.project(leaf), leaf, strict=True)
        for field in type(neuron).bounds:  # every declared bound names a real leaf field
            assert field in {f for f in neuron.__dataclass_fields__}, (name, field)


# -------------------------------------------------------------------------------------- Interval


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_open_lower_bound_projects_strictly_inside(dtype):
    positive = Interval(0.0, None, low_open=True)
    out = positive.project(jnp.array([-5.0, 0.0, 2.0], dtype))
    assert out.dtype == dtype
    assert np.all(np.asarray(out, np.float64) > 0)
    assert float(out[0]) == float(jnp.finfo(dtype).tiny) and float(out[2]) == 2.0
    above_one = Interval(1.0, 2.0, low_open=True, high_open=True)
    out = np.asarray(above_one.project(jnp.array([0.0, 5.0], dtype)), np.float64)
    assert 1.0 < out[0] and out[1] < 2.0


def test_interval_check_messages_and_nan():
    unit = Interval(0.0, 1.0)
    with pytest.raises(ValueError, match=r"^`f`: `x` must lie in \[0\.0, 1\.0\]; got \[2\.0\]\.$"):
        unit.check("f", "x", np.array([0.5, 2.0]))
    with pytest.raises(ValueError, match="`f`: `x` must be finite"):
        unit.check("f", "x", np.array([np.nan]))
    assert np.isnan(float(unit.project(jnp.float32(jnp.nan))))  # NaN is never repaired


@pytest.mark.parametrize(
    "kwargs", [{"low": 1.0, "high": 0.0}, {"low": float("nan")}, {"high": True}, {"low": "0"}]
)
def test_bad_intervals(kwargs):
    with pytest.raises(ValueError, match=r"`Interval`: `(low|high)` must"):
        Interval(**kwargs)
