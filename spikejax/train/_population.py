"""Population training: runs that share shapes train together, ``vmap``-ed inside one jit.

`fit_population` trains configurations that differ only in numbers held as arrays — the
seed (initial weights, data order, validation split), the optimizer's numbers
(`hyperparameters`, via ``optax.inject_hyperparams``) and model
options stored as variables (a neuron's ``β``, ``θ``) — as one population: one compiled train
step and one compiled evaluation step for all of them. Each member writes its own run directory
with the files of `spikejax.train.fit` (``config.json``, ``metrics.jsonl``, TensorBoard,
checkpoints ``latest``/``best``, ``summary.json``), made by the same writers.

Each member computes what its own run computes: the same initial state, the same batches in the
same order, the same input keys (``fold_in`` of its seed's keys) and the same evaluation
arithmetic. Only the batched (``vmap``-ed) kernels may round differently from the single-run
ones; the tests compare a member with its run trained alone to float32 tolerance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
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
from spikejax.train import _report as report
from spikejax.train._committed import CONFIG_SHA256
from spikejax.train._data import check_labels, in_memory, load_splits, make_prepare
from spikejax.train._factory import build_model
from spikejax.train._lock import run_lock
from spikejax.train._population_steps import Population, best_checkpoints, member_state, stack
from spikejax.train._resume_metrics import metrics_commit
from spikejax.train._rundir import (
    CONFIG_FILE,
    checkpointer_of,
    make_run_dir,
    prepare_run_dir,
    saveable,
)
from spikejax.train._splits import Splits, split_size
from spikejax.train._steps import Steps, build_optimizer, hyperparameters
from spikejax.train._window import Window
from spikejax.train.logging import MetricsLogger, ProgressBar, config_hash, write_summary

__all__ = ["fit_population", "population_key"]

_FN = "fit_population"


@dataclasses.dataclass
class _Member:
    """One run of the population: what `spikejax.train.fit` would build for it."""

    config: Config
    run_dir: Path
    splits: Splits
    steps: Steps
    steps_per_epoch: int
    total_steps: int
    num_params: int
    stream: int  # index of its data stream (members with the same data and seed share one)


def population_key(config: Config) -> str:
    """The part of ``config`` that members of one population share, as JSON: everything but the
    seed, the optimizer's numbers (only whether each is zero: zero changes the optimizer's
    structure) and the model options. Model options must in addition build models of one tree
    definition and shape (`fit_population` checks it)."""
    data = to_dict(config)
    data.pop("name")
    data.pop("seed")
    data["model"].pop("options")
    for name in hyperparameters(config.optimizer):
        data["optimizer"][name] = bool(data["optimizer"][name])
    return json.dumps(data, sort_keys=True)


def _sample_shape(data: Any) -> tuple[int, ...]:
    if isinstance(data, tuple):
        return tuple(np.shape(data[0])[1:])
    return tuple(np.shape(data[0][0]))


def _build(configs: Sequence[Config], run_dirs: Sequence[Path], progress: bool) -> list[_Member]:
    streams: dict[str, int] = {}
    cache: dict[str, Splits] = {}
    members = []
    for config, run_dir in zip(configs, run_dirs, strict=True):
        data_key = json.dumps([to_dict(config)["data"], config.seed], sort_keys=True)
        if data_key not in cache:
            splits = load_splits(config, progress=progress, convert=False, validation=True)
            cache[data_key] = in_memory(config, splits, progress=progress)
            streams[data_key] = len(streams)
        splits = cache[data_key]
        model = build_model(config.model, rngs=nnx.Rngs(config.seed))
        n_train = split_size(splits.train)
        steps_per_epoch = n_train // config.train.batch_size
        if steps_per_epoch == 0:
            raise ValueError(
                f"`{_FN}`: `train.batch_size` must be <= the {n_train} training samples "
                f"(incomplete batches are dropped); got {config.train.batch_size}."
            )
        total = config.train.epochs * steps_per_epoch
        if config.train.max_steps is not None:
            total = min(total, config.train.max_steps)
        tx, schedule = build_optimizer(config.optimizer, total)
        params = jax.tree.leaves(nnx.state(model, nnx.Param))
        num_params = sum(int(np.prod(v.shape)) for v in params)
        steps = Steps(config, model, tx, schedule, make_prepare(config, splits))
        members.append(
            _Member(
                config, run_dir, splits, steps, steps_per_epoch, total, num_params,
                streams[data_key],
            )
        )  # fmt: skip
    first = members[0]
    shape = (first.config.train.batch_size, *_sample_shape(first.splits.train))
    x = jax.ShapeDtypeStruct(shape, jnp.float32)
    out = jax.eval_shape(
        lambda s, x: first.steps.eval_model(s)(first.steps.prepare(x, jr.key(0))),
        first.steps.initial_state["model"],
        x,
    )
    for member in members:
        check_labels(member.splits, int(out.shape[-1]))
    return members


def _check_population(members: list[_Member]) -> None:
    """One tree definition and one set of shapes and sizes for every member, or a named error."""
    first = members[0]

    def layout(member: _Member) -> Any:
        return jax.tree.map(lambda a: (a.shape, a.dtype), member.steps.initial_state)

    for i, member in enumerate(members[1:], 1):
        same = (
            population_key(member.config) == population_key(first.config)
            and member.steps.train_graphdef == first.steps.train_graphdef
            and member.steps.eval_graphdef == first.steps.eval_graphdef
            and jax.tree.structure(member.steps.initial_state)
            == jax.tree.structure(first.steps.initial_state)
            and layout(member) == layout(first)
            and member.total_steps == first.total_steps
            and member.steps_per_epoch == first.steps_per_epoch
            and split_size(member.splits.test) == split_size(first.splits.test)
            and (member.splits.val is None) == (first.splits.val is None)
            and (
                member.splits.val is None
                or split_size(member.splits.val) == split_size(first.splits.val)
            )
        )
        if not same:
            raise ValueError(
                f"`{_FN}`: every member of a population must share the model's structure and "
                f"shapes, the data and the training settings (only the seed, the optimizer's "
                f"numbers and model options held as arrays may differ); member {i} "
                f"({member.run_dir}) differs from member 0 ({first.run_dir}). Sweeps group such "
                f"configurations into separate populations (spikejax.sweep)."
            )


def _check_devices(population: int, devices: int) -> None:
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ValueError(f"`{_FN}`: `devices` must be an int >= 1; got {devices!r}.")
    if population % devices:
        raise ValueError(
            f"`{_FN}`: the population of {population} runs must divide evenly across the "
            f"{devices} devices; {population} is not a multiple of {devices}."
        )
    available = len(jax.devices())
    if devices > available:
        raise ValueError(
            f"`{_FN}`: `devices` must be <= the {available} devices present; got {devices}."
        )


def _prefixed(results: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{split}_{k}": v for split, metrics in results.items() for k, v in metrics.items()}


def fit_population(
    configs: Sequence[Config],
    run_dirs: Sequence[str | Path],
    *,
    devices: int = 1,
    progress: bool = True,
    plots: bool = False,
    on_eval: Callable[[int, list[dict[str, float]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``configs`` as one population, each into its run directory; return the summaries.

    Every member follows the schedule of `spikejax.train.fit` (steps, logging windows,
    evaluations, ``latest`` and ``best`` checkpoints, final test evaluations) and writes the same
    files; its ``summary.json`` adds ``population`` (size, index, devices). The population's train
    step is ``vmap(Steps.train_fn)`` over the members' states, batches, input keys and learning
    rates, jit-compiled once (likewise the evaluation step).

    Args:
        configs: the members' configurations; they may differ in ``seed``, the optimizer's numbers
            (``lr``, ``weight_decay``, ``momentum``, ``grad_clip``; zero or not alike) and model
            options that build models of one structure and shape (e.g. ``beta``, ``threshold``).
        run_dirs: one new run directory per member.
        devices: split the population axis over this many devices (``jax.sharding``); the
            population size must be a multiple of it.
        progress: draw a progress bar.
        plots: write each member's plots (as `spikejax.train.fit` does).
        on_eval: called after every periodic evaluation with the step and each member's
            metrics (``val_accuracy``, ``val_loss``, ...); an exception it raises (e.g. a pruned
            trial) stops training and propagates, leaving the run directories as they are.

    Returns:
        The members' summaries, in order.

    Raises:
        ValueError: no configurations, lengths that differ, members that cannot share a
            population (the message names the first one), a population that does not divide
            across ``devices``, or a run directory that already holds a run.
        FloatingPointError: a member's loss or gradient became NaN or infinite.
    """
    configs, run_dirs = list(configs), [Path(d).expanduser() for d in run_dirs]
    if not configs:
        raise ValueError(f"`{_FN}`: `configs` must hold at least one Config; got none.")
    if len(configs) != len(run_dirs):
        raise ValueError(
            f"`{_FN}`: `run_dirs` must hold one directory per configuration ({len(configs)}); "
            f"got {len(run_dirs)}."
        )
    for i, config in enumerate(configs):
        if not isinstance(config, Config):
            raise TypeError(f"`{_FN}`: `configs[{i}]` must be a Config; got {config!r}.")
        data = to_dict(config)
        # A population splits its own axis over devices (``devices``), not each run's batch; and
        # plasticity rules need the recorded spikes that only ``fit`` hands to the optimizer.
        if data["train"].get("devices", 1) != 1:
            raise ValueError(
                f"`{_FN}`: `configs[{i}].train.devices` must be 1 (a population is split over "
                f"devices with `devices=`); got {data['train']['devices']}."
            )
        if data.get("learning", {}).get("method", "bptt") != "bptt":
            raise ValueError(
                f"`{_FN}`: `configs[{i}].learning.method` must be 'bptt' (gradient training); "
                f"got {data['learning']['method']!r}. Train plasticity runs with `fit`."
            )
    if len(set(run_dirs)) != len(run_dirs):
        raise ValueError(f"`{_FN}`: `run_dirs` must be distinct; got {run_dirs}.")
    _check_devices(len(configs), devices)
    with contextlib.ExitStack() as stack:
        for config, run_dir in zip(configs, run_dirs, strict=True):
            make_run_dir(run_dir)
            stack.enter_context(run_lock(run_dir))
            prepare_run_dir(config, run_dir, resume=False)
        return _fit(configs, run_dirs, devices, progress, plots, on_eval)


