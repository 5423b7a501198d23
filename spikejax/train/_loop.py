"""The training loop: :func:`fit` a configuration into a run directory, :func:`evaluate` a run.

A run directory holds::

    config.json      the resolved configuration (spikejax.config.to_dict)
    metrics.jsonl    training metrics (split "train", mean over each logging window) and
                     evaluations (split "eval": val_accuracy, val_loss, val_rate/<layer> at every
                     evaluation; test_accuracy, test_loss, test_rate/<layer> of the final model)
    tensorboard/     the same metrics as TensorBoard scalars
    checkpoints/     the latest checkpoint and the best one by validation accuracy
    plots/           training curves, a spike raster and readout membrane of one test sample,
                     firing rate per layer
    summary.json     final and best metrics (test accuracy of the final model and of the best
                     checkpoint), timing, configuration hash, versions
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

from spikejax._errors import check_finite
from spikejax.config import Config, ModelConfig, to_dict
from spikejax.data import Loader
from spikejax.layers import check_params
from spikejax.train import _report as report
from spikejax.train._data import Splits, check_labels, in_memory, load_splits, make_prepare
from spikejax.train._rundir import (
    CHECKPOINTS,
    CONFIG_FILE,
    abstract,
    checkpointer_of,
    prepare_run_dir,
    restore_into,
    saveable,
    truncate_metrics,
)
from spikejax.train._steps import Steps, build_optimizer
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import MetricsLogger, ProgressBar, config_hash, write_summary

__all__ = ["build_model", "evaluate", "fit"]


def build_model(config: ModelConfig, *, rngs: nnx.Rngs) -> nnx.Module:
    """The model of ``config``: ``spikejax.models.create(name, rngs=rngs, **options)``, or for a
    name ``"package.module:factory"`` the imported ``factory(rngs=rngs, **options)``."""
    options = dict(config.options)
    if ":" in config.name:
        module_name, _, attr = config.name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as error:
            raise ValueError(
                f"`build_model`: `model.name` {config.name!r} must name an importable "
                f"'module:callable'; {error}."
            ) from error
        return factory(rngs=rngs, **options)
    from spikejax import models

    return models.create(config.name, rngs=rngs, **options)


@dataclasses.dataclass
class _Run:
    """Everything a configuration builds: data, model, compiled steps."""

    config: Config
    splits: Splits
    steps: Steps
    steps_per_epoch: int
    total_steps: int
    num_params: int


def _sample_shape(data: Any) -> tuple[int, ...]:
    if isinstance(data, tuple):
        return tuple(np.shape(data[0])[1:])
    return tuple(np.shape(data[0][0]))


def _build(config: Config, *, progress: bool) -> _Run:
    # Cheap checks first: the data files are there, the model builds; then the slow conversion.
    splits = load_splits(config, progress=progress, convert=False, validation=True)
    model = build_model(config.model, rngs=nnx.Rngs(config.seed))
    splits = in_memory(config, splits, progress=progress)
    prepare = make_prepare(config, splits)
    graphdef, state = nnx.split(model)
    shape = (config.train.batch_size, *_sample_shape(splits.train))
    x = jax.ShapeDtypeStruct(shape, jnp.float32)
    out = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s)(prepare(x, jr.key(0))), state, x)
    check_labels(splits, int(out.shape[-1]))
    n_train = len(splits.train) if not isinstance(splits.train, tuple) else len(splits.train[1])
    steps_per_epoch = n_train // config.train.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"`fit`: `train.batch_size` must be <= the {n_train} training samples (incomplete "
            f"batches are dropped); got {config.train.batch_size}."
        )
    total = config.train.epochs * steps_per_epoch
    if config.train.max_steps is not None:
        total = min(total, config.train.max_steps)
    tx, schedule = build_optimizer(config.optimizer, total)
    num_params = sum(int(np.prod(v.shape)) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))
    steps = Steps(config, model, tx, schedule, prepare)
    return _Run(config, splits, steps, steps_per_epoch, total, num_params)


def _train_loader(run: _Run) -> Loader:
    config = run.config
    return Loader(
        run.splits.train,
        config.train.batch_size,
        seed=config.seed,
        shuffle=True,
        last_batch="drop",
        prefetch=config.data.prefetch,
    )


def eval_loader(run: _Run, split: str) -> Loader:
    """The evaluation batches of ``split`` (``"train"``, ``"val"`` or ``"test"``): in order,
    ``train.eval_batch_size`` samples each, the last one padded and masked."""
    return Loader(
        getattr(run.splits, split),
        run.config.train.eval_batch_size,
        shuffle=False,
        last_batch="pad",
        prefetch=run.config.data.prefetch,
    )


def _evaluate(run: _Run, model_state: nnx.State, split: str = "test") -> dict[str, float]:
    """Accuracy, loss and firing rates (``rate/<layer>``) of ``model_state`` on a whole split;
    evaluation batch ``index`` is encoded with ``fold_in(eval_key, index)``."""
    totals: dict[str, Any] = {}
    for index, batch in enumerate(eval_loader(run, split)):
        sums, _ = run.steps.eval_step(
            model_state, batch.x, batch.y.astype(np.int32), batch.mask, jnp.int32(index)
        )
        totals = sums if not totals else {k: totals[k] + v for k, v in sums.items()}
    totals = {k: float(v) for k, v in jax.device_get(totals).items()}
    count = totals.pop("count")
    metrics = {"accuracy": totals.pop("correct") / count, "loss": totals.pop("loss") / count}
    metrics.update({k: v / count for k, v in totals.items()})
    return metrics


def _restore(
    run: _Run, checkpointer: Checkpointer, which: str, fn: str, like: dict[str, nnx.State]
) -> tuple[int, dict[str, nnx.State], dict]:
    """The ``which`` checkpoint as a new train state shaped like the live state ``like``;
    non-finite values and neuron parameters outside their intervals are refused by name."""
    state = jax.tree.map(lambda a: a, like)  # new State objects; ``like`` is left as it is
    step, tree, extra = checkpointer.restore(which, target=abstract(saveable(state)))
    state = restore_into(state, tree)
    check_finite(fn, f"checkpoint['{which}'].model", nnx.to_pure_dict(state["model"]))
    check_params(run.steps.eval_model(state["model"]), fn=fn, where=f"checkpoint['{which}'].model")
    return step, state, extra


def _prefixed(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"val": {"accuracy": a}}`` -> ``{"val_accuracy": a}``."""
    return {f"{split}_{k}": v for split, metrics in results.items() for k, v in metrics.items()}


