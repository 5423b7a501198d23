"""The network graph: nodes as executed, edges, counts, the public declaration protocol, errors,
and the consumers that read it (energy, chip) — through public names only."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers


class ConvNet(nnx.Module):
    """conv → BN → LIF → 2×2 max-pool → flatten → MLP head (Linear → LIF → Linear → LI).

    Attribute names sort against the call order (``z_conv`` runs first, ``a_head`` last), and
    the head's own attributes too (``z_fc`` before ``a_fc``)."""

    def __init__(self, rngs):
        self.z_conv = layers.TimeFolded(nnx.Conv(2, 4, (3, 3), use_bias=False, rngs=rngs))
        self.y_bn = layers.SeqBatchNorm(4, rngs=rngs)
        self.x_lif = layers.Spiking(sj.neurons.LIF(beta=0.9, threshold=0.5))
        self.w_pool = layers.TimeFolded(
            functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2))
        )
        self.a_head = Head(rngs)

    def __call__(self, x):
        s = self.w_pool(self.x_lif(self.y_bn(self.z_conv(x))))
        return self.a_head(s.reshape((*s.shape[:2], -1)))


class Head(nnx.Module):
    def __init__(self, rngs):
        self.z_fc = nnx.Linear(64, 16, rngs=rngs)
        self.q_lif = layers.Spiking(sj.neurons.LIF(beta=0.8), trainable=("beta",))
        self.a_fc = nnx.Linear(16, 3, rngs=rngs)
        self.b_out = layers.Spiking(sj.neurons.LI(beta=0.9))

    def __call__(self, x):
        return self.b_out(self.a_fc(self.q_lif(self.z_fc(x))))


T, B = 4, 3


def frames(seed=0):
    return jax.random.bernoulli(jax.random.key(seed), 0.4, (T, B, 8, 8, 2)).astype(jnp.float32)


def train_three_steps(model):
    """A user's own loop: nnx.Optimizer under nnx.jit, loss on the summed readout."""
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    labels = jnp.array([0, 1, 2])

    @nnx.jit
    def step(model, optimizer, x):
        def loss_fn(model):
            logits = model(x).mean(0)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        with jax.numpy_dtype_promotion("standard"):
            optimizer.update(model, grads)
        return loss

    return [float(step(model, optimizer, frames(i))) for i in range(3)]


def test_a_user_conv_snn_end_to_end_with_public_names(capsys):
    model = ConvNet(nnx.Rngs(0))
    cm_before = sj.chip.quantize(model.a_head, "loihi")
    losses = train_three_steps(model)
    assert all(np.isfinite(losses))
    graph = sj.graph.trace(model, frames())
    print(graph)
    table = capsys.readouterr().out
    names = [n.name for n in graph]
    assert names == [
        "z_conv.module",
        "y_bn",
        "x_lif",
        "w_pool.max_pool",
        "flatten",
        "a_head.z_fc",
        "a_head.q_lif",
        "a_head.a_fc",
        "a_head.b_out",
    ]
    for name in names:
        assert name in table
    assert "MACs/step" in table and "binary" in table
    report = sj.energy.estimate(model, frames(5))
    assert [r.name for r in report.rows] == ["z_conv.module", "a_head.z_fc", "a_head.a_fc"]
    assert report.rows[1].binary and report.rows[1].op == "ac"  # pooled spikes are binary
    cm_after = sj.chip.quantize(model.a_head, "loihi")
    for cm in (cm_before, cm_after):  # the call order, not the attribute order
        assert [layer.spec.kernel for layer in cm.layers] == ["z_fc.kernel", "a_fc.kernel"]
        assert cm.sizes == (64, 16, 3)


