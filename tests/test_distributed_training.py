"""Data parallelism: one training code path on 1 or N devices, and on several processes.

The device count of a JAX process is fixed when JAX starts, so the runs on 8 simulated CPU
devices and the two-process run happen in subprocesses (`tests.distributed_jobs`); this
process (one CPU device) reads what they wrote, which also checks that a checkpoint written from
arrays sharded over 8 devices restores on one.
"""

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spikejax.cli import main
from spikejax.config import from_dict, to_dict
from spikejax.train._loop import build_run, evaluate, fit, train_loader
from spikejax.train._parallel import Placement, check_devices, data_mesh
from spikejax.train._rundir import saveable
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import read_metrics
from tests.distributed_jobs import tiny
from tests.helpers import flat_leaves, metric_records

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def _env(devices: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_NUM_CPU_DEVICES")}
    env.update(
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
        JAX_PLATFORMS="cpu",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def _latest(run_dir: Path):
    return Checkpointer(run_dir / "checkpoints").restore("latest")


def _train_losses(run_dir: Path) -> list[float]:
    return [r["loss"] for r in read_metrics(run_dir) if r["split"] == "train"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every run the comparisons read: the 8-device job, the one-device run in this process
    (beside it), and the two-process run."""
    out = tmp_path_factory.mktemp("runs")
    # The three 8-device runs compile the same two steps: a compilation cache private to this
    # job compiles them once (the cache changes no result, only the time to get it).
    env = _env(8)
    env.update(
        JAX_COMPILATION_CACHE_DIR=str(out / "compilation_cache"),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
    )
    command = [sys.executable, "-m", "tests.distributed_jobs", "mesh", str(out / "mesh")]
    mesh = [_start(command, env, out / "mesh.log")]
    config = out / "config.py"
    config.write_text(
        "from tests.distributed_jobs import tiny\n\n\ndef get_config():\n"
        "    return tiny(devices=0)\n"
    )
    try:  # this process's run beside the 8-device job; the two processes after both
        fit(tiny(), out / "one", progress=False, plots=False)
    finally:
        mesh_result = _wait(mesh)
    two_result = _wait(_launch(config, out / "two"))  # alone: their collectives wait for both
    assert mesh_result[0] == [0], mesh_result[1]
    return {"mesh": out / "mesh", "one": out / "one", "two": out / "two", "two_result": two_result}


def test_eight_devices_and_two_processes_train_as_one_device(runs):
    # One test for everything the jobs wrote, so that they run once under xdist too.
    mesh = runs["mesh"]
    _check_eight_devices_equal_one_within_float32_rounding(runs["one"], mesh / "eight")
    _check_a_resumed_sharded_run_is_bit_identical(mesh / "eight", mesh / "resumed")
    _check_a_batch_that_does_not_divide_across_the_mesh_is_named(mesh)
    _check_two_processes_train_the_parameters_of_one(runs["one"], runs["two"], runs["two_result"])


def _check_eight_devices_equal_one_within_float32_rounding(one: Path, eight: Path) -> None:
    step_1, tree_1, extra_1 = _latest(one)
    step_8, tree_8, extra_8 = _latest(eight)
    assert step_1 == step_8 == 4
    assert (extra_1["devices"], extra_8["devices"]) == (1, 8)
    np.testing.assert_allclose(_train_losses(eight), _train_losses(one), rtol=1e-5)
    assert len(_train_losses(one)) == 4
    leaves_1, leaves_8 = flat_leaves(tree_1), flat_leaves(tree_8)
    assert leaves_1.keys() == leaves_8.keys()
    for path, a in leaves_1.items():
        b = leaves_8[path]
        if np.issubdtype(np.asarray(a).dtype, np.floating):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=path)
        else:  # step counters and random keys: exactly the same
            np.testing.assert_array_equal(b, a, err_msg=path)
    summary_1 = json.loads((one / "summary.json").read_text())
    summary_8 = json.loads((eight / "summary.json").read_text())
    assert summary_8["test_accuracy_final"] == pytest.approx(summary_1["test_accuracy_final"])
    # `spikejax eval` of the 8-device run on this one-device process.
    result = evaluate(eight, which="latest")
    assert result["step"] == 4
    assert result["accuracy"] == pytest.approx(summary_8["test_accuracy_final"], abs=0.02)
    assert result["loss"] == pytest.approx(summary_8["final"]["test_loss"], rel=1e-4)


def _check_a_resumed_sharded_run_is_bit_identical(straight: Path, resumed: Path) -> None:
    step_a, tree_a, extra_a = _latest(straight)
    step_b, tree_b, extra_b = _latest(resumed)
    assert step_a == step_b == 4
    assert extra_a == extra_b
    leaves_a, leaves_b = flat_leaves(tree_a), flat_leaves(tree_b)
    assert leaves_a.keys() == leaves_b.keys()
    for path, a in leaves_a.items():
        np.testing.assert_array_equal(leaves_b[path], a, err_msg=path)
    assert metric_records(straight) == metric_records(resumed)
    summary = json.loads((resumed / "summary.json").read_text())
    assert summary["resumed_from"] == 2


def _check_a_batch_that_does_not_divide_across_the_mesh_is_named(mesh_runs: Path) -> None:
    errors = json.loads((mesh_runs / "errors.json").read_text())
    assert "`train.batch_size` must be divisible by the 8 devices" in errors["batch_size"]
    assert "got 12" in errors["batch_size"]
    assert "`train.eval_batch_size` must be divisible by the 8 devices" in errors["eval_batch_size"]
    assert "got 20" in errors["eval_batch_size"]
    assert not (mesh_runs / "bad_batch_size" / "config.json").exists()  # nothing left behind


def test_a_one_device_mesh_is_the_plain_single_device_step_bit_for_bit():
    # The default (train.devices=1) goes through the mesh code path; it must train exactly as
    # the step compiled for the default device without any sharding.
    config = tiny()
    plain = build_run(config, progress=False)
    meshed = build_run(config, progress=False, placement=Placement(data_mesh(1, {})))
    assert plain.steps.placement is None and meshed.steps.placement is not None
    batches = list(itertools.islice(iter(train_loader(plain)), 2))
    states, losses = [plain.steps.initial_state, meshed.steps.initial_state], [[], []]
    for index, batch in enumerate(batches):
        for i, run in enumerate((plain, meshed)):
            x, y = run.steps.placed(batch.x, batch.y.astype(np.int32))
            states[i], metrics = run.steps.train_step(states[i], x, y, run.steps.counter(index))
            losses[i].append(float(metrics["loss"]))
    assert losses[0] == losses[1]
    leaves_a, leaves_b = flat_leaves(saveable(states[0])), flat_leaves(saveable(states[1]))
    assert leaves_a.keys() == leaves_b.keys()
    for path, a in leaves_a.items():
        np.testing.assert_array_equal(np.asarray(leaves_b[path]), np.asarray(a), err_msg=path)


def test_the_default_mesh_leaves_configurations_and_their_hashes_as_before():
    # Runs made before train.devices existed have no such key; a one-device run writes none.
    assert "devices" not in to_dict(tiny())["train"]
    assert to_dict(tiny(devices=8))["train"]["devices"] == 8
    for config in (tiny(), tiny(devices=0), tiny(devices=8)):
        assert from_dict(json.loads(json.dumps(to_dict(config)))) == config
    with pytest.raises(ValueError, match=r"`TrainConfig`: `devices` must be an int >= 0; got -1"):
        tiny(devices=-1)


def test_more_devices_than_there_are_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"`train.devices` must be at most the 1 devices"):
        fit(tiny(devices=2), tmp_path / "run", progress=False, plots=False)
    assert not (tmp_path / "run" / "config.json").exists()


def test_a_resume_on_another_device_count_is_named():
    check_devices("fit", 8, 8)
    with pytest.raises(ValueError, match=r"must resume on the 8 devices .* got 2"):
        check_devices("fit", 8, 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_two_processes_train_the_parameters_of_one(
    one: Path, run_dir: Path, result: tuple[list[int], str]
) -> None:
    codes, output = result
    assert codes == [0, 0], output
    assert output.count("test         accuracy") == 1, output  # process 0 alone reports
    step_2, tree_2, extra_2 = _latest(run_dir)
    step_1, tree_1, _ = _latest(one)
    assert step_2 == step_1 == 4
    assert extra_2["devices"] == 2
    leaves_1, leaves_2 = flat_leaves(tree_1), flat_leaves(tree_2)
    assert leaves_1.keys() == leaves_2.keys()
    for path, a in leaves_1.items():
        np.testing.assert_allclose(leaves_2[path], a, rtol=1e-5, atol=1e-6, err_msg=path)
    # Process 0 alone wrote the run directory: every record once, no lock left behind.
    records = read_metrics(run_dir)
    assert [r["step"] for r in records if r["split"] == "train"] == [1, 2, 3, 4]
    assert [r["step"] for r in records if r["split"] == "eval"] == [2, 4]
    np.testing.assert_allclose(_train_losses(run_dir), _train_losses(one), rtol=1e-5)
    assert (run_dir / "summary.json").is_file()
    assert not (run_dir / ".lock").exists()


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:  # a file, not a pipe: nothing blocks on a full pipe
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    process.log = log  # read by _wait
    return process


def _launch(config: Path, run_dir: Path, *extra: str) -> list[subprocess.Popen]:
    port = _free_port()
    command = [sys.executable, "-m", "spikejax", "train", str(config), "--run-dir", str(run_dir)]
    command += ["--quiet", "--distributed", "--coordinator", f"127.0.0.1:{port}"]
    command += ["--num-processes", "2", *extra]
    logs = [run_dir.parent / f"{run_dir.name}-process{i}.log" for i in range(2)]
    return [_start([*command, "--process-id", str(i)], _env(1), logs[i]) for i in range(2)]


def _wait(workers: list[subprocess.Popen]) -> tuple[list[int], str]:
    """The exit codes of ``workers`` and the end of their output."""
    try:
        for worker in workers:
            worker.wait(timeout=TIMEOUT)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    outputs = [w.log.read_text(errors="replace")[-4000:] for w in workers]
    return [w.returncode for w in workers], "\n----\n".join(outputs)


@pytest.mark.slow
def test_two_processes_stop_together_on_sigterm_and_resume(tmp_path):
    # SIGTERM reaches both processes at slightly different steps; they agree to stop at the
    # next logging step, write one checkpoint and exit with 75; --resume finishes the run.
    config = tmp_path / "config.py"
    config.write_text(
        "from tests.distributed_jobs import tiny\n\n\ndef get_config():\n"
        "    return tiny(devices=0, epochs=10, max_steps=40, eval_every=20, checkpoint_every=0,"
        " log_every=2)\n"
    )
    run_dir = tmp_path / "run"
    workers = _launch(config, run_dir)
    metrics = run_dir / "metrics.jsonl"
    deadline = time.monotonic() + TIMEOUT
    while not (metrics.is_file() and metrics.read_text().strip()):
        assert all(w.poll() is None for w in workers), _wait(workers)[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    codes, output = _wait(workers)
    assert codes == [75, 75], output
    stopped_at, _, extra = _latest(run_dir)
    assert 0 < stopped_at < 40 and stopped_at % 2 == 0 and extra["devices"] == 2
    assert max(r["step"] for r in read_metrics(run_dir)) == stopped_at

    codes, output = _wait(_launch(config, run_dir, "--resume"))
    assert codes == [0, 0], output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed_from"] == stopped_at and summary["steps"] == 40
    steps = [r["step"] for r in read_metrics(run_dir) if r["split"] == "train"]
    assert steps == list(range(2, 41, 2))  # every record once, none lost at the stop


def test_distributed_options_need_distributed(capsys):
    assert main(["train", "x.py", "--process-id", "1"]) == 1
    assert "need `--distributed`" in capsys.readouterr().err
