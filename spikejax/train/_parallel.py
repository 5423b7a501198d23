"""Data parallelism on one or many devices and hosts: the mesh of a run and where its arrays live.

`spikejax.train.fit` trains through one code path on 1 or N devices. A run's mesh is a
one-axis `jax.sharding.Mesh` (axis ``"data"``) of ``train.devices`` devices (0 = every
device of every process). Each training and evaluation batch is split along its first (sample)
axis over the mesh, ``NamedSharding(mesh, P("data"))``; the model and optimizer state are
replicated on every device, ``NamedSharding(mesh, P())``. The compiled step is the single-device
step: XLA partitions it and inserts the all-reduce of the gradients (the batch mean), so every
device ends a step with the same new parameters. With one device the mesh holds that device and
the step is the single-device step bit for bit.

Random numbers drawn inside a step (Poisson encoding, dropout) do not depend on the mesh: JAX's
partitionable threefry (``jax_threefry_partitionable``, on by default) draws for each sample the
value it draws on one device. A run on N devices therefore equals the one-device run up to the
order of floating-point sums (the gradient's mean over the batch).

With several processes (`jax.distributed.initialize`, ``spikejax train --distributed``)
every process runs the same loop over the same batches (every process reads the whole dataset and
draws the same shuffled order from the seed); each process places only the rows of its own
devices (`jax.make_array_from_callback`). Process 0 alone writes the run directory
(configuration, lock, metrics, summary, plots); every process takes part in each checkpoint
(Orbax writes the replicated arrays once, from process 0) and reads it back on resume, so the run
directory must be on a file system every host sees.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import jax.random as jr
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "DATA_AXIS",
    "Placement",
    "agree_stop",
    "check_devices",
    "data_mesh",
    "initialize_distributed",
    "is_primary",
    "primary_first",
    "restore_target",
]

DATA_AXIS = "data"

# Signal names exchanged between processes as small integers (0 = no signal).
_SIGNALS = ("SIGTERM", "SIGINT")


def initialize_distributed(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    fn: str = "initialize_distributed",
) -> None:
    """Join a multi-process run: `jax.distributed.initialize` before anything runs.

    Every process calls it with the same ``coordinator`` (``host:port`` of process 0) and
    ``num_processes``, and its own ``process_id``. Left out (``None``), JAX finds them itself
    where it can: under SLURM (``SLURM_STEP_NODELIST``, ``SLURM_NTASKS``, ``SLURM_PROCID``; the
    coordinator is the first node), Open MPI (``OMPI_MCA_orte_hnp_uri``, ...), Kubernetes and
    Cloud TPU; ``JAX_COORDINATOR_ADDRESS`` gives the coordinator. On CPUs the processes exchange
    gradients through Gloo (``jax_cpu_collectives_implementation``).

    ``fn`` is the function named in error messages (``spikejax train --distributed`` passes
    its own). Call it once per process, first: ``spikejax.train.fit`` then shards every batch
    over all processes' devices and only `is_primary` writes the run directory.

    Raises:
        ValueError: ``num_processes < 1``, a process id outside ``[0, num_processes)``, or JAX
            could not join (the message carries its reason).
    """
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"`{fn}`: `num_processes` must be >= 1; got {num_processes}.")
    if process_id is not None and (
        process_id < 0 or (num_processes is not None and process_id >= num_processes)
    ):
        raise ValueError(f"`{fn}`: `process_id` must be in [0, {num_processes}); got {process_id}.")
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
        )
    except (ValueError, RuntimeError) as error:
        raise ValueError(
            f"`{fn}`: could not join the run (coordinator {coordinator!r}, {num_processes!r} "
            f"processes, process id {process_id!r}; None = from the environment): {error}"
        ) from error


def is_primary() -> bool:
    """Whether this process writes the run directory (process 0; the only one without
    `jax.distributed.initialize`)."""
    return jax.process_index() == 0


def data_mesh(devices: int, batch_sizes: dict[str, int], *, fn: str = "fit") -> Mesh:
    """The one-axis mesh ``("data",)`` of a run on ``devices`` devices (0 = all).

    Args:
        devices: how many devices, from ``train.devices``; 0 takes `jax.device_count`
            (every device of every process).
        batch_sizes: the batch sizes that are split over the mesh, by config key (e.g.
            ``{"train.batch_size": 64}``); each must be a multiple of the device count.
        fn: the function named in errors.

    Raises:
        ValueError: more devices than there are, a mesh that leaves out the devices of some
            process, or a batch size that does not divide across the mesh (naming both numbers).

    Example:
        >>> from spikejax.train._parallel import data_mesh
        >>> mesh = data_mesh(1, {"train.batch_size": 32})
        >>> dict(mesh.shape)
        {'data': 1}
    """
    available = jax.device_count()
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 0:
        raise ValueError(f"`{fn}`: `train.devices` must be an int >= 0; got {devices!r}.")
    count = available if devices == 0 else devices
    if count > available:
        raise ValueError(
            f"`{fn}`: `train.devices` must be at most the {available} devices JAX sees "
            f"({jax.default_backend()}); got {devices}."
        )
    if jax.process_count() > 1 and count != available:
        raise ValueError(
            f"`{fn}`: `train.devices` must be 0 or {available} (every device of the "
            f"{jax.process_count()} processes) in a distributed run; got {devices}."
        )
    for key, size in batch_sizes.items():
        if size % count:
            raise ValueError(
                f"`{fn}`: `{key}` must be divisible by the {count} devices of the data-parallel "
                f"mesh (train.devices={devices}); got {size} ({size} = {size // count} x {count} "
                f"+ {size % count})."
            )
    return Mesh(np.asarray(jax.devices()[:count]), (DATA_AXIS,))


def check_devices(fn: str, saved: Any, current: int) -> None:
    """Raise unless a checkpoint saved on ``saved`` devices continues on ``current`` devices.

    A resumed run continues bit for bit only on a mesh of the same size (the order of the
    gradient's sums depends on it). An explicit ``train.devices`` is already part of the
    configuration a resume must equal; this catches ``train.devices=0`` (every device) resumed
    on a machine with another device count.

    Raises:
        ValueError: the counts differ (naming both).
    """
    if saved != current:
        raise ValueError(
            f"`{fn}`: the run must resume on the {saved} devices its checkpoint was trained on "
            f"(train.devices=0 takes every device JAX sees); got {current}. Resume on a machine "
            f"with {saved} devices, or start a new run."
        )


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where a run's arrays live on its mesh: batches split along their first axis, state
    replicated.

    Attributes:
        mesh: the run's mesh (`data_mesh`).
    """

    mesh: Mesh

    @property
    def replicated(self) -> NamedSharding:
        """Every device holds the whole array (model and optimizer state, metrics)."""
        return NamedSharding(self.mesh, P())

    @property
    def split(self) -> NamedSharding:
        """Each device holds its share of the samples (first axis)."""
        return NamedSharding(self.mesh, P(DATA_AXIS))

    @property
    def devices(self) -> int:
        """The number of devices of the mesh."""
        return int(self.mesh.size)

    def batch(self, x: Any) -> jax.Array:
        """A host batch (the same on every process) as a global array split over the mesh;
        each process copies only the rows of its own devices."""
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, self.split, lambda index: x[index])

    def target(self, tree: Any) -> Any:
        """The shapes and dtypes of ``tree`` (``jax.ShapeDtypeStruct``) replicated on the mesh:
        a checkpoint restored into it is read straight onto every device."""
        return jax.tree.map(
            lambda t: jax.ShapeDtypeStruct(t.shape, t.dtype, sharding=self.replicated), tree
        )

    def replicate(self, tree: Any) -> Any:
        """Every array of ``tree`` (the same on every process) replicated on the mesh; random
        keys travel as their key data."""

        def put(a: Any) -> Any:
            if _is_key(a):
                data = np.asarray(jax.device_get(jr.key_data(a)))
                return jr.wrap_key_data(jax.device_put(data, self.replicated), impl=jr.key_impl(a))
            return jax.device_put(np.asarray(jax.device_get(a)), self.replicated)

        return jax.tree.map(put, tree)