def test_nodes_shapes_edges_params_and_macs():
    model = ConvNet(nnx.Rngs(0))
    g = sj.graph.trace(model, frames())
    assert (g.T, g.batch, g.input_shape) == (T, B, (T, B, 8, 8, 2))
    conv, bn, lif, pool, flat, fc1, lif1, fc2, out = g.nodes
    assert (conv.kind, conv.op, conv.path, conv.inputs) == (
        "conv",
        "Conv",
        "z_conv.module",
        ("input",),
    )
    assert conv.out_shape == (T, B, 8, 8, 4) and conv.in_shapes == ((T, B, 8, 8, 2),)
    assert conv.macs == 8 * 8 * 9 * 2 * 4 and conv.params == 9 * 2 * 4
    assert conv.attrs["kernel"] == (3, 3) and conv.attrs["padding"] == ((1, 1), (1, 1))
    assert (bn.kind, bn.params, bn.macs) == ("norm", 8, 0)
    assert "y_bn.norm.mean" in bn.param_paths  # batch statistics are read too
    assert (lif.kind, lif.op, lif.attrs["spiking"], lif.params) == ("neuron", "LIF", True, 0)
    assert lif.param_paths == ("x_lif.params.beta", "x_lif.params.threshold")
    assert (pool.kind, pool.op, pool.attrs["window"], pool.attrs["strides"]) == (
        "pool",
        "max_pool",
        (2, 2),
        (2, 2),
    )
    assert pool.out_shape == (T, B, 4, 4, 4) and pool.binary_input
    assert (flat.kind, flat.op, flat.out_shape) == ("reshape", "flatten", (T, B, 64))
    assert fc1.inputs == ("flatten",) and fc1.binary_input and fc1.macs == 64 * 16
    assert lif1.params == 1 and fc2.params == 16 * 3 + 3 and fc2.binary_input
    assert out.op == "LI" and not out.attrs["spiking"] and g.outputs == ("a_head.b_out",)
    assert g.params == sum(n.params for n in g) == 72 + 8 + 64 * 16 + 16 + 1 + 51
    assert g.params == sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert g.macs == conv.macs + fc1.macs + fc2.macs
    assert ("w_pool.max_pool", "flatten") in g.edges
    assert [n.name for n in g.synaptic] == ["z_conv.module", "a_head.z_fc", "a_head.a_fc"]


class Residual(nnx.Module):
    """x → fc1 → LIF → + x (a skip connection) → fc2 → recurrent LIF → sum over time."""

    def __init__(self, rngs):
        self.fc1 = layers.TimeFolded(nnx.Linear(5, 5, rngs=rngs))
        self.sn1 = layers.Spiking(sj.neurons.IF())
        self.fc2 = layers.TimeFolded(nnx.Linear(5, 4, rngs=rngs))
        rec = sj.neurons.Recurrent(sj.neurons.LIF(beta=0.9), jnp.zeros((4, 4)))
        self.sn2 = layers.Spiking(rec)

    def __call__(self, x):
        y = self.sn1(self.fc1(x)) + x
        return self.sn2(self.fc2(y)).sum(0)


def test_skip_connections_recurrence_and_readout_are_edges():
    g = sj.graph.trace(Residual(nnx.Rngs(0)), jnp.ones((3, 2, 5)))
    add = g["add"]
    assert add.kind == "join" and set(add.inputs) == {"sn1", "input"}
    assert ("input", "add") in g.edges and ("sn1", "add") in g.edges
    sn2 = g["sn2"]
    assert sn2.recurrent and ("sn2", "sn2") in g.edges
    assert sn2.params == 16 + 0  # the recurrent weights (β is fixed)
    readout = g["sum"]
    assert (readout.kind, readout.inputs, readout.out_shape) == ("readout", ("sn2",), (2, 4))
    assert not g["fc2.module"].binary_input  # the sum of spikes and the input is not binary
    assert g["sn2"].macs == 16  # s_{t-1} W per step


def test_zoo_graphs_count_what_the_configuration_counts():
    for name, overrides in [
        ("lif_mlp", {}),
        ("conv_snn", {}),
        ("sew_7bnet_dvs128", {"width": 2}),
        ("spikformer_2_256_dvs128", {"embed_dim": 32, "num_heads": 2}),
    ]:
        model = nnx.eval_shape(
            lambda n=name, o=overrides: sj.models.create(n, rngs=nnx.Rngs(0), **o)
        )
        g = sj.graph.trace(
            model, jax.ShapeDtypeStruct((model.T, 3, *model.image_shape), model.dtype)
        )
        assert g.params == sj.models.count_params(name, **overrides), name
        assert {n.name: n.macs for n in g.synaptic} == sj.models.macs_per_step(name, **overrides)


