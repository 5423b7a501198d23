"""The C++ CPU convolution kernels and the layers built on them (`Conv`'s ``"native"`` lowering,
`EventConv`): equal to XLA's convolution and its gradients bit for bit where the sums are exact,
to rounding otherwise; named errors; the fallbacks where the kernels do not run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers

needs_kernels = pytest.mark.skipif(
    jax.default_backend() != "cpu" or not sj.kernels.native_status().available,
    reason="the C++ CPU kernels are not available here",
)

# (n, h, w, c_in, kh, kw, c_out, strides): widths that exercise the kernels' tiles of 64
# outputs, single vectors and single floats (3, 17, 64, 70), one input channel, strides that
# skip columns and rows, and a kernel as large as the input.
KERNEL_CASES = [
    (3, 9, 8, 3, 3, 2, 5, (1, 1)),
    (2, 11, 10, 2, 3, 3, 17, (2, 3)),
    (2, 9, 9, 12, 5, 5, 64, (1, 1)),
    (2, 8, 7, 4, 3, 3, 70, (1, 2)),
    (1, 5, 5, 1, 5, 5, 3, (2, 2)),
]


def _xla(x, k, strides):
    return jax.lax.conv_general_dilated(
        x, k, strides, "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


def _exact_operands(rng, case, density=0.3):
    """Small integers and dyadic fractions: every sum is exact, whatever its order."""
    n, h, w, c, kh, kw, o, strides = case
    x = ((rng.random((n, h, w, c)) < density) * rng.integers(1, 4, (n, h, w, c))).astype(np.float32)
    k = (rng.integers(-8, 8, (kh, kw, c, o)) / 8).astype(np.float32)
    y_shape = jax.eval_shape(lambda a, b: _xla(a, b, strides), x, k).shape
    g = (rng.random(y_shape) < 0.4) * rng.integers(-4, 4, y_shape) / 4
    return (jnp.asarray(a, jnp.float32) for a in (x, k, g))


@needs_kernels
@pytest.mark.parametrize("case", KERNEL_CASES)
def test_kernels_equal_xla_bit_for_bit_on_exact_sums(case):
    strides = case[-1]
    x, k, g = _exact_operands(np.random.default_rng(0), case)
    y = _xla(x, k, strides)
    dx, dk = jax.vjp(lambda a, b: _xla(a, b, strides), x, k)[1](g)
    np.testing.assert_array_equal(sj.kernels.event_conv_cpu(x, k, strides=strides), y)
    got_dk = sj.kernels.event_conv_wgrad_cpu(x, g, k.shape[:2], strides=strides)
    np.testing.assert_array_equal(got_dk, dk)
    got_dk = sj.kernels.conv_kernel_grad_cpu(x, g, k.shape[:2], strides=strides)
    np.testing.assert_array_equal(got_dk, dk)
    got_dx = sj.kernels.conv_input_grad_cpu(g, k, x.shape[1:3], strides=strides)
    np.testing.assert_array_equal(got_dx, dx)


@needs_kernels
@pytest.mark.parametrize("case", KERNEL_CASES[:3])
def test_kernels_agree_with_xla_to_rounding_on_general_floats(case):
    n, h, w, c, kh, kw, o, strides = case
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(n, h, w, c)) * (rng.random((n, h, w, c)) < 0.5), jnp.float32)
    k = jnp.asarray(rng.normal(size=(kh, kw, c, o)), jnp.float32)
    y = _xla(x, k, strides)
    g = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
    dx, dk = jax.vjp(lambda a, b: _xla(a, b, strides), x, k)[1](g)

    def close(got, want):  # float32 rounding of sums in another order: relative to their scale
        scale = float(jnp.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * scale)

    close(sj.kernels.event_conv_cpu(x, k, strides=strides), y)
    close(sj.kernels.event_conv_wgrad_cpu(x, g, (kh, kw), strides=strides), dk)
    close(sj.kernels.conv_kernel_grad_cpu(x, g, (kh, kw), strides=strides), dk)
    close(sj.kernels.conv_input_grad_cpu(g, k, (h, w), strides=strides), dx)


@needs_kernels
def test_silent_images_and_zero_cotangents_give_zeros_and_the_rest_is_unchanged():
    case = KERNEL_CASES[1]
    x, k, g = _exact_operands(np.random.default_rng(2), case)
    x, g = x.at[0].set(0.0), g.at[1].set(0.0)
    strides = case[-1]
    y = sj.kernels.event_conv_cpu(x, k, strides=strides)
    assert not np.asarray(y[0]).any()
    np.testing.assert_array_equal(y[1], _xla(x[1:], k, strides)[0])
    dx = sj.kernels.conv_input_grad_cpu(g, k, x.shape[1:3], strides=strides)
    assert not np.asarray(dx[1]).any()
    none = sj.kernels.event_conv_wgrad_cpu(jnp.zeros_like(x), g, k.shape[:2], strides=strides)
    assert none.shape == k.shape and not np.asarray(none).any()
    none = sj.kernels.conv_kernel_grad_cpu(x, jnp.zeros_like(g), k.shape[:2], strides=strides)
    assert none.shape == k.shape and not np.asarray(none).any()


@needs_kernels
def test_kernels_under_vmap_equal_one_call_per_member():
    case = KERNEL_CASES[0]
    rng = np.random.default_rng(3)
    xs, ks, gs = zip(*(_exact_operands(rng, case) for _ in range(2)), strict=True)
    x, k, g = (jnp.stack(a) for a in (xs, ks, gs))
    y = jax.vmap(sj.kernels.event_conv_cpu)(x, k)
    dx = jax.vmap(lambda g, k: sj.kernels.conv_input_grad_cpu(g, k, x.shape[2:4]))(g, k)
    for m in range(2):
        np.testing.assert_array_equal(y[m], sj.kernels.event_conv_cpu(x[m], k[m]))
        np.testing.assert_array_equal(dx[m], sj.kernels.conv_input_grad_cpu(g[m], k[m], (9, 8)))


@needs_kernels
def test_kernel_errors_are_named():
    x, k = jnp.zeros((2, 6, 6, 3)), jnp.zeros((3, 3, 3, 4))
    with pytest.raises(TypeError, match=r"`event_conv_cpu`: `x` must be a 4-d float32 array"):
        sj.kernels.event_conv_cpu(x[0], k)
    with pytest.raises(TypeError, match=r"`event_conv_cpu`: `kernel` must be a 4-d float32"):
        sj.kernels.event_conv_cpu(x, k.astype(jnp.int32))
    with pytest.raises(ValueError, match=r"`event_conv_cpu`: `kernel` .* c_in = 3 .*got \(3, 3, 2"):
        sj.kernels.event_conv_cpu(x, jnp.zeros((3, 3, 2, 4)))
    with pytest.raises(ValueError, match=r"`event_conv_cpu`: the height \(6\) is smaller than"):
        sj.kernels.event_conv_cpu(x, jnp.zeros((7, 3, 3, 4)))
    with pytest.raises(ValueError, match=r"`event_conv_cpu`: `strides` must be positive; got 0"):
        sj.kernels.event_conv_cpu(x, k, strides=0)
    with pytest.raises(ValueError, match=r"`event_conv_wgrad_cpu`: `g` must be the output's shape"):
        sj.kernels.event_conv_wgrad_cpu(x, jnp.zeros((2, 5, 4, 4)), (3, 3))
    with pytest.raises(ValueError, match=r"`conv_input_grad_cpu`: `g` must be the output's shape"):
        sj.kernels.conv_input_grad_cpu(jnp.zeros((2, 4, 4, 5)), k, (6, 6))
    with pytest.raises(ValueError, match=r"`conv_input_grad_cpu`: `input_size` must be an int"):
        sj.kernels.conv_input_grad_cpu(jnp.zeros((2, 4, 4, 4)), k, (6, 6, 1))


# Layers: (in, out, kernel, strides, padding, input shape [T, B, H, W, C]).
LAYER_CASES = [
    (2, 3, (3, 3), 1, "SAME", (3, 2, 7, 7, 2)),
    (3, 4, (5, 5), 2, ((2, 2), (2, 2)), (2, 2, 11, 10, 3)),
    (2, 5, (3, 2), (1, 2), ((2, 0), (0, 1)), (2, 1, 6, 7, 2)),
]


def _layer(cls, case, **kw):
    c_in, c_out, kernel, strides, padding, _ = case
    return cls(c_in, c_out, kernel, strides, padding=padding, rngs=nnx.Rngs(4), **kw)


def _dyadic_layer(layer):
    rng = np.random.default_rng(5)
    layer.kernel[...] = jnp.asarray(rng.integers(-8, 8, layer.kernel.shape) / 8, jnp.float32)
    layer.bias[...] = jnp.asarray(rng.integers(-8, 8, layer.bias.shape) / 8, jnp.float32)
    return layer


def _value_and_grads(layer, x, weights):
    graphdef, state = nnx.split(layer)

    def loss(state, x):
        y = nnx.merge(graphdef, state)(x)
        return jnp.sum(y * weights), y

    (_, y), grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))(state, x)
    return y, grads


def _spikes(case, density, seed=6):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.random(case[-1]) < density, jnp.float32)


@needs_kernels
@pytest.mark.parametrize("case", LAYER_CASES)
@pytest.mark.parametrize("cls, kw", [(layers.Conv, {}), (layers.EventConv, {"threshold": 1.0})])
@pytest.mark.parametrize("cotangent_density", [0.1, 0.9])  # below/above SPARSE_COTANGENT
def test_layers_equal_xla_bit_for_bit_on_exact_sums(case, cls, kw, cotangent_density):
    """Binary spikes, dyadic weights and cotangents: every path's sums are exact. The kernel
    gradient comes from the input's events (EventConv), from the cotangent's nonzeros (sparse
    cotangent) or from XLA (dense)."""
    ours = _dyadic_layer(_layer(cls, case, **kw))
    assert ours.resolved_lowering() == "native"
    ref = _dyadic_layer(_layer(layers.Conv, case, lowering="xla"))
    x = _spikes(case, 0.3)
    out_shape = jax.eval_shape(ref, x).shape
    rng = np.random.default_rng(7)
    nonzero = rng.random(out_shape) < cotangent_density
    weights = jnp.asarray(nonzero * rng.integers(1, 4, out_shape) / 4, jnp.float32)
    (y, grads), (y_ref, grads_ref) = (_value_and_grads(m, x, weights) for m in (ours, ref))
    np.testing.assert_array_equal(y, y_ref)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_ref), strict=True):
        np.testing.assert_array_equal(a, b)


@needs_kernels
@pytest.mark.parametrize("case", LAYER_CASES)
def test_native_lowering_value_is_xla_and_gradients_agree_on_general_floats(case):
    ours, ref = _layer(layers.Conv, case, lowering="native"), _layer(layers.Conv, case)
    ref.lowering = "xla"
    rng = np.random.default_rng(8)
    x = jnp.asarray(rng.normal(size=case[-1]), jnp.float32)
    weights = jnp.asarray(rng.normal(size=jax.eval_shape(ref, x).shape), jnp.float32)
    (y, grads), (y_ref, grads_ref) = (_value_and_grads(m, x, weights) for m in (ours, ref))
    np.testing.assert_array_equal(y, y_ref)  # the value: XLA's convolution, bit for bit
    (dk, db, dx), (dk_ref, db_ref, dx_ref) = (
        (g[0]["kernel"][...], g[0]["bias"][...], g[1]) for g in (grads, grads_ref)
    )
    np.testing.assert_array_equal(dk, dk_ref)  # XLA's kernel gradient: the same sums
    np.testing.assert_array_equal(db, db_ref)
    scale = float(jnp.abs(dx_ref).max())  # the kernel's order: rounding at the sums' scale
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-6 * scale)


@needs_kernels
def test_event_conv_takes_the_event_path_up_to_its_threshold_only():
    case = LAYER_CASES[1]
    x = _spikes(case, 0.1)
    x_folded = x.reshape(-1, *x.shape[2:])
    # An infinite weight tells the paths apart: the dense convolution multiplies it by the zero
    # inputs (NaN), the event path never reads them.
    kernel = jnp.asarray(np.random.default_rng(9).normal(size=(5, 5, 3, 4)), jnp.float32)
    kernel = kernel.at[0, 0, 0, 0].set(jnp.inf)
    below, above = (_layer(layers.EventConv, case, threshold=t) for t in (0.2, 0.01))
    for layer in (below, above):
        layer.kernel[...] = kernel
    xp = jnp.pad(x_folded, ((0, 0), (2, 2), (2, 2), (0, 0)))
    bias = below.bias[...][None, None, None]
    event = sj.kernels.event_conv_cpu(xp, kernel, strides=(2, 2)) + bias
    dense = nnx.Conv.__call__(above, x_folded)
    assert np.isnan(dense).any() and not np.isnan(event).any() and np.isinf(event).any()
    np.testing.assert_array_equal(jax.jit(lambda x: below(x))(x_folded), event)
    np.testing.assert_array_equal(jax.jit(lambda x: above(x))(x_folded), dense)
    silent = jnp.zeros_like(x_folded)
    np.testing.assert_array_equal(below(silent), jnp.broadcast_to(bias, dense.shape))


@needs_kernels
def test_event_conv_under_vmap_shares_one_choice_between_members():
    # A population of two models (vmap over the kernel) on inputs on either side of the
    # threshold: the event path while both are below it, the dense convolution for both once
    # one is above (an infinite weight tells them apart, as above). Never both paths.
    case = LAYER_CASES[1]
    layer = _layer(layers.EventConv, case, threshold=0.2)
    base = jnp.asarray(np.random.default_rng(10).normal(size=(5, 5, 3, 4)), jnp.float32)
    kernels = jnp.stack([base, base * 2]).at[:, 0, 0, 0, 0].set(jnp.inf)
    graphdef, state = nnx.split(layer)

    def call(kernel, x):
        member = jax.tree.map(lambda a: a, state)
        member["kernel"] = kernel
        return nnx.merge(graphdef, member)(x)

    sparse = jnp.stack([_spikes(case, 0.1), _spikes(case, 0.05)])
    sparse = sparse.reshape(2, -1, *sparse.shape[3:])
    both = jax.jit(jax.vmap(call))(kernels, sparse)
    assert not np.isnan(both).any()
    for member, kernel, x in zip(both, kernels, sparse, strict=True):
        np.testing.assert_array_equal(member, call(kernel, x))
    mixed = sparse.at[1].set(_spikes(case, 0.6).reshape(sparse.shape[1:]))
    assert np.isnan(jax.jit(jax.vmap(call))(kernels, mixed)[0]).any()  # member 0: dense too


def test_event_conv_is_conv_where_the_kernels_do_not_run(monkeypatch):
    off = sj.kernels.NativeStatus(False, "turned off for this test")
    monkeypatch.setattr(sj.kernels, "native_status", lambda: off)
    case = LAYER_CASES[0]
    ours = _layer(layers.EventConv, case)
    assert ours.resolved_lowering() != "native"
    x = _spikes(case, 0.05).reshape(-1, 7, 7, 2)
    ref = nnx.Conv(2, 3, (3, 3), padding="SAME", rngs=nnx.Rngs(4))
    np.testing.assert_array_equal(jax.jit(lambda x: ours(x))(x), jax.jit(lambda x: ref(x))(x))
    explicit = _layer(layers.EventConv, case, lowering="native")
    with pytest.raises(ValueError, match=r"`EventConv`: `lowering='native'` cannot run here: "):
        explicit(x)


def test_event_conv_has_conv_state_and_graph_node():
    case = LAYER_CASES[1]
    ours, theirs = _layer(layers.EventConv, case), _layer(nnx.Conv, case)
    assert isinstance(ours, nnx.Conv)
    ours_leaves, theirs_leaves = (jax.tree.leaves(nnx.state(m)) for m in (ours, theirs))
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        np.testing.assert_array_equal(a, b)
    x = _spikes(case, 0.1)
    nodes = [sj.graph.trace(layers.TimeFolded(m), x)["module"] for m in (ours, theirs)]
    assert nodes[0].kind == nodes[1].kind == "conv"
    assert nodes[0].attrs == nodes[1].attrs and nodes[0].macs == nodes[1].macs
    assert nodes[0].attrs["padding"] == ((2, 2), (2, 2)) and nodes[0].attrs["strides"] == (2, 2)


def test_bad_layer_arguments_are_named():
    for bad in (-0.1, 1.5, True, "0.1"):
        with pytest.raises(ValueError, match=r"`EventConv`: `threshold` must be a number in"):
            layers.EventConv(1, 1, (3, 3), threshold=bad, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`lowering='native'`.*feature_group_count=2"):
        layers.Conv(2, 2, (3, 3), feature_group_count=2, lowering="native", rngs=nnx.Rngs(0))
    wide = layers.Conv(1, 1, (3, 3), dtype=jnp.bfloat16, lowering="native", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"`Conv`: `lowering='native'` cannot run here: .*float32"):
        wide(jnp.ones((1, 5, 5, 1)))