@contextlib.contextmanager
def primary_first(fn: str = "fit") -> Iterator[None]:
    """A block that process 0 runs alone (preparing the run directory) while the others wait
    for its outcome; when it raises, the other processes raise as well instead of waiting for it
    in the first collective. A plain block in a single-process run.

    Raises:
        RuntimeError: on a process other than 0, when the block failed on process 0.
    """
    try:
        yield
    except BaseException:
        _outcome(False, fn)
        raise
    _outcome(True, fn)


def _outcome(ok: bool, fn: str) -> None:
    if jax.process_count() == 1:
        return
    from jax.experimental import multihost_utils

    agreed = multihost_utils.broadcast_one_to_all(np.int32(1 if ok else 0))
    if not int(agreed) and not is_primary():
        raise RuntimeError(
            f"`{fn}`: process 0 could not prepare the run directory (its error says why); "
            f"process {jax.process_index()} stops as well."
        )


def agree_stop(name: str | None) -> str | None:
    """The stop signal any process received (``"SIGTERM"`` or ``"SIGINT"``), or ``None``.

    With one process this is ``name``. With several, every process must call it at the same
    step (it is a collective), and they all stop together at that step.
    """
    if jax.process_count() == 1:
        return name
    from jax.experimental import multihost_utils

    code = 0 if name is None else 1 + _SIGNALS.index(name)
    codes = np.asarray(multihost_utils.process_allgather(np.int32(code)))
    received = int(np.max(codes))
    return None if received == 0 else _SIGNALS[received - 1]


def restore_target(ocp: Any, orbax: Any, path: Path, target: Any) -> Any:
    """``target`` with this process's first device wherever it names no sharding; without a
    target, one built from the checkpoint's metadata (arrays saved from JAX onto that device,
    arrays saved from NumPy as NumPy). Orbax would otherwise place each array on the devices
    it was saved from, which a machine with another device count does not have."""
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

    def fill(leaf: Any) -> Any:
        if not isinstance(leaf, jax.ShapeDtypeStruct) or leaf.sharding is not None:
            return leaf
        # A dtype JAX cannot hold (int64 without x64) was saved from NumPy: Orbax reads it back
        # as NumPy, exactly, when the target names no sharding.
        if jax.dtypes.canonicalize_dtype(leaf.dtype, allow_extended_dtype=True) != leaf.dtype:
            return leaf
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device)

    if target is not None:
        return jax.tree.map(fill, target)

    def from_metadata(meta: Any) -> Any:
        if not isinstance(meta, ocp.metadata.ArrayMetadata):
            return meta
        if meta.sharding is None:  # saved from NumPy: read back as NumPy
            return np.zeros(meta.shape, meta.dtype)
        return jax.ShapeDtypeStruct(meta.shape, meta.dtype, sharding=device)

    metadata = orbax.metadata(path).item_metadata.tree
    return jax.tree.map(from_metadata, metadata)
