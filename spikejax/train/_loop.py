"""The training loop: `fit` a configuration into a run directory, `evaluate` a run.

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

import contextlib
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from flax import nnx

from spikejax._errors import check_finite
from spikejax.config import Config, to_dict
from spikejax.data import Loader
from spikejax.layers import check_params
from spikejax.train import _parallel as parallel
from spikejax.train import _report as report
from spikejax.train._committed import CONFIG_SHA256, check_committed_config
from spikejax.train._data import check_labels, in_memory, load_splits, make_prepare
from spikejax.train._evaluation import evaluate_split as _evaluate
from spikejax.train._extend import read_extensions
from spikejax.train._factory import build_model
from spikejax.train._learning import learning_steps, learning_tx
from spikejax.train._legacy_opt import restore_state
from spikejax.train._lock import run_lock
from spikejax.train._preempt import Preempted, stop_on_signals
from spikejax.train._resume_metrics import last_train_metrics, metrics_commit, resume_metrics
from spikejax.train._rundir import (
    CONFIG_FILE,
    abstract,
    checkpointer_of,
    make_run_dir,
    prepare_run_dir,
    restore_into,
    saveable,
)
from spikejax.train._splits import Splits
from spikejax.train._steps import Steps, build_optimizer
from spikejax.train._window import Window
from spikejax.train.checkpoint import Checkpointer
from spikejax.train.logging import MetricsLogger, ProgressBar, config_hash, write_summary

__all__ = ["build_model", "evaluate", "fit"]


@dataclasses.dataclass
class Run:
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


def build_run(
    config: Config,
    *,
    progress: bool,
    factory: Callable | None = None,
    placement: parallel.Placement | None = None,
) -> Run:
    # Cheap checks first: the data files are there, the model builds; then the slow conversion.
    splits = load_splits(config, progress=progress, convert=False, validation=True)
    model = build_model(config.model, rngs=nnx.Rngs(config.seed), factory=factory)
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
    example = jax.eval_shape(lambda x: prepare(x, jr.key(0)), x)
    tx, synapses = learning_tx(config, model, example, tx)
    num_params = sum(int(np.prod(v.shape)) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))
    steps = Steps(config, model, tx, schedule, prepare, placement=placement)
    steps = learning_steps(config, model, steps, synapses)
    return Run(config, splits, steps, steps_per_epoch, total, num_params)


def train_loader(run: Run) -> Loader:
    config = run.config
    return Loader(
        run.splits.train,
        config.train.batch_size,
        seed=config.seed,
        shuffle=True,
        last_batch="drop",
        prefetch=config.data.prefetch,
        name="train split",
    )


def _restore(
    run: Run, checkpointer: Checkpointer, which: str, fn: str, like: dict[str, nnx.State]
) -> tuple[int, dict[str, nnx.State], dict]:
    """The ``which`` checkpoint as a new train state shaped like the live state ``like``;
    non-finite values and neuron parameters outside their intervals are refused by name."""
    state = jax.tree.map(lambda a: a, like)  # new State objects; ``like`` is left as it is
    target = abstract(saveable(state))
    if run.steps.placement is not None:  # Orbax reads the arrays straight onto the mesh
        target = run.steps.placement.target(target)
    step, tree, extra = restore_state(checkpointer, which, target, saveable(state))
    state = restore_into(state, tree)
    check_finite(fn, f"checkpoint['{which}'].model", nnx.to_pure_dict(state["model"]))
    check_params(run.steps.eval_model(state["model"]), fn=fn, where=f"checkpoint['{which}'].model")
    return step, state, extra


def _prefixed(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"val": {"accuracy": a}}`` -> ``{"val_accuracy": a}``."""
    return {f"{split}_{k}": v for split, metrics in results.items() for k, v in metrics.items()}


# ------------------------------------------------------------------------------------- fit


