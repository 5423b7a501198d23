"""Experiment configurations: overrides, validation, JSON round trips, loading config files."""

import json
from pathlib import Path

import pytest

from spikejax.config import (
    ChipConfig,
    Config,
    DataConfig,
    ModelConfig,
    OptimizerConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    to_dict,
)

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def _config():
    return Config(
        name="t",
        model=ModelConfig("lif_mlp", {"hidden": (128,), "beta": 0.9, "reset": "zero"}),
        train=TrainConfig(loss_options={"reduce": "max"}),
    )


@pytest.mark.parametrize(
    ("override", "path", "expected"),
    [
        ("optimizer.lr=3e-4", ("optimizer", "lr"), 3e-4),
        ("optimizer.lr=2", ("optimizer", "lr"), 2.0),
        ("train.epochs=7", ("train", "epochs"), 7),
        ("train.epochs=1_000", ("train", "epochs"), 1000),
        ("seed=5", ("seed",), 5),
        ("data.flatten=false", ("data", "flatten"), False),
        ("data.flatten=Yes", ("data", "flatten"), True),
        ("data.in_memory=0", ("data", "in_memory"), False),
        ("data.name=event_digits", ("data", "name"), "event_digits"),
        ("data.name='npz'", ("data", "name"), "npz"),
        ("data.root=~/data", ("data", "root"), "~/data"),
        ("data.limit=12", ("data", "limit"), 12),
        ("data.limit=none", ("data", "limit"), None),
        ("data.spatial_factor=0.5", ("data", "spatial_factor"), 0.5),
        ("data.val_fraction=0.25", ("data", "val_fraction"), 0.25),
        ("data.val_fraction=0", ("data", "val_fraction"), 0.0),
        ("train.max_steps=null", ("train", "max_steps"), None),
        ("chip.profiles=loihi,xylo", ("chip", "profiles"), ("loihi", "xylo")),
        ("chip.profiles=('loihi',)", ("chip", "profiles"), ("loihi",)),
        ("chip.profiles=()", ("chip", "profiles"), ()),
        ("model.name=pkg.mod:make", ("model", "name"), "pkg.mod:make"),
    ],
)
def test_override_is_parsed_by_field_type(override, path, expected):
    config = apply_overrides(_config(), [override])
    value = config
    for key in path:
        value = getattr(value, key)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model.options.hidden=(256, 64)", (256, 64)),
        ("model.options.hidden=256,64", (256, 64)),
        ("model.options.hidden=32", (32,)),
        ("model.options.hidden=[8, 4]", (8, 4)),
    ],
)
def test_tuple_option_accepts_three_spellings(override, expected):
    assert apply_overrides(_config(), [override]).model.options["hidden"] == expected


def test_options_take_the_type_of_their_current_value():
    config = apply_overrides(
        _config(),
        ["model.options.beta=1", "model.options.reset=subtract", "train.loss_options.reduce=mean"],
    )
    assert config.model.options == {"hidden": (128,), "beta": 1.0, "reset": "subtract"}
    assert isinstance(config.model.options["beta"], float)
    assert config.train.loss_options == {"reduce": "mean"}


def test_overrides_apply_in_order_and_leave_the_input_unchanged():
    base = _config()
    config = apply_overrides(base, ["optimizer.lr=0.1", "optimizer.lr=0.2", "seed=3"])
    assert (config.optimizer.lr, config.seed) == (0.2, 3)
    assert base.optimizer.lr == OptimizerConfig().lr and base.seed == 0
    assert config.data == base.data