def test_record_is_the_model_call_with_its_state_updates():
    model = ConvNet(nnx.Rngs(0))
    twin = ConvNet(nnx.Rngs(0))
    x = frames(3)
    expected = twin(x)
    out, rec = sj.graph.record(model, x)
    np.testing.assert_array_equal(out, expected)
    for a, b in zip(
        jax.tree.leaves(nnx.state(model)), jax.tree.leaves(nnx.state(twin)), strict=True
    ):
        np.testing.assert_array_equal(a, b)  # batch statistics moved exactly as in the call
    assert set(rec.spikes) == {"x_lif", "a_head.q_lif"}
    assert rec.synapse_inputs["z_conv.module"].shape == (T, B, 8, 8, 2)
    np.testing.assert_array_equal(rec.synapse_inputs["z_conv.module"], x)
    assert rec.graph == sj.graph.trace(model, x)


def test_a_declared_node_takes_its_arguments_in_order():
    class Product(sj.graph.AbstractNode):
        def __call__(self, a, b):
            return jnp.swapaxes(b, -1, -2) @ a  # uses b first

        def graph_node(self):
            return sj.graph.NodeSpec("attention", {"order": "custom"})

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.fa = layers.TimeFolded(nnx.Linear(3, 4, rngs=rngs))
            self.fb = layers.TimeFolded(nnx.Linear(3, 4, rngs=rngs))
            self.product = Product()

        def __call__(self, x):
            return self.product(self.fa(x)[..., None], self.fb(x)[..., None])

    g = sj.graph.trace(Net(nnx.Rngs(0)), jnp.ones((2, 3, 3)))
    node = g["product"]
    assert node.inputs == ("fa.module", "fb.module") and node.kind == "attention"
    assert node.macs == 4  # one 1×4 by 4×1 product per sample and step


# ---------------------------------------------------------------------------------- errors


def test_errors_name_the_module_and_say_what_to_do():
    model = ConvNet(nnx.Rngs(0))
    with pytest.raises(
        ValueError,
        match=r"`trace`: calling the model failed in module `z_conv.module` \(Conv\) with an "
        r"example input of shape \(4, 3, 8, 8, 5\)",
    ):
        sj.graph.trace(model, jnp.ones((T, B, 8, 8, 5)))
    with pytest.raises(ValueError, match=r"`trace`: `example_input` must have a batch axis"):
        sj.graph.trace(model, jnp.ones((8,)))
    with pytest.raises(TypeError, match=r"`trace`: `model` must be an nnx.Module"):
        sj.graph.trace(lambda x: x, jnp.ones((2, 2)))

    class Branchy(nnx.Module):
        def __init__(self, rngs):
            self.fc = nnx.Linear(3, 3, rngs=rngs)

        def __call__(self, x):
            return self.fc(x) if x.sum() > 0 else x

    with pytest.raises(ValueError, match=r"module `<root>` \(Branchy\) uses Python control flow"):
        sj.graph.trace(Branchy(nnx.Rngs(0)), jnp.ones((2, 3, 3)))

    class OwnWeights(nnx.Module):
        def __init__(self):
            self.w = nnx.Param(jnp.ones((3, 3)))

        def __call__(self, x):
            return x @ self.w[...]

    with pytest.raises(
        ValueError,
        match=r"module `<root>` \(OwnWeights\) computes `dot_general` with its variables "
        r"\['w'\].*subclass spikejax.graph.AbstractNode",
    ):
        sj.graph.trace(OwnWeights(), jnp.ones((2, 3, 3)))

    class Bad(sj.graph.AbstractNode):
        def __call__(self, x):
            return x

        def graph_node(self):
            return sj.graph.NodeSpec("magic")

    with pytest.raises(
        TypeError,
        match=r"graph_node\(\)` must return a spikejax.graph.NodeSpec whose kind is one of",
    ):
        sj.graph.trace(Bad(), jnp.ones((2, 3, 3)))


def test_tracing_restores_the_module_classes():
    before = nnx.Linear.__call__
    with pytest.raises(ValueError):
        sj.graph.trace(ConvNet(nnx.Rngs(0)), jnp.ones((T, B, 8, 8, 5)))
    sj.graph.trace(ConvNet(nnx.Rngs(0)), frames())
    assert nnx.Linear.__call__ is before


def test_a_chip_refuses_a_zoo_model_by_the_node_it_cannot_map():
    model = sj.models.create("conv_snn", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"module `blocks.0.sn` is a conv synapse .* xylo"):
        sj.chip.quantize(model, "xylo")
    sew = sj.models.create("sew_7bnet_dvs128", rngs=nnx.Rngs(0), width=2, blocks=(2,), image_size=4)
    with pytest.raises(ValueError, match=r"module `stem.sn` is a neuron \(PLIF\).* loihi"):
        sj.chip.quantize(sew, "loihi")
