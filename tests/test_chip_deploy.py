"""deploy: float vs chip accuracy of a trained digits network, resource fit, vendor-layout files."""

import hashlib
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from spikejax import chip, encoding, losses
from spikejax.chip import deploy as dep
from spikejax.chip import fit, loihi, xylo
from spikejax.chip.export import expand_inputs, vendor_arrays
from spikejax.data import load_digits
from spikejax.models._small import LIFMLP

T = 8


def train_digits(hidden: int, epochs: int, seed: int = 0) -> nnx.Module:
    """The main job's network (direct encoding, membrane-mean cross-entropy, Adam 2e-3)."""
    x, y = load_digits("train")
    x = x.reshape(len(x), -1)
    model = LIFMLP(64, (hidden,), 10, rngs=nnx.Rngs(seed), T=T)
    opt = nnx.Optimizer(model, optax.adam(2e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt, xb, yb):
        def loss_fn(model):
            return losses.ce_membrane(model(encoding.direct(xb, T)), yb)

        _, grads = nnx.value_and_grad(loss_fn)(model)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes floats and int step counts
            opt.update(model, grads)

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x) - 63, 64):
            idx = order[start : start + 64]
            step(model, opt, jnp.asarray(x[idx]), jnp.asarray(y[idx]))
    return model


def digits_data(train: int | None = None) -> dict:
    x_tr, y_tr = load_digits("train")
    x_te, y_te = load_digits("test")
    x_tr, x_te = x_tr.reshape(len(x_tr), -1)[:train], x_te.reshape(len(x_te), -1)
    return {
        "x_test": np.broadcast_to(x_te, (T, *x_te.shape)),
        "y_test": y_te,
        "x_train": np.broadcast_to(x_tr, (T, *x_tr.shape)),
        "y_train": y_tr[:train],
    }


@pytest.fixture(scope="module")
def trained():
    return train_digits(hidden=64, epochs=25)


@pytest.fixture(scope="module")
def data():
    return digits_data(train=512)


def check_files(report, cm_arrays):
    with np.load(report["files"]["npz"]) as f:
        npz = dict(f)
    meta = json.loads(pathlib.Path(report["files"]["json"]).read_text())
    assert sorted(npz) == sorted(cm_arrays) == sorted(meta["arrays"])
    for key in npz:
        np.testing.assert_array_equal(npz[key], cm_arrays[key], err_msg=key)
        assert meta["arrays"][key] == [list(npz[key].shape), str(npz[key].dtype)]
    digest = hashlib.sha256(pathlib.Path(report["files"]["npz"]).read_bytes()).hexdigest()
    assert meta["npz_sha256"] == digest
    assert meta["report"]["chip_accuracy"] == report["chip_accuracy"]
    return npz, meta


def test_deploy_loihi_accuracy_files_and_replay(trained, data, tmp_path):
    report = dep.deploy(trained, "loihi", out_dir=tmp_path, data=data, qat="never")
    assert report["input_levels"] == 16 and report["latency_steps"] == 2
    assert report["float_accuracy"] > 0.9 and report["qat_accuracy"] is None
    assert report["accuracy_drop"] <= 1.0, report
    assert report["fits"] and report["saturations"] == 0 and report["exported"] == "ptq"
    assert report["stats"]["layer_0"]["spikes"] > 0
    text = dep.format_report(report)
    assert "loihi" in text and "PTQ" in text and "Dense adds one step of delay" in text
    # The files hold the chip model that deploy emulated (rebuilt from the reported peaks).
    cm = chip.quantize(trained, "loihi", input_levels=16, peaks=report["peaks"])
    npz, meta = check_files(report, vendor_arrays(cm))
    assert npz["W1_raw"].shape == (64, 64 * 16) and npz["W2_raw"].shape == (10, 64)
    assert npz["W1_raw"].dtype == np.int64 and npz["du1"].shape == (64,)
    assert npz["wexp1"].shape == () and npz["bias_exp1"].shape == (64,)
    assert meta["weight_layout"].startswith("Loihi (post, pre)")
    # Lava's layout replays bit-exactly through the trace-format path.
    x = chip.encode_inputs(cm, data["x_test"][:, :1])
    x = np.concatenate([np.asarray(x), np.zeros((2, 1, 64), np.int32)])
    case = {k: v for k, v in npz.items()} | {"s_in": expand_inputs(cm, x)[:, 0], "reset": None}
    case |= {k: int(case[k]) for k in ("wexp1", "wexp2", "nwb1", "nwb2")}
    replayed = loihi.replay(case)
    np.testing.assert_array_equal(replayed["v2"], np.asarray(chip.emulate(cm, x)[0])[:, 0])
    np.testing.assert_array_equal(replayed["W1_eff"], npz["W1_eff"])


