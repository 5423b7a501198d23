"""``layers.Conv``: an ``nnx.Conv`` whose im2col and XLA lowerings agree (values, gradients)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers
from spikejax._xla_flags import FLAG, VALUE, ynnpack_convolutions

# (in, out, kernel, strides, padding, use_bias, input shape): the convolutions of the zoo and the
# experiments: ConvSNN's 'SAME' 3x3, SEW/Spikformer's k//2-padded k x k with stride 2 and 1x1
# downsampling, and a valid/asymmetric padding with bias and unequal strides.
CASES = [
    (2, 3, 3, 1, "SAME", False, (4, 7, 7, 2)),
    (3, 4, 7, 2, ((3, 3), (3, 3)), False, (2, 11, 10, 3)),
    (4, 5, 1, 2, "VALID", False, (3, 6, 6, 4)),
    (2, 3, (3, 2), (1, 2), ((2, 0), (0, 1)), True, (2, 6, 7, 2)),
]


def _pair(conv_args, lowering):
    c_in, c_out, k, s, pad, bias, _ = conv_args
    kernel = (k, k) if isinstance(k, int) else k
    return layers.Conv(
        c_in, c_out, kernel, s, padding=pad, use_bias=bias, lowering=lowering, rngs=nnx.Rngs(3)
    )


def _values_and_grads(fast, ref, x, weights):
    """Output, loss and gradients (parameters, input) of both layers, in one compiled call."""

    def one(conv):
        graphdef, state = nnx.split(conv)

        def loss(state, x):
            y = nnx.merge(graphdef, state)(x)
            return jnp.sum(jnp.tanh(y) * weights), y

        return jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(state, x)

    return jax.jit(lambda x: (one(fast), one(ref)))(x)


@pytest.mark.parametrize("case", CASES)
def test_im2col_equals_xla_in_values_and_gradients(case):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=case[-1]).astype(np.float32))
    fast, ref = _pair(case, "im2col"), _pair(case, "xla")
    out_shape = jax.eval_shape(ref, x).shape
    weights = jnp.asarray(rng.normal(size=out_shape).astype(np.float32))
    ((loss_f, y_f), grads_f), ((loss_r, y_r), grads_r) = _values_and_grads(fast, ref, x, weights)
    assert y_f.shape == y_r.shape == out_shape and y_f.dtype == y_r.dtype
    np.testing.assert_allclose(np.asarray(y_f), np.asarray(y_r), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(float(loss_f), float(loss_r), rtol=1e-5)
    for g, w in zip(jax.tree.leaves(grads_f), jax.tree.leaves(grads_r), strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-4)


def _auto_on_this_machine() -> str:
    cpu = jax.default_backend() == "cpu"
    if cpu and sj.kernels.native_status().available:
        return "native"
    return "im2col" if cpu and ynnpack_convolutions() else "xla"


def test_time_major_input_and_auto_lowering_on_cpu():
    conv = layers.Conv(2, 3, (3, 3), rngs=nnx.Rngs(0))
    assert isinstance(conv, nnx.Conv)
    assert conv.resolved_lowering() == _auto_on_this_machine()
    x = jnp.asarray(np.random.default_rng(1).random((3, 2, 6, 6, 2)) < 0.3, jnp.float32)
    got, single = jax.jit(lambda x: (conv(x), conv(x[0, 0])))(x)
    want = nnx.Conv.__call__(conv, x.reshape(6, 6, 6, 2)).reshape(3, 2, 6, 6, 3)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(single), np.asarray(want[0, 0]), rtol=1e-5, atol=1e-5)
    grouped = layers.Conv(4, 4, (3, 3), feature_group_count=2, rngs=nnx.Rngs(0))
    assert grouped.resolved_lowering() == "xla"  # auto: im2col and the kernels compute no groups
    assert conv.resolved_lowering(jnp.bfloat16) != "native"  # the kernels are float32


def test_same_state_as_nnx_conv_and_the_same_graph():
    ours = layers.Conv(2, 4, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, rngs=nnx.Rngs(5))
    theirs = nnx.Conv(2, 4, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, rngs=nnx.Rngs(5))
    s_ours, s_theirs = nnx.state(ours), nnx.state(theirs)
    assert jax.tree.structure(s_ours) == jax.tree.structure(s_theirs)
    for a, b in zip(jax.tree.leaves(s_ours), jax.tree.leaves(s_theirs), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    x = jnp.zeros((3, 2, 8, 8, 2))
    nodes = [sj.graph.trace(layers.TimeFolded(m), x)["module"] for m in (ours, theirs)]
    assert nodes[0].kind == nodes[1].kind == "conv"
    assert nodes[0].attrs == nodes[1].attrs and nodes[0].macs == nodes[1].macs == 8 * 8 * 9 * 2 * 4
    assert nodes[0].out_shape == nodes[1].out_shape == (3, 2, 8, 8, 4)
    assert nodes[0].attrs["strides"] == (1, 1) and nodes[0].attrs["padding"] == ((1, 1), (1, 1))


def test_value_is_xla_bit_for_bit_and_the_gradient_im2col():
    conv = layers.Conv(
        2, 3, (3, 3), 2, padding=((1, 2), (0, 1)), lowering="im2col", rngs=nnx.Rngs(0)
    )
    x = jnp.asarray(np.random.default_rng(2).normal(size=(6, 7, 6, 2)).astype(np.float32))
    graphdef, state = nnx.split(conv)

    def loss(state, x):
        return jnp.sum(jnp.sin(nnx.merge(graphdef, state)(x)))

    # The value: XLA's convolution, the same bits as nnx.Conv for every batch size (streaming in
    # chunks stays exact); the network graph reads it.
    ours, theirs = jax.jit(lambda x: (conv(x), nnx.Conv.__call__(conv, x)))(x)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    part = jax.jit(lambda x: conv(x))(x[:2])
    np.testing.assert_array_equal(np.asarray(part), np.asarray(ours[:2]))
    # The gradient: one convolution (the forward), none for the derivatives (im2col's).
    grad = str(jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(state, x))
    assert grad.count("= conv_general_dilated[") == 1
    reference = nnx.Conv(2, 3, (3, 3), 2, padding=((1, 2), (0, 1)), rngs=nnx.Rngs(0))
    xla_grad = str(jax.make_jaxpr(jax.grad(lambda x: jnp.sum(jnp.sin(reference(x)))))(x))
    assert xla_grad.count("= conv_general_dilated[") == 2  # XLA's: forward and transpose


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"`Conv`: `lowering` must be one of .*got 'fast'"):
        layers.Conv(1, 1, (3, 3), lowering="fast", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`lowering='im2col'`.*feature_group_count=2"):
        layers.Conv(2, 2, (3, 3), feature_group_count=2, lowering="im2col", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`lowering='im2col'`.*kernel_dilation"):
        layers.Conv(1, 1, (3, 3), kernel_dilation=2, lowering="im2col", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`lowering='im2col'`.*padding='CIRCULAR'"):
        layers.Conv(1, 1, (3, 3), padding="CIRCULAR", lowering="im2col", rngs=nnx.Rngs(0))
    conv = layers.Conv(1, 1, (3, 3), lowering="im2col", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`Conv`: `inputs` must be \[\*batch, height, width"):
        conv(jnp.ones((5, 5)))
    with pytest.raises(ValueError, match=r"`conv2d_im2col`: `kernel` input channels"):
        jax.eval_shape(conv, jnp.ones((1, 5, 5, 2)))


def test_auto_lowering_follows_which_library_convolves_on_cpu(monkeypatch):
    conv = layers.Conv(2, 3, (3, 3), rngs=nnx.Rngs(0))
    cpu = jax.default_backend() == "cpu"
    # Without the C++ kernels (their absence is what this test is about):
    off = sj.kernels.NativeStatus(False, "turned off for this test")
    monkeypatch.setattr(sj.kernels, "native_status", lambda: off)
    monkeypatch.setenv("XLA_FLAGS", f"--{FLAG}={VALUE}")  # Eigen: XLA's own gradient
    assert conv.resolved_lowering() == "xla"
    monkeypatch.setenv("XLA_FLAGS", "")  # jaxlib 0.10's default sends them to YNNPACK
    want = "im2col" if cpu and ynnpack_convolutions() else "xla"
    assert conv.resolved_lowering() == want
