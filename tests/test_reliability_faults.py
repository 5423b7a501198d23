"""Fault injection: every file of a run directory damaged in turn, kills at many points of a run,
a full disk. Each fault must end in an error naming the file (or argument), or in a documented
fallback; none may change a result silently."""

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikejax.config import Config, DataConfig, ModelConfig, OptimizerConfig, TrainConfig
from spikejax.train import (
    CheckpointError,
    MetricsLogger,
    _loop,
    checkpoint,
    fit,
    load_run,
)
from spikejax.train._committed import check_committed_config
from spikejax.train._resume_metrics import resume_metrics
from spikejax.train._rundir import checkpointer_of, read_config
from tests.helpers import flat_leaves, metric_records
from tests.legacy_layout import to_legacy_layout

# Files a run writes but never reads back (outputs; a resumed run rewrites them). The
# checkpoints' index.json is for people and scripts: the checkpoints are authoritative.
NOT_READ = ("summary.json", "tensorboard/", "plots/", "checkpoints/index.json")


def tiny(**train) -> Config:
    options = {"epochs": 2, "batch_size": 32, "num_steps": 3, "log_every": 2, **train}
    return Config(
        name="faults",
        data=DataConfig("digits", limit=120, prefetch=0, val_fraction=0.2, encoding="poisson"),
        model=ModelConfig("lif_mlp", {"in_features": 64, "hidden": (8,), "num_classes": 10}),
        optimizer=OptimizerConfig("adam", lr=5e-3),
        train=TrainConfig(eval_batch_size=64, **options),
    )


CONFIG = tiny(max_steps=6, eval_every=3, checkpoint_every=2)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("faults") / "straight"
    fit(CONFIG, run_dir, progress=False, plots=True)
    return run_dir


def _reads(run_dir: Path) -> None:
    """What resume, eval and deploy read of a run directory, without training or compiling."""
    config = read_config(run_dir, "load_run")
    checkpointer = checkpointer_of(run_dir, config)
    for which in ("latest", "best"):
        check_committed_config("load_run", run_dir / "config.json", checkpointer, which)
        checkpointer.verify(which)
        checkpointer.extra(which)
    extra, meta = checkpointer.extra("latest"), checkpointer.meta("latest")
    step = checkpointer.latest_step()
    resume_metrics(run_dir, step, extra["logged_to"], repair=False, committed=meta)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_every_file_damaged_in_turn_is_named_or_not_read(straight, tmp_path):
    files = sorted(p.relative_to(straight) for p in straight.rglob("*") if p.is_file())
    assert not (straight / ".lock").exists()
    _reads(straight)  # the intact run reads
    counts = {"injected": 0, "handled": 0, "silent": []}
    for rel in files:
        for fault in (_truncate, _flip):
            if (straight / rel).stat().st_size == 0:
                continue
            copy = tmp_path / f"{fault.__name__}-{str(rel).replace('/', '_')}"
            shutil.copytree(straight, copy)
            fault(copy / rel)
            counts["injected"] += 1
            try:
                _reads(copy)
            except (ValueError, CheckpointError) as error:
                named = str(copy / rel) in str(error) or (
                    "checkpoints" in rel.parts and str(copy / Path(*rel.parts[:2])) in str(error)
                )
                if named:
                    counts["handled"] += 1
                else:
                    counts["silent"].append((str(rel), fault.__name__, str(error)[:200]))
            else:
                if str(rel).startswith(NOT_READ):
                    counts["handled"] += 1
                else:
                    counts["silent"].append((str(rel), fault.__name__, "no error"))
            shutil.rmtree(copy)
    print(
        f"\nrun-directory faults: {counts['injected']} injected, {counts['handled']} handled, "
        f"{len(counts['silent'])} silent"
    )
    assert counts["injected"] >= 30 and counts["silent"] == []


class Kill(BaseException):
    """A crash at an injected point (BaseException: nothing in the run may swallow it)."""