def test_deploy_xylo_reports_misfit_and_replays(trained, data, tmp_path):
    report = dep.deploy(trained, "xylo", out_dir=tmp_path, data=data, qat="never")
    assert report["input_levels"] == 15 and report["latency_steps"] == 1
    assert report["accuracy_drop"] <= 1.0, report
    assert not report["fits"]
    over = {r["resource"]: (r["used"], r["limit"]) for r in report["fit"] if not r["ok"]}
    assert over == {"input_channels": (64, 16), "output_neurons": (10, 8)}
    assert "DO NOT FIT" in dep.format_report(report)
    cm = chip.quantize(trained, "xylo", input_levels=15, peaks=report["peaks"])
    npz, _ = check_files(report, vendor_arrays(cm))
    assert npz["weights_in"].shape == (64, 64, 2) and npz["weights_rec"].shape == (64, 64, 2)
    assert npz["weights_out"].shape == (64, 10) and not npz["weights_in"][..., 1].any()
    x = np.asarray(chip.encode_inputs(cm, data["x_test"][:, :2]))
    arrays = {k: v for k, v in npz.items()}
    _, rec = xylo.run(xylo.XyloNetwork(**arrays), jnp.asarray(x, jnp.int32))
    np.testing.assert_array_equal(np.asarray(rec["vmem_out"]), np.asarray(chip.emulate(cm, x)[0]))
    with pytest.raises(
        ValueError,
        match=r"must fit 'xylo': `input_channels` needs 64, the chip "
        r"offers 16.*'output_neurons'",
    ):
        dep.deploy(trained, "xylo", out_dir=tmp_path, data=data, strict=True)


def test_deploy_qat_records_both(trained, tmp_path):
    small = digits_data(train=128)
    small["x_test"], small["y_test"] = small["x_test"][:, :120], small["y_test"][:120]
    report = dep.deploy(
        trained, "xylo", out_dir=tmp_path, data=small, qat="always", qat_epochs=1, qat_lr=1e-4
    )
    assert report["qat_accuracy"] is not None and report["ptq_accuracy"] is not None
    assert np.isfinite(report["qat_final_loss"]) and report["qat_epochs"] == 1
    best = max(report["ptq_accuracy"], report["qat_accuracy"])
    assert report["chip_accuracy"] == best
    assert report["exported"] == (
        "qat" if report["qat_accuracy"] >= report["ptq_accuracy"] else "ptq"
    )


def test_deploy_from_run_dir(trained, tmp_path):
    from spikejax.config import Config, DataConfig, ModelConfig, TrainConfig, to_dict
    from spikejax.train import Checkpointer

    run = tmp_path / "run"
    run.mkdir()
    options = {"in_features": 64, "hidden": (64,), "num_classes": 10, "T": T}
    config = Config(
        name="digits_chip",
        data=DataConfig(name="digits", encoding="direct", limit=200),
        model=ModelConfig(name="spikejax.models._small:LIFMLP", options=options),
        train=TrainConfig(num_steps=T, loss="ce_membrane", loss_options={"reduce": "mean"}),
    )
    (run / "config.json").write_text(json.dumps(to_dict(config)))
    ckpt = Checkpointer(run / "checkpoints", best_metric="val_accuracy")
    ckpt.save(7, {"model": nnx.to_pure_dict(nnx.state(trained))}, metrics={"val_accuracy": 0.9})
    report = dep.deploy(run, "loihi", out_dir=tmp_path / "out", qat="never")
    assert report["step"] == 7 and report["checkpoint"] == "best" and report["test_samples"] == 200
    assert report["readout"] == "mean" and report["steps"] == T
    x_te, y_te = load_digits("test")
    scores = trained(encoding.direct(jnp.asarray(x_te[:200].reshape(200, -1)), T)).mean(0)
    expected = float(np.mean(np.argmax(np.asarray(scores), -1) == y_te[:200]))
    assert report["float_accuracy"] == pytest.approx(expected, abs=1e-9)
    assert report["accuracy_drop"] <= 2.0
    with pytest.raises(FileNotFoundError, match=r"config\.json not found"):
        dep.deploy(tmp_path / "nothing", "loihi", out_dir=tmp_path)


