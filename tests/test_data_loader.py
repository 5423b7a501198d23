"""Loader: seeded order, fixed batch shapes, padding masks, exact resume, prefetch errors."""

import json

import numpy as np
import pytest

from spikejax.data import Batch, Loader

N = 10


def memory_data():
    x = np.arange(N * 3, dtype=np.float32).reshape(N, 3)
    return x, np.arange(N)


class Sequences:
    """Sample i: a sequence of length 1 + i % 4, filled with i; label i."""

    def __init__(self, n=N, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise RuntimeError(f"cannot read sample {i}")
        return np.full((1 + i % 4, 2), float(i), np.float32), i


def take(loader, count):
    """The next ``count`` batches, running over epoch boundaries."""
    out = []
    while len(out) < count:
        for batch in loader:
            out.append(batch)
            if len(out) == count:
                break
    return out


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("prefetch", [0, 2])
def test_epoch_order_is_the_documented_permutation(prefetch):
    loader = Loader(memory_data(), 4, seed=3, prefetch=prefetch)
    assert len(loader) == 3
    for epoch in range(3):
        batches = list(loader)
        seen = np.concatenate([b.y[b.mask] for b in batches])
        assert seen.tolist() == np.random.default_rng([3, epoch]).permutation(N).tolist()
        x = np.concatenate([b.x[b.mask] for b in batches])
        np.testing.assert_array_equal(x, memory_data()[0][seen])
    assert loader.state_dict()["epoch"] == 3


def test_same_seed_same_batches_and_no_shuffle():
    a, b = Loader(memory_data(), 4, seed=1), Loader(memory_data(), 4, seed=1, prefetch=0)
    assert_same(take(a, 7), take(b, 7))
    c = Loader(memory_data(), 4, seed=2)
    assert not all(np.array_equal(u.y, v.y) for u, v in zip(take(c, 3), take(a, 3), strict=True))
    plain = Loader(memory_data(), 4, shuffle=False)
    assert [b.y.tolist() for b in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 0]]


def test_pad_and_drop_last_batch():
    padded = list(Loader(memory_data(), 4, shuffle=False))
    last = padded[-1]
    assert isinstance(last, Batch) and last.x.shape == (4, 3) and last.mask.dtype == bool
    assert last.mask.tolist() == [True, True, False, False]
    assert not last.x[2:].any() and last.y[2:].tolist() == [0, 0]
    dropped = list(Loader(memory_data(), 4, shuffle=False, last_batch="drop"))
    assert len(dropped) == 2 and all(b.mask.all() for b in dropped)


@pytest.mark.parametrize("prefetch", [0, 3])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 7])
def test_resume_yields_exactly_the_remaining_batches(prefetch, k):
    total = 9  # three epochs of three batches
    uninterrupted = take(Loader(Sequences(), 4, seed=5, time_major=True, prefetch=prefetch), total)

    first = Loader(Sequences(), 4, seed=5, time_major=True, prefetch=prefetch)
    head = take(first, k)
    state = json.loads(json.dumps(first.state_dict()))  # plain, serialisable values
    assert state["seed"] == 5 and (state["epoch"], state["position"]) == divmod(k, 3)
    resumed = Loader.from_state(Sequences(), state, time_major=True, prefetch=prefetch)
    assert_same(head + take(resumed, total - k), uninterrupted)

    other = Loader(Sequences(), 4, seed=0, time_major=True)
    other.load_state_dict(state)
    assert_same(take(other, total - k), uninterrupted[k:])


def test_abandoned_iteration_resumes_at_the_next_undelivered_batch():
    loader = Loader(memory_data(), 2, seed=0, prefetch=4)
    it = iter(loader)
    first = next(it)
    it.close()  # the worker had prefetched more; those batches are not lost
    rest = list(loader)
    full = list(Loader(memory_data(), 2, seed=0))
    assert_same([first, *rest], full)


def test_time_major_collation_and_masks():
    loader = Loader(Sequences(), 3, shuffle=False, time_major=True)
    batches = list(loader)
    first = batches[0]  # samples 0, 1, 2: lengths 1, 2, 3
    assert first.x.shape == (3, 3, 2) and first.mask.shape == (3, 3)
    assert first.mask.astype(int).tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 1]]
    np.testing.assert_array_equal(first.x[:, 2, 0], [2.0, 2.0, 2.0])
    assert not first.x[~first.mask].any()
    last = batches[-1]  # sample 9 (length 2) and two padded columns
    assert last.mask.astype(int).tolist() == [[1, 0, 0], [1, 0, 0]]
    fixed = list(Loader(Sequences(), 3, shuffle=False, time_major=True, num_steps=6))
    assert {b.x.shape for b in fixed} == {(6, 3, 2)}
    np.testing.assert_array_equal(fixed[0].mask[:3], first.mask)
    assert not fixed[0].mask[3:].any()


def test_in_memory_time_major():
    x = np.random.default_rng(0).normal(size=(N, 5, 2)).astype(np.float32)
    batch = next(iter(Loader((x, np.arange(N)), 4, shuffle=False, time_major=True)))
    assert batch.x.shape == (5, 4, 2) and batch.mask.all()
    np.testing.assert_array_equal(batch.x, np.swapaxes(x[:4], 0, 1))