def _kill_at(monkeypatch, owner, name, call):
    original = getattr(owner, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise Kill
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


# (where, attribute, n-th call): inside checkpoint writes, at the commit rename, mid-prune,
# while logging and in the training step.
KILLS = [
    (checkpoint, "atomic_write_json", 3),  # extra.json of the 2nd checkpoint
    (checkpoint, "atomic_write_json", 4),  # COMMIT.json of the 2nd checkpoint
    (checkpoint.os, "rename", 2),  # the 2nd checkpoint's commit... or a prune
    (checkpoint.shutil, "rmtree", 1),  # mid-prune, after the rename to .trash
    (checkpoint, "write_index", 2),  # the 2nd checkpoint committed, index.json not yet updated
    (MetricsLogger, "log", 4),
    (_loop.Checkpointer, "save", 3),
]


@pytest.mark.parametrize("owner, name, call", KILLS, ids=[f"{k[1]}-{k[2]}" for k in KILLS])
def test_a_kill_anywhere_resumes_bit_identically(
    straight, tmp_path, monkeypatch, owner, name, call
):
    run_dir = tmp_path / "killed"
    _kill_at(monkeypatch, owner, name, call)
    with pytest.raises(Kill):
        fit(CONFIG, run_dir, progress=False, plots=False)
    monkeypatch.undo()
    _index_names_complete_checkpoints(run_dir)
    fit(CONFIG, run_dir, resume=True, progress=False, plots=False)
    _same_as_straight(straight, run_dir)
    index = checkpointer_of(run_dir, CONFIG).index()
    assert index == checkpointer_of(straight, CONFIG).index()


def _index_names_complete_checkpoints(run_dir: Path) -> None:
    """Whatever a crash left, every checkpoint that index.json names is on disk and complete."""
    checkpointer = checkpointer_of(run_dir, CONFIG)
    index = checkpointer.index()
    if index is None:
        return
    named = [index["latest"], index["best"], *index["checkpoints"]]
    for entry in filter(None, named):
        checkpoint.verify(checkpointer.directory / entry["directory"], entry["step"])


def _same_as_straight(straight: Path, run_dir: Path) -> None:
    a = checkpointer_of(straight, CONFIG).restore("latest")
    b = checkpointer_of(run_dir, CONFIG).restore("latest")
    assert a[0] == b[0] and a[2] == b[2]
    leaves_a, leaves_b = flat_leaves(a[1]), flat_leaves(b[1])
    for path, value in leaves_a.items():
        np.testing.assert_array_equal(value, leaves_b[path], err_msg=path)
    assert metric_records(straight) == metric_records(run_dir)


def test_a_run_in_the_older_layout_resumes_bit_identically(straight, tmp_path, monkeypatch):
    run_dir = tmp_path / "older"
    _kill_at(monkeypatch, _loop.Checkpointer, "save", 3)  # stopped after steps 2 and 3
    with pytest.raises(Kill):
        fit(CONFIG, run_dir, progress=False, plots=False)
    monkeypatch.undo()
    assert [p.name for p in to_legacy_layout(run_dir / "checkpoints")] == [
        "ckpt-000001-step-000000003"  # keep=1: step 3 is the latest and the best
    ]
    assert load_run(run_dir, which="best").step == 3
    fit(CONFIG, run_dir, resume=True, progress=False, plots=False)
    _same_as_straight(straight, run_dir)
    # The resumed run wrote step-named checkpoints that Orbax lists, and an index.
    index = checkpointer_of(run_dir, CONFIG).index()
    straight_index = checkpointer_of(straight, CONFIG).index()
    assert [e["step"] for e in index["checkpoints"]] == [
        e["step"] for e in straight_index["checkpoints"]
    ]
    assert index["latest"] == straight_index["latest"]
    assert index["best"]["step"] == straight_index["best"]["step"]
    import orbax.checkpoint as ocp

    with ocp.CheckpointManager(run_dir / "checkpoints") as manager:
        assert manager.latest_step() == 6 and 6 in manager.all_steps()


def test_a_full_disk_keeps_the_previous_checkpoint(straight, tmp_path, monkeypatch):
    run_dir = tmp_path / "full"
    original = checkpoint.atomic_write_json
    calls = {"n": 0}

    def full(path, obj, **kwargs):
        calls["n"] += 1
        if calls["n"] >= 3:
            raise OSError(errno.ENOSPC, f"`atomic_write_bytes`: could not write {path!r}: full")
        return original(path, obj, **kwargs)

    monkeypatch.setattr(checkpoint, "atomic_write_json", full)
    with pytest.raises(
        CheckpointError, match=r"could not save step 3 to .*checkpoints/3: .*extra.json.*full"
    ):
        fit(CONFIG, run_dir, progress=False, plots=False)
    monkeypatch.undo()
    assert load_run(run_dir, which="latest").step == 2
    assert not (run_dir / ".lock").exists()
    fit(CONFIG, run_dir, resume=True, progress=False, plots=False)
    assert metric_records(straight) == metric_records(run_dir)


def test_a_full_disk_while_logging_names_the_file(tmp_path):
    logger = MetricsLogger(tmp_path, tensorboard=False)

    class Full:
        closed = False

        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    logger._file.close()
    logger._file = Full()
    with pytest.raises(OSError, match=rf"could not write {tmp_path / 'metrics.jsonl'}"):
        logger.log(1, {"loss": 1.0})
