"""The checkpoint layout: directories named by step that orbax.checkpoint.CheckpointManager lists
and restores, index.json (latest and best) kept consistent through crashes, and the older
``ckpt-<n>-step-<s>`` layout still read."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import spikejax.train.checkpoint as ckpt_module
from spikejax.train.checkpoint import Checkpointer, CheckpointError
from tests.legacy_layout import to_legacy_layout

ocp = pytest.importorskip("orbax.checkpoint")


def _tree(step: int) -> dict:
    rng = np.random.default_rng(step)
    return {
        "model": {"w": rng.standard_normal((3, 4)).astype(np.float32)},
        "count": np.asarray(step, np.int32),
        "key": rng.integers(0, 2**32, size=2, dtype=np.uint32),
    }


ACCURACY = {1: 0.5, 2: 0.8, 3: None, 4: 0.6, 5: 0.7}


def _fill(directory, steps=(1, 2, 3, 4, 5), keep=2) -> Checkpointer:
    ckpt = Checkpointer(directory, best_metric="acc", keep=keep)
    for step in steps:
        acc = ACCURACY[step]
        ckpt.save(
            step, _tree(step), metrics=None if acc is None else {"acc": acc, "loss": 1 / step}
        )
    return ckpt


def _same(a, b) -> None:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(leaves_a) == len(leaves_b)
    for x, y in zip(leaves_a, leaves_b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _files(directory) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_orbax_checkpoint_manager_lists_and_restores_the_checkpoints(tmp_path):
    ckpt = _fill(tmp_path)
    assert (ckpt.latest_step(), ckpt.best_step()) == (5, 2)
    before = _files(tmp_path)
    with ocp.CheckpointManager(tmp_path) as manager:
        assert manager.all_steps() == [2, 4, 5]  # keep=2 latest, and the best
        assert manager.latest_step() == 5
        for which, step in (("latest", 5), ("best", 2)):
            target = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), _tree(step))
            restored = manager.restore(
                step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target))
            )
            own_step, own, _ = ckpt.restore(which)
            assert own_step == step
            _same(restored["state"], own)
            _same(restored["state"], _tree(step))
    options = ocp.CheckpointManagerOptions(best_fn=lambda m: m["acc"], best_mode="max")
    with ocp.CheckpointManager(tmp_path, options=options) as manager:
        assert manager.best_step() == ckpt.best_step() == 2
        assert manager.metrics(2) == {"acc": 0.8, "loss": 0.5} and manager.metrics(4) is not None
    assert _files(tmp_path) == before  # reading with Orbax changes nothing


def test_the_index_names_the_latest_and_the_best_after_every_save(tmp_path):
    ckpt = Checkpointer(tmp_path, best_metric="acc", keep=1)
    for step in ACCURACY:
        acc = ACCURACY[step]
        ckpt.save(step, _tree(step), metrics=None if acc is None else {"acc": acc})
        index = ckpt.index()
        assert index["latest"]["step"] == ckpt.latest_step() == step
        assert index["best"]["step"] == ckpt.best_step()
        assert index["best"]["metrics"] == ckpt.metrics("best")
        assert (index["best_metric"], index["best_mode"]) == ("acc", "max")
        named = {e["directory"] for e in index["checkpoints"]}
        on_disk = {p.name for p in tmp_path.iterdir() if p.name.isdigit()}
        assert (
            named == on_disk and {index["latest"]["directory"], index["best"]["directory"]} <= named
        )
    assert [e["step"] for e in index["checkpoints"]] == [2, 5]
    (tmp_path / "index.json").write_text("{truncated")
    with pytest.raises(
        CheckpointError, match=r"read_index.*index\.json must be a checkpoint index"
    ):
        ckpt.index()
    assert Checkpointer(tmp_path / "none").index() is None


class Kill(BaseException):
    """A crash (BaseException: nothing may swallow it)."""


def test_a_crash_between_a_commit_and_the_index_leaves_it_consistent(tmp_path, monkeypatch):
    ckpt = _fill(tmp_path, steps=(1, 2), keep=1)

    def crash(*args, **kwargs):
        raise Kill

    monkeypatch.setattr(ckpt_module, "write_index", crash)
    with pytest.raises(Kill):
        ckpt.save(4, _tree(4), metrics={"acc": 0.9})
    monkeypatch.undo()
    # Step 4 is committed (and the latest, for spikejax and Orbax); the index still names the
    # previous latest and best, which were not deleted: everything it names is complete.
    assert ckpt.latest_step() == 4 and ckpt.best_step() == 4
    index = ckpt.index()
    assert index["latest"]["step"] == 2 and index["best"]["step"] == 2
    for entry in index["checkpoints"]:
        ckpt._verify_files(tmp_path / entry["directory"], entry["step"])
    with ocp.CheckpointManager(tmp_path) as manager:
        assert manager.all_steps() == [2, 4]
    # A resume rewrites it (refresh_index), deleting no checkpoint.
    ckpt.refresh_index()
    index = ckpt.index()
    assert index["latest"]["step"] == 4 and index["best"]["step"] == 4
    assert [e["step"] for e in index["checkpoints"]] == [2, 4]
    ckpt.save(5, _tree(5), metrics={"acc": 0.1})  # the next save prunes step 2
    assert [e["step"] for e in ckpt.index()["checkpoints"]] == [4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["4", "5", "index.json"]


def test_the_older_layout_reads_and_a_save_continues_in_the_new_one(tmp_path):
    _fill(tmp_path, steps=(1, 2, 3), keep=3)
    legacy = to_legacy_layout(tmp_path)
    assert [p.name for p in legacy] == [
        "ckpt-000001-step-000000001",
        "ckpt-000002-step-000000002",
        "ckpt-000003-step-000000003",
    ]
    ckpt = Checkpointer(tmp_path, best_metric="acc")
    assert (ckpt.latest_step(), ckpt.best_step()) == (3, 2) and ckpt.index() is None
    for which, step in (("latest", 3), ("best", 2)):
        assert ckpt.verify(which) == step
        got_step, tree, _ = ckpt.restore(which)
        assert got_step == step
        _same(tree, _tree(step))
    # In the older layout the latest is the highest save number, not the highest step.
    legacy[0].rename(tmp_path / "ckpt-000004-step-000000001")
    assert ckpt.latest_step() == 1
    # A new save is step-named, newer than every older directory, and prunes them (keep=1).
    ckpt.save(2, _tree(7), metrics={"acc": 0.1})
    assert ckpt.latest_step() == 2 and ckpt.best_step() == 2
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["2", "ckpt-000002-step-000000002", "index.json"]
    _same(ckpt.restore("latest")[1], _tree(7))
    # The best is still the older checkpoint of step 2 (accuracy 0.8 against 0.1), kept.
    assert ckpt.index()["best"]["directory"] == "ckpt-000002-step-000000002"
    assert ckpt.metrics("best") == {"acc": 0.8, "loss": 0.5}
    with ocp.CheckpointManager(tmp_path) as manager:
        assert manager.all_steps() == [2]


def test_a_full_disk_at_the_index_update_is_named_and_keeps_the_commit(tmp_path, monkeypatch):
    import errno

    import spikejax.train._ckpt_layout as layout

    ckpt = _fill(tmp_path, steps=(1,), keep=1)

    original = layout.atomic_write_json

    def full(path, obj, **kwargs):
        if path.name == "index.json":
            raise OSError(errno.ENOSPC, f"could not write {path}: full")
        return original(path, obj, **kwargs)

    monkeypatch.setattr(layout, "atomic_write_json", full)
    with pytest.raises(CheckpointError, match=r"step 2 was committed to .*/2, but .* could not be"):
        ckpt.save(2, _tree(2), metrics={"acc": 0.8, "loss": 0.5})
    monkeypatch.undo()
    assert ckpt.latest_step() == 2 and ckpt.index()["latest"]["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2", "index.json"]
    ckpt.refresh_index()
    assert ckpt.index()["latest"]["step"] == 2
