"""Bad neuron parameters fail at construction, naming the function, the argument and the value."""

import contextlib

import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj
from spikejax.neurons import ALIF, IF, LI, LIF, PLIF, CubaLIF, Recurrent

W2 = np.zeros((2, 2), np.float32)

# name -> (constructor, valid keyword arguments)
VALID = {
    "IF": (IF, {}),
    "LIF": (LIF, {"beta": 0.9}),
    "CubaLIF": (CubaLIF, {"alpha": 0.8, "beta": 0.9}),
    "ALIF": (ALIF, {"beta": 0.9, "rho": 0.95}),
    "PLIF": (PLIF, {"w": 0.0}),
    "LI": (LI, {"beta": 0.9}),
}
SPIKING = ["IF", "LIF", "CubaLIF", "ALIF", "PLIF"]
DECAYS = [("LIF", "beta"), ("CubaLIF", "alpha"), ("CubaLIF", "beta"), ("ALIF", "beta")]
DECAYS += [("ALIF", "rho"), ("LI", "beta")]
THRESHOLDS = [(name, "threshold") for name in SPIKING]
ALL_PARAMS = DECAYS + THRESHOLDS + [("ALIF", "gamma"), ("PLIF", "w")]


@contextlib.contextmanager
def raises(exc, fn, arg, *, also=()):
    """``pytest.raises`` that checks the message: "`fn`: `arg` must ...; got ...", plus ``also``."""
    with pytest.raises(exc) as info:
        yield
    message = str(info.value)
    assert message.startswith(f"`{fn}`: `{arg}` must "), message
    assert "; got " in message, message
    for fragment in also:
        assert fragment in message, (fragment, message)


def make(name, **override):
    cls, kwargs = VALID[name]
    return cls(**{**kwargs, **override})


@pytest.mark.parametrize("name", list(VALID))
def test_valid_arguments_construct(name):
    make(name)


@pytest.mark.parametrize(("name", "arg"), DECAYS)
@pytest.mark.parametrize("value", [-0.1, 1.1, np.array([0.5, 1.5], np.float32)])
def test_decay_outside_unit_interval(name, arg, value):
    with raises(ValueError, name, arg, also=("[0.0, 1.0]",)):
        make(name, **{arg: value})


@pytest.mark.parametrize(("name", "arg"), DECAYS)
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_decay_bounds_are_allowed(name, arg, value):
    assert float(getattr(make(name, **{arg: value}), arg)) == value


@pytest.mark.parametrize(("name", "arg"), THRESHOLDS)
@pytest.mark.parametrize("value", [0.0, -1.0, np.array([1.0, 0.0], np.float32)])
def test_non_positive_threshold(name, arg, value):
    with raises(ValueError, name, arg, also=("(0.0, inf]",)):
        make(name, **{arg: value})


def test_negative_adaptation_strength():
    with raises(ValueError, "ALIF", "gamma", also=("[0.0, inf]", "-0.5")):
        make("ALIF", gamma=-0.5)
    assert float(make("ALIF", gamma=0.0).gamma) == 0.0


def test_plif_w_is_any_finite_real():
    np.testing.assert_array_equal(make("PLIF", w=np.array([-30.0, 30.0])).w, [-30.0, 30.0])


