"""Every zoo entry, forward and backward at a tiny size: output shape, binary spikes, residual
bounds, finite and non-zero gradients for every parameter.

Each entry is built with its own defaults (block type, connect function, neuron, stem, attention
order and scale, q/k/v biases, pools, classes) and only widths, depths, image sizes and ``T``
shrunk. Entries whose tiny configurations coincide (``sew_resnet18`` and ``sew_resnet34`` with one
block per stage) have equal graph definitions and share one compiled executable.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spikejax import layers, models, neurons

FAST = {"xla_backend_optimization_level": 0}  # compile time dominates on a CPU
# Four steps: LIF and PLIF (k = 1/2) need two or more steps of strong input to fire, and batch
# norm over few values bounds the input; with T = 2 whole layers of a tiny network stay silent.
T, BATCH = 4, 2


def tiny(name):
    """Overrides that shrink ``name`` while keeping its code path."""
    meta = models.info(name)
    if meta.family == "sew_resnet":
        overrides = dict(width=2, image_size=16, layers=(1, 1, 1, 1), T=T)
        if meta.config["groups"] > 1:  # ResNeXt: group width ⌊w·width_per_group/64⌋·groups ≥ 1
            overrides.update(width=16, groups=4)
        return overrides
    if meta.family == "sew_dvs":
        # two blocks in the first stage, so that the residual bounds grow within a stage
        blocks, size = ((2,), 4) if len(meta.config["blocks"]) == 1 else ((2, 1), 8)
        return dict(width=2, blocks=blocks, image_size=size, T=T)
    if meta.family == "spikformer":
        # attn_scale 1: with a few sparse tokens the attention neuron (threshold 0.5) would stay
        # silent at the published scales, and so would the gradients of the projection after it.
        return dict(depth=1, embed_dim=16, num_heads=2, image_size=32, attn_scale=1.0, T=T)
    if name == "lif_mlp":
        return dict(in_features=12, hidden=(8,), T=T)
    return dict(channels=(2, 3), image_size=8, hidden=(5,), T=T)


def inputs_for(meta):
    """A batch of the entry's input layout: static images if it takes them, else time-major."""
    layout = (BATCH,) if "static" in meta.inputs else (T, BATCH)
    return jax.random.uniform(jax.random.key(0), (*layout, *meta.input_shape), jnp.float32, 0, 2)


TRACES = []  # graph definitions forward_backward was traced for


@functools.partial(jax.jit, static_argnums=0, compiler_options=FAST)
def forward_backward(graphdef, params, rest, x):
    """Gradients of every parameter, logits and the recording, in one compiled call (cached per
    graph definition)."""
    TRACES.append(graphdef)

    def loss(model):
        logits, rec = models.record(model, x)
        return jnp.mean(logits**2), (logits, rec)

    model = nnx.merge(graphdef, params, rest)
    grads, (logits, rec) = nnx.grad(loss, has_aux=True)(model)  # with respect to nnx.Param
    return grads, logits, rec


def binary(a):
    a = np.asarray(a, np.float32)
    return bool(np.all((a == 0) | (a == 1)))


def integer_valued(a):
    a = np.asarray(a, np.float32)
    return bool(np.all(a == np.round(a)))


def check_residual_bounds(meta, residuals):
    if meta.family == "spikformer":
        # X0 ∈ [0, 2]; each residual add of spikes raises the bound by one: 2 + 2l after block l.
        # Join nodes: "patch_embed.add" (X0), "blocks.<l>.add" (after SSA), "blocks.<l>.add_1".
        for path, out in residuals.items():
            if path == "patch_embed.add":
                bound = 2
            else:
                _, block, join = path.split(".")
                bound = 2 + 2 * int(block) + (1 if join == "add" else 2)
            assert integer_valued(out) and out.min() >= 0 and out.max() <= bound, path
        return
    for path, out in residuals.items():  # SEW ADD: block j (0-based) of a stage in [0, j + 2]
        block, join = path.rsplit(".", 1)  # the join node of block `block`: add, mul (AND, IAND)
        assert join == {"add": "add", "and": "mul", "iand": "mul"}[meta.config["connect"]], path
        j = int(block.rsplit(".", 1)[1])
        if meta.config["connect"] != "add":
            assert binary(out), path
        else:
            assert integer_valued(out) and out.min() >= 0 and out.max() <= j + 2, path


@pytest.mark.parametrize("name", models.available())
def test_forward_backward(name):
    overrides = tiny(name)
    meta = models.info(name, **overrides)
    model = models.create(name, rngs=nnx.Rngs(jax.random.key(0, impl="rbg")), **overrides)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    grads, logits, rec = forward_backward(graphdef, params, rest, inputs_for(meta))

    expected = (BATCH, meta.num_classes) if meta.family != "small" else (T, BATCH, meta.num_classes)
    assert logits.shape == expected and bool(jnp.all(jnp.isfinite(logits)))
    # Every spiking layer (all but a leaky-integrator readout) reported 0/1 spikes.
    spiking = [
        m
        for _, m in nnx.iter_modules(model)
        if isinstance(m, layers.Spiking) and not isinstance(m.neuron, neurons.LI)
    ]
    assert len(rec.spikes) == len(spiking) > 0
    for path, s in rec.spikes.items():
        assert s.shape[:2] == (T, BATCH) and binary(s), path
    assert sum(float(s.sum()) for s in rec.spikes.values()) > 0  # not silent
    check_residual_bounds(meta, rec.residuals)
    # Every parameter gets a finite gradient, and none is identically zero.
    flat = nnx.to_flat_state(grads)
    assert len(flat) == len(nnx.to_flat_state(params)) > 0
    for path, g in flat:
        g = np.asarray(g.get_value())
        assert np.all(np.isfinite(g)) and np.any(g != 0), path


@pytest.mark.parametrize("name", ["sew_7bnet_dvs128", "spikformer_2_256_dvs128"])
def test_fresh_builds_and_new_batches_reuse_the_compiled_step(name):
    # Equal graph definitions for every build of an entry: a training step compiled once serves
    # a freshly built (or restored) model and every new batch of the same shape.
    overrides = tiny(name)
    meta = models.info(name, **overrides)
    runs = []
    for seed in (1, 2):
        model = models.create(name, rngs=nnx.Rngs(jax.random.key(seed, impl="rbg")), **overrides)
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        x = inputs_for(meta) * seed
        runs.append(forward_backward(graphdef, params, rest, x))
        if seed == 1:
            traced = len(TRACES)
    assert len(TRACES) == traced  # no new trace, so no new compilation
    assert not np.array_equal(runs[0][1], runs[1][1])  # other weights and inputs, other logits
