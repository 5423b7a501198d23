"""Online gradients (OTTT, e-prop): equal to BPTT where theory says they must, forward equal to
the model's own call, memory independent of T, unsupported models refused by layer name."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import layers
from spikejax.online import OnlineGradient, ce_step

T, B, F_IN, HIDDEN, K = 10, 3, 5, 6, 3


class OneLayer(nnx.Module):
    """Input → Linear → Spiking → Linear readout (memoryless): the case e-prop is exact for."""

    def __init__(self, neuron, *, rngs, readout=None):
        self.fc = nnx.Linear(F_IN, HIDDEN, rngs=rngs)
        self.sn = layers.Spiking(neuron, trainable=())
        self.out = nnx.Linear(HIDDEN, K, rngs=rngs)
        self.li = None if readout is None else layers.Spiking(readout, trainable=())

    def __call__(self, x):
        y = self.out(self.sn(self.fc(x)))
        return y if self.li is None else self.li(y)


def lif(detach_reset, reset=sj.neurons.Reset.SUBTRACT):
    return sj.neurons.LIF(
        beta=jnp.full((HIDDEN,), 0.8),
        threshold=jnp.full((HIDDEN,), 0.4),
        detach_reset=detach_reset,
        reset=reset,
    )


NEURONS = {
    "lif_reset_in_graph": lif(False),
    "cuba": sj.neurons.CubaLIF(
        alpha=jnp.full((HIDDEN,), 0.7), beta=jnp.full((HIDDEN,), 0.8), threshold=0.4
    ),
    "alif": sj.neurons.ALIF(beta=jnp.full((HIDDEN,), 0.8), threshold=0.4, rho=0.9, gamma=0.3),
}


def inputs():
    xs = 1.5 * jr.uniform(jr.key(1), (T, B, F_IN))
    return xs, jnp.array([0, 1, 2])


def bptt(model, xs, ys):
    """The reference: reverse mode through the whole run, the same mean of per-step losses."""

    def loss_fn(model):
        outputs = model(xs)
        return jnp.mean(jax.vmap(lambda o: ce_step(o, ys))(outputs))

    return nnx.value_and_grad(loss_fn)(model)


def leaves(grads):
    return {
        (layer, name): np.asarray(grads[layer][name][...])
        for layer in ("fc", "out")
        for name in ("kernel", "bias")
    }


@pytest.mark.parametrize("name", sorted(NEURONS))
def test_eprop_equals_bptt_on_one_layer_with_a_linear_readout(name):
    """Condition: one layer of element-wise neurons, a memoryless Linear readout, a loss that is
    a sum of per-step terms, neuron parameters fixed. Then e-prop's eligibility vectors are the
    exact derivatives of the layer's state and e-prop's gradient is BPTT's, whatever the reset
    (in the graph or detached) and however many state variables the neuron has."""
    model = OneLayer(NEURONS[name], rngs=nnx.Rngs(0))
    xs, ys = inputs()
    loss, grads = bptt(model, xs, ys)
    result = OnlineGradient(model, xs, method="eprop").value_and_grad(model, xs, ys)
    np.testing.assert_allclose(result.loss, loss, rtol=1e-6)
    np.testing.assert_allclose(result.outputs, model(xs), rtol=1e-5, atol=1e-6)
    want = leaves(grads)
    assert max(np.abs(g).max() for g in want.values()) > 1e-3  # the test is not vacuous
    for key, value in leaves(result.grads).items():
        np.testing.assert_allclose(value, want[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_ottt_equals_bptt_when_its_trace_is_the_neurons_leak_and_the_reset_is_detached():
    """OTTT drops the reset and the surrogate's history: with a detached reset, the leak as the
    trace decay and a memoryless readout, nothing is dropped and OTTT equals BPTT; with the reset
    in the graph it differs (so the comparison can fail)."""
    xs, ys = inputs()
    for detach, equal in ((True, True), (False, False)):
        model = OneLayer(lif(detach), rngs=nnx.Rngs(0))
        _, grads = bptt(model, xs, ys)
        online = OnlineGradient(model, xs, method="ottt", decay=0.8)
        got, want = leaves(online.value_and_grad(model, xs, ys).grads), leaves(grads)
        close = np.allclose(got[("fc", "kernel")], want[("fc", "kernel")], rtol=1e-4, atol=1e-6)
        assert close == equal, detach


class TwoLayers(nnx.Module):
    """Input → Linear → LIF → Linear → LIF → Linear → LI: credit through the second layer's state
    is what e-prop drops."""

    def __init__(self, *, rngs):
        self.fc = nnx.Linear(F_IN, HIDDEN, rngs=rngs)
        self.sn = layers.Spiking(lif(True), trainable=())
        self.fc2 = nnx.Linear(HIDDEN, HIDDEN, rngs=rngs)
        self.sn2 = layers.Spiking(lif(True), trainable=())
        self.out = nnx.Linear(HIDDEN, K, rngs=rngs)
        self.li = layers.Spiking(sj.neurons.LI(beta=jnp.full((K,), 0.9)), trainable=())

    def __call__(self, x):
        return self.li(self.out(self.sn2(self.fc2(self.sn(self.fc(x))))))


@pytest.mark.parametrize("decay_input", [False, True])
def test_eprop_with_the_readout_filter_equals_bptt_on_one_layer_with_a_leaky_readout(decay_input):
    """Condition: one layer of element-wise neurons, a leaky LI readout ``y_t = κ y_{t-1} + c I_t``
    (c = 1, or 1 - κ with ``decay_input``). The readout integrates the spikes linearly, so
    ``∂L/∂z_t = Σ_{t'≥t} κ^{t'-t} L_{t'}`` and the eligibility trace filtered with κ,
    ``ē_t = κ ē_{t-1} + e_t``, gives BPTT's gradient ``Σ_t L_t · ē_t`` exactly. Without the filter
    (the instantaneous signal of a memoryless readout) the hidden kernel's gradient differs."""
    readout = sj.neurons.LI(beta=jnp.full((K,), 0.9), decay_input=decay_input)
    model = OneLayer(lif(False), rngs=nnx.Rngs(0), readout=readout)
    xs, ys = inputs()
    _, grads = bptt(model, xs, ys)
    online = OnlineGradient(model, xs, method="eprop")
    assert online.kappa == pytest.approx(0.9) and online.filtered == {"fc": "sn"}
    got, want = leaves(online.value_and_grad(model, xs, ys).grads), leaves(grads)
    assert np.abs(want[("fc", "kernel")]).max() > 1e-3
    for key, value in got.items():
        np.testing.assert_allclose(value, want[key], rtol=1e-4, atol=1e-6, err_msg=key)
    online.filtered = {}  # the unfiltered form: the readout's memory is dropped
    unfiltered = leaves(online.value_and_grad(model, xs, ys).grads)
    assert not np.allclose(unfiltered[("fc", "kernel")], want[("fc", "kernel")], rtol=1e-3)


def test_a_second_layer_makes_eprop_approximate():
    """Where theory says e-prop drops credit (through a later layer's state), it differs from
    BPTT for the first layer but stays exact for the last linear layer, and points the same way
    (positive cosine)."""
    model = TwoLayers(rngs=nnx.Rngs(0))
    xs, ys = inputs()
    _, grads = bptt(model, xs, ys)
    online = OnlineGradient(model, xs, method="eprop")
    assert online.filtered == {"fc": "sn", "fc2": "sn2"}
    got = online.value_and_grad(model, xs, ys).grads
    a, b = np.asarray(got["fc"]["kernel"][...]).ravel(), np.asarray(grads["fc"]["kernel"][...])
    b = b.ravel()
    assert not np.allclose(a, b, rtol=1e-3)
    assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) > 0.5
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(
            got["out"][name][...], grads["out"][name][...], rtol=1e-4, atol=1e-6
        )


