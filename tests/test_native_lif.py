"""The C++ forward kernel of `LIF` (`spikejax.kernels.lif_forward_cpu`, run by `sj.unroll`'s
``scan_vjp`` backend, the CPU's default): the same spikes and states as the reference scan, bit
for bit, for every reset, with per-neuron parameters and inputs that hit the threshold exactly;
gradients through its backward scan; the neurons it refuses, by name."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax as sj

needs_native = pytest.mark.skipif(
    not sj.kernels.native_status().available,
    reason=f"C++ CPU kernels not available: {sj.kernels.native_status().reason}",
)


def run(lif, xs, backend):
    return sj.unroll(lif, lif.init_state(xs.shape[1:]), xs, backend=backend)


def inputs(seed, shape, grid=False):
    rng = np.random.default_rng(seed)
    if grid:  # quarter steps with beta 0.5: membranes land exactly on the threshold
        return jnp.asarray(rng.integers(-2, 6, shape) / 4, jnp.float32)
    return jnp.asarray(rng.normal(0.3, 0.6, shape), jnp.float32)


@needs_native
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("grid", [False, True])
def test_spikes_and_states_equal_the_reference_scan_bit_for_bit(reset, grid):
    shape = (37, 5, 301)  # T, batch, neurons: neurons not a multiple of the chunk or the lanes
    xs = inputs(1 + grid, shape, grid)
    beta = 0.5 if grid else jnp.linspace(0.6, 0.99, 301, dtype=jnp.float32)
    threshold = jnp.where(jnp.arange(301) % 2 == 0, 1.0, 0.75).astype(jnp.float32)
    lif = sj.neurons.LIF(beta=beta, threshold=threshold, reset=reset)
    assert sj.kernels.lif_kernel_refusal(lif, lif.init_state(shape[1:]), xs) is None
    kernel = jax.jit(lambda xs: run(lif, xs, "scan_vjp"))(xs)
    reference = jax.jit(lambda xs: run(lif, xs, "scan"))(xs)
    leaves = zip(
        jax.tree_util.tree_leaves(kernel), jax.tree_util.tree_leaves(reference), strict=True
    )
    for got, want in leaves:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    if grid:  # the case the test is for happened: h == θ (exact in float64 too on this grid)
        v, hits = np.zeros(shape[1:]), 0
        for x in np.asarray(xs, np.float64):
            h = 0.5 * v + x
            hits += int(np.sum(h == np.asarray(threshold)))
            s = h >= np.asarray(threshold)
            v = {"subtract": h - s * np.asarray(threshold), "zero": h * (1 - s), "none": h}[reset]
        assert hits > 0


@needs_native
def test_gradients_through_the_backward_scan():
    shape = (60, 4, 70)
    xs = inputs(3, shape)
    w = jnp.linspace(-1.0, 1.0, 70, dtype=jnp.float32)

    def loss(beta, xs, backend):
        lif = sj.neurons.LIF(beta=beta, threshold=1.0)
        final, s = run(lif, xs, backend)
        return jnp.sum(s * w[None, None, :]) + jnp.sum(final.v)

    beta = jnp.full((70,), 0.9, jnp.float32)
    got = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)(beta, xs, "scan_vjp")
    want = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)(beta, xs, "scan")
    for g, r in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-5, atol=1e-6)


@needs_native
def test_under_vmap_and_remat():
    xs = inputs(4, (30, 3, 40))
    betas = jnp.asarray([0.5, 0.8, 0.95], jnp.float32)

    def spikes(beta, backend, remat=False):
        lif = sj.neurons.LIF(beta=beta)
        return sj.unroll(lif, lif.init_state((3, 40)), xs, backend=backend, remat=remat)[1]

    got = jax.jit(jax.vmap(lambda b: spikes(b, "scan_vjp")))(betas)
    want = jax.jit(jax.vmap(lambda b: spikes(b, "scan")))(betas)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(jax.jit(lambda: spikes(0.8, "scan_vjp", remat=True))(), want[1])


def test_the_kernel_knows_every_option_of_lif():
    """A new LIF option must be added to the kernel (or refused by it) before the kernel runs."""
    fields = {f.name for f in dataclasses.fields(sj.neurons.LIF)}
    assert fields == set(sj.kernels.KERNEL_LIF_FIELDS)


def test_the_neurons_it_refuses_are_named():
    xs = jnp.zeros((4, 3))

    def why(neuron, xs=xs):
        return sj.kernels.lif_kernel_refusal(neuron, neuron.init_state(xs.shape[1:]), xs)

    assert why(sj.neurons.IF()) == "IF is not LIF"
    assert why(sj.neurons.LIF(beta=0.9, r=2.0, strict=True)) == (
        "the kernel runs LIF without r, strict"
    )
    twin = sj.neurons.LIF(beta=0.9, surrogate=sj.surrogate.SmoothTwin(sj.surrogate.ATan()))
    assert why(twin) == "a SmoothTwin surrogate's forward is not the spike"
    assert why(sj.neurons.LIF(beta=0.9), jnp.zeros((4, 3), jnp.bfloat16)).startswith(
        "the kernel runs float32"
    )


@needs_native
def test_bad_arguments_are_named():
    xs, v = jnp.zeros((4, 3)), jnp.zeros((3,))
    with pytest.raises(ValueError, match=r"`lif_forward_cpu`: `reset` must be one of"):
        sj.kernels.lif_forward_cpu(xs, v, v, v, reset="soft")
    with pytest.raises(ValueError, match=r"`lif_forward_cpu`: `beta` must have shape \(3,\)"):
        sj.kernels.lif_forward_cpu(xs, v, jnp.zeros((4,)), v, reset="zero")
    with pytest.raises(TypeError, match=r"`lif_forward_cpu`: `v0` must be a float32 array"):
        sj.kernels.lif_forward_cpu(xs, v.astype(jnp.bfloat16), v, v, reset="zero")


@needs_native
def test_the_kernel_itself_under_vmap_runs_every_member_in_one_call():
    """`lif_forward_cpu` vmapped: the batch joins the kernel's layer axis (no per-member loop)."""
    rng = np.random.default_rng(5)
    xs = jnp.asarray(rng.normal(0.3, 0.6, (3, 20, 10)), jnp.float32)
    v0, theta = jnp.zeros((10,), jnp.float32), jnp.ones((10,), jnp.float32)
    betas = jnp.asarray(rng.uniform(0.5, 0.95, (3, 10)), jnp.float32)

    def run(xs, beta):
        return sj.kernels.lif_forward_cpu(xs, v0, beta, theta, reset="zero", states=True)

    batched = jax.jit(jax.vmap(run))(xs, betas)
    for i in range(3):
        for got, want in zip(batched, run(xs[i], betas[i]), strict=True):
            np.testing.assert_array_equal(got[i], want)
    assert "while" not in jax.jit(jax.vmap(run)).lower(xs, betas).as_text()