def test_deploy_bad_inputs(trained, data, tmp_path):
    with pytest.raises(ValueError, match="`deploy`: `chip` must be one of"):
        dep.deploy(trained, "akida", out_dir=tmp_path, data=data)
    with pytest.raises(ValueError, match="`data` must be given with a model"):
        dep.deploy(trained, "loihi", out_dir=tmp_path)
    with pytest.raises(ValueError, match="must be a dict with 'x_test' and 'y_test'"):
        dep.deploy(trained, "loihi", out_dir=tmp_path, data={"x_test": data["x_test"]})
    with pytest.raises(ValueError, match=r"`data\['x_test'\]` must be \[T, N, 64\]"):
        dep.deploy(
            trained,
            "loihi",
            out_dir=tmp_path,
            data={"x_test": data["x_test"][0], "y_test": data["y_test"]},
        )
    bad = dict(data, x_test=data["x_test"] * 2)  # analog values above 1: not event counts
    with pytest.raises(ValueError, match=r"inputs above 1 must be integer event counts"):
        dep.deploy(trained, "loihi", out_dir=tmp_path, data=bad)
    with pytest.raises(TypeError, match=r"run directory or an nnx\.Module"):
        dep.deploy(3, "loihi", out_dir=tmp_path)
    with pytest.raises(ValueError, match="`readout` must be one of"):
        dep.deploy(trained, "loihi", out_dir=tmp_path, data=data, readout="median")


def abstract_mlp(*args):
    return nnx.eval_shape(lambda: LIFMLP(*args, rngs=nnx.Rngs(0)))


def test_fit_limits_name_the_resource():
    rows = fit.fit(abstract_mlp(64, (128,), 10), "loihi")
    assert all(r["ok"] for r in rows)
    by = {(r["resource"], r["where"]): r for r in rows}
    # 64 axons x 128 neurons in 64-weight blocks of 8-bit weights: 64 * 2 * 576 bits per core.
    assert by[("synapse_bits_per_core", "layer 0")]["used"] == 64 * 2 * 576
    with pytest.raises(
        ValueError, match="`fan_in_per_core` \\(layer 0\\) needs 5000, the chip offers 4096"
    ):
        fit.check_fit(abstract_mlp(5000, (4,), 2), "loihi")
    with pytest.raises(
        ValueError,
        match=r"`neurons` \(hidden neurons\) needs 1200, the chip offers 1000.*'max_fan_out'",
    ):
        fit.check_fit(abstract_mlp(16, (600, 600), 4), "xylo")
    over = [r for r in fit.fit(abstract_mlp(300, (300,), 10), "truenorth") if not r["ok"]]
    assert [(r["resource"], r["used"]) for r in over] == [("fan_in_per_core", 300)] * 2
    over = [r for r in fit.fit(abstract_mlp(64, (20000, 20000), 10), "loihi") if not r["ok"]]
    assert {r["resource"] for r in over} == {
        "cores",
        "fan_in_per_core",
        "fan_out_per_core",
        "synapse_bits_per_core",
    }
    assert next(r for r in over if r["resource"] == "cores")["used"] == 20030
    cm = chip.quantize(LIFMLP(16, (8,), 4, rngs=nnx.Rngs(0)), "xylo")
    rows = fit.check_fit(cm)
    assert {r["resource"] for r in rows} >= {"input_channels", "neurons", "max_fan_out"}
    with pytest.raises(ValueError, match="`fit`: `profile` must be given for a float model"):
        fit.fit(abstract_mlp(4, (3,), 2))


@pytest.mark.slow
@pytest.mark.parametrize("chip_name", ["loihi", "xylo"])
def test_full_size_digits_loses_at_most_one_point(chip_name, tmp_path):
    model = train_digits(hidden=128, epochs=40)
    report = dep.deploy(model, chip_name, out_dir=tmp_path, data=digits_data())
    assert report["float_accuracy"] > 0.95
    assert report["accuracy_drop"] <= 1.0, dep.format_report(report)
    jax.clear_caches()