# ------------------------------------------------------------------------------------- fit


class _Window:
    """Training metrics of the steps since the last flush (device arrays, fetched at flush)."""

    def __init__(self, start: int):
        self.start, self.items = start, []

    def flush(self, checkpointer: Checkpointer, run_dir: Path) -> dict[str, float]:
        """The mean of every metric over the window; raises if a loss or gradient was not finite."""
        if not self.items:
            return {}
        host = jax.device_get(self.items)
        for i, metrics in enumerate(host):
            loss, norm = float(metrics["loss"]), float(metrics["grad_norm"])
            if not (math.isfinite(loss) and math.isfinite(norm)):
                last = checkpointer.latest_step()
                kept = (
                    f"the last good checkpoint is step {last} in {run_dir / CHECKPOINTS}"
                    if last is not None
                    else "no checkpoint had been saved"
                )
                raise FloatingPointError(
                    f"`fit`: the training loss and gradient norm must stay finite; got loss {loss} "
                    f"and gradient norm {norm} at step {self.start + i + 1}. Training stopped; "
                    f"{kept}, and nothing later was saved. Lower optimizer.lr or set "
                    "optimizer.grad_clip."
                )
        mean = {k: float(np.mean([m[k] for m in host])) for k in host[0]}
        self.start += len(host)
        self.items = []
        return mean


