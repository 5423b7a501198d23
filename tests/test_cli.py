"""The `spikejax` command line: train writes a complete run directory, eval reproduces it."""

import json
import re
import subprocess
import sys

import pytest

from spikejax.cli import main
from spikejax.train._loop import evaluate
from spikejax.train.logging import read_metrics

CONFIG = """
from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def get_config():
    return Config(
        name="cli_tiny",
        data=DataConfig("digits", limit=150, prefetch=0),
        model=ModelConfig(
            "spikejax.models._small:LIFMLP",
            {"in_features": 64, "hidden": (12,), "num_classes": 10},
        ),
        optimizer=OptimizerConfig("adam", lr=1e-3),
        train=TrainConfig(epochs=1, batch_size=32, num_steps=4, log_every=2, eval_batch_size=64),
    )
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``spikejax train`` on a tiny config with overrides: ``(run_dir, stdout)``."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "config.py"
    config.write_text(CONFIG)
    run_dir = root / "run"
    capture = pytest.MonkeyPatch()
    argv = [
        "train",
        str(config),
        "--run-dir",
        str(run_dir),
        "--quiet",
        "--set",
        "optimizer.lr=5e-3",
        "--set",
        "train.epochs=2",
    ]
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    capture.undo()
    assert status == 0
    return run_dir, out.getvalue()


def test_train_writes_the_run_directory(trained):
    run_dir, stdout = trained
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 8  # 2 epochs (the override) of 150 // 32 batches
    assert json.loads((run_dir / "config.json").read_text())["optimizer"]["lr"] == 5e-3
    committed = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert "index.json" in committed and all(n.isdigit() for n in committed if n != "index.json")
    assert any((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    for plot in ("curves.png", "raster.png", "membrane.png", "firing_rates.png"):
        data = (run_dir / "plots" / plot).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000, plot
    records = read_metrics(run_dir)
    assert {r["split"] for r in records} == {"train", "eval"}
    final = summary["final"]["test_accuracy"]
    assert f"accuracy {100 * final:.2f} %" in stdout
    assert "blocks.0" in stdout and str(run_dir) in stdout


def test_eval_reproduces_the_final_test_accuracy(trained, capsys):
    run_dir, _ = trained
    summary = json.loads((run_dir / "summary.json").read_text())
    assert main(["eval", str(run_dir), "--which", "latest"]) == 0
    out = capsys.readouterr().out
    shown = float(re.search(r"test accuracy ([\d.]+) %", out).group(1))
    assert shown == round(100 * summary["final"]["test_accuracy"], 2)
    result = evaluate(run_dir, which="latest")
    assert result["accuracy"] == summary["final"]["test_accuracy"]
    assert result["loss"] == summary["final"]["test_loss"]
    best = evaluate(run_dir)  # the default: the best checkpoint
    assert best["accuracy"] == summary["best"]["accuracy"]
    assert best["step"] == summary["best"]["step"]


def test_eval_early_exit_reports_accuracy_against_steps(trained, capsys):
    run_dir, _ = trained
    summary = json.loads((run_dir / "summary.json").read_text())
    assert main(["eval", str(run_dir), "--which", "latest", "--early-exit", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert "early decisions (margin of the running mean readout" in out
    assert re.search(
        r"threshold 0.000: accuracy [\d.]+ %, 1.00 steps on average \(at most 1\)", out
    )
    full = re.search(r"threshold 1.000: accuracy ([\d.]+) %", out).group(1)
    assert float(full) == round(100 * summary["final"]["test_accuracy"], 2)  # never confident
    assert "latency in time steps only: the inputs are not event frames" in out
    assert json.loads((run_dir / "early_exit_latest.json").read_text())["event_time"] is False


def test_sweep_of_a_missing_file_exits_with_status_1(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "missing.py"), "--out", str(tmp_path / "o")]) == 1
    assert "missing.py not found" in capsys.readouterr().err


def test_errors_are_reported_with_status_1(tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.py")]) == 1
    assert "missing.py not found" in capsys.readouterr().err
    assert main(["eval", str(tmp_path)]) == 1
    assert "config.json not found" in capsys.readouterr().err
    (tmp_path / "c.py").write_text(CONFIG)
    assert main(["train", str(tmp_path / "c.py"), "--set", "optimizer.lrr=1"]) == 1
    assert "valid keys at this level: grad_clip, lr" in capsys.readouterr().err


def test_usage_error_exits_with_status_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "spikejax", "sweep"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2  # a usage error: the sweep file and --out are required
    assert "spikejax sweep: error: the following arguments are required" in result.stderr


def test_version_and_every_option_has_help(capsys):
    import spikejax
    from spikejax._cli_parser import build_parser

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert (
        stop.value.code == 0
        and capsys.readouterr().out.strip() == f"spikejax {spikejax.__version__}"
    )
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    for name, command in commands.items():
        for action in command._actions:
            if action.dest not in ("help", "args"):
                assert action.help, f"spikejax {name} {action.option_strings or action.dest}"
    assert "loihi" in commands["energy"].format_help()  # the profiles are listed
