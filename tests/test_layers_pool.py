"""``layers.max_pool``: the values of ``nnx.max_pool``, the first-maximum gradient, a pool node."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers


def reference(x, window, strides, padding):
    """``lax.reduce_window`` max with ``-inf`` padding (what the zoo's pooling computes)."""
    lead = x.ndim - 3
    pads = ((0, 0),) * lead + ((padding, padding), (padding, padding), (0, 0))
    return jax.lax.reduce_window(
        x,
        -jnp.inf,
        jax.lax.max,
        (1,) * lead + (window, window, 1),
        (1,) * lead + (strides, strides, 1),
        pads,
    )


def numpy_first_max_grad(x, window, strides, padding, g):
    """The gradient that sends each window's cotangent to its first maximum (row-major)."""
    x = np.pad(x, ((0, 0), (padding,) * 2, (padding,) * 2, (0, 0)), constant_values=-np.inf)
    n, h, w, c = x.shape
    ho, wo = (h - window) // strides + 1, (w - window) // strides + 1
    dx = np.zeros_like(x)
    for i in range(n):
        for y in range(ho):
            for z in range(wo):
                for ch in range(c):
                    patch = x[
                        i,
                        y * strides : y * strides + window,
                        z * strides : z * strides + window,
                        ch,
                    ]
                    a, b = np.unravel_index(np.argmax(patch), patch.shape)  # first maximum
                    dx[i, y * strides + a, z * strides + b, ch] += g[i, y, z, ch]
    return dx[:, padding : h - padding, padding : w - padding]


# (window, strides, padding, input shape): ConvSNN's and the benchmark's 2x2/2, SEW's and
# Spikformer's 3x3/2 padded by 1 (overlapping windows), a time-major input with a cropped edge,
# and tiling windows (stride = window) padded and cropped.
CASES = [
    (2, 2, 0, (3, 6, 6, 2)),
    (3, 2, 1, (2, 7, 8, 3)),
    (2, 2, 0, (2, 3, 5, 7, 2)),
    (3, 3, 1, (2, 8, 9, 3)),
]


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_reduce_window(case):
    window, strides, padding, shape = case
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=shape).astype(np.float32))  # continuous: no ties
    spikes = jnp.asarray(rng.random(shape) < 0.4, jnp.float32)  # binary: ties everywhere
    out = jax.eval_shape(lambda x: reference(x, window, strides, padding), x).shape
    g = jnp.asarray(rng.normal(size=out).astype(np.float32))

    def both(x):
        ours = jax.vjp(lambda x: layers.max_pool(x, window, strides, padding), x)
        theirs = jax.vjp(lambda x: reference(x, window, strides, padding), x)
        return ours[0], ours[1](g)[0], theirs[0], theirs[1](g)[0]

    run = jax.jit(both)
    for inputs in (x, spikes):
        y, dx, y_ref, dx_ref = run(inputs)
        np.testing.assert_array_equal(np.asarray(y), np.asarray(y_ref))
        np.testing.assert_allclose(np.asarray(dx), np.asarray(dx_ref), rtol=1e-6, atol=1e-6)
    # Ties: the gradient of each window goes to its first maximum.
    flat = np.asarray(spikes).reshape(-1, *shape[-3:])
    want = numpy_first_max_grad(
        flat, window, strides, padding, np.asarray(g).reshape(-1, *out[-3:])
    )
    np.testing.assert_allclose(np.asarray(dx).reshape(want.shape), want, rtol=1e-6, atol=1e-6)


def test_pool_node_in_the_graph():
    class Net(nnx.Module):
        def __init__(self):
            self.conv = layers.Conv(2, 3, (3, 3), rngs=nnx.Rngs(0))
            self.lif = layers.Spiking(sj.neurons.LIF(beta=0.9))

        def __call__(self, x):  # x: [T, B, H, W, C]; the convolution folds time itself
            return self.lif(layers.max_pool(self.conv(x), 3, 2, 1))

    graph = sj.graph.trace(Net(), jnp.zeros((4, 2, 8, 8, 2)))
    kinds = [(n.kind, n.op) for n in graph]
    assert kinds == [("conv", "Conv"), ("pool", "max_pool"), ("neuron", "LIF")]
    pool = graph.nodes[1]
    assert pool.inputs == ("conv",) and pool.out_shape == (4, 2, 4, 4, 3)
    assert pool.attrs["window"] == (3, 3) and pool.attrs["strides"] == (2, 2)
    assert pool.attrs["padding"] == ((1, 1), (1, 1))


def test_bad_arguments_are_named():
    x = jnp.zeros((1, 4, 4, 1))
    with pytest.raises(ValueError, match=r"`max_pool`: `window` must be a positive int"):
        layers.max_pool(x, 0)
    with pytest.raises(ValueError, match=r"`max_pool`: `padding` must be a non-negative int"):
        layers.max_pool(x, 2, 2, -1)
    with pytest.raises(ValueError, match=r"`max_pool`: `window` \(5, 5\) must fit inside"):
        layers.max_pool(x, 5)
    with pytest.raises(ValueError, match=r"`max_pool`: `x` must be \[\*batch, H, W, C\]"):
        layers.max_pool(jnp.zeros((4, 4)), 2)
    with pytest.raises(TypeError, match=r"`max_pool`: `x` must have a floating dtype"):
        layers.max_pool(jnp.zeros((1, 4, 4, 1), jnp.int32), 2)


def test_value_is_reduce_window_and_the_gradient_index_based():
    x = jnp.asarray(np.random.default_rng(3).random((2, 7, 7, 2)) < 0.5, jnp.float32)
    assert "reduce_window_max" in str(jax.make_jaxpr(lambda x: layers.max_pool(x, 3, 2, 1))(x))
    grad = str(jax.make_jaxpr(jax.grad(lambda x: layers.max_pool(x, 3, 2, 1).sum()))(x))
    assert "reduce_window" not in grad and "select_and_scatter" not in grad