def fit(
    config: Config,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    plots: bool = True,
) -> dict[str, Any]:
    """Train ``config`` and write a run directory (see the module docstring); return the summary.

    Every step is one optimizer update on a full batch (the last, incomplete batch of an epoch is
    dropped; every epoch reshuffles with the seed). Training metrics are averaged over
    ``train.log_every`` steps. The validation split (``data.val_fraction`` of the training split)
    is evaluated every ``train.eval_every`` steps (or at the end of each epoch) and at the end; the
    test split is evaluated for the final model and for the best checkpoint only. The latest
    checkpoint (model, optimizer, step, loader position, RNG key) is saved at every evaluation,
    every ``train.checkpoint_every`` steps and at the end; the checkpoint with the best
    validation accuracy is kept as well ("best"). Without a validation split
    (``data.val_fraction=0``) the periodic evaluations measure the test split instead, for
    monitoring only, and no best checkpoint is kept (the summary's ``best`` is ``None``).

    Args:
        config: the experiment.
        run_dir: the run directory; created if missing. Without ``resume`` it must not hold a run.
        resume: continue the run in ``run_dir`` from its latest checkpoint. The result (parameters
            and metric records) is bit-identical to an uninterrupted run; ``config`` must equal the
            run's ``config.json``.
        progress: draw a progress bar.
        plots: write the plots into ``run_dir/plots``.

    Returns:
        The summary written to ``summary.json``.

    Raises:
        OSError: ``run_dir`` cannot be created or written.
        ValueError: bad data (empty split, label outside the model's outputs), a run directory
            that already holds a run (without ``resume``) or another configuration.
        FileNotFoundError: a local dataset is missing.
        FloatingPointError: the loss or gradient became NaN or infinite; the message names the
            step and the last good checkpoint (a non-finite state is never saved).
    """
    if not isinstance(config, Config):
        raise TypeError(f"`fit`: `config` must be a spikejax.config.Config; got {config!r}.")
    run_dir = Path(run_dir).expanduser()
    prepare_run_dir(config, run_dir, resume)
    started = time.perf_counter()
    try:
        run = _build(config, progress=progress)
    except BaseException:
        if not resume:  # leave the directory reusable: nothing of this run was written yet
            (run_dir / CONFIG_FILE).unlink(missing_ok=True)
        raise
    checkpointer = checkpointer_of(run_dir, config)
    has_val = run.splits.val is not None
    monitor = "val" if has_val else "test"  # the split of the periodic evaluations
    loader = _train_loader(run)
    state, step, resumed_from = run.steps.initial_state, 0, None
    if resume and checkpointer.exists("latest"):
        step, state, extra = _restore(run, checkpointer, "latest", "fit", like=state)
        loader.load_state_dict(extra["loader"])
        resumed_from = step
    if resume:
        truncate_metrics(run_dir, step)
    cfg = run.config.train
    total = run.total_steps
    logger = MetricsLogger(run_dir)
    bar = ProgressBar(total, initial=step, desc=config.name, disable=not progress)
    window = _Window(step)
    last_eval: dict[str, dict[str, float]] | None = None
    saved_at, evaluated_at, train_mean = step if resumed_from is not None else -1, -1, {}
    train_started, first_step = time.perf_counter(), step

    def save(at: int, metrics: dict[str, float] | None) -> None:
        check_finite("fit", f"state at step {at}", nnx.to_pure_dict(state["model"]))
        extra = {"loader": loader.state_dict(), "config_hash": config_hash(to_dict(config))}
        checkpointer.save(at, saveable(state), metrics=metrics, extra=extra)

    def evaluation(final: bool) -> dict[str, dict[str, float]]:
        results = {monitor: _evaluate(run, state["model"], monitor)}
        if final and has_val:
            results["test"] = _evaluate(run, state["model"], "test")
        return results

    def selection(results: dict[str, dict[str, float]]) -> dict[str, float]:
        return {f"{monitor}_{k}": results[monitor][k] for k in ("accuracy", "loss")}

    try:
        while step < total:
            for batch in loader:
                state, metrics = run.steps.train_step(
                    state, batch.x, batch.y.astype(np.int32), jnp.int32(step)
                )
                step += 1
                window.items.append(metrics)
                final = step == total
                epoch_end = step % run.steps_per_epoch == 0
                do_eval = final or (step % cfg.eval_every == 0 if cfg.eval_every else epoch_end)
                do_save = (
                    final or do_eval or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)
                )
                if do_save or step % cfg.log_every == 0:
                    train_mean = window.flush(checkpointer, run_dir)
                    logger.log(step, train_mean, split="train")
                if do_eval:
                    last_eval = evaluation(final)
                    evaluated_at = step
                    logger.log(step, _prefixed(last_eval), split="eval")
                if do_save:
                    save(step, selection(last_eval) if do_eval else None)
                    saved_at = step
                bar.update(loss=metrics["loss"])
                if final:
                    break
        train_time = time.perf_counter() - train_started
        if last_eval is None or evaluated_at != step:  # resumed at the very end
            last_eval = evaluation(final=True)
        if saved_at != step:
            save(step, selection(last_eval))
    finally:
        bar.close()
        logger.close()
    best = None
    if has_val and checkpointer.exists("best"):
        best_step = checkpointer.best_step()
        if best_step == step:  # the final model (saved bit for bit at this step)
            best_test = last_eval["test"]
        else:
            _, best_state, _ = _restore(run, checkpointer, "best", "fit", like=state)
            best_test = _evaluate(run, best_state["model"], "test")
        best = {"step": best_step, "val": checkpointer.metrics("best"), "test": best_test}
    summary = report.summary(run, run_dir, last_eval, best, train_mean, step)
    summary.update(
        resumed_from=resumed_from,
        wall_time_s=time.perf_counter() - started,
        train_time_s=train_time,
        steps_per_s=(step - first_step) / train_time if train_time > 0 else None,
        traces=dict(run.steps.traces),
    )
    if plots:
        report.plots(run, run_dir, state["model"], last_eval["test"])
    write_summary(run_dir, summary)
    return summary


# ---------------------------------------------------------------------------------- evaluate


def evaluate(
    run_dir: str | Path, *, which: str = "best", split: str = "test", progress: bool = False
) -> dict:
    """Evaluate a run's checkpoint on one of its splits (:meth:`RestoredRun.evaluate` of
    :func:`~spikejax.train.load_run`).

    Args:
        run_dir: a run directory written by :func:`fit`.
        which: ``"best"`` (highest validation accuracy seen during training) or ``"latest"`` (the
            final model of a finished run).
        split: ``"test"``, ``"val"`` or ``"train"``.
        progress: show progress while preparing data.

    Returns:
        ``{"split", "step", "which", "accuracy", "loss", "samples", "firing_rates"}``.
    """
    from spikejax.train._restore import load_run

    return load_run(run_dir, which=which, progress=progress).evaluate(split)