def fit(
    config: Config,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    plots: bool = True,
    repair_metrics: bool = False,
    handle_signals: bool = True,
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

    One process writes into a run directory at a time (its lock file ``.lock``, see
    `spikejax.train._lock`). Every checkpoint commits the configuration's hash; resuming
    compares ``config.json`` with it. SIGTERM or SIGINT stop at a step boundary with a checkpoint
    and raise `Preempted` (see `spikejax.train._preempt`).

    The same loop runs on ``train.devices`` devices (batches split over them, state replicated)
    and on several processes after `jax.distributed.initialize`, where process 0 alone writes
    the run directory and every process returns the summary (see `spikejax.train._parallel`).

    Args:
        config: the experiment. A ``model.name`` ``"module:callable"`` is imported and called:
            the configuration is code the user runs.
        run_dir: the run directory; created if missing. Without ``resume`` it must not hold a run.
        resume: continue the run in ``run_dir`` from its latest checkpoint. The result (parameters
            and metric records) is bit-identical to an uninterrupted run; ``config`` must equal the
            run's ``config.json`` and the configuration committed with the checkpoint, and
            ``metrics.jsonl`` must hold every record up to the checkpoint's step.
        progress: draw a progress bar.
        plots: write the plots into ``run_dir/plots``.
        repair_metrics: on resume, copy an unreadable or incomplete ``metrics.jsonl`` aside and
            keep its readable records up to the checkpoint (the summary's ``metrics_repair``
            names the copy and the lines dropped) instead of raising.
        handle_signals: stop gracefully on SIGTERM and SIGINT (main thread only).

    Returns:
        The summary written to ``summary.json``.

    Raises:
        OSError: ``run_dir`` cannot be created or written.
        ValueError: bad data (empty split, label outside the model's outputs), a run directory
            that already holds a run (without ``resume``) or another configuration, or an
            unreadable or missing metric record before the checkpoint's step.
        FileNotFoundError: a local dataset is missing.
        FloatingPointError: the loss or gradient became NaN or infinite; the message names the
            step and the last good checkpoint (a non-finite state is never saved).
        RunLockedError: another process writes into ``run_dir``.
        Preempted: stopped by SIGTERM or SIGINT after writing a checkpoint.
    """
    if not isinstance(config, Config):
        raise TypeError(f"`fit`: `config` must be a spikejax.config.Config; got {config!r}.")
    run_dir = Path(run_dir).expanduser()
    with contextlib.ExitStack() as stack:
        with parallel.primary_first("fit"):  # process 0 alone writes the run directory
            if parallel.is_primary():
                make_run_dir(run_dir)
                stack.enter_context(run_lock(run_dir))
                prepare_run_dir(config, run_dir, resume)
        stop = stack.enter_context(stop_on_signals(handle_signals))
        return _fit(config, run_dir, resume, progress, plots, repair_metrics, stop)


def _fit(config, run_dir, resume, progress, plots, repair_metrics, stop) -> dict[str, Any]:
    started = time.perf_counter()
    primary = parallel.is_primary()
    try:
        sizes = {f"train.{k}": getattr(config.train, k) for k in ("batch_size", "eval_batch_size")}
        mesh = parallel.data_mesh(config.train.devices, sizes)
        run = build_run(config, progress=progress, placement=parallel.Placement(mesh))
    except BaseException:
        if not resume and primary:  # leave the directory reusable: nothing was written yet
            (run_dir / CONFIG_FILE).unlink(missing_ok=True)
        raise
    checkpointer = checkpointer_of(run_dir, config)
    has_val = run.splits.val is not None
    monitor = "val" if has_val else "test"  # the split of the periodic evaluations
    loader = train_loader(run)
    state, step, resumed_from, extra = run.steps.initial_state, 0, None, {}
    if resume and checkpointer.exists("latest"):
        check_committed_config("fit", run_dir / CONFIG_FILE, checkpointer, "latest")
        step, state, extra = _restore(run, checkpointer, "latest", "fit", like=state)
        loader.load_state_dict(extra["loader"])
        parallel.check_devices("fit", extra.get("devices", 1), int(mesh.size))
        resumed_from = step
    repair = None
    if resume and primary:
        logged = extra.get("logged_to", step)
        committed = checkpointer.meta("latest") if resumed_from is not None else {}
        repair = resume_metrics(run_dir, step, logged, repair=repair_metrics, committed=committed)
    cfg = run.config.train
    total = run.total_steps
    logger = MetricsLogger(run_dir) if primary else None
    bar = ProgressBar(total, initial=step, desc=config.name, disable=not (progress and primary))
    window = Window(step)
    if "window" in extra:  # a checkpoint taken between two log records
        window.restore(extra["window"])
    last_eval: dict[str, dict[str, float]] | None = None
    saved_at, evaluated_at = step if resumed_from is not None else -1, -1
    train_mean = last_train_metrics(run_dir) if resumed_from is not None and primary else {}
    logged_at = extra.get("logged_to", step)
    train_started, first_step = time.perf_counter(), step
    single = jax.process_count() == 1
    config_sha = config_hash(to_dict(config))

    def save(at: int, metrics: dict[str, float] | None, pending: dict | None = None) -> None:
        check_finite("fit", f"state at step {at}", nnx.to_pure_dict(state["model"]))
        if logger is not None:
            logger.sync()  # the records up to this step are on disk before the checkpoint
        extra = {
            "loader": loader.state_dict(),
            "devices": int(mesh.size),
            "config_hash": config_sha,
            "config": to_dict(config),
            "logged_to": logged_at,
            **({} if pending is None else {"window": pending}),
        }
        meta = {CONFIG_SHA256: config_sha, **metrics_commit(run_dir)} if primary else {}
        checkpointer.save(at, saveable(state), metrics=metrics, extra=extra, meta=meta)

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
                x, y = run.steps.placed(batch.x, batch.y.astype(np.int32))
                state, metrics = run.steps.train_step(state, x, y, run.steps.counter(step))
                step += 1
                window.items.append(metrics)
                final = step == total
                epoch_end = step % run.steps_per_epoch == 0
                do_eval = final or (step % cfg.eval_every == 0 if cfg.eval_every else epoch_end)
                do_save = (
                    final or do_eval or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)
                )
                synced = do_save or step % cfg.log_every == 0
                if synced:
                    train_mean = window.flush(checkpointer, run_dir)
                    if logger is not None:
                        logger.log(step, train_mean, split="train")
                    logged_at = step
                if do_eval:
                    last_eval = evaluation(final)
                    evaluated_at = step
                    if logger is not None:
                        logger.log(step, _prefixed(last_eval), split="eval")
                if do_save:
                    save(step, selection(last_eval) if do_eval else None)
                    saved_at = step
                bar.update(loss=metrics["loss"])
                if final:
                    break
                # Processes agree on stopping where they synchronise anyway (see agree_stop).
                stopping = parallel.agree_stop(stop.name) if synced or single else None
                if stopping is not None:
                    if saved_at != step:
                        save(step, None, window.pending(checkpointer, run_dir))
                    raise Preempted(step, run_dir, stopping)
        train_time = time.perf_counter() - train_started
        if last_eval is None or evaluated_at != step:  # resumed at the very end
            last_eval = evaluation(final=True)
        if saved_at != step:
            save(step, selection(last_eval))
    finally:
        bar.close()
        if logger is not None:
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
        **({} if repair is None else {"metrics_repair": repair}),
    )
    extensions = read_extensions("fit", run_dir)
    if extensions:  # train.epochs grown on resume: what changed, and when
        summary["extensions"] = [{k: e[k] for k in ("time", "changed")} for e in extensions]
    if plots and primary:  # on this process's copy of the replicated model
        local = jax.tree.map(lambda a: a.addressable_data(0), state["model"])
        report.plots(run, run_dir, local, last_eval["test"])
    if primary:
        write_summary(run_dir, summary)
    return summary


# ---------------------------------------------------------------------------------- evaluate


def evaluate(
    run_dir: str | Path,
    *,
    which: str = "best",
    split: str = "test",
    progress: bool = False,
    factory: Callable | None = None,
) -> dict:
    """Evaluate a run's checkpoint on one of its splits (`RestoredRun.evaluate` of
    `load_run`).

    Args:
        run_dir: a run directory written by `fit`.
        which: ``"best"`` (highest validation accuracy seen during training) or ``"latest"`` (the
            final model of a finished run).
        split: ``"test"``, ``"val"`` or ``"train"``.
        progress: show progress while preparing data.
        factory: the model factory of a run whose ``config.json`` names a ``"module:callable"``
            (never imported from the run directory; see `load_run`).

    Returns:
        ``{"split", "step", "which", "accuracy", "loss", "samples", "firing_rates"}``.
    """
    from spikejax.train._restore import load_run

    return load_run(run_dir, which=which, progress=progress, factory=factory).evaluate(split)
