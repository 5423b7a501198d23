"""Run-directory plumbing: atomic writes, checkpoints, metrics logs, summaries, config hashes."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import importlib.util
import io
import json
import math
import os
import re
import socket
import struct
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spikejax._io as sjio
import spikejax.train.checkpoint as ckpt_module
from spikejax._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from spikejax.train.checkpoint import Checkpointer, CheckpointError
from spikejax.train.logging import (
    MetricsLogger,
    ProgressBar,
    config_hash,
    environment_info,
    read_metrics,
    write_summary,
)


def _needs(module: str):
    if importlib.util.find_spec(module) is None:
        return pytest.mark.skip(reason=f"{module} is not installed (extra 'train')")
    return lambda test: test


needs_orbax = _needs("orbax.checkpoint")
needs_tensorboardx = _needs("tensorboardX")
needs_tqdm = _needs("tqdm")

# ------------------------------------------------------------------------------ atomic writes


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_atomic_writes_write_exact_content_and_replace(tmp_path):
    p = tmp_path / "f.bin"
    assert atomic_write_bytes(p, b"\x00\x01old") == p
    atomic_write_bytes(p, b"new\xff")
    assert p.read_bytes() == b"new\xff"
    t = tmp_path / "f.txt"
    atomic_write_text(t, "héllo\n")
    assert t.read_bytes() == "héllo\n".encode()
    j = tmp_path / "f.json"
    atomic_write_json(j, {"b": [1, 2.5], "a": None})
    assert json.loads(j.read_text()) == {"a": None, "b": [1, 2.5]}
    assert _listing(tmp_path) == ["f.bin", "f.json", "f.txt"]


@pytest.mark.parametrize("fail", ["replace", "fsync"])
def test_atomic_write_failure_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, fail):
    p = tmp_path / "state.json"
    p.write_text("old")

    def boom(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sjio.os, fail, boom)
    with pytest.raises(OSError, match=re.escape(str(p))) as info:
        atomic_write_text(p, "new content")
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert p.read_text() == "old"
    assert _listing(tmp_path) == ["state.json"]


def test_atomic_write_non_os_error_also_cleans_up(tmp_path, monkeypatch):
    p = tmp_path / "x.txt"
    p.write_text("old")

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(sjio.os, "replace", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        atomic_write_text(p, "new")
    monkeypatch.undo()
    assert p.read_text() == "old" and _listing(tmp_path) == ["x.txt"]


def test_atomic_write_under_a_regular_file_names_the_path(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    target = blocker / "out.json"
    with pytest.raises(OSError, match=re.escape(str(target))):
        atomic_write_json(target, {"a": 1})
    assert _listing(tmp_path) == ["file.txt"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions"
)
def test_atomic_write_to_read_only_directory_names_the_path(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text("old")
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=re.escape(str(locked / "a.txt"))):
            atomic_write_text(locked / "a.txt", "new")
        assert (locked / "a.txt").read_text() == "old"
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_atomic_writes_get_the_permissions_of_a_new_file(tmp_path, umask):
    previous = os.umask(umask)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives a new file under this umask
        written = atomic_write_json(tmp_path / "a.json", {"a": 1})
        fd, tmp = sjio.create_temp(tmp_path / "b.bin")
        os.close(fd)
    finally:
        os.umask(previous)
    assert plain.stat().st_mode & 0o777 == 0o666 & ~umask
    assert written.stat().st_mode & 0o777 == 0o666 & ~umask
    assert Path(tmp).stat().st_mode & 0o777 == 0o666 & ~umask
    assert Path(tmp).parent == tmp_path and Path(tmp).name.startswith(".b.bin.")


def test_atomic_write_json_rejects_nan_before_touching_the_file(tmp_path):
    p = tmp_path / "s.json"
    with pytest.raises(ValueError, match="atomic_write_json"):
        atomic_write_json(p, {"loss": math.nan})
    with pytest.raises(TypeError, match="atomic_write_json"):
        atomic_write_json(p, {"f": object()})
    assert _listing(tmp_path) == []


# -------------------------------------------------------------------------------- checkpoints


def _tree(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "params": {
            "w": jnp.asarray(rng.standard_normal((3, 4)), jnp.float32),
            "b": jnp.asarray(rng.standard_normal(4), jnp.bfloat16),
        },
        "count": jnp.asarray(seed + 7, jnp.int32),
        "table": rng.integers(-(2**40), 2**40, size=5, dtype=np.int64),
        "nested": {"deep": {"u8": jnp.asarray(rng.integers(0, 256, size=(2, 2)), jnp.uint8)}},
    }


def _assert_bit_identical(restored, expected) -> None:
    assert jax.tree_util.tree_structure(restored) == jax.tree_util.tree_structure(expected)
    for got, want in zip(jax.tree.leaves(restored), jax.tree.leaves(expected), strict=True):
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def _latest_dir(directory: Path) -> Path:
    return max((p for p in directory.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


@needs_orbax
def test_checkpoint_round_trip_is_bit_identical(tmp_path):
    tree = _tree(1)
    ckpt = Checkpointer(tmp_path / "ckpt")
    assert ckpt.latest_step() is None and not ckpt.exists()
    extra = {"loader": {"epoch": 3, "index": 17}, "rng": [1, 2, 3], "config_hash": "ab"}
    ckpt.save(12, tree, metrics={"loss": 0.25}, extra=extra)
    assert ckpt.exists() and ckpt.latest_step() == 12
    step, restored, got_extra = ckpt.restore()
    assert step == 12 and got_extra == extra
    _assert_bit_identical(restored, tree)
    assert ckpt.metrics() == {"loss": 0.25}
    # Restoring into an abstract target gives the same values; restoring twice still verifies.
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), tree)
    step, restored, _ = ckpt.restore(target=abstract)
    _assert_bit_identical(restored, tree)
    assert ckpt.verify() == 12


@needs_orbax
def test_checkpoint_of_nnx_model_and_optimizer_state(tmp_path):
    import optax
    from flax import nnx

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.linear = nnx.Linear(3, 2, rngs=rngs)
            self.dropout = nnx.Dropout(0.5, rngs=rngs)

    model = Net(nnx.Rngs(0, dropout=1))
    optimizer = nnx.Optimizer(model, optax.sgd(0.1, momentum=0.9), wrt=nnx.Param)
    grads = jax.tree.map(jnp.ones_like, nnx.state(model, nnx.Param))
    optimizer.update(model, grads)
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, nnx.state((model, optimizer)))

    fresh = Net(nnx.Rngs(5, dropout=6))
    fresh_opt = nnx.Optimizer(fresh, optax.sgd(0.1, momentum=0.9), wrt=nnx.Param)
    target = nnx.state((fresh, fresh_opt))
    _, restored, _ = ckpt.restore(target=target)
    nnx.update((fresh, fresh_opt), restored)

    def raw(state):
        leaves = jax.tree.leaves(state)
        return [
            np.asarray(
                jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
            )
            for x in leaves
        ]

    expected, got = raw(nnx.state((model, optimizer))), raw(nnx.state((fresh, fresh_opt)))
    assert len(expected) == len(got)
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


@needs_orbax
def test_latest_and_best_selection_and_retention(tmp_path):
    ckpt = Checkpointer(tmp_path, best_metric="accuracy", best_mode="max")
    accuracies = {1: 0.5, 2: 0.7, 3: 0.6, 4: None, 5: math.nan}
    for step, acc in accuracies.items():
        metrics = None if acc is None else {"accuracy": acc, "loss": 1.0 / step}
        ckpt.save(step, _tree(step), metrics=metrics)
    assert ckpt.latest_step() == 5 and ckpt.best_step() == 2
    step, restored, _ = ckpt.restore("best")
    assert step == 2
    _assert_bit_identical(restored, _tree(2))
    assert ckpt.metrics("best") == {"accuracy": 0.7, "loss": 0.5}
    # keep=1: only the latest and the best remain on disk, and the index names them.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2", "5", "index.json"]
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["latest"] == {
        "step": 5,
        "directory": "5",
        "metrics": {"accuracy": "NaN", "loss": 0.2},
    }
    assert index["best"] == {"step": 2, "directory": "2", "metrics": {"accuracy": 0.7, "loss": 0.5}}
    assert index["checkpoints"] == [{"step": 2, "directory": "2"}, {"step": 5, "directory": "5"}]
    # A restarted process sees the same checkpoints.
    again = Checkpointer(tmp_path, best_metric="accuracy")
    assert again.latest_step() == 5 and again.best_step() == 2
    assert again.restore()[0] == 5
    # "min" mode on another metric, and no best without a metric.
    assert Checkpointer(tmp_path, best_metric="loss", best_mode="min").best_step() == 5
    plain = Checkpointer(tmp_path)
    assert plain.best_step() is None and not plain.exists("best")
    with pytest.raises(CheckpointError, match="best_metric"):
        plain.restore("best")


@needs_orbax
def test_keep_more_and_no_resave_of_a_step(tmp_path):
    ckpt = Checkpointer(tmp_path, keep=2)
    for step in (10, 20, 30):
        ckpt.save(step, _tree(step))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20", "30", "index.json"]
    # One directory per step (as Orbax names them): a step again, or an earlier one, is refused
    # before anything is written.
    for step in (30, 25):
        with pytest.raises(ValueError, match=rf"greater than .* latest checkpoint, 30.*got {step}"):
            ckpt.save(step, _tree(99))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20", "30", "index.json"]
    step, restored, _ = ckpt.restore()
    assert step == 30
    _assert_bit_identical(restored, _tree(30))


def test_empty_directory_has_no_checkpoint(tmp_path):
    ckpt = Checkpointer(tmp_path / "missing")
    assert ckpt.latest_step() is None and ckpt.best_step() is None
    with pytest.raises(CheckpointError, match="no latest checkpoint"):
        ckpt.restore()


def _largest_file(root: Path) -> Path:
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "COMMIT.json"]
    return max(files, key=lambda p: p.stat().st_size)


@needs_orbax
@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "add"])
def test_damaged_checkpoint_file_is_named_and_not_replaced(tmp_path, damage):
    ckpt = Checkpointer(tmp_path, keep=2)
    ckpt.save(1, _tree(1))
    ckpt.save(2, _tree(2))
    victim = _largest_file(_latest_dir(tmp_path) / "state")
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        victim.write_bytes(data[:-1] + bytes([data[-1] ^ 0x01]))
    elif damage == "delete":
        victim.unlink()
    else:
        victim = victim.parent / "stray.bin"
        victim.write_bytes(b"x")
    with pytest.raises(CheckpointError, match=re.escape(str(victim))):
        ckpt.restore()
    # No silent fallback to step 1, and the damaged checkpoint is still the latest.
    assert ckpt.latest_step() == 2
    assert (tmp_path / "1").is_dir()


@needs_orbax
def test_missing_or_corrupt_commit_marker(tmp_path):
    ckpt = Checkpointer(tmp_path, keep=2)
    ckpt.save(1, _tree(1))
    ckpt.save(2, _tree(2))
    marker = _latest_dir(tmp_path) / "COMMIT.json"
    text = marker.read_text()
    marker.write_text(text.replace('"step": 2', '"step": 3'))
    with pytest.raises(CheckpointError, match=re.escape(str(marker))):
        ckpt.restore()
    marker.unlink()
    with pytest.raises(CheckpointError, match=re.escape(str(marker))):
        ckpt.restore()
    with pytest.raises(CheckpointError, match="commit marker"):
        ckpt.restore(verify=False)
    assert ckpt.latest_step() == 2


@needs_orbax
@pytest.mark.parametrize("crash_in", ["_file_table", "atomic_write_json"])
def test_crash_mid_save_keeps_previous_latest(tmp_path, monkeypatch, crash_in):
    ckpt = Checkpointer(tmp_path, best_metric="acc")
    ckpt.save(1, _tree(1), metrics={"acc": 0.1})

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(ckpt_module, crash_in, crash)
    with pytest.raises(CheckpointError, match="simulated crash"):
        ckpt.save(2, _tree(2), metrics={"acc": 0.9})
    monkeypatch.undo()
    # The array files of the partial save were written, but it never became a checkpoint.
    partial = [p for p in tmp_path.iterdir() if ".orbax-checkpoint-tmp-" in p.name]
    assert len(partial) == 1 and (partial[0] / "state").is_dir()
    restarted = Checkpointer(tmp_path, best_metric="acc")
    assert restarted.latest_step() == 1 and restarted.best_step() == 1
    step, restored, _ = restarted.restore()
    assert step == 1
    _assert_bit_identical(restored, _tree(1))
    # The next save clears the leftover.
    restarted.save(2, _tree(2), metrics={"acc": 0.9})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2", "index.json"]
    assert restarted.latest_step() == 2 and restarted.best_step() == 2


def test_checkpointer_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="`Checkpointer`: `best_mode` must be one of"):
        Checkpointer(tmp_path, best_mode="up")
    with pytest.raises(ValueError, match="`keep` must be an int >= 1"):
        Checkpointer(tmp_path, keep=0)
    ckpt = Checkpointer(tmp_path)
    with pytest.raises(ValueError, match="`step` must be an int >= 0; got -1"):
        ckpt.save(-1, _tree())
    with pytest.raises(TypeError, match="`extra` must be strict JSON"):
        ckpt.save(1, _tree(), extra={"a": object()})
    with pytest.raises(TypeError, match=r"`metrics\['loss'\]` must be a scalar"):
        ckpt.save(1, _tree(), metrics={"loss": "low"})
    with pytest.raises(ValueError, match="`which` must be one of"):
        ckpt.exists("oldest")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ logging


def _read_tensorboard_scalars(directory: Path) -> list[tuple[int, str, float]]:
    """Decode TFRecord event files (length, crc, Event proto, crc) into (step, tag, value)."""
    from tensorboardX.proto import event_pb2

    scalars = []
    for file in sorted(directory.iterdir()):
        data = file.read_bytes()
        i = 0
        while i < len(data):
            (length,) = struct.unpack("<Q", data[i : i + 8])
            event = event_pb2.Event.FromString(data[i + 12 : i + 12 + length])
            i += 12 + length + 4
            scalars += [(event.step, v.tag, v.simple_value) for v in event.summary.value]
    return scalars


@needs_tensorboardx
def test_metrics_logger_writes_jsonl_and_tensorboard(tmp_path):
    with MetricsLogger(tmp_path) as log:
        log.log(1, {"loss": 2.5, "accuracy": np.float32(0.25)})
        log.log(2, {"loss": jnp.asarray(1.5)})
        log.log(2, {"accuracy": 0.5, "loss": math.inf}, split="eval")
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3

    def reject(token):
        raise ValueError(f"non-standard JSON token {token}")

    records = [json.loads(line, parse_constant=reject) for line in lines]
    assert [(r["step"], r["split"]) for r in records] == [(1, "train"), (2, "train"), (2, "eval")]
    assert records[2]["loss"] == "Infinity" and isinstance(records[0]["wall_time"], float)
    back = read_metrics(tmp_path)
    assert back[0]["accuracy"] == 0.25 and back[1]["loss"] == 1.5 and back[2]["loss"] == math.inf

    scalars = _read_tensorboard_scalars(tmp_path / "tensorboard")
    assert sorted((s, t) for s, t, _ in scalars) == [
        (1, "train/accuracy"),
        (1, "train/loss"),
        (2, "eval/accuracy"),
        (2, "eval/loss"),
        (2, "train/loss"),
    ]
    values = {(s, t): v for s, t, v in scalars}
    assert values[(1, "train/loss")] == 2.5 and values[(2, "eval/accuracy")] == 0.5


def test_metrics_logger_appends_on_resume_and_isolates_a_torn_line(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as log:
        log.log(1, {"loss": 1.0})
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 2, "spl')  # a crash mid-line
    with MetricsLogger(tmp_path, tensorboard=False) as log:
        log.log(2, {"loss": 0.5})
    with pytest.raises(ValueError, match=r"`read_metrics`: line 2 of .*metrics\.jsonl"):
        read_metrics(tmp_path)
    assert [r["step"] for r in read_metrics(tmp_path, strict=False)] == [1, 2]
    assert not (tmp_path / "tensorboard").exists()


def test_metrics_logger_rejects_bad_records(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as log:
        with pytest.raises(ValueError, match="metric names must be str other than"):
            log.log(1, {"step": 3.0})
        with pytest.raises(TypeError, match=r"`metrics\['loss'\]` must be a scalar"):
            log.log(1, {"loss": np.ones(2)})
        with pytest.raises(ValueError, match="`step` must be an int >= 0"):
            log.log(1.5, {"loss": 1.0})
    assert read_metrics(tmp_path) == []


@needs_tqdm
def test_progress_bar_shows_eta_and_postfix():
    out = io.StringIO()
    with ProgressBar(10, initial=2, desc="train", file=out, mininterval=0) as bar:
        for k in range(8):
            bar.update(loss=1.0 / (k + 1), accuracy=jnp.asarray(k / 8))
        assert bar.n == 10
    text = out.getvalue()
    assert "train" in text and "10/10" in text and "<00:00" in text
    assert "loss=0.125" in text and "accuracy=0.875" in text
    quiet = ProgressBar(5, disable=True)
    quiet.update(2, loss=0.3)
    assert quiet.n == 2
    quiet.close()
    with pytest.raises(ValueError, match="`ProgressBar`: `total_steps` must be an int >= 0"):
        ProgressBar(-1)


def test_summary_is_json_with_versions_and_no_host_name(tmp_path):
    env = environment_info()
    summary = {"env": env, "final": {"accuracy": np.float64(0.9), "loss": math.nan}, "ok": True}
    path = write_summary(tmp_path, summary)
    assert path == tmp_path / "summary.json"
    data = json.loads(path.read_text())
    assert data["env"]["jax"] == jax.__version__ and data["env"]["numpy"] == np.__version__
    for key in ("python", "jaxlib", "flax", "optax", "backend", "device_kinds"):
        assert data["env"][key]
    assert data["final"] == {"accuracy": 0.9, "loss": "NaN"}
    host = socket.gethostname()
    if len(host) >= 4:
        assert host not in path.read_text()


@dataclasses.dataclass(frozen=True)
class _Optim:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)


@dataclasses.dataclass(frozen=True)
class _Config:
    model: str = "sew_resnet18"
    steps: int = 100
    optim: _Optim = dataclasses.field(default_factory=_Optim)


def test_config_hash_is_canonical_and_sensitive():
    base = config_hash(_Config())
    as_dict = {"steps": 100, "optim": {"betas": [0.9, 0.999], "lr": 0.001}, "model": "sew_resnet18"}
    assert config_hash(as_dict) == base
    canonical = json.dumps(as_dict, sort_keys=True, separators=(",", ":"))
    assert base == hashlib.sha256(canonical.encode()).hexdigest()
    changed = [
        _Config(steps=101),
        _Config(model="sew_resnet34"),
        _Config(optim=_Optim(lr=2e-3)),
        _Config(optim=_Optim(betas=(0.9, 0.99))),
    ]
    hashes = {config_hash(c) for c in changed}
    assert len(hashes) == len(changed) and base not in hashes
    assert config_hash({**as_dict, "seed": 0}) != base
    with pytest.raises(TypeError, match="`config_hash`: `obj\\['f'\\]` must be JSON-like"):
        config_hash({"f": print})


def test_run_plumbing_does_not_import_heavy_dependencies():
    code = (
        "import sys, spikejax.train.checkpoint, spikejax.train.logging, spikejax.viz\n"
        "heavy = {'matplotlib', 'orbax', 'tensorboardX', 'tqdm'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_checkpointer_accepts_a_relative_directory(tmp_path, monkeypatch):
    pytest.importorskip("orbax.checkpoint")
    monkeypatch.chdir(tmp_path)
    ckpt = Checkpointer("runs/relative/checkpoints")
    tree = {"w": np.arange(4, dtype=np.float32)}
    ckpt.save(3, tree)
    step, restored, _ = ckpt.restore()
    assert step == 3
    np.testing.assert_array_equal(restored["w"], tree["w"])


@needs_tensorboardx
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full for a full disk")
def test_tensorboard_full_disk_is_a_named_error_in_the_callers_thread(tmp_path, monkeypatch):
    import threading

    import spikejax.train._tensorboard as tb

    monkeypatch.setattr(tb.time, "time", lambda: 1_700_000_000.0)
    event_file = tmp_path / "tensorboard" / f"events.out.tfevents.1700000000.{socket.gethostname()}"
    event_file.parent.mkdir()
    event_file.symlink_to("/dev/full")  # every write to it fails with ENOSPC
    threads = threading.active_count()
    with pytest.raises(OSError, match=r"could not write .*events\.out\.tfevents") as info:
        MetricsLogger(tmp_path)
    assert info.value.errno == errno.ENOSPC
    assert threading.active_count() == threads  # no writer thread left to print its own traceback
