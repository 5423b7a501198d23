"""Optuna sweeps on SQLite and on a real PostgreSQL server: workers sharing a study, a worker
killed mid-trial, resuming a study. The server is a private cluster started in a temporary
directory on a free loopback port (as the user ``postgres`` when the tests run as root, since
PostgreSQL refuses to run as root) and stopped afterwards."""

from __future__ import annotations

import contextlib
import csv
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

SWEEP = """
from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.sweep import Choice, Float, Sweep

BASE = Config(
    name="tiny",
    data=DataConfig(name="digits", limit=90, prefetch=0),
    model=ModelConfig("lif_mlp", {{"in_features": 64, "hidden": (8,), "num_classes": 10, "T": 2}}),
    optimizer=OptimizerConfig(lr=5e-3),
    train=TrainConfig(epochs=1, batch_size=30, num_steps=2, log_every=1, eval_batch_size=64),
)


def get_sweep():
    return Sweep(
        base=BASE,
        space={space},
        trials={trials},
        startup_trials=1,
        heartbeat_s=2,  # a loaded machine may delay a live worker's heartbeat by a second
        seed={seed},
    )
"""


LR_AND_HIDDEN = (
    '{"optimizer.lr": Float(1e-3, 3e-2, log=True), "model.options.hidden": Choice(((8,), (12,)))}'
)
LR = '{"optimizer.lr": Float(1e-3, 3e-2, log=True)}'


def _sweep_file(folder: Path, *, trials: int, seed: int = 0, space: str = LR_AND_HIDDEN) -> Path:
    path = folder / "sweep.py"
    path.write_text(SWEEP.format(trials=trials, seed=seed, space=space))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    """The URL prefix of a private PostgreSQL 15 cluster (``postgresql://postgres@host:port``)."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not on PATH: no server to test with")
    pytest.importorskip("psycopg2")
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="spikejax-pg-"))  # short: the socket path has a limit
    if os.geteuid() == 0:  # PostgreSQL never runs as root
        user = pwd.getpwnam("postgres" if _has_user("postgres") else "nobody")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", user.pw_name, "--"]
    data, port = root / "data", _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        subprocess.run(
            [*prefix, "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*prefix, "pg_ctl", "-D", str(data), "-l", str(root / "log"), "-o", options, "-w",
             "start"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


_DATABASES = iter(range(1_000_000))


# The multi-process test on SQLite repeats the PostgreSQL one on a file (the same Optuna RDB
# storage code); it runs outside the default test run to keep that short.
@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.slow), "postgresql"])
def storage(request, tmp_path):
    """A fresh, empty study database: an SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    server = request.getfixturevalue("postgres_server")
    import psycopg2

    name = f"sweep_{os.getpid()}_{next(_DATABASES)}"
    with contextlib.closing(psycopg2.connect(f"{server}/postgres")) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


def _worker(sweep: Path, out: Path, storage: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "spikejax", "sweep", str(sweep), "--out", str(out)]
    command += ["--storage", storage, "--resume", "--quiet"]
    # Trials of one shape compile to the same program (the learning rate is a value in the
    # optimizer state): a compilation cache shared by the workers compiles it once.
    cache = sweep.parent / "jax-cache"
    env = {
        **os.environ,
        "SPIKEJAX_TRACEBACK": "1",
        "JAX_COMPILATION_CACHE_DIR": str(cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
    }
    with log.open("w") as f:  # the child writes into its own copy of the descriptor
        return subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT, env=env)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_workers_share_a_study_and_a_killed_workers_trial_fails(tmp_path, storage):
    sweep = _sweep_file(tmp_path, trials=3, space=LR)
    a, b, c = (tmp_path / name for name in "abc")
    killed = _worker(sweep, a, storage, tmp_path / "a.log")
    deadline = time.monotonic() + 300
    while not (a / "runs" / "trial-0000" / "config.json").is_file():  # trial 0 is running
        assert killed.poll() is None, (tmp_path / "a.log").read_text()
        assert time.monotonic() < deadline, "worker a never started a trial"
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(4.5)  # longer than the grace period (2 heartbeats of 2 s): trial 0 is stale
    workers = [_worker(sweep, d, storage, tmp_path / f"{d.name}.log") for d in (b, c)]
    for worker, d in zip(workers, (b, c), strict=True):
        assert worker.wait(timeout=600) == 0, (tmp_path / f"{d.name}.log").read_text()

    url = storage.replace("postgresql://", "postgresql+psycopg2://")  # as `spikejax sweep` does
    summaries = optuna.study.get_all_study_summaries(url)
    assert len(summaries) == 1
    study = optuna.load_study(study_name=summaries[0].study_name, storage=url)
    states = {t.number: t.state.name for t in study.trials}
    assert states[0] == "FAIL"  # the killed worker's trial
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= 3
    retried = [t.number for t in study.trials if t.system_attrs.get("failed_trial") == 0]
    assert len(retried) == 1  # re-queued once with trial 0's settings
    assert study.trials[retried[0]].params == study.trials[0].params
    for d in (b, c):  # each worker wrote the whole study's table
        rows = _rows(d / "results.csv")
        assert [r["trial"] for r in rows] == [str(t.number) for t in study.trials]
    # The finished trials ran in the workers b and c (which of them ran how many depends on
    # their start-up times), trial 0 in the killed worker a.
    ran = {Path(t.user_attrs["run_dir"]).parent.parent.name for t in finished}
    assert ran <= {"b", "c"} and ran
    assert Path(study.trials[0].user_attrs["run_dir"]).parent.parent.name == "a"


def test_resume_continues_a_study_in_its_sqlite_file(tmp_path):
    from spikejax.sweep import run_sweep

    out = tmp_path / "out"
    rows = run_sweep(_sweep_file(tmp_path, trials=1), out, progress=False)
    assert [r["state"] for r in rows] == ["COMPLETE"]
    assert (out / "study.db").is_file()
    assert (out / "plots" / "optimization_history.png").is_file()
    sweep = _sweep_file(tmp_path, trials=2)  # the same sweep, asked for one more trial
    with pytest.raises(ValueError, match="already holds this sweep; pass --resume"):
        run_sweep(sweep, out, progress=False)
    rows = run_sweep(sweep, out, resume=True, progress=False)
    assert [r["trial"] for r in rows] == [0, 1]
    assert rows[0]["val_accuracy_best"] is not None
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and len(_rows(out / "results.csv")) == 2
    assert {"optimizer.lr", "model.options.hidden", "test_accuracy_best"} <= set(rows[1])
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["trial-0000", "trial-0001"]
