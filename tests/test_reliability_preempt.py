"""SIGTERM and SIGINT stop `spikejax train` at a step with a checkpoint; resume is bit-identical."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from spikejax.config import load_config
from spikejax.train import EXIT_PREEMPTED, fit
from spikejax.train.checkpoint import Checkpointer
from tests.helpers import flat_leaves, metric_records

CONFIG = """
from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig

def get_config():
    return Config(
        name="preempt",
        data=DataConfig("digits", limit=120, prefetch=0, val_fraction=0.2, encoding="poisson"),
        model=ModelConfig("lif_mlp", {"in_features": 64, "hidden": (8,), "num_classes": 10,
                                      "dropout": 0.2}),
        optimizer=OptimizerConfig("adam", lr=5e-3, schedule="cosine"),
        train=TrainConfig(epochs=4, batch_size=32, num_steps=3, log_every=2, eval_batch_size=64),
    )
"""

# Runs the command line, printing each finished step (and pausing briefly so that the signal
# lands while training).
RUNNER = """
import sys, time
from spikejax.train import _loop

class Printing(_loop.ProgressBar):
    def update(self, n=1, **postfix):
        super().update(n, **postfix)
        print("step", self.n, flush=True)
        time.sleep(0.2)

_loop.ProgressBar = Printing
from spikejax.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("preempt")
    (folder / "config.py").write_text(CONFIG)
    (folder / "runner.py").write_text(textwrap.dedent(RUNNER))
    straight = folder / "straight"
    fit(load_config(folder / "config.py"), straight, progress=False, plots=False)
    return folder, straight


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_with_a_checkpoint_and_resume_is_bit_identical(setup, signum):
    folder, straight = setup
    stop_after = int(np.random.default_rng(int(signum)).integers(1, 11))
    run_dir = folder / f"stopped-{signum.name}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, str(folder / "runner.py"), "train", str(folder / "config.py")]
    process = subprocess.Popen(
        [*command, "--run-dir", str(run_dir), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in process.stdout:
        if line.startswith("step") and int(line.split()[1]) >= stop_after:
            process.send_signal(signum)
            break
    _, err = process.communicate(timeout=300)
    assert process.returncode == EXIT_PREEMPTED, err
    assert f"stopped by {signum.name}" in err and "--resume" in err, err
    checkpoints = Checkpointer(run_dir / "checkpoints", best_metric="val_accuracy")
    stopped_at = checkpoints.latest_step()
    assert stopped_at is not None and stopped_at < 12, (stop_after, err)
    assert (
        not list((run_dir / "checkpoints").glob("*.orbax-checkpoint-tmp-*"))
        and not (run_dir / ".lock").exists()
    )
    summary = fit(
        load_config(folder / "config.py"), run_dir, resume=True, progress=False, plots=False
    )
    assert summary["resumed_from"] == stopped_at
    step_a, tree_a, extra_a = Checkpointer(straight / "checkpoints").restore("latest")
    step_b, tree_b, extra_b = checkpoints.restore("latest")
    assert step_a == step_b == 12 and extra_a == extra_b
    leaves_a, leaves_b = flat_leaves(tree_a), flat_leaves(tree_b)
    assert leaves_a.keys() == leaves_b.keys()
    for path, a in leaves_a.items():
        np.testing.assert_array_equal(a, leaves_b[path], err_msg=path)
    assert metric_records(straight) == metric_records(run_dir), stop_after
