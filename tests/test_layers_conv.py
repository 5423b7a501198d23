"""``layers.conv2d_im2col``: values and gradients against numpy and ``lax.conv_general_dilated``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spikejax import layers


def numpy_conv(x, k):
    """Direct valid cross-correlation in float64: NHWC x, HWIO k."""
    x, k = np.asarray(x, np.float64), np.asarray(k, np.float64)
    n, h, w, _ = x.shape
    kh, kw, _, o = k.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, o))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,co->nhwo", x[:, i : i + h - kh + 1, j : j + w - kw + 1], k[i, j])
    return out


def lax_conv(x, k):
    return jax.lax.conv_general_dilated(
        x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


def draw(shape_x, shape_k, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=shape_x).astype(dtype))
    k = jnp.asarray(rng.normal(size=shape_k).astype(dtype))
    return x, k


@pytest.mark.parametrize(
    ("shape_x", "shape_k", "chunk"),
    [
        ((4, 9, 9, 3), (3, 3, 3, 5), None),
        ((4, 9, 7, 3), (5, 2, 3, 4), 1),
        ((6, 8, 8, 2), (5, 5, 2, 3), 2),
        ((2, 5, 5, 1), (5, 5, 1, 1), None),
    ],
)
def test_forward_matches_numpy_and_lax(shape_x, shape_k, chunk):
    x, k = draw(shape_x, shape_k)
    y = layers.conv2d_im2col(x, k, chunk=chunk)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(y), numpy_conv(x, k), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.asarray(y), np.asarray(lax_conv(x, k)), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_gradients_match_lax(chunk):
    x, k = draw((6, 8, 7, 3), (3, 4, 3, 5), seed=1)
    r = draw((6, 6, 4, 5), (1,), seed=2)[0]

    def loss(conv):
        return lambda x, k: jnp.sum(jnp.tanh(conv(x, k)) * r)

    got = jax.jit(jax.grad(loss(lambda x, k: layers.conv2d_im2col(x, k, chunk=chunk)), (0, 1)))(
        x, k
    )
    want = jax.grad(loss(lax_conv), (0, 1))(x, k)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-4)


def test_input_gradient_is_adjoint_of_forward():
    # <conv(x), g> = <x, conv^T(g)> for the hand-written backward pass, in float64 numpy.
    x, k = draw((3, 7, 6, 2), (3, 2, 2, 4), seed=3)
    g = draw((3, 5, 5, 4), (1,), seed=4)[0]
    _, vjp = jax.vjp(lambda x: layers.conv2d_im2col(x, k, chunk=1), x)
    (dx,) = vjp(g)
    lhs = np.sum(numpy_conv(x, k) * np.asarray(g, np.float64))
    rhs = np.sum(np.asarray(x, np.float64) * np.asarray(dx, np.float64))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5)


def test_bfloat16_keeps_dtype():
    x, k = draw((2, 6, 6, 2), (3, 3, 2, 3))
    y = layers.conv2d_im2col(x.astype(jnp.bfloat16), k.astype(jnp.bfloat16))
    assert y.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(y, np.float32), numpy_conv(x, k), rtol=0.05, atol=0.15)


@pytest.mark.parametrize(
    ("x_shape", "k_shape", "kwargs", "error", "match"),
    [
        ((2, 5, 5), (3, 3, 1, 1), {}, ValueError, "`x` must be NHWC"),
        ((2, 5, 5, 1), (3, 3, 1), {}, ValueError, "`kernel` must be HWIO"),
        ((2, 5, 5, 2), (3, 3, 1, 1), {}, ValueError, "input channels"),
        ((2, 3, 5, 1), (4, 3, 1, 1), {}, ValueError, "must fit inside"),
        ((4, 5, 5, 1), (3, 3, 1, 1), {"chunk": 3}, ValueError, "`chunk` must be a positive int"),
        ((4, 5, 5, 1), (3, 3, 1, 1), {"chunk": 0}, ValueError, "got 0"),
    ],
)
def test_errors_name_the_argument(x_shape, k_shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.conv2d_im2col(jnp.zeros(x_shape), jnp.zeros(k_shape), **kwargs)


def test_dtype_errors():
    with pytest.raises(TypeError, match="`kernel` must have the dtype of `x`"):
        layers.conv2d_im2col(jnp.zeros((1, 4, 4, 1)), jnp.zeros((2, 2, 1, 1), jnp.bfloat16))
    with pytest.raises(TypeError, match="`x` must have a floating dtype"):
        layers.conv2d_im2col(jnp.zeros((1, 4, 4, 1), jnp.int32), jnp.zeros((2, 2, 1, 1)))


def lax_conv_pool(x, k, b, p):
    z = lax_conv(x, k)
    z = z + jnp.broadcast_to(b, z.shape)
    if p == 1:
        return z
    h, w = z.shape[1:3]
    z = z[:, : h // p * p, : w // p * p, :]
    return jax.lax.reduce_window(z, -jnp.inf, jax.lax.max, (1, p, p, 1), (1, p, p, 1), "VALID")


def numpy_conv_pool(x, k, b, p):
    z = numpy_conv(x, k) + np.asarray(b, np.float64)
    n, h, w, o = z.shape
    hp, wp = h // p, w // p
    return z[:, : hp * p, : wp * p].reshape(n, hp, p, wp, p, o).max(axis=(2, 4))


@pytest.mark.parametrize(
    ("shape_x", "shape_k", "pool", "chunk"),
    [
        ((4, 9, 9, 3), (3, 3, 3, 5), 2, None),  # 7x7 -> 3x3: last row/column dropped
        ((6, 10, 8, 2), (3, 3, 2, 4), 2, 2),
        ((2, 11, 11, 1), (2, 2, 1, 3), 3, 1),
        ((2, 6, 6, 2), (3, 3, 2, 2), 1, None),
    ],
)
def test_bias_and_max_pool_match_lax(shape_x, shape_k, pool, chunk):
    x, k = draw(shape_x, shape_k, seed=5)
    b = draw((shape_k[3],), (1,), seed=6)[0]

    def ours(x, k, b):
        return layers.conv2d_im2col(x, k, b, max_pool=pool, chunk=chunk)

    y = ours(x, k, b)
    np.testing.assert_allclose(np.asarray(y), numpy_conv_pool(x, k, b, pool), rtol=1e-5, atol=1e-4)
    weights = draw(y.shape, (1,), seed=8)[0]

    def loss(conv):
        return lambda x, k, b: jnp.sum(jnp.tanh(conv(x, k, b)) * weights)

    got = jax.jit(jax.grad(loss(ours), (0, 1, 2)))(x, k, b)
    want = jax.grad(loss(lambda x, k, b: lax_conv_pool(x, k, b, pool)), (0, 1, 2))(x, k, b)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-4)


def test_pool_gradient_goes_to_the_first_maximum_of_a_tie():
    # A constant image: every window is a four-way tie; its gradient goes to the top-left pixel.
    x = jnp.ones((1, 5, 5, 1))
    k = jnp.ones((2, 2, 1, 1))
    dz = jax.grad(lambda x: layers.conv2d_im2col(x, k, max_pool=2).sum())(x)
    # Maxima at conv outputs (0,0),(0,2),(2,0),(2,2); each spreads over its 2x2 input patch.
    want = np.zeros((5, 5))
    for a, b in [(0, 0), (0, 2), (2, 0), (2, 2)]:
        want[a : a + 2, b : b + 2] += 1.0
    np.testing.assert_array_equal(np.asarray(dz)[0, :, :, 0], want)


def test_bias_and_pool_errors():
    x, k = jnp.zeros((2, 6, 6, 1)), jnp.zeros((3, 3, 1, 2))
    with pytest.raises(ValueError, match="`bias` must have shape"):
        layers.conv2d_im2col(x, k, jnp.zeros((3,)))
    with pytest.raises(TypeError, match="`bias` must have the dtype of `x`"):
        layers.conv2d_im2col(x, k, jnp.zeros((2,), jnp.bfloat16))
    with pytest.raises(ValueError, match="`max_pool` must be a positive int"):
        layers.conv2d_im2col(x, k, max_pool=5)
    with pytest.raises(ValueError, match="`max_pool` must be a positive int"):
        layers.conv2d_im2col(x, k, max_pool=0)


def _count(jaxpr, name):
    """Occurrences of primitive ``name`` in ``jaxpr``, nested calls and loops included."""
    from jax import extend as jex

    total = 0
    for eqn in jaxpr.eqns:
        total += eqn.primitive.name == name
        total += sum(_count(sub, name) for sub in jex.core.jaxprs_in_params(eqn.params))
    return total


@pytest.mark.parametrize("xla_forward", [False, True])
@pytest.mark.parametrize("chunk", [None, 2])
def test_only_the_gradients_asked_for_are_built(xla_forward, chunk):
    x, k = draw((4, 8, 8, 3), (3, 3, 3, 5), seed=5)
    b = jnp.linspace(-1.0, 1.0, 5, dtype=jnp.float32)
    r = draw((4, 6, 6, 5), (1,), seed=6)[0]

    def loss(x, k, b):
        return jnp.sum(
            jnp.tanh(layers.conv2d_im2col(x, k, b, chunk=chunk, xla_forward=xla_forward)) * r
        )

    full = jax.grad(loss, (0, 1, 2))(x, k, b)
    for wrt in [(0,), (1,), (2,), (1, 2), (0, 2)]:
        part = jax.jit(jax.grad(loss, wrt))(x, k, b)
        for i, g in zip(wrt, part, strict=True):
            np.testing.assert_allclose(np.asarray(g), np.asarray(full[i]), rtol=1e-5, atol=1e-5)
    # dx is col2im: pads of the patch gradient; dkernel is one matrix product with the patches.
    kernel_only = jax.make_jaxpr(jax.grad(loss, 1))(x, k, b).jaxpr
    input_only = jax.make_jaxpr(jax.grad(loss, 0))(x, k, b).jaxpr
    both = jax.make_jaxpr(jax.grad(loss, (0, 1)))(x, k, b).jaxpr
    assert _count(kernel_only, "pad") < _count(both, "pad")
    assert _count(input_only, "dot_general") < _count(both, "dot_general")