@pytest.mark.parametrize(
    ("override", "unknown", "valid"),
    [
        ("optimizer.lrr=1", "optimizer.lrr", "grad_clip, lr, momentum, name, schedule"),
        ("nope=1", "nope", "chip, data, learning, model, name, optimizer, seed, train"),
        ("train.schedule=cosine", "train.schedule", "batch_size, checkpoint_every"),
        ("model.options.width=2", "model.options.width", "beta, hidden, reset"),
    ],
)
def test_unknown_key_lists_the_valid_keys_at_that_level(override, unknown, valid):
    with pytest.raises(ValueError, match="unknown key") as info:
        apply_overrides(_config(), [override])
    message = str(info.value)
    assert f"`{unknown}`" in message and valid in message


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("optimizer.lr=fast", r"`optimizer.lr` must be a float; got 'fast'"),
        ("train.epochs=1.5", r"`train.epochs` must be an int; got '1.5'"),
        ("data.flatten=maybe", r"`data.flatten` must be a bool"),
        ("train.epochs=0", r"`TrainConfig`: `epochs` must be an int >= 1; got 0"),
        ("optimizer.name=rmsprop", r"`OptimizerConfig`: `name` must be one of"),
        ("optimizer.lr=-1", r"`lr` must be a finite number > 0"),
        ("optimizer.lr=nan", r"`optimizer.lr` must be a finite float; got 'nan'"),
        ("data.limit=many", r"`data.limit` must be int \| None"),
        ("data.val_fraction=1", r"`DataConfig`: `val_fraction` must be in \[0, 1\); got 1.0"),
        ("data.val_fraction=-0.1", r"`val_fraction` must be a finite number >= 0.0; got -0.1"),
        ("data.val_fraction=nan", r"`data.val_fraction` must be a finite float; got 'nan'"),
        ("model.options.hidden=abc", r"`model.options.hidden` must be tuple"),
        ("optimizer=3", r"`optimizer` is a group \(OptimizerConfig\); set one of its keys"),
        ("optimizer.lr.x=1", r"`optimizer.lr` is a value"),
        ("optimizer.lr", r"must be 'dotted.key=value'"),
        ("=3", r"must be 'dotted.key=value'"),
        ("optimizer..lr=3", r"must be 'dotted.key=value'"),
    ],
)
def test_bad_override_is_named(override, match):
    with pytest.raises(ValueError, match=match):
        apply_overrides(_config(), [override])


def test_overrides_must_be_a_list():
    with pytest.raises(TypeError, match="list of 'key=value'"):
        apply_overrides(_config(), "seed=1")


def test_cross_field_rules():
    with pytest.raises(ValueError, match="use 'adamw'"):
        OptimizerConfig(name="adam", weight_decay=0.1)
    with pytest.raises(ValueError, match="warmup_steps"):
        OptimizerConfig(schedule="warmup_cosine", warmup_steps=0)
    assert OptimizerConfig(name="adamw", weight_decay=0.1).weight_decay == 0.1


def test_val_fraction_default_and_range():
    assert DataConfig().val_fraction == 0.1
    assert DataConfig(val_fraction=0).val_fraction == 0
    for bad in (1, 1.5, True, "0.1", None):
        with pytest.raises(ValueError, match="`DataConfig`: `val_fraction` must be"):
            DataConfig(val_fraction=bad)


def test_round_trip_through_json_is_exact():
    config = apply_overrides(
        Config(
            name="rt",
            data=DataConfig(
                "npz", root="/x.npz", encoding="poisson", encoding_options={"max_rate": 0.5}
            ),
            model=ModelConfig("m", {"hidden": [4, 2], "nested": {"a": [1, 2]}}),
            chip=ChipConfig(("loihi",)),
        ),
        ["train.max_steps=9", "optimizer.grad_clip=1.0"],
    )
    data = json.loads(json.dumps(to_dict(config)))
    assert data["model"]["options"]["hidden"] == [4, 2]
    again = from_dict(data)
    assert again == config
    assert again.model.options == {"hidden": (4, 2), "nested": {"a": (1, 2)}}
    assert again.chip.profiles == ("loihi",)


def test_from_dict_fills_defaults_and_rejects_unknown_keys():
    assert from_dict({"name": "x", "train": {"epochs": 3}}) == Config(
        name="x", train=TrainConfig(epochs=3)
    )
    with pytest.raises(ValueError, match=r"unknown key `train.epoch` for TrainConfig; valid keys"):
        from_dict({"train": {"epoch": 3}})
    with pytest.raises(ValueError, match=r"`optimizer.lr` must be float"):
        from_dict({"optimizer": {"lr": "fast"}})


def test_load_config(tmp_path):
    path = tmp_path / "config.py"
    path.write_text(
        "from spikejax.config import Config\n"
        "def get_config():\n"
        "    return Config(name='from_file', seed=4)\n"
    )
    assert load_config(path) == Config(name="from_file", seed=4)


def test_load_config_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_config(tmp_path / "missing.py")
    (tmp_path / "none.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match="must define a function `get_config\\(\\)`"):
        load_config(tmp_path / "none.py")
    (tmp_path / "wrong.py").write_text("def get_config():\n    return {'name': 'x'}\n")
    with pytest.raises(TypeError, match=r"must return a spikejax\.config\.Config; got dict"):
        load_config(tmp_path / "wrong.py")


@pytest.mark.parametrize(
    "name", ["digits_lif_mlp", "event_digits_conv", "shd_lif_mlp", "nmnist_conv", "dvsgesture_conv"]
)
def test_experiment_configs_load_and_round_trip(name):
    config = load_config(EXPERIMENTS / name / "config.py")
    assert config.name == name
    assert from_dict(json.loads(json.dumps(to_dict(config)))) == config
