"""The C++ CPU kernels of the event-driven synapses (`spikejax.kernels.event_matmul_cpu`,
`event_wgrad_cpu`, ``event_matmul(method="native")``): built on first use, equal bit for bit to
the XLA event loop that adds the same terms in the same order, refused by name where they cannot
run, and replaced by the XLA loop (same results) where they are not available."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers

COMPILER = any(shutil.which(c) for c in (os.environ.get("CXX") or "c++", "g++", "clang++"))
needs_native = pytest.mark.skipif(
    not sj.kernels.native_status().available,
    reason=f"C++ CPU kernels not available: {sj.kernels.native_status().reason}",
)


@pytest.mark.skipif(
    not COMPILER or os.environ.get("SPIKEJAX_NATIVE", "").strip() == "0",
    reason="no C++ compiler on this machine, or the kernels turned off",
)
def test_the_kernels_build_where_there_is_a_compiler():
    status = sj.kernels.native_status()
    assert status.available, status.reason
    assert status.reason is None and os.path.exists(status.library)


def graded(rng, shape, p):
    """Binary spikes, spike counts and negative graded values, ``p`` of them nonzero."""
    values = rng.choice(np.array([1.0, 2.5, -0.75, 3.0], np.float32), shape)
    return jnp.asarray(((rng.random(shape) < p) * values).astype(np.float32))


def product_and_grads(method, capacity):
    def run(x, w, g):
        y, vjp = jax.vjp(
            lambda x, w: layers.event_matmul(x, w, capacity=capacity, method=method), x, w
        )
        return (y, *vjp(g))

    return jax.jit(run)


@needs_native
@pytest.mark.parametrize(
    ("rows", "n_in", "n_out", "p"),
    # outputs past whole 64-wide tiles (130, 67, 3), inputs past 16-wide masks (70, 33, 3),
    # empty rows and inputs, all inputs active
    [
        (300, 70, 130, 0.1),
        (64, 700, 256, 0.05),
        (530, 40, 20, 0.1),  # three blocks of 256 rows in the weight gradient
        (40, 33, 67, 1.0),
        (7, 3, 3, 0.5),
        (0, 5, 3, 0.5),
        (6, 0, 4, 0.5),
    ],
)
def test_native_equals_the_xla_loop_bit_for_bit(rows, n_in, n_out, p):
    rng = np.random.default_rng(rows + n_in + n_out)
    x = graded(rng, (rows, n_in), p)
    w = jnp.asarray(rng.standard_normal((n_in, n_out)), jnp.float32)
    g = jnp.asarray(rng.standard_normal((rows, n_out)), jnp.float32)
    capacity = rows * n_in
    native = product_and_grads("native", capacity)(x, w, g)
    loop = product_and_grads("loop", capacity)(x, w, g)
    for name, a, b in zip(("y", "dx", "dw"), native, loop, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
    # and the kernels called directly
    np.testing.assert_array_equal(sj.kernels.event_matmul_cpu(x, w), native[0])
    np.testing.assert_array_equal(sj.kernels.event_wgrad_cpu(x, g), native[2])


@needs_native
def test_native_equals_the_dense_product_when_the_sums_are_exact():
    rng = np.random.default_rng(1)
    x = jnp.asarray((rng.random((500, 96)) < 0.2).astype(np.float32))
    w = jnp.asarray(rng.integers(-8, 9, (96, 80)) / 64, jnp.float32)
    g = jnp.asarray(rng.integers(-8, 9, (500, 80)) / 16, jnp.float32)
    np.testing.assert_array_equal(sj.kernels.event_matmul_cpu(x, w), np.asarray(x) @ np.asarray(w))
    np.testing.assert_array_equal(sj.kernels.event_wgrad_cpu(x, g), np.asarray(x).T @ np.asarray(g))


@needs_native
def test_native_under_vmap_and_the_dense_fallback():
    rng = np.random.default_rng(2)
    w = jnp.asarray(rng.integers(-8, 9, (45, 8)) / 64, jnp.float32)
    xs = jnp.stack(
        [jnp.asarray((rng.random((6, 45)) < p).astype(np.float32)) for p in (0, 0.05, 0.9)]
    )
    got = jax.jit(jax.vmap(lambda x: layers.event_matmul(x, w, capacity=30, method="native")))(xs)
    np.testing.assert_array_equal(got, jnp.einsum("bij,jk->bik", xs, w))


@needs_native
def test_auto_is_native_for_float32_on_the_cpu():
    assert layers.resolve_method("auto", jnp.float32) == "native"
    assert layers.resolve_method("auto", jnp.bfloat16) == "auto"  # the XLA loop
    assert layers.resolve_method("loop", jnp.float32) == "loop"
    fc = layers.EventLinear(45, 8, threshold=1.0, rngs=nnx.Rngs(0))
    loop = layers.EventLinear(45, 8, threshold=1.0, method="loop", rngs=nnx.Rngs(0))
    x = graded(np.random.default_rng(3), (10, 45), 0.1)
    np.testing.assert_array_equal(fc(x), loop(x))


def test_refusals_are_named():
    x, w = jnp.zeros((2, 4), jnp.bfloat16), jnp.zeros((4, 3), jnp.bfloat16)
    with pytest.raises(
        ValueError, match=r"`event_matmul`: `method='native'` runs float32 on the CPU; got bfloat16"
    ):
        layers.event_matmul(x, w, capacity=1, method="native")
    if not sj.kernels.native_status().available:
        return
    with pytest.raises(
        TypeError,
        match=r"`event_matmul_cpu`: `w` must be a 2-d float32 array; got bfloat16\[4, 3\]",
    ):
        sj.kernels.event_matmul_cpu(jnp.zeros((2, 4)), w)
    with pytest.raises(
        ValueError,
        match=r"`event_matmul_cpu`: `x` \[rows, in\] and `w` \[in, out\] must share `in`",
    ):
        sj.kernels.event_matmul_cpu(jnp.zeros((2, 5)), jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"`event_wgrad_cpu`: .* must share `rows`"):
        sj.kernels.event_wgrad_cpu(jnp.zeros((2, 5)), jnp.zeros((3, 3)))


@needs_native
@pytest.mark.parametrize(
    "shape",
    # one chunk, a partial one, several chunks of 2**18 entries, a scalar, an empty array
    [(7, 33), (3, 5, 2, 9), (2**18 * 3 + 5,), (), (0, 4)],
)
def test_count_nonzero_equals_jax(shape):
    rng = np.random.default_rng(len(shape))
    values = np.array([0.0, -0.0, 1.0, -2.5, np.nan, np.inf, 1e-40], np.float32)
    x = jnp.asarray(rng.choice(values, shape, p=[0.5, 0.2, 0.1, 0.1, 0.04, 0.04, 0.02]))
    got = jax.jit(sj.kernels.count_nonzero_cpu)(x)
    assert got.dtype == jnp.int32 and got.shape == ()
    assert int(got) == int(jnp.count_nonzero(x))  # NaN, inf and subnormals count, -0.0 does not


@needs_native
def test_count_nonzero_under_vmap_counts_each_member():
    x = jnp.asarray((np.random.default_rng(4).random((5, 30, 7)) < 0.2).astype(np.float32))
    np.testing.assert_array_equal(
        jax.vmap(sj.kernels.count_nonzero_cpu)(x), jnp.count_nonzero(x, axis=(1, 2))
    )


@needs_native
def test_count_nonzero_refusals_are_named():
    with pytest.raises(TypeError, match=r"`count_nonzero_cpu`: `x` must be a 1-d float32 array"):
        sj.kernels.count_nonzero_cpu(jnp.zeros(3, jnp.int32))
    too_many = jax.ShapeDtypeStruct((2**31,), jnp.float32)
    with pytest.raises(ValueError, match=r"`count_nonzero_cpu`: `x` may have at most 2147483647"):
        jax.eval_shape(sj.kernels.count_nonzero_cpu, too_many)


PROBE = textwrap.dedent(
    """
    import json, jax.numpy as jnp, numpy as np
    import spikejax as sj
    from spikejax import layers
    status = sj.kernels.native_status()
    rng = np.random.default_rng(0)
    x = jnp.asarray((rng.random((20, 30)) < 0.2) * 1.5, jnp.float32)
    w = jnp.asarray(rng.standard_normal((30, 7)), jnp.float32)
    y = layers.event_matmul(x, w, capacity=600)
    loop = layers.event_matmul(x, w, capacity=600, method="loop")
    try:
        layers.event_matmul(x, w, capacity=600, method="native")
        refused = None
    except ValueError as error:
        refused = str(error)
    print(json.dumps({
        "available": status.available, "reason": status.reason,
        "built": status.command is not None, "method": layers.resolve_method("auto", x.dtype),
        "same": bool((y == loop).all()), "refused": refused,
    }))
    """
)


def probe(tmp_path, **env):
    inherited = {k: v for k, v in os.environ.items() if k not in ("SPIKEJAX_NATIVE", "CXX")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**inherited, "SPIKEJAX_CACHE_DIR": str(tmp_path / "cache"), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_turned_off_the_xla_loop_runs_with_the_same_results(tmp_path):
    out = probe(tmp_path, SPIKEJAX_NATIVE="0")
    assert out["available"] is False and "SPIKEJAX_NATIVE=0" in out["reason"]
    assert out["method"] == "auto" and out["same"]
    assert "`method='native'`: the C++ CPU kernels are not available: turned off" in out["refused"]


def test_a_failed_build_is_reported_and_the_xla_loop_runs(tmp_path):
    fake = tmp_path / "fake-c++"
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = --version ]; then echo fake 1.0; exit 0; fi\n'
        'echo "event_matmul.cc:1: error: no compiling today" >&2; exit 1\n'
    )
    fake.chmod(0o755)
    out = probe(tmp_path, CXX=str(fake))
    assert out["available"] is False
    assert "failed" in out["reason"] and "error: no compiling today" in out["reason"]
    assert out["method"] == "auto" and out["same"]
    assert not list((tmp_path / "cache" / "native").iterdir())  # no partial library left


@pytest.mark.skipif(not COMPILER, reason="no C++ compiler on this machine")
def test_built_once_then_loaded_from_the_cache(tmp_path):
    first, second = probe(tmp_path), probe(tmp_path)
    assert first["available"] and first["built"] and first["same"]
    assert second["available"] and not second["built"] and second["same"]
    assert len(list((tmp_path / "cache" / "native").iterdir())) == 1