def test_memory_does_not_grow_with_t():
    """lif_mlp: the compiled temporary memory of the online gradient is the same for T = 4 and
    T = 32 while BPTT's grows with T."""
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), hidden=(16,), in_features=8)
    ys = jnp.arange(4) % 10

    graphdef, state = nnx.split(model)

    def temp_bytes(fn, xs):
        compiled = jax.jit(lambda s, xs: fn(nnx.merge(graphdef, s), xs)).lower(state, xs).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    sizes = {}
    for steps in (4, 32):
        xs = jr.uniform(jr.key(2), (steps, 4, 8))
        online = OnlineGradient(model, xs, method="eprop")
        sizes[steps] = (
            temp_bytes(lambda m, xs, o=online: o.value_and_grad(m, xs, ys).grads, xs),
            temp_bytes(lambda m, xs: bptt(m, xs, ys)[1], xs),
        )
    assert sizes[32][0] == sizes[4][0]
    assert sizes[32][1] > 4 * sizes[4][1]


def test_unsupported_models_are_refused_naming_the_layer():
    xs, _ = inputs()
    model = sj.models.create(
        "lif_mlp", rngs=nnx.Rngs(0), hidden=(4,), in_features=F_IN, dropout=0.2
    )
    with pytest.raises(ValueError, match=r"layer `blocks\.0\.dropout.*not supported"):
        OnlineGradient(model, xs, method="eprop")
    with pytest.raises(ValueError, match=r"`method` must be one of \('ottt', 'eprop'\)"):
        OnlineGradient(OneLayer(lif(True), rngs=nnx.Rngs(0)), xs, method="bptt")
    per_neuron = sj.neurons.LIF(beta=jnp.linspace(0.5, 0.9, HIDDEN))
    with pytest.raises(ValueError, match=r"layer `sn` \(LIF\) has a per-neuron decay"):
        OnlineGradient(OneLayer(per_neuron, rngs=nnx.Rngs(0)), xs, method="ottt")
    alif = OneLayer(NEURONS["alif"], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"layer `sn` \(ALIF\) has no single membrane decay"):
        OnlineGradient(alif, xs, method="ottt")
    with pytest.raises(ValueError, match=r"`decay` must be None or a number in \[0, 1\]; got 1.5"):
        OnlineGradient(alif, xs, method="ottt", decay=1.5)
    per_class = sj.neurons.LI(beta=jnp.linspace(0.5, 0.9, K))
    with pytest.raises(ValueError, match=r"leak κ of readout layer `li` \(LI\), which must be one"):
        OnlineGradient(OneLayer(lif(True), rngs=nnx.Rngs(0), readout=per_class), xs, method="eprop")
    trained = OneLayer(lif(True), rngs=nnx.Rngs(0), readout=sj.neurons.LI(beta=0.9))
    trained.li = layers.Spiking(sj.neurons.LI(beta=jnp.full((K,), 0.9)), trainable=("beta",))
    with pytest.raises(ValueError, match=r"readout layer `li` \(LI\), which must stay fixed"):
        OnlineGradient(trained, xs, method="eprop")
