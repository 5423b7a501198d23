"""``train.gradient``: tbptt, ottt and eprop in the compiled training step, next to bptt."""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax.config import Config, OptimizerConfig, TrainConfig
from spikejax.train import Steps, build_optimizer

T, B, F = 4, 8, 8


@functools.cache
def one_step(gradient, **options):
    """The model's parameters after one SGD step with ``gradient``, and the step's metrics."""
    train = TrainConfig(loss="tet", gradient=gradient, gradient_options=options, batch_size=B)
    config = Config(train=train, optimizer=OptimizerConfig("sgd", lr=0.5))
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(0), in_features=F, hidden=(8,))
    tx, schedule = build_optimizer(config.optimizer, 10)
    steps = Steps(config, model, tx, schedule, lambda x, key: x)
    xs = jr.uniform(jr.key(3), (T, B, F)) * 1.5
    state, metrics = steps.train_step(
        steps.initial_state, xs, jnp.arange(B) % 10, jnp.asarray(0, jnp.int32)
    )
    params = nnx.to_pure_dict(nnx.state(nnx.merge(steps.train_graphdef, state["model"]), nnx.Param))
    return params, metrics


def kernel(params):
    return np.asarray(params["blocks"][0]["fc"]["kernel"])


def test_truncated_bptt_with_a_window_of_t_is_bptt_and_a_shorter_one_differs():
    bptt, metrics = one_step("bptt")
    whole, whole_metrics = one_step("tbptt", window=T)
    cut, _ = one_step("tbptt", window=3)  # a window of 3 and a remainder of 1
    np.testing.assert_allclose(whole_metrics["loss"], metrics["loss"], rtol=1e-6)
    np.testing.assert_allclose(kernel(whole), kernel(bptt), rtol=1e-5, atol=1e-7)
    assert not np.allclose(kernel(cut), kernel(bptt), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("gradient", ["eprop", "ottt"])
def test_online_gradients_train_in_the_compiled_step(gradient):
    """One step: the loss is BPTT's (the same objective), the parameters move, and the firing
    rates are reported under the same names as with BPTT."""
    bptt, metrics = one_step("bptt")
    params, online = one_step(gradient, **({"decay": 0.9} if gradient == "ottt" else {}))
    np.testing.assert_allclose(online["loss"], metrics["loss"], rtol=1e-5)
    assert sorted(online) == sorted(metrics)
    assert 0 < float(online["grad_norm"]) < 10 * float(metrics["grad_norm"])
    # Same objective, a different gradient: close to BPTT's step but not equal.
    assert not np.array_equal(kernel(params), kernel(bptt))


def test_bad_gradient_settings_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`TrainConfig`: `loss` must be 'tet' .* got 'ce_count'"):
        TrainConfig(loss="ce_count", gradient="eprop")
    with pytest.raises(ValueError, match=r"`gradient` must be one of \('bptt', 'tbptt'"):
        TrainConfig(loss="tet", gradient="rtrl")
    with pytest.raises(ValueError, match=r"gradient_options\['window'\]` must be an int >= 1"):
        one_step("tbptt")
    with pytest.raises(ValueError, match=r"gradient_options` of gradient 'eprop' must be among"):
        one_step("eprop", window=2)


def test_the_gradient_is_written_to_config_json_only_when_not_bptt():
    """Runs made before ``train.gradient`` existed keep their configuration and its hash."""
    from spikejax.config import from_dict, to_dict

    plain = Config(train=TrainConfig(loss="tet"))
    assert "gradient" not in to_dict(plain)["train"] and from_dict(to_dict(plain)) == plain
    online = Config(train=TrainConfig(loss="tet", gradient="ottt", gradient_options={"decay": 0.8}))
    data = to_dict(online)
    assert data["train"]["gradient"] == "ottt" and from_dict(data) == online


class NormNet(nnx.Module):
    """Linear → SeqBatchNorm → LIF → Linear → LI; counts how often it is traced or called."""

    calls = 0

    def __init__(self, *, rngs):
        self.fc = nnx.Linear(F, 8, rngs=rngs)
        self.norm = sj.layers.SeqBatchNorm(8, rngs=rngs)
        self.sn = sj.layers.Spiking(sj.neurons.LIF(beta=0.9))
        self.out = nnx.Linear(8, 10, rngs=rngs)
        self.li = sj.layers.Spiking(sj.neurons.LI(beta=0.9))

    def __call__(self, x):
        NormNet.calls += 1
        return self.li(self.out(self.sn(self.norm(self.fc(x)))))


@pytest.mark.parametrize("gradient", ["eprop", "ottt"])
def test_batch_statistics_are_refused_by_layer_before_anything_compiles(gradient):
    """Batch norm in training mode takes its statistics over all T·B samples of a sequence: an
    online method cannot form them one step at a time. The training step refuses the model when
    it is built (the model was never called, so nothing was traced or compiled), and so does
    `OnlineGradient` for a model in training mode, naming the layer's path."""
    config = Config(train=TrainConfig(loss="tet", gradient=gradient, batch_size=B))
    model = NormNet(rngs=nnx.Rngs(0))
    tx, schedule = build_optimizer(config.optimizer, 10)
    NormNet.calls = 0
    with pytest.raises(ValueError, match=r"`Steps`: layer `norm` \(SeqBatchNorm\) normalises "):
        Steps(config, model, tx, schedule, lambda x, key: x)
    assert NormNet.calls == 0
    xs = jnp.ones((T, B, F))
    with pytest.raises(ValueError, match=r"layer `norm` \(SeqBatchNorm\) .*T·B samples"):
        sj.online.OnlineGradient(model, xs, method=gradient)
    assert NormNet.calls == 0
    model.eval()  # running statistics: refused as a layer online methods do not support
    with pytest.raises(ValueError, match=r"layer `norm` \(SeqBatchNorm, kind 'norm'\) is not"):
        sj.online.OnlineGradient(model, xs, method=gradient)


def test_public_truncated_bptt_with_a_whole_window_is_bptt():
    model = sj.models.create("lif_mlp", rngs=nnx.Rngs(1), in_features=F, hidden=(8,))
    xs = jr.uniform(jr.key(4), (T, B, F)) * 1.5
    y = jnp.arange(B) % 10

    def bptt_loss(model):
        return jnp.mean(jnp.stack([sj.online.ce_step(o, y) for o in model(xs)]))

    want_loss, want = nnx.value_and_grad(bptt_loss)(model)
    loss, out, grads = sj.train.truncated_bptt(model, xs, y, T, sj.online.ce_step)
    np.testing.assert_allclose(float(loss), float(want_loss), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(model(xs)))
    for g, w in zip(jax.tree.leaves(grads), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)
    _, _, cut = sj.train.truncated_bptt(model, xs, y, 1, sj.online.ce_step)
    assert not all(
        np.allclose(np.asarray(a), np.asarray(b))
        for a, b in zip(jax.tree.leaves(cut), jax.tree.leaves(want), strict=True)
    )
    with pytest.raises(ValueError, match=r"`truncated_bptt`: `window` must be an int >= 1"):
        sj.train.truncated_bptt(model, xs, y, 0, sj.online.ce_step)
