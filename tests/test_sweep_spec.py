"""Sweep files and sweep directories: bad input is refused by name before anything trains."""

from __future__ import annotations

import socket

import pytest

from spikejax.config import Config, ModelConfig
from spikejax.sweep import Choice, Float, Int, Sweep, load_sweep, override, run_sweep, with_values

HEAD = """
from spikejax.config import Config, ModelConfig
from spikejax.sweep import Choice, Float, Sweep

BASE = Config(model=ModelConfig("lif_mlp", {"hidden": (8,), "beta": 0.9}))
"""


def _file(tmp_path, body: str, name: str = "sweep.py"):
    path = tmp_path / name
    path.write_text(HEAD + body)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_empty_search_space_is_refused():
    with pytest.raises(ValueError, match="search space must not be empty"):
        Sweep(base=Config())
    with pytest.raises(ValueError, match=r"`grid\['seed'\]` must be a non-empty tuple"):
        Sweep(base=Config(), grid={"seed": ()})
    with pytest.raises(ValueError, match="`Choice`: `values` must be a non-empty tuple"):
        Choice(())
    with pytest.raises(ValueError, match="give `grid` or `space`, not both"):
        Sweep(base=Config(), grid={"seed": (0,)}, space={"optimizer.lr": Float(0.1, 1.0)})


def test_a_parameter_missing_from_the_base_config_lists_the_valid_keys(tmp_path):
    path = _file(
        tmp_path, 'def get_sweep():\n    return Sweep(BASE, grid={"optimizer.lrr": (1,)})\n'
    )
    with pytest.raises(
        ValueError,
        match=r"`load_sweep`: a swept parameter of .*sweep\.py must exist in the base config",
    ) as e:
        load_sweep(path)
    assert "lrr" in str(e.value) and "valid keys at this level: grad_clip, lr" in str(e.value)
    body = 'def get_sweep():\n    return Sweep(BASE, space={"model.opts": Float(0, 1)})\n'
    path = _file(tmp_path, body)
    with pytest.raises(ValueError, match="opts") as e:
        load_sweep(path)
    assert "valid keys at this level: name, options" in str(e.value)


def test_distributions_and_values_are_checked():
    with pytest.raises(ValueError, match=r"`Float`: `low` must be < `high`; got 1.0 and 0.5"):
        Float(1.0, 0.5)
    with pytest.raises(ValueError, match="`low` must be > 0 with log=True"):
        Float(0.0, 1.0, log=True)
    with pytest.raises(TypeError, match="`Int`: `low` must be an int"):
        Int(0.5, 2)
    with pytest.raises(TypeError, match=r"`space\['seed'\]` must be a Float, Int or Choice"):
        Sweep(base=Config(), space={"seed": (0, 1)})
    with pytest.raises(ValueError, match="`Sweep`: `trials` must be an int >= 1; got 0"):
        Sweep(base=Config(), space={"seed": Int(0, 3)}, trials=0)


def test_values_round_trip_through_overrides():
    base = Config(model=ModelConfig("lif_mlp", {"hidden": (16,)}))
    assert override("model.options.hidden", (64, 32)) == "model.options.hidden=(64, 32)"
    config = with_values(
        base, {"model.options.hidden": (64, 32), "optimizer.lr": 0.1 + 0.2, "seed": 3}
    )
    assert config.model.options["hidden"] == (64, 32)
    assert config.optimizer.lr == 0.1 + 0.2  # repr round-trips every float exactly
    assert with_values(base, {"model.options.hidden": (12,)}).model.options["hidden"] == (12,)
    choice = Choice(((8,), (16, 8)))
    assert choice.labels() == ["[8]", "[16, 8]"]
    assert choice.value_of("[16, 8]") == (16, 8)


def test_a_directory_of_another_sweep_is_refused(tmp_path):
    one = _file(tmp_path, 'def get_sweep():\n    return Sweep(BASE, grid={"seed": (0, 1)})\n')
    two = _file(
        tmp_path, 'def get_sweep():\n    return Sweep(BASE, grid={"seed": (0, 2)})\n', "b.py"
    )
    out = tmp_path / "out"
    from spikejax.sweep._results import claim

    sweep, base = load_sweep(one)
    claim(out, sweep.describe(base), resume=False, fn="run_sweep")  # as run_sweep does first
    with pytest.raises(ValueError, match=r"belongs to another sweep \(hash \w+, this one \w+; "):
        run_sweep(two, out, progress=False)
    with pytest.raises(ValueError, match="already holds this sweep"):
        run_sweep(one, out, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds other files and no sweep\.json"):
        run_sweep(one, tmp_path / "other", progress=False)
    with pytest.raises(ValueError, match="cannot be resumed"):
        run_sweep(one, tmp_path / "new", resume=True, progress=False)
    with pytest.raises(ValueError, match="`storage` is for Optuna sweeps"):
        run_sweep(one, tmp_path / "new", storage="sqlite:///x.db", progress=False)
    assert not (tmp_path / "new").exists()


def test_an_unreachable_storage_creates_nothing(tmp_path):
    pytest.importorskip("optuna")
    body = 'def get_sweep():\n    return Sweep(BASE, space={"optimizer.lr": Float(0.1, 1.0)})\n'
    path = _file(tmp_path, body)
    out = tmp_path / "out"
    url = f"postgresql://user:secret@127.0.0.1:{_free_port()}/nowhere"
    with pytest.raises(ConnectionError, match=r"cannot open postgresql://user:\*\*\*@127") as e:
        run_sweep(path, out, storage=url, progress=False)
    assert "secret" not in str(e.value) and "No study was created" in str(e.value)
    with pytest.raises(ValueError, match=r"an Optuna sweep .* one device; got devices=2"):
        run_sweep(path, out, devices=2, progress=False)
    assert not out.exists()
    url = f"sqlite:///{tmp_path / 'missing' / 'study.db'}"
    with pytest.raises(ConnectionError, match="sqlite:///"):
        run_sweep(path, out, storage=url, progress=False)
    assert not out.exists() and not (tmp_path / "missing").exists()
