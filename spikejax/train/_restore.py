"""A finished run, restored for evaluation: `load_run` returns a `RestoredRun`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx
from jaxtyping import Array

from spikejax._errors import check_choice, check_finite
from spikejax.config import Config
from spikejax.data import Batch
from spikejax.layers import check_params
from spikejax.train._committed import check_committed_config
from spikejax.train._evaluation import eval_loader, evaluate_split
from spikejax.train._factory import run_factory
from spikejax.train._loop import Run, build_run
from spikejax.train._rundir import (
    CONFIG_FILE,
    checkpointer_of,
    read_config,
    require_checkpoint,
    restore_model,
)
from spikejax.train._splits import Splits, labels_of

__all__ = ["RestoredRun", "load_run"]

_SPLITS = ("train", "val", "test")


class RestoredRun:
    """A run's configuration, data and model, restored from one of its checkpoints.

    Made by `load_run`. Everything is rebuilt from the run directory as the training loop
    built it, so `evaluate` reproduces the run's own evaluations bit for bit.

    Attributes:
        run_dir: the run directory.
        config: the run's configuration.
        which: the checkpoint, ``"best"`` (highest validation accuracy) or ``"latest"``.
        step: the checkpoint's training step.
        checkpoint_metrics: the metrics saved with the checkpoint (``val_accuracy`` and
            ``val_loss`` for a checkpoint saved at an evaluation; empty otherwise).
        model: the network in evaluation mode with the checkpoint's weights (bit-identical to
            the saved ones).
        splits: the run's data (`Splits`): ``train`` without the
            validation samples, ``val`` (``None`` when the run has no validation split) and
            ``test``, with ``data.limit`` applied.
        prepare: ``prepare(x, key) -> inputs``, turning a batch of samples into the model's
            input as the run's steps do.
    """

    def __init__(
        self,
        run_dir: Path,
        which: str,
        step: int,
        checkpoint_metrics: dict[str, float],
        run: Run,
        model_state: nnx.State,
    ):
        self.run_dir = run_dir
        self.which = which
        self.step = step
        self.checkpoint_metrics = checkpoint_metrics
        self._run = run
        self.model = run.steps.eval_model(model_state)
        self._encode = jax.jit(lambda x, index: run.steps.prepare(x, self._key(index)))

    @property
    def config(self) -> Config:
        """The run's configuration."""
        return self._run.config

    @property
    def splits(self) -> Splits:
        """The run's data (see the class docstring)."""
        return self._run.splits

    @property
    def prepare(self):
        """The run's ``prepare(x, key) -> inputs``."""
        return self._run.steps.prepare

    def _key(self, index: Array) -> Array:
        return jr.fold_in(self._run.steps.eval_key, index)

    def _check_split(self, fn: str, split: str) -> None:
        check_choice(fn, "split", split, _SPLITS)
        if split == "val" and self.splits.val is None:
            raise ValueError(
                f"`{fn}`: `split` 'val' needs a validation split; the run in {self.run_dir} has "
                "none (data.val_fraction=0); got 'val'."
            )

    def num_samples(self, split: str = "test") -> int:
        """The number of samples of ``split`` (``"train"``, ``"val"`` or ``"test"``)."""
        self._check_split("RestoredRun.num_samples", split)
        return int(labels_of(getattr(self.splits, split)).size)

    def batches(self, split: str = "test") -> Iterator[Batch]:
        """The evaluation batches of ``split`` as the run's evaluation reads them: in order,
        ``train.eval_batch_size`` samples each, the last one zero-padded with ``mask`` false on
        the padding. Batch ``index`` is encoded with `encode` ``(batch.x, index)``."""
        self._check_split("RestoredRun.batches", split)
        return iter(eval_loader(self._run, split))

    def encode(self, x: Any, index: int = 0) -> Array:
        """The model input of the samples ``x`` as evaluation batch ``index`` encodes them:
        ``prepare(x, fold_in(eval_key, index))``."""
        return self._encode(jnp.asarray(x), jnp.int32(index))

    def inputs(self, split: str = "test", *, limit: int | None = None) -> tuple[Any, np.ndarray]:
        """The first ``limit`` samples (default: all) of ``split``, encoded as in evaluation.

        Returns:
            ``(inputs, labels)``: NumPy arrays, ``inputs`` time-major ``[T, N, ...]`` (or
            ``[N, ...]`` with ``data.encoding="none"``, where the model repeats a static input
            itself) and integer ``labels`` ``[N]``.
        """
        fn = "RestoredRun.inputs"
        self._check_split(fn, split)
        bad = isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        if limit is not None and bad:
            raise ValueError(f"`{fn}`: `limit` must be an int >= 1 or None; got {limit!r}.")
        total = self.num_samples(split)
        wanted = total if limit is None else min(limit, total)
        static = self.splits.kind == "static" and self.config.data.encoding == "none"
        axis = 0 if static else 1
        xs, ys, taken = [], [], 0
        with contextlib.closing(eval_loader(self._run, split).__iter__()) as batches:
            for index, batch in enumerate(batches):
                keep = min(int(np.sum(batch.mask)), wanted - taken)
                encoded = np.asarray(self.encode(batch.x, index))
                xs.append(np.take(encoded, np.arange(keep), axis=axis))
                ys.append(np.asarray(batch.y[:keep]))
                taken += keep
                if taken >= wanted:
                    break
        return np.concatenate(xs, axis=axis), np.concatenate(ys)

    def evaluate(self, split: str = "test") -> dict[str, Any]:
        """Accuracy, loss and firing rates of `model` on the whole of ``split``, computed
        by the run's compiled evaluation step (as the training loop evaluates).

        Returns:
            ``{"split", "step", "which", "accuracy", "loss", "samples", "firing_rates"}``;
            ``firing_rates`` maps each spiking layer to its mean spikes per neuron per step.
        """
        self._check_split("RestoredRun.evaluate", split)
        metrics = evaluate_split(self._run, nnx.state(self.model), split)
        return {
            "split": split,
            "step": self.step,
            "which": self.which,
            "accuracy": metrics["accuracy"],
            "loss": metrics["loss"],
            "samples": self.num_samples(split),
            "firing_rates": {k[5:]: v for k, v in metrics.items() if k.startswith("rate/")},
        }


