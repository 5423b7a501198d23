"""A run directory is data: factories are not imported from it, its configuration and records
are committed with its checkpoints, and one process writes into it at a time."""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.models import LIFMLP
from spikejax.train import RunLockedError, fit, load_run, read_metrics, trusted_factory

MODULE = "reliability_factory_module"
OPTIONS = {"in_features": 64, "hidden": (8,), "num_classes": 10}


def tiny(model: str = "lif_mlp", **train) -> Config:
    options = {"epochs": 2, "batch_size": 32, "num_steps": 3, "log_every": 2, **train}
    return Config(
        name="rel",
        data=DataConfig("digits", limit=120, prefetch=0, val_fraction=0.2),
        model=ModelConfig(model, OPTIONS),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(eval_batch_size=64, **options),
    )


@pytest.fixture(scope="module")
def factory_run(tmp_path_factory):
    """A run trained with a user factory ``MODULE:make`` that records every import."""
    folder = tmp_path_factory.mktemp("factory")
    marker = folder / "imported"
    (folder / f"{MODULE}.py").write_text(
        textwrap.dedent(f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("imported")
        from spikejax.models import LIFMLP

        def make(*, rngs, **options):
            return LIFMLP(rngs=rngs, **options)
        """)
    )
    sys.path.insert(0, str(folder))
    try:
        run_dir = folder / "run"
        fit(tiny(f"{MODULE}:make", max_steps=4), run_dir, progress=False, plots=False)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)
    marker.unlink()
    return run_dir, folder, marker


def test_a_factory_named_in_config_json_is_never_imported(factory_run, monkeypatch):
    run_dir, folder, marker = factory_run
    monkeypatch.syspath_prepend(str(folder))  # importable, as from the working directory
    with pytest.raises(
        ValueError, match=rf"`load_run`: `factory` must be given.*json.*{MODULE}:make"
    ):
        load_run(run_dir, which="latest")
    assert not marker.exists() and MODULE not in sys.modules
    restored = load_run(run_dir, which="latest", factory=LIFMLP)
    with trusted_factory(LIFMLP):
        again = load_run(run_dir, which="latest")
    assert restored.evaluate()["accuracy"] == again.evaluate()["accuracy"]
    assert not marker.exists()
    with pytest.raises(TypeError, match=r"`load_run`: `factory` must be callable"):
        load_run(run_dir, factory="LIFMLP")


def test_only_model_classes_of_the_library_resolve_without_a_factory(factory_run, tmp_path):
    run_dir, _, _ = factory_run
    for name in ("spikejax.train:fit", "os:system", "spikejax.models:nothing"):
        copy = tmp_path / name.replace(":", "_")
        shutil.copytree(run_dir, copy)
        data = json.loads((copy / "config.json").read_text())
        data["model"]["name"] = name
        (copy / "config.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match="`factory` must be given"):
            load_run(copy, which="latest")


def test_cli_eval_takes_the_factory_explicitly(factory_run, capsys, monkeypatch):
    from spikejax.cli import main

    run_dir, folder, marker = factory_run
    monkeypatch.syspath_prepend(str(folder))
    assert main(["eval", str(run_dir), "--which", "latest"]) == 1
    assert "--factory" in capsys.readouterr().err and not marker.exists()
    assert main(["eval", str(run_dir), "--which", "latest", "--factory", f"{MODULE}:make"]) == 0
    assert marker.exists()  # imported because the user named it
    sys.modules.pop(MODULE, None)


def test_train_help_says_config_files_are_code(capsys):
    from spikejax.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "is Python and runs as code" in text


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("plain") / "run"
    config = tiny(max_steps=6, eval_every=2)
    fit(config, run_dir, progress=False, plots=False)
    return config, run_dir


def test_an_edited_config_json_is_named_on_eval_and_resume(plain_run, tmp_path):
    config, run_dir = plain_run
    copy = tmp_path / "edited"
    shutil.copytree(run_dir, copy)
    data = json.loads((copy / "config.json").read_text())
    data["seed"] = 1
    (copy / "config.json").write_text(json.dumps(data, indent=4))
    with pytest.raises(
        ValueError,
        match=r"config.json must be the configuration committed.*seed: 0 -> 1",
    ):
        load_run(copy)
    edited = Config(**{**config.__dict__, "seed": 1})
    with pytest.raises(ValueError, match=r"config.json must be the configuration committed.*seed"):
        fit(edited, copy, resume=True, progress=False, plots=False)
    data["seed"] = 0  # the same content in another layout is the same configuration
    (copy / "config.json").write_text(json.dumps(data, indent=1, sort_keys=False))
    assert load_run(copy).step == run_dir_best_step(run_dir)


def run_dir_best_step(run_dir):
    return load_run(run_dir).step


def _resume(config, run_dir, **kwargs):
    return fit(config, run_dir, resume=True, progress=False, plots=False, **kwargs)


def test_records_before_the_checkpoint_are_never_dropped(plain_run, tmp_path):
    config, run_dir = plain_run
    path = tmp_path / "a" / "metrics.jsonl"
    shutil.copytree(run_dir, path.parent)
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]) + b"{broken\n" + b"".join(lines[3:]))
    with pytest.raises(ValueError, match=rf"line 4 of {path} must be a metrics record"):
        _resume(config, path.parent)
    path.write_bytes(original[: len(original) // 2])  # truncated: the last records are missing
    with pytest.raises(ValueError, match=rf"{path} must hold the records up to step 6"):
        _resume(config, path.parent)
    path.write_bytes(original.replace(b'"step": 2,', b'"step": 1,', 1))  # changed in place
    with pytest.raises(ValueError, match=rf"{path} must begin with the .* bytes"):
        _resume(config, path.parent)
    assert (path.parent / ".lock").exists() is False


def test_repair_metrics_keeps_a_copy_and_names_what_it_dropped(plain_run, tmp_path):
    config, run_dir = plain_run
    path = tmp_path / "b" / "metrics.jsonl"
    shutil.copytree(run_dir, path.parent)
    lines = path.read_bytes().splitlines(keepends=True)
    damaged = b"".join(lines[:3]) + b"{broken\n" + b"".join(lines[3:])
    path.write_bytes(damaged)
    summary = _resume(config, path.parent, repair_metrics=True)
    assert summary["metrics_repair"]["dropped_lines"] == [4]
    assert (path.parent / "metrics.jsonl.orig").read_bytes() == damaged
    assert len(read_metrics(path.parent)) == len(lines)


def test_a_torn_last_line_after_the_checkpoint_is_dropped(plain_run, tmp_path):
    config, run_dir = plain_run
    copy = tmp_path / "c"
    shutil.copytree(run_dir, copy)
    with open(copy / "metrics.jsonl", "ab") as f:
        f.write(b'{"step": 7, "split": "tra')
    summary = _resume(config, copy)
    assert summary["resumed_from"] == 6 and "metrics_repair" not in summary
    assert summary["final"]["train_loss"] is not None  # complete after a resume at the end


def test_one_writer_per_run_directory(plain_run, tmp_path):
    config, _ = plain_run
    run_dir = tmp_path / "locked"
    run_dir.mkdir()
    lock = run_dir / ".lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": 0}))
    with pytest.raises(RunLockedError, match=rf"must have one writer; process {os.getpid()}"):
        fit(config, run_dir, progress=False, plots=False)
    assert not (run_dir / "config.json").exists()
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": 0}))
    with pytest.raises(RunLockedError, match=r"host 'elsewhere'.*delete the lock file"):
        fit(config, run_dir, progress=False, plots=False)
    lock.write_text("{not json")
    with pytest.raises(RunLockedError, match=rf"lock {lock} must name its holder"):
        fit(config, run_dir, progress=False, plots=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": 0}))
    fit(config, run_dir, progress=False, plots=False)  # a stale lock is taken over
    assert not lock.exists()
