"""Every surrogate: exact Heaviside forward; backward == grad(smooth) == documented derivative."""

import dataclasses
import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import spikejax as sj
from spikejax import surrogate as sg

# The derivative each docstring states, written independently of `smooth`.
DOCUMENTED_DERIVATIVE = {
    sg.ATan: lambda s, x: (s.alpha / 2) / (1 + (math.pi / 2 * s.alpha * x) ** 2),
    sg.Sigmoid: lambda s, x: (
        s.alpha * special.expit(s.alpha * x) * (1 - special.expit(s.alpha * x))
    ),
    sg.FastSigmoid: lambda s, x: 1 / (1 + s.slope * np.abs(x)) ** 2,
    sg.Triangle: lambda s, x: np.maximum(0.0, s.alpha - s.alpha**2 * np.abs(x)),
    sg.Rectangle: lambda s, x: (np.abs(x) < s.width / 2) / s.width,
    sg.Gaussian: lambda s, x: (
        np.exp(-(x**2) / (2 * s.sigma**2)) / (s.sigma * math.sqrt(2 * math.pi))
    ),
    sg.Erf: lambda s, x: s.alpha / math.sqrt(math.pi) * np.exp(-(s.alpha**2) * x**2),
    sg.StraightThrough: lambda s, x: np.ones_like(x),
}

SURROGATES = [
    sg.ATan(),
    sg.ATan(alpha=5.0),
    sg.Sigmoid(),
    sg.Sigmoid(alpha=0.5),
    sg.FastSigmoid(),
    sg.FastSigmoid(slope=2.0),
    sg.Triangle(),
    sg.Triangle(alpha=3.0),
    sg.Rectangle(),
    sg.Rectangle(width=0.3),
    sg.Gaussian(),
    sg.Gaussian(sigma=2.0),
    sg.Erf(),
    sg.StraightThrough(),
]


def test_registry_is_complete():
    exported = {
        obj
        for name in sg.__all__
        if inspect.isclass(obj := getattr(sg, name))
        and issubclass(obj, sg.AbstractSurrogate)
        and not inspect.isabstract(obj)
        and obj is not sg.SmoothTwin
    }
    assert exported == set(DOCUMENTED_DERIVATIVE)
    assert exported == {type(s) for s in SURROGATES}


def _points():
    # Random points, away from the kinks of the piecewise surrogates (a finite set of measure zero).
    x = np.random.default_rng(0).uniform(-3.0, 3.0, 2001)
    return np.concatenate([x, [-1e-3, 0.0, 1e-3]])


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_forward_is_exact_heaviside(surrogate):
    x = jnp.asarray(_points(), jnp.float32)
    s = sj.surrogate.spike(x, surrogate)
    assert s.dtype == x.dtype
    np.testing.assert_array_equal(s, (np.asarray(x) >= 0).astype(np.float32))
    assert sj.surrogate.spike(jnp.float32(0.0), surrogate) == 1.0  # Θ(0) = 1


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_backward_is_derivative_of_smooth(surrogate):
    with jax.enable_x64(True):
        x = jnp.asarray(_points(), jnp.float64)
        backward = jax.vmap(jax.grad(lambda v: sj.surrogate.spike(v, surrogate)))(x)
        of_smooth = jax.vmap(jax.grad(surrogate.smooth))(x)
        assert backward.dtype == jnp.float64
        np.testing.assert_allclose(backward, of_smooth, rtol=0, atol=1e-7)
        documented = DOCUMENTED_DERIVATIVE[type(surrogate)](surrogate, np.asarray(x))
        np.testing.assert_allclose(backward, documented, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_cotangent_scales_backward_and_keeps_dtype(surrogate):
    x = jnp.linspace(-1.0, 1.0, 9, dtype=jnp.bfloat16)
    _, vjp = jax.vjp(lambda v: sj.surrogate.spike(v, surrogate), x)
    (g,) = vjp(jnp.full_like(x, 2.0))
    assert g.dtype == jnp.bfloat16
    (g1,) = vjp(jnp.ones_like(x))
    np.testing.assert_array_equal(np.asarray(g, np.float32), 2 * np.asarray(g1, np.float32))


@pytest.mark.parametrize("surrogate", SURROGATES, ids=repr)
def test_surrogates_are_static_hashable_and_frozen(surrogate):
    assert hash(surrogate) == hash(dataclasses.replace(surrogate))
    assert surrogate == dataclasses.replace(surrogate)
    assert jax.tree_util.tree_leaves(surrogate) == [surrogate]  # not a pytree: no hidden leaves
    fields = dataclasses.fields(surrogate)
    if fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(surrogate, fields[0].name, 1.0)


def test_rectangle_edges_take_the_mean_of_one_sided_derivatives():
    edges = jnp.array([-0.15, 0.15])
    grad = jax.vmap(jax.grad(lambda v: sj.surrogate.spike(v, sg.Rectangle(width=0.3))))(edges)
    np.testing.assert_allclose(grad, 1 / (2 * 0.3), rtol=1e-6)


def test_jit_does_not_change_results():
    x = jnp.linspace(-2.0, 2.0, 101)
    for surrogate in SURROGATES:
        f = jax.grad(lambda v, s=surrogate: sj.surrogate.spike(v, s).sum())
        # XLA fuses differently under jit: agreement to a few float32 ulps, not bit-for-bit.
        np.testing.assert_allclose(jax.jit(f)(x), f(x), rtol=1e-5, atol=1e-7)


def test_user_defined_surrogate_in_five_lines():
    @dataclasses.dataclass(frozen=True)
    class Tanh(sj.surrogate.AbstractSurrogate):
        alpha: float = 2.0

        def smooth(self, x):
            return 0.5 * (jnp.tanh(self.alpha * x) + 1.0)

    x = jnp.linspace(-1.0, 1.0, 11)
    grad = jax.vmap(jax.grad(lambda v: sj.surrogate.spike(v, Tanh())))(x)
    np.testing.assert_allclose(grad, 1.0 / np.cosh(2.0 * np.asarray(x)) ** 2, rtol=1e-5)
    np.testing.assert_array_equal(sj.surrogate.spike(x, Tanh()), (np.asarray(x) >= 0))


def test_smooth_twin_forward_is_smooth():
    twin = sj.surrogate.SmoothTwin(sg.ATan())
    x = jnp.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(sj.surrogate.spike(x, twin), sg.ATan().smooth(x))
    with pytest.raises(TypeError, match="`SmoothTwin`: `base`"):
        sj.surrogate.SmoothTwin("atan")


@pytest.mark.parametrize(
    "cls, field",
    [
        (sg.ATan, "alpha"),
        (sg.Sigmoid, "alpha"),
        (sg.FastSigmoid, "slope"),
        (sg.Triangle, "alpha"),
        (sg.Rectangle, "width"),
        (sg.Gaussian, "sigma"),
        (sg.Erf, "alpha"),
    ],
)
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_parameters_are_rejected(cls, field, bad):
    with pytest.raises(ValueError, match=f"`{cls.__name__}`: `{field}` must be a positive"):
        cls(**{field: bad})
