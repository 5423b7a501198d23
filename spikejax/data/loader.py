"""A resumable batch loader: seeded shuffling per epoch, fixed batch size, background prefetch."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from spikejax._errors import check_choice
from spikejax.data.collate import pad_batch, pad_time_major

__all__ = ["Batch", "Loader"]


class Batch(NamedTuple):
    """One batch of NumPy arrays (a pytree, ready for ``jnp.asarray``).

    ``x``: inputs ``[B, *shape]``, or ``[T, B, *shape]`` with ``time_major``. ``y``: labels
    ``[B, ...]``. ``mask``: bool, ``[B]`` (or ``[T, B]``), true where a real sample (and time step)
    is; padded entries are zeros and must be ignored through ``mask``.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray


def _int(fn: str, arg: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"`{fn}`: `{arg}` must be an int >= {low}; got {value!r}.")
    return int(value)


class Loader:
    """Batches of a dataset in a seeded order, resumable exactly from a saved state.

    Each ``for batch in loader`` runs over the rest of the current epoch. Epoch ``e`` visits the
    samples in the order ``numpy.random.default_rng([seed, e]).permutation(N)`` (``0 … N-1`` when
    ``shuffle`` is false), ``batch_size`` at a time. The last, incomplete batch is dropped
    (``last_batch="drop"``) or zero-padded to ``batch_size`` with ``mask`` false on the padding
    (``"pad"``), so every batch has the same shape.

    `state_dict` is ``(epoch, position, seed)`` plus what fixes the order (``num_samples``,
    ``batch_size``, ``shuffle``, ``last_batch``), all plain ints, bools and strings;
    ``position`` counts the batches of the epoch already *delivered* (batches prefetched but not
    yet delivered are not counted). A loader built with `from_state` (or given the state
    through `load_state_dict`) yields exactly the batches the original would have yielded
    next. Iterate one epoch at a time: a second iterator started before the first finished or
    was closed would share (and scramble) the state.

    Args:
        data: either a tuple ``(x, y)`` of arrays with equal first dimension ``N`` (in memory),
            or an indexable dataset (``len`` and ``data[i] -> (x_i, y_i)``, e.g. an event dataset
            with a `ToFrames` transform; a list of pairs is one too).
        batch_size: samples per batch ``B >= 1``.
        seed: non-negative seed of the shuffling.
        shuffle: shuffle each epoch.
        last_batch: ``"pad"`` (default) or ``"drop"``.
        time_major: ``x`` of each sample is a sequence ``[T_i, *shape]``; batches are
            ``[T, B, *shape]`` with ``mask`` ``[T, B]`` (see `pad_time_major`).
        num_steps: with ``time_major``, pad every batch to ``T = num_steps`` (fixed shapes for
            ``jit``) instead of the longest sequence of the batch.
        channels_last: move the channel axis of the samples last: the first axis after the time
            axis with ``time_major`` (``[T_i, C, H, W]`` samples, as `ToFrames` makes them, give
            ``[T, B, H, W, C]`` batches: the layout of the models), the first sample axis
            otherwise (``[C, H, W]`` samples give ``[B, H, W, C]``). Samples need an axis after
            the channel axis. ``mask`` is unchanged.
        prefetch: batches prepared ahead by a background thread; 0 prepares them on demand.
        check_finite: refuse NaN and infinite inputs by sample index (in-memory arrays once, at
            construction; samples of an indexable dataset as they are read). A NaN input would
            otherwise pass unnoticed: a spiking neuron's comparison with its threshold is false
            for NaN, so it reads as "no spike" (see `spikejax.unroll`).
        name: what the data is (e.g. ``"train split"``), for error messages.

    Example:
        >>> import numpy as np
        >>> from spikejax.data import Loader
        >>> x, y = np.arange(10.0)[:, None], np.arange(10)
        >>> loader = Loader((x, y), 4, seed=1)
        >>> [b.mask.sum().item() for b in loader]  # epoch 0: 4 + 4 + 2 real samples
        [4, 4, 2]
        >>> it = iter(loader); first = next(it)  # epoch 1, batch 0
        >>> state = loader.state_dict(); state["epoch"], state["position"]
        (1, 1)
        >>> rest = [b.y.tolist() for b in it]  # batches 1 and 2 of epoch 1
        >>> [b.y.tolist() for b in Loader.from_state((x, y), state)] == rest
        True
    """

    def __init__(
        self,
        data: Any,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        last_batch: str = "pad",
        time_major: bool = False,
        num_steps: int | None = None,
        channels_last: bool = False,
        prefetch: int = 2,
        check_finite: bool = True,
        name: str = "data",
    ):
        fn = "Loader"
        self.check_finite = bool(check_finite)
        self.name = str(name)
        self.batch_size = _int(fn, "batch_size", batch_size, 1)
        self.seed = _int(fn, "seed", seed, 0)
        self.prefetch = _int(fn, "prefetch", prefetch, 0)
        check_choice(fn, "last_batch", last_batch, ("pad", "drop"))
        if num_steps is not None:
            _int(fn, "num_steps", num_steps, 1)
            if not time_major:
                raise ValueError(f"`{fn}`: `num_steps` needs `time_major=True`; got {num_steps}.")
        self.shuffle = bool(shuffle)
        self.last_batch = last_batch
        self.time_major = bool(time_major)
        self.num_steps = num_steps
        self.channels_last = bool(channels_last)
        if isinstance(data, tuple):
            if len(data) != 2:
                raise ValueError(
                    f"`{fn}`: in-memory `data` must be a pair (x, y); got {len(data)} arrays."
                )
            self._arrays = tuple(np.asarray(a) for a in data)
            if self._arrays[0].ndim < 1 or self._arrays[0].shape[:1] != self._arrays[1].shape[:1]:
                raise ValueError(
                    f"`{fn}`: x and y of `data` must have the same first dimension; got shapes "
                    f"{self._arrays[0].shape} and {self._arrays[1].shape}."
                )
            self.num_samples = int(self._arrays[0].shape[0])
            if self.check_finite:
                self._check_arrays(self._arrays[0])
        else:
            if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
                raise TypeError(
                    f"`{fn}`: `data` must be a pair (x, y) of arrays or support len() and "
                    f"indexing; got {type(data).__name__}."
                )
            self._arrays = None
            self.num_samples = len(data)
        self.data = data
        if self.num_samples == 0:
            raise ValueError(f"`{fn}`: `data` must hold at least one sample; the dataset is empty.")
        if len(self) == 0:
            raise ValueError(
                f"`{fn}`: with last_batch='drop', `batch_size` must be <= the number of samples "
                f"{self.num_samples} (no batch would be produced); got {self.batch_size}."
            )
        self._epoch = 0
        self._position = 0

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.last_batch == "drop":
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to."""
        return self._epoch + (self._position >= len(self))

    @property
    def position(self) -> int:
        """Batches of `epoch` already delivered."""
        return 0 if self._position >= len(self) else self._position

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch`` (int64 ``[N]``)."""
        if not self.shuffle:
            return np.arange(self.num_samples, dtype=np.int64)
        rng = np.random.default_rng([self.seed, epoch])
        return rng.permutation(self.num_samples).astype(np.int64)

    def _fail(self, index: int, x: np.ndarray) -> None:
        bad = np.asarray(x)[~np.isfinite(x)].ravel()[:3].tolist()
        raise ValueError(
            f"`Loader`: the inputs of `data` ({self.name}) must be finite; sample {index} holds "
            f"{bad} (pass check_finite=False only if non-finite inputs are intended)."
        )

    def _check_arrays(self, x: np.ndarray) -> None:
        if not np.issubdtype(x.dtype, np.inexact):
            return
        for start in range(0, x.shape[0], 4096):  # bounded memory for the boolean mask
            chunk = x[start : start + 4096]
            finite = np.isfinite(chunk).reshape(chunk.shape[0], -1).all(axis=1)
            if not finite.all():
                first = int(np.argmin(finite))
                self._fail(start + first, chunk[first])

    def _check_sample(self, index: int, x: Any) -> None:
        values = np.asarray(x)
        if np.issubdtype(values.dtype, np.inexact) and not np.all(np.isfinite(values)):
            self._fail(index, values)

    def _batch(self, order: np.ndarray, index: int) -> Batch:
        ids = order[index * self.batch_size : (index + 1) * self.batch_size]
        if self._arrays is not None:
            xs, ys = list(self._arrays[0][ids]), list(self._arrays[1][ids])
        else:
            xs, ys = [], []
            for i in ids:
                item = self.data[int(i)]
                if not isinstance(item, tuple) or len(item) != 2:
                    raise TypeError(
                        f"`Loader`: `data[{int(i)}]` must be a pair (x, y); got "
                        f"{type(item).__name__}."
                    )
                if self.check_finite:
                    self._check_sample(int(i), item[0])
                xs.append(item[0])
                ys.append(item[1])
        y, _ = pad_batch(ys, self.batch_size)
        if self.time_major:
            x, mask = pad_time_major(xs, num_steps=self.num_steps, batch_size=self.batch_size)
        else:
            x, mask = pad_batch(xs, self.batch_size)
        if self.channels_last:
            x = self._channels_last(x)
        return Batch(x, y, mask)

    def _channels_last(self, x: np.ndarray) -> np.ndarray:
        axis = 2 if self.time_major else 1  # after [T, B] or [B]
        if x.ndim < axis + 2:
            layout = "[T, B, C, ...]" if self.time_major else "[B, C, ...]"
            raise ValueError(
                f"`Loader`: `channels_last` needs batches {layout} with an axis after the "
                f"channels ({self.name}); got batch shape {x.shape}."
            )
        return np.ascontiguousarray(np.moveaxis(x, axis, -1))

    def _produce(self, order, start, out: queue.Queue, stop: threading.Event) -> None:
        def put(item) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for index in range(start, len(self)):
                if not put((True, self._batch(order, index))):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            put((False, error))

    def __iter__(self) -> Iterator[Batch]:
        """The remaining batches of the current epoch; the state advances as each is delivered."""
        epoch, start = self.epoch, self.position
        self._epoch, self._position = epoch, start
        order = self.order(epoch)
        if self.prefetch == 0:
            for index in range(start, len(self)):
                batch = self._batch(order, index)
                self._position = index + 1
                yield batch
        else:
            out: queue.Queue = queue.Queue(maxsize=self.prefetch)
            stop = threading.Event()
            worker = threading.Thread(
                target=self._produce, args=(order, start, out, stop), daemon=True
            )
            worker.start()
            try:
                for index in range(start, len(self)):
                    ok, item = out.get()
                    if not ok:
                        raise item
                    self._position = index + 1
                    yield item
            finally:
                stop.set()
                worker.join()
        self._epoch, self._position = epoch + 1, 0

    def state_dict(self) -> dict[str, Any]:
        """The iterator state: enough to resume exactly (see the class docstring)."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "seed": self.seed,
            "num_samples": self.num_samples,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "last_batch": self.last_batch,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (from `state_dict`); the order settings must match."""
        fn = "Loader.load_state_dict"
        mine = self.state_dict()
        missing = sorted(set(mine) - set(state))
        if missing:
            raise ValueError(
                f"`{fn}`: `state` must have the keys {sorted(mine)}; missing {missing}."
            )
        for key in ("num_samples", "batch_size", "shuffle", "last_batch"):
            if state[key] != mine[key]:
                raise ValueError(
                    f"`{fn}`: `state['{key}']` must match this loader's {mine[key]!r} (the batches "
                    f"would differ); got {state[key]!r}."
                )
        seed = _int(fn, "state['seed']", state["seed"], 0)
        epoch = _int(fn, "state['epoch']", state["epoch"], 0)
        position = _int(fn, "state['position']", state["position"], 0)
        if position > len(self):
            raise ValueError(
                f"`{fn}`: `state['position']` must be <= {len(self)} batches per epoch; "
                f"got {position}."
            )
        self.seed, self._epoch, self._position = seed, epoch, position

    @classmethod
    def from_state(cls, data: Any, state: Mapping[str, Any], **kwargs: Any) -> Loader:
        """A loader over ``data`` that continues from ``state``.

        ``batch_size``, ``seed``, ``shuffle`` and ``last_batch`` come from ``state``; ``kwargs``
        sets the others (``time_major``, ``num_steps``, ``channels_last``, ``prefetch``).
        """
        loader = cls(
            data,
            state["batch_size"],
            seed=state["seed"],
            shuffle=state["shuffle"],
            last_batch=state["last_batch"],
            **kwargs,
        )
        loader.load_state_dict(state)
        return loader