def _fit(configs, run_dirs, devices, progress, plots, on_eval) -> list[dict[str, Any]]:
    started = time.perf_counter()
    try:
        members = _build(configs, run_dirs, progress)
        _check_population(members)
    except BaseException:  # leave the directories reusable: nothing of these runs was written
        for run_dir in run_dirs:
            (run_dir / CONFIG_FILE).unlink(missing_ok=True)
        raise
    pop = Population(members, devices)
    first, n = members[0], len(members)
    cfg, total = first.config.train, first.total_steps
    has_val = first.splits.val is not None
    monitor = "val" if has_val else "test"
    loaders = [
        Loader(
            m.splits.train,
            cfg.batch_size,
            seed=m.config.seed,
            shuffle=True,
            last_batch="drop",
            prefetch=m.config.data.prefetch,
            name="train split",
        )
        for m in pop.streams()
    ]
    checkpointers = [checkpointer_of(m.run_dir, m.config) for m in members]
    loggers = [MetricsLogger(m.run_dir) for m in members]
    windows = [Window(0) for _ in members]
    shas = [config_hash(to_dict(m.config)) for m in members]
    state = pop.place(stack([m.steps.initial_state for m in members]))
    bar = ProgressBar(total, desc=f"{first.config.name} ×{n}", disable=not progress)
    pending: list[dict[str, jax.Array]] = []
    train_means: list[dict[str, float]] = [{} for _ in members]
    last_eval: list[dict[str, dict[str, float]]] = []
    step, logged_at, saved_at, evaluated_at = 0, 0, -1, -1

    def flush() -> None:
        nonlocal pending, logged_at
        host = jax.device_get(pending)
        for m in range(n):
            windows[m].items = [{k: v[m] for k, v in h.items()} for h in host]
            train_means[m] = windows[m].flush(checkpointers[m], members[m].run_dir)
            loggers[m].log(step, train_means[m], split="train")
        pending, logged_at = [], step

    def evaluation(final: bool) -> list[dict[str, dict[str, float]]]:
        results = [{monitor: r} for r in pop.evaluate(state["model"], monitor)]
        if final and has_val:
            for r, test in zip(results, pop.evaluate(state["model"], "test"), strict=True):
                r["test"] = test
        return results

    def save(at: int, evaluated: bool) -> None:
        for m, member in enumerate(members):
            one = member_state(state, m)
            check_finite(_FN, f"state of member {m} at step {at}", nnx.to_pure_dict(one["model"]))
            loggers[m].sync()
            extra = {
                "loader": loaders[member.stream].state_dict(),
                "config_hash": shas[m],
                "config": to_dict(member.config),
                "logged_to": logged_at,
            }
            meta = {CONFIG_SHA256: shas[m], **metrics_commit(member.run_dir)}
            metrics = None
            if evaluated:
                metrics = {f"{monitor}_{k}": last_eval[m][monitor][k] for k in ("accuracy", "loss")}
            checkpointers[m].save(at, saveable(one), metrics=metrics, extra=extra, meta=meta)

    train_started = time.perf_counter()
    try:
        while step < total:
            for batches in zip(*loaders, strict=True):
                xs = np.stack([b.x for b in batches])
                ys = np.stack([b.y.astype(np.int32) for b in batches])
                state, metrics = pop.train_step(state, xs, ys, jnp.int32(step))
                step += 1
                pending.append(metrics)
                final = step == total
                epoch_end = step % first.steps_per_epoch == 0
                do_eval = final or (step % cfg.eval_every == 0 if cfg.eval_every else epoch_end)
                do_save = (
                    final
                    or do_eval
                    or bool(cfg.checkpoint_every and step % cfg.checkpoint_every == 0)
                )
                if do_save or step % cfg.log_every == 0:
                    flush()
                if do_eval:
                    last_eval = evaluation(final)
                    evaluated_at = step
                    for m in range(n):
                        loggers[m].log(step, _prefixed(last_eval[m]), split="eval")
                if do_save:
                    save(step, do_eval)
                    saved_at = step
                bar.update()
                if do_eval and on_eval is not None:
                    on_eval(step, [_prefixed(r) for r in last_eval])
                if final:
                    break
        train_time = time.perf_counter() - train_started
        if evaluated_at != step:
            last_eval = evaluation(final=True)
        if saved_at != step:
            save(step, True)
    finally:
        bar.close()
        for logger in loggers:
            logger.close()
    bests = best_checkpoints(pop, members, checkpointers, state, last_eval, step, has_val)
    summaries = []
    for m, member in enumerate(members):
        summary = report.summary(
            member, member.run_dir, last_eval[m], bests[m], train_means[m], step
        )
        summary.update(
            resumed_from=None,
            wall_time_s=time.perf_counter() - started,
            train_time_s=train_time,
            steps_per_s=step / train_time if train_time > 0 else None,
            traces=dict(pop.traces),
            population={"size": n, "index": m, "devices": devices},
        )
        if plots:
            report.plots(
                member, member.run_dir, member_state(state, m)["model"], last_eval[m]["test"]
            )
        write_summary(member.run_dir, summary)
        summaries.append(summary)
    return summaries