@pytest.mark.parametrize("prefetch", [0, 2])
def test_errors_in_the_dataset_reach_the_consumer(prefetch):
    loader = Loader(Sequences(fail_at=5), 2, shuffle=False, prefetch=prefetch, time_major=True)
    delivered = []
    with pytest.raises(RuntimeError, match="cannot read sample 5"):
        for batch in loader:
            delivered.append(batch)
    assert len(delivered) == 2 and loader.state_dict()["position"] == 2


def test_event_digits_frames_end_to_end():
    pytest.importorskip("sklearn")
    pytest.importorskip("tonic")
    from spikejax.data import EventDigits, ToFrames

    class Head:
        def __init__(self, data, n):
            self.data, self.n = data, n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return self.data[i]

    frames = ToFrames(EventDigits.sensor_size, time_window=40_000)
    data = Head(EventDigits("test", transform=frames), 5)
    batch = next(iter(Loader(data, 4, seed=0, time_major=True, num_steps=10)))
    assert batch.x.shape == (10, 4, 2, 34, 34) and batch.x.dtype == np.float32
    lengths = batch.mask.sum(axis=0)
    assert np.all(lengths >= 7) and np.all(batch.x.sum(axis=(2, 3, 4))[~batch.mask] == 0)


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        ((np.zeros((0, 3)), np.zeros(0)), {}, ValueError, "at least one sample; .*empty"),
        (Sequences(n=0), {}, ValueError, "empty"),
        (memory_data(), {"batch_size": 11, "last_batch": "drop"}, ValueError, "no batch"),
        ((np.zeros((3, 2)), np.zeros(4)), {}, ValueError, "same first dimension"),
        (memory_data(), {"last_batch": "keep"}, ValueError, "`last_batch` must be one of"),
        (memory_data(), {"batch_size": 0}, ValueError, "`batch_size` must be an int >= 1"),
        (memory_data(), {"num_steps": 4}, ValueError, "`num_steps` needs `time_major=True`"),
        (42, {}, TypeError, "`data` must be a pair"),
    ],
)
def test_bad_loader_arguments(data, kwargs, error, match):
    kwargs = {"batch_size": 4, **kwargs}
    with pytest.raises(error, match=f"`Loader`: .*{match}"):
        Loader(data, **kwargs)


def test_items_must_be_pairs():
    class Bad:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros(2)

    with pytest.raises(TypeError, match=r"`data\[\d\]` must be a pair"):
        list(Loader(Bad(), 2, prefetch=0))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"batch_size": 5}, r"`state\['batch_size'\]` must match this loader's 4"),
        ({"num_samples": 11}, r"`state\['num_samples'\]` must match"),
        ({"position": 4}, r"`state\['position'\]` must be <= 3"),
        ({"epoch": -1}, r"`state\['epoch'\]` must be an int >= 0"),
    ],
)
def test_bad_state(change, match):
    loader = Loader(memory_data(), 4)
    state = {**loader.state_dict(), **change}
    with pytest.raises(ValueError, match=f"`Loader.load_state_dict`: {match}"):
        loader.load_state_dict(state)


def test_state_missing_keys():
    loader = Loader(memory_data(), 4)
    state = loader.state_dict()
    del state["position"]
    with pytest.raises(ValueError, match=r"missing \['position'\]"):
        loader.load_state_dict(state)


def test_a_list_of_pairs_is_an_indexable_dataset():
    pairs = [(np.full(2, float(i)), i) for i in range(2)]  # not mistaken for an (x, y) tuple
    batch = next(iter(Loader(pairs, 2, shuffle=False)))
    assert batch.x.tolist() == [[0.0, 0.0], [1.0, 1.0]] and batch.y.tolist() == [0, 1]


class Frames:
    """Sample i: [T_i, C, H, W] frames whose value at (t, c, h, w) encodes all four indices."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        t, c, h, w = np.meshgrid(*map(np.arange, (1 + i % 3, 2, 3, 4)), indexing="ij")
        return (1000 * i + 100 * t + 10 * c + h + 0.1 * w).astype(np.float32), i


@pytest.mark.parametrize("prefetch", [0, 2])
def test_channels_last_delivers_the_models_layout(prefetch):
    """[T_i, C, H, W] samples -> [T, B, H, W, C]: x[t, b, h, w, c] = sample b at (t, c, h, w)."""
    data = Frames()
    plain = Loader(data, 2, shuffle=False, time_major=True, num_steps=3, prefetch=prefetch)
    last = Loader(
        data, 2, shuffle=False, time_major=True, num_steps=3, channels_last=True, prefetch=prefetch
    )
    for a, b in zip(plain, last, strict=True):
        assert b.x.shape == (3, 2, 3, 4, 2) and b.x.flags.c_contiguous
        for t, batch, h, w, c in np.ndindex(b.x.shape):
            assert b.x[t, batch, h, w, c] == a.x[t, batch, c, h, w]
        np.testing.assert_array_equal(b.mask, a.mask)
    # Without time_major the first sample axis is the channel axis: [B, C, H, W] -> [B, H, W, C].
    x = np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3)
    (batch,) = Loader((x, np.arange(4)), 4, shuffle=False, channels_last=True, prefetch=0)
    np.testing.assert_array_equal(batch.x, x.transpose(0, 2, 1))
    with pytest.raises(
        ValueError, match=r"`Loader`: `channels_last` needs batches \[B, C, \.\.\.\]"
    ):
        next(iter(Loader((x[:, 0], np.arange(4)), 4, channels_last=True, prefetch=0)))