@pytest.mark.parametrize(("name", "arg"), ALL_PARAMS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_parameter(name, arg, bad):
    with raises(ValueError, name, arg, also=("finite",)):
        make(name, **{arg: bad})
    with raises(ValueError, name, arg, also=("finite",)):
        make(name, **{arg: jnp.array([0.5, bad])})


@pytest.mark.parametrize(("name", "arg"), ALL_PARAMS)
@pytest.mark.parametrize("value", [True, np.array([True, False])])
def test_bool_parameter(name, arg, value):
    with raises(TypeError, name, arg):
        make(name, **{arg: value})


@pytest.mark.parametrize("name", SPIKING)
@pytest.mark.parametrize("reset", ["soft", "Subtract", None, 0])
def test_unknown_reset_mode(name, reset):
    with raises(ValueError, name, "reset", also=("subtract",)):
        make(name, reset=reset)


@pytest.mark.parametrize("name", SPIKING)
def test_reset_mode_by_name_or_enum(name):
    assert make(name, reset="none").reset is sj.neurons.Reset.NONE
    assert make(name, reset=sj.neurons.Reset.ZERO).reset is sj.neurons.Reset.ZERO


@pytest.mark.parametrize("name", SPIKING)
@pytest.mark.parametrize("surrogate", ["atan", jnp.arctan, sj.surrogate.ATan])
def test_non_surrogate(name, surrogate):
    with raises(TypeError, name, "surrogate", also=("AbstractSurrogate",)):
        make(name, surrogate=surrogate)


# --------------------------------------------------------------------------------------------------
# from_tau


@pytest.mark.parametrize("tau0", [1.0, 0.5, 0.0, -2.0, np.array([2.0, 1.0])])
def test_plif_from_tau_needs_tau0_above_one(tau0):
    with raises(ValueError, "PLIF.from_tau", "tau0", also=("(1.0, inf]",)):
        PLIF.from_tau(tau0)


def test_plif_from_tau_values():
    np.testing.assert_allclose(PLIF.from_tau(2.0).w, 0.0, atol=0)
    w = np.asarray(PLIF.from_tau(np.array([1.5, 4.0, 10.0], np.float32)).w)
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-w)), [1 / 1.5, 1 / 4.0, 1 / 10.0], rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "fn", "arg"),
    [
        (lambda: CubaLIF.from_tau(0.0, 10.0), "CubaLIF.from_tau", "tau_syn"),
        (lambda: CubaLIF.from_tau(5.0, -1.0), "CubaLIF.from_tau", "tau_mem"),
        (lambda: ALIF.from_tau(0.0, 100.0), "ALIF.from_tau", "tau_mem"),
        (lambda: ALIF.from_tau(10.0, np.nan), "ALIF.from_tau", "tau_adapt"),
        (lambda: LI.from_tau(-3.0), "LI.from_tau", "tau"),
        (lambda: LI.from_tau(5.0, dt=0.0), "LI.from_tau", "dt"),
        (
            lambda: ALIF.from_tau(10.0, 100.0, discretization="rk4"),
            "ALIF.from_tau",
            "discretization",
        ),
        (
            lambda: CubaLIF.from_tau(5.0, 10.0, discretization="Exact"),
            "CubaLIF.from_tau",
            "discretization",
        ),
    ],
)
def test_from_tau_bad_arguments(call, fn, arg):
    with raises(ValueError, fn, arg):
        call()


def test_from_tau_values():
    cuba = CubaLIF.from_tau(5.0, 10.0, dt=2.0)
    np.testing.assert_allclose(
        [cuba.alpha, cuba.beta], np.exp([-2.0 / 5.0, -2.0 / 10.0]), rtol=1e-6
    )
    alif = ALIF.from_tau(20.0, 200.0, discretization="euler", gamma=0.5)
    np.testing.assert_allclose([alif.beta, alif.rho, alif.gamma], [0.95, 0.995, 0.5], rtol=1e-6)
    np.testing.assert_allclose(LI.from_tau(4.0, discretization="euler").beta, 0.75, rtol=1e-7)


# --------------------------------------------------------------------------------------------------
# Recurrent


def test_recurrent_rejects_non_spiking_neuron():
    with raises(ValueError, "Recurrent", "neuron", also=("LI",)):
        Recurrent(LI(beta=0.9), W2)


@pytest.mark.parametrize("neuron", [None, "LIF", LIF])
def test_recurrent_rejects_non_neuron(neuron):
    with raises(TypeError, "Recurrent", "neuron"):
        Recurrent(neuron, W2)


@pytest.mark.parametrize(
    "weight",
    [np.zeros((2, 3), np.float32), np.zeros((4,), np.float32), np.zeros((2, 2, 2), np.float32)],
)
def test_recurrent_weight_must_be_square(weight):
    with raises(ValueError, "Recurrent", "weight", also=(str(weight.shape),)):
        Recurrent(IF(), weight)


@pytest.mark.parametrize(
    "weight", [np.zeros((2, 2), np.int32), np.zeros((2, 2), bool), [[0.0, 0.1], [0.2, 0.0]], 0.5]
)
def test_recurrent_weight_must_be_floating_array(weight):
    with raises(TypeError, "Recurrent", "weight"):
        Recurrent(IF(), weight)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_recurrent_weight_must_be_finite(bad):
    with raises(ValueError, "Recurrent", "weight", also=("finite",)):
        Recurrent(IF(), np.array([[0.0, bad], [0.0, 0.0]], np.float32))


def test_recurrent_size_mismatch():
    rnn = Recurrent(IF(), W2)
    with raises(ValueError, "Recurrent.init_state", "shape", also=("size 2", "(4, 3)")):
        rnn.init_state((4, 3))
    with raises(ValueError, "Recurrent.init_state", "shape"):
        rnn.init_state(())
    with raises(ValueError, "Recurrent.step", "x", also=("(4, 3)",)):
        rnn.step(rnn.init_state((4, 2)), jnp.zeros((4, 3)))


def test_recurrent_wrapped_neuron_errors_still_apply():
    with raises(ValueError, "LIF", "beta"):
        Recurrent(LIF(beta=2.0), W2)
