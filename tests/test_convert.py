"""ANN→SNN conversion: the invariants of docs/explanation/zoo.md §7, the networks it
handles, and its errors."""

import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spikejax as sj
from spikejax import convert

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_soft_reset_if_counts_floor_and_round():
    T = 50
    z = jnp.array([0.013, 0.27, 0.5 + 1 / 300, 0.731, 0.999])  # T·z never within 1e-3 of k or k+½
    for v_init, expected in (
        (0.0, np.floor(T * np.asarray(z))),
        (0.5, np.floor(T * np.asarray(z) + 0.5)),
    ):
        neuron = sj.neurons.IF(threshold=1.0, v_init=v_init)
        _, spikes = sj.unroll(neuron, neuron.init_state(z.shape), jnp.broadcast_to(z, (T, 5)))
        np.testing.assert_array_equal(np.asarray(spikes.sum(0)), expected)


class QMLP(nnx.Module):
    def __init__(self, levels, shift, rngs):
        self.fc1 = nnx.Linear(6, 16, rngs=rngs)
        self.act = convert.QCFS(levels, clip=1.5, shift=shift)
        self.fc2 = nnx.Linear(16, 3, rngs=rngs)

    def __call__(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_qcfs_layer_is_exact_at_T_equal_L():
    L = 8
    ann = QMLP(L, 0.0, nnx.Rngs(1))
    x = jax.random.uniform(jax.random.key(2), (32, 6), minval=-1.0, maxval=1.0)
    snn = convert.ann_to_snn(ann, x, method="qcfs", T=L, v_init=0.0)
    _, rec = sj.graph.record(snn, x)
    spikes = np.asarray(rec.spikes["layers.1"], np.float64)  # the QCFS layer's IF neurons
    expected = np.asarray(ann.act(ann.fc1(x)), np.float64)
    np.testing.assert_allclose(spikes.sum(0) / L * 1.5, expected, atol=1e-6)
    # The readout accumulates the logits: equal to the ANN's at T = L (one layer of spikes).
    np.testing.assert_allclose(snn(x)[-1] / L, ann(x), atol=1e-4)


def test_batchnorm_folding_matches_the_layer_and_norm():
    rngs = nnx.Rngs(0)
    conv = nnx.Conv(3, 4, (3, 3), rngs=rngs)
    bn = nnx.BatchNorm(4, rngs=rngs)
    bn.scale[...] = jnp.array([0.5, 1.5, -2.0, 1.0])
    bn.bias[...] = jnp.array([0.1, -0.2, 0.3, 0.0])
    bn.mean[...] = jnp.array([0.2, -0.1, 0.05, 1.0])
    bn.var[...] = jnp.array([0.5, 2.0, 0.1, 1.0])
    bn.eval()
    x = jax.random.normal(jax.random.key(1), (2, 5, 5, 3))
    kernel, bias = convert.fold_batchnorm(
        np.asarray(conv.kernel[...]),
        np.asarray(conv.bias[...]),
        scale=np.asarray(bn.scale[...]),
        offset=np.asarray(bn.bias[...]),
        mean=np.asarray(bn.mean[...]),
        var=np.asarray(bn.var[...]),
        epsilon=bn.epsilon,
    )
    folded = nnx.Conv(3, 4, (3, 3), rngs=rngs)
    folded.kernel[...] = jnp.asarray(kernel, jnp.float32)
    folded.bias[...] = jnp.asarray(bias, jnp.float32)
    np.testing.assert_allclose(folded(x), bn(conv(x)), rtol=1e-5, atol=1e-5)


class CNN(nnx.Module):
    """conv → BN → ReLU → 2×2 average pool → (residual) conv → ReLU + skip → global mean → fc."""

    def __init__(self, rngs, pool="avg"):
        self.conv1 = nnx.Conv(2, 4, (3, 3), rngs=rngs)
        self.bn1 = nnx.BatchNorm(4, rngs=rngs)
        self.conv2 = nnx.Conv(4, 4, (3, 3), rngs=rngs)
        self.fc = nnx.Linear(4 * 4 * 4, 3, rngs=rngs)
        self.pool = pool

    def __call__(self, x):
        h = jax.nn.relu(self.bn1(self.conv1(x)))
        window = ((1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        if self.pool == "avg":  # nnx.avg_pool's integer divisor fails strict promotion
            h = jax.lax.reduce_window(h, 0.0, jax.lax.add, *window) / 4.0
        else:
            h = nnx.max_pool(h, (2, 2), (2, 2))
        h = jax.nn.relu(self.conv2(h)) + h  # a residual addition of two spike tensors
        return self.fc(h.reshape((h.shape[0], -1)))


def _error(snn, ann, x, T):
    return float(jnp.max(jnp.abs(snn(x)[T - 1] / T - ann(x))))


def test_a_cnn_with_batchnorm_pooling_and_a_residual_converts_and_error_falls_like_1_over_T():
    ann = CNN(nnx.Rngs(3))
    ann.bn1.mean[...] = jnp.full((4,), 0.1)
    ann.bn1.var[...] = jnp.full((4,), 0.7)
    ann.eval()
    x = jax.random.uniform(jax.random.key(4), (64, 8, 8, 2))
    snn = convert.ann_to_snn(ann, x, method="max", T=512, v_init=0.5)
    errors = {T: _error(snn, ann, x[:16], T) for T in (16, 64, 512)}
    assert errors[512] < errors[64] < errors[16]
    assert errors[512] * 8 < errors[16] * 1.5  # roughly 1/T
    graph = sj.graph.trace(snn, x[:4])
    kinds = [n.kind for n in graph]
    assert kinds.count("neuron") == 3 and "join" in kinds and "pool" in kinds
    assert graph.params == sj.graph.trace(ann, x[:4]).params - 8  # BN's γ, β folded away
    report = sj.energy.estimate(snn, x[:8])
    assert report.rows[0].op == "mac" and report.rows[1].op in ("ac", "mac")


class MLP(nnx.Module):
    def __init__(self, rngs):
        self.fc1, self.fc2 = nnx.Linear(5, 12, rngs=rngs), nnx.Linear(12, 4, rngs=rngs)

    def __call__(self, x):
        return self.fc2(jax.nn.relu(self.fc1(x)))


def test_random_mlp_error_falls_with_T_and_the_mlp_quantizes_for_a_chip():
    ann = MLP(nnx.Rngs(5))
    x = jax.random.uniform(jax.random.key(6), (128, 5))
    snn = convert.ann_to_snn(ann, x, method="max", T=1024, v_init=0.0)
    errors = [_error(snn, ann, x, T) for T in (8, 64, 1024)]
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 16 / 1024  # max |logit| error bounded by a few spikes' worth
    cm = sj.chip.quantize(snn, "loihi")
    assert cm.sizes == (5, 12, 4)
    with pytest.raises(ValueError, match=r"must start at rest \(v_init = 0\)"):
        sj.chip.quantize(convert.ann_to_snn(ann, x, method="max", T=8), "loihi")


def test_percentile_levels_are_below_max():
    ann = MLP(nnx.Rngs(5))
    x = jax.random.uniform(jax.random.key(6), (300, 5))
    top = convert.ann_to_snn(ann, x, method="max").layers[1].neuron.threshold
    p = convert.ann_to_snn(ann, x, method="percentile", percentile=90.0).layers[1].neuron.threshold
    h = np.asarray(jax.nn.relu(ann.fc1(x)), np.float64).ravel()
    assert float(top) == pytest.approx(h.max(), rel=1e-6)
    assert float(p) == pytest.approx(np.percentile(h[h > 0], 90.0), rel=1e-6)


def test_errors_name_the_module_and_what_is_supported():
    x = jax.random.uniform(jax.random.key(0), (16, 8, 8, 2))
    with pytest.raises(
        ValueError,
        match=r"`ann_to_snn`: `.*max_pool` is a pool \(max_pool\) \(max pooling has no exact "
        r"conversion: use average pooling\)",
    ):
        convert.ann_to_snn(CNN(nnx.Rngs(0), pool="max"), x)

    class Tanh(nnx.Module):
        def __init__(self, rngs):
            self.fc = nnx.Linear(3, 3, rngs=rngs)
            self.out = nnx.Linear(3, 2, rngs=rngs)

        def __call__(self, x):
            return self.out(jnp.tanh(self.fc(x)))

    xs = jnp.ones((4, 3))
    with pytest.raises(
        ValueError,
        match=r"`tanh` is a activation \(tanh\) \(a non-ReLU activation\).*supported: nnx.Linear",
    ):
        convert.ann_to_snn(Tanh(nnx.Rngs(0)), xs)
    with pytest.raises(ValueError, match=r"`T` must be an int >= 1; got 0"):
        convert.ann_to_snn(Tanh(nnx.Rngs(0)), xs, T=0)
    with pytest.raises(ValueError, match=r"`calibration_inputs` must be a non-empty batch"):
        convert.ann_to_snn(Tanh(nnx.Rngs(0)), jnp.ones((0, 3)))
    with pytest.raises(ValueError, match=r"calling the model failed in module `fc` \(Linear\)"):
        convert.ann_to_snn(Tanh(nnx.Rngs(0)), jnp.ones((4, 5)))
    with pytest.raises(ValueError, match=r"`method='qcfs'` needs every activation to be"):
        convert.ann_to_snn(CNN(nnx.Rngs(0)), x, method="qcfs")
    with pytest.raises(ValueError, match=r"`QCFS`: `levels` must be an int >= 1; got 0"):
        convert.QCFS(0)
    with pytest.raises(ValueError, match=r"`method` must be one of"):
        convert.ann_to_snn(CNN(nnx.Rngs(0)), x, method="spike-norm")


def test_digits_convert_experiment_runs_end_to_end(tmp_path):
    script = ROOT / "experiments" / "digits_convert" / "run.py"
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["methods"]) == {"max", "percentile_99.99", "percentile_99.9", "qcfs_L8"}
    assert 0.0 <= results["loihi"]["chip_accuracy"] <= 1.0
    assert (tmp_path / "accuracy_vs_T.png").stat().st_size > 0


@pytest.mark.slow  # 30 s; the CIFAR-10 reader and the conversion have fast tests of their own
def test_cifar10_convert_experiment_runs_on_a_tiny_cifar_file(tmp_path):
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, count in [(f"data_batch_{i}", 4) for i in range(1, 6)] + [("test_batch", 8)]:
        rows = {b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8)}
        rows[b"labels"] = rng.integers(0, 10, count).tolist()
        with (folder / name).open("wb") as f:
            pickle.dump(rows, f, protocol=2)
    script = ROOT / "experiments" / "cifar10_convert" / "run.py"
    args = ["--root", str(tmp_path), "--out", str(tmp_path / "out"), "--width", "64"]
    args += ["--epochs", "1", "--batch", "10", "--steps", "1,4"]
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results["snn_accuracy"]) == {"1", "4"} and 0 <= results["ann_accuracy"] <= 1