def load_run(
    run_dir: str | Path,
    *,
    which: str = "best",
    progress: bool = False,
    factory: Callable[..., nnx.Module] | None = None,
) -> RestoredRun:
    """Restore the run in ``run_dir`` for evaluation.

    The configuration is read from ``config.json``, the data and the model are built from it as
    `fit` built them (the same splits, validation split included), and the
    model's weights are restored from the ``which`` checkpoint. ``config.json`` must be the
    configuration committed with that checkpoint (see `spikejax.train._committed`).

    A run directory is data: a model factory ``"module:callable"`` that its ``config.json``
    names is never imported (see `spikejax.train._factory`). Pass the factory yourself
    (``factory=``, or `trusted_factory`), unless it is a model class of
    spikejax itself.

    Args:
        run_dir: a run directory written by `fit`.
        which: ``"best"`` (the checkpoint with the highest validation accuracy; a run without a
            validation split has none) or ``"latest"`` (the final model of a finished run).
        progress: show progress while preparing data.
        factory: the model factory, called as ``factory(rngs=rngs, **model.options)``, for a
            run whose ``config.json`` names a ``"module:callable"``.

    Returns:
        The `RestoredRun`.

    Raises:
        FileNotFoundError: ``run_dir`` holds no ``config.json``, or a local dataset is missing.
        ValueError: ``config.json`` does not rebuild a configuration or was changed after the
            checkpoint was committed, it names a model factory and ``factory`` is not given,
            ``which="best"`` for a run
            without a validation split (``data.val_fraction=0``), the checkpoint does not hold
            the configured model (a leaf missing, extra, or of another shape or dtype), or a
            neuron parameter in it is outside its valid interval (the message names the leaf;
            see `spikejax.layers.check_params`).
        CheckpointError: the run has no ``which`` checkpoint, or it is damaged.
    """
    fn = "load_run"
    check_choice(fn, "which", which, ("best", "latest"))
    run_dir = Path(run_dir).expanduser()
    config = read_config(run_dir, fn)
    checkpointer = checkpointer_of(run_dir, config)
    factory = run_factory(fn, config.model, run_dir / CONFIG_FILE, factory)
    require_checkpoint(fn, checkpointer, which, config, run_dir)
    check_committed_config(fn, run_dir / CONFIG_FILE, checkpointer, which)
    run = build_run(config, progress=progress, factory=factory)
    step, tree, _ = checkpointer.restore(which)
    where = f"{which!r} of {run_dir}"
    if not isinstance(tree, dict) or "model" not in tree:
        got = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
        raise ValueError(
            f"`{fn}`: the checkpoint {where} must hold the model state under 'model'; got {got}."
        )
    model_state = run.steps.initial_state["model"]
    restore_model(fn, model_state, tree["model"], where)
    check_finite(fn, f"checkpoint['{which}'].model", nnx.to_pure_dict(model_state))
    check_params(run.steps.eval_model(model_state), fn=fn, where=f"checkpoint['{which}'].model")
    return RestoredRun(run_dir, which, step, checkpointer.metrics(which), run, model_state)
