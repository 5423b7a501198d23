"""The fused backends of `unroll` (``scan_vjp``; ``pallas`` in interpret mode) against the scan.

Every elementwise neuron, every reset mode and every built-in surrogate (and the smooth twin):
forward outputs and final state bit for bit, gradients with respect to the input, the initial
state and every parameter to a tight tolerance. All cases of one backend run in one jitted
function, so the test compiles three programs in all.
"""

import jax
import jax.numpy as jnp
import numpy as np

import spikejax as sj
from spikejax import kernels
from spikejax import neurons as nr
from spikejax import surrogate as sg
from tests.helpers import N, random_inputs

T, BATCH = 7, (2,)
BLOCK = 4  # neurons per Pallas program: M = 2 * 5 = 10 neurons -> 3 programs, 2 padded neurons


def _cases():
    """Every elementwise neuron class, every reset mode, every built-in surrogate and the smooth
    twin, the options (``r``, ``v_leak``, ``v_reset``, ``w_in``, ``strict``, ``decay_input``,
    ``v_init``) and per-neuron parameters. The Pallas cases (``PALLAS``) cover every reset mode and
    surrogate too."""
    per_neuron = jnp.linspace(0.6, 1.1, N)
    return {
        "lif_atan_subtract": nr.LIF(beta=jnp.linspace(0.5, 0.95, N), threshold=0.8),
        "lif_sigmoid_zero": nr.LIF(
            beta=0.5,
            threshold=0.4,
            reset="zero",
            decay_input=True,
            surrogate=sg.Sigmoid(),
            v_reset=-0.2,
        ),
        "lif_fast_sigmoid_none": nr.LIF(beta=0.9, reset="none", surrogate=sg.FastSigmoid(5.0)),
        "lif_triangle_options": nr.LIF(
            beta=0.8, surrogate=sg.Triangle(), r=per_neuron, v_leak=0.1, strict=True
        ),
        "lif_smooth_twin": nr.LIF(
            beta=per_neuron * 0.8, surrogate=sg.SmoothTwin(sg.ATan()), detach_reset=False
        ),
        "if_rectangle_zero": nr.IF(
            threshold=per_neuron, reset="zero", surrogate=sg.Rectangle(width=0.5)
        ),
        "if_erf_strict": nr.IF(surrogate=sg.Erf(), r=per_neuron, strict=True, v_init=0.5),
        "cuba_lif_gaussian_zero": nr.CubaLIF(
            alpha=per_neuron * 0.8,
            beta=0.85,
            threshold=0.7,
            reset="zero",
            surrogate=sg.Gaussian(),
            w_in=1.5,
            r=0.9,
            v_leak=0.05,
        ),
        "li": nr.LI(beta=per_neuron * 0.9, v_leak=0.1),
        "alif_straight_through": nr.ALIF(
            beta=0.9, rho=jnp.linspace(0.8, 0.99, N), gamma=0.5, surrogate=sg.StraightThrough()
        ),
        "cuba_li": nr.CubaLI(alpha=0.6, beta=per_neuron * 0.8),
        "plif": nr.PLIF(w=jnp.linspace(-1.0, 1.0, N), threshold=0.5),
        # b per neuron around the saddle-node bifurcation: some neurons fire at rest, some not
        "izhikevich": nr.Izhikevich(a=0.1, b=jnp.linspace(0.22, 0.32, N), c=-65.0, d=0.5, dt=1.0),
    }


CASES = _cases()
PALLAS = [name for name in CASES if name.startswith(("lif", "if", "cuba_lif", "li"))]


def _state0(neuron, xs, seed):
    rest = neuron.init_state(xs.shape[1:], xs.dtype)
    keys = jax.random.split(jax.random.key(seed), len(jax.tree_util.tree_leaves(rest)))
    noisy = [
        leaf + 0.3 * jax.random.normal(key, leaf.shape, leaf.dtype)
        for key, leaf in zip(keys, jax.tree_util.tree_leaves(rest), strict=True)
    ]
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(rest), noisy)


def _runner(name):
    if name == "pallas":
        return lambda n, s, x: kernels.pallas_unroll(n, s, x, block=BLOCK, interpret=True)
    return lambda n, s, x: sj.unroll(n, s, x, backend=name)


def _loss(run, neuron, state0, xs):
    final, out = run(neuron, state0, xs)
    w = jnp.linspace(-1.0, 1.0, out.size, dtype=out.dtype).reshape(out.shape)
    loss = (out * w).sum() + sum(0.3 * leaf.sum() for leaf in jax.tree_util.tree_leaves(final))
    return loss, (final, out)


def _results():
    inputs = {}
    for i, (name, neuron) in enumerate(CASES.items()):
        xs = random_inputs(T, BATCH, seed=i)
        inputs[name] = (neuron, _state0(neuron, xs, i), xs)

    def all_cases(backend):
        grad = jax.grad(_loss, argnums=(1, 2, 3), has_aux=True)
        names = PALLAS if backend == "pallas" else inputs
        return {name: grad(_runner(backend), *inputs[name]) for name in names}

    return {b: jax.jit(all_cases, static_argnums=0)(b) for b in ("scan", "scan_vjp", "pallas")}


def test_fused_backends_equal_the_scan_for_every_neuron_reset_and_surrogate():
    """One test (not one per case), so that parallel test workers do not each compile them."""
    results = _results()
    for backend in ("scan_vjp", "pallas"):
        for name in results[backend]:
            _check(results, backend, name)


def _check(results, backend, name):
    where = f"backend={backend}, case={name}"
    (g_ref, (final_ref, out_ref)) = results["scan"][name]
    (g_got, (final_got, out_got)) = results[backend][name]

    def close(a, b, rtol=1e-6, atol=1e-6):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=where)

    if CASES[name].spiking and not isinstance(CASES[name].surrogate, sg.SmoothTwin):
        np.testing.assert_array_equal(out_got, out_ref, err_msg=where)  # spikes bit for bit
        assert 0 < float(out_ref.mean()) < 1, f"{where}: must spike sometimes and rest sometimes"
    else:  # a membrane readout: XLA may contract a * b + c into one FMA in one program only
        close(out_got, out_ref)
    jax.tree_util.tree_map(close, final_got, final_ref)
    g_neuron, g_state, g_xs = g_got
    r_neuron, r_state, r_xs = g_ref
    close(g_xs, r_xs)
    jax.tree_util.tree_map(close, g_state, r_state)
    # Parameter gradients: the same terms summed in another order (per neuron, then over neurons).
    for (path, got), want in zip(
        jax.tree_util.tree_leaves_with_path(g_neuron),
        jax.tree_util.tree_leaves(r_neuron),
        strict=True,
    ):
        assert got.shape == want.shape and got.dtype == want.dtype, (where, path)
        scale = float(np.abs(want).max()) + 1e-3
        close(got, want, rtol=1e-5, atol=1e-5 * scale)
