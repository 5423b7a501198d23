"""Optuna studies: TPE over a search space, pruning on validation accuracy, any RDB storage.

Each trial is one run (`spikejax.train.fit_population` with a population of one), written
to ``<out>/runs/trial-<number>``; after every evaluation it reports its validation accuracy to
the trial, and Optuna's ``MedianPruner`` may stop it. The study lives in an SQLite file in the
sweep directory by default, or in the RDB that ``storage`` names (``postgresql://...``), where
any number of workers — on this machine or others, each with its own ``--out`` — share it.
A worker that dies mid-trial stops sending heartbeats; its trial is marked FAIL by the next
worker that starts a trial and is re-queued once (``RetryHeartbeatStaleTrialCallback``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from spikejax.config import Config
from spikejax.sweep._results import RUNS, summary_columns, write_results
from spikejax.sweep._spec import Choice, Float, Int, Sweep, with_values

__all__ = ["SQLITE_FILE", "connect", "run_study", "study_name"]

SQLITE_FILE = "study.db"
_FINISHED = ("COMPLETE", "PRUNED")


def _redact(url: str) -> str:
    """``url`` without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def study_name(digest: str) -> str:
    """The study's name in its storage: the sweep's hash, so that workers of one sweep meet in
    one study and different sweeps never do."""
    return f"spikejax-{digest[:16]}"


def connect(url: str, heartbeat_s: int, fn: str) -> Any:
    """An Optuna ``RDBStorage`` for ``url`` with heartbeats; an unreachable or malformed URL
    raises ``ConnectionError`` before anything is created. A ``postgresql://`` URL that names no
    driver uses psycopg2 (the ``sweep`` extra's); ``postgresql+psycopg://`` picks psycopg 3."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    connect_args: dict[str, Any] = {}
    shown = _redact(url)
    if url.startswith("postgresql://"):  # the driver of the `sweep` extra, psycopg2
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    if url.startswith("postgresql"):
        connect_args = {"connect_timeout": 10}
    elif url.startswith("sqlite"):
        connect_args = {"timeout": 60}  # several workers write one file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return RDBStorage(
                url,
                engine_kwargs={"connect_args": connect_args},
                heartbeat_interval=heartbeat_s,
                grace_period=2 * heartbeat_s,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
        except Exception as error:  # SQLAlchemy raises many types (driver, URL, operational)
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ConnectionError(
                f"`{fn}`: `storage` must be a reachable database URL; cannot open "
                f"{shown}: {type(error).__name__}: {first}. No study was created."
            ) from None


def _suggest(trial: Any, key: str, dist: Float | Int | Choice) -> Any:
    if isinstance(dist, Float):
        return trial.suggest_float(key, dist.low, dist.high, log=dist.log)
    if isinstance(dist, Int):
        return trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
    return dist.value_of(trial.suggest_categorical(key, dist.labels()))


def _values(sweep: Sweep, params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, dist in sweep.space.items():
        if key in params:
            out[key] = dist.value_of(params[key]) if isinstance(dist, Choice) else params[key]
    return out


def _objective(sweep: Sweep, base: Config, out: Path, progress: bool, plots: bool):
    import optuna

    from spikejax.train import fit_population

    def objective(trial: optuna.Trial) -> float:
        values = {key: _suggest(trial, key, dist) for key, dist in sweep.space.items()}
        config = with_values(base, values, "run_sweep")
        run_dir = out / RUNS / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir))

        def on_eval(step: int, metrics: list[dict[str, float]]) -> None:
            trial.report(metrics[0]["val_accuracy"], step)
            if sweep.pruning and trial.should_prune():
                raise optuna.TrialPruned(
                    f"val_accuracy {metrics[0]['val_accuracy']:.4f} at step {step} is below the "
                    f"median of earlier trials"
                )

        if progress:
            print(f"spikejax sweep: trial {trial.number} {values}")
        summary = fit_population([config], [run_dir], progress=progress, plots=plots,
                                 on_eval=on_eval)[0]  # fmt: skip
        for key, value in summary_columns(summary).items():
            trial.set_user_attr(key, value)
        return float(summary["val_accuracy_best"])

    return objective


def _finished(study: Any) -> int:
    return sum(t.state.name in _FINISHED for t in study.get_trials(deepcopy=False))


def run_study(
    sweep: Sweep,
    base: Config,
    out: Path,
    storage: Any,
    name: str,
    *,
    resume: bool,
    progress: bool,
    plots: bool,
) -> list[dict[str, Any]]:
    """Run trials of the study ``name`` in ``storage`` until it holds ``sweep.trials`` finished
    (complete or pruned) trials; write the results table and plots; return the table's rows.

    With several workers the study may end with a few more finished trials than asked (each
    worker checks the count before it starts a trial). A trial whose loss became NaN or infinite
    is marked FAIL (``fail_reason`` in the table) and does not count; any other error stops the
    worker.
    """
    import optuna

    fn = "run_sweep"
    if base.data.val_fraction <= 0:
        raise ValueError(
            f"`{fn}`: an Optuna sweep selects by validation accuracy and needs a validation split; "
            f"`data.val_fraction` of the base config must be > 0; got {base.data.val_fraction}."
        )
    sampler = optuna.samplers.TPESampler(seed=sweep.seed, n_startup_trials=sweep.startup_trials)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=sweep.startup_trials)
        if sweep.pruning
        else optuna.pruners.NopPruner()
    )
    if not progress:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            direction="maximize",
            load_if_exists=resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise ValueError(
            f"`{fn}`: the storage already holds the study {name!r} of this sweep; pass --resume "
            f"to continue it (or to join it as another worker)."
        ) from None
    objective = _objective(sweep, base, out, progress, plots)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        while _finished(study) < sweep.trials:
            # A diverging trial (NaN loss) is a result of the search: FAIL, and the study goes on.
            study.optimize(objective, n_trials=1, catch=(FloatingPointError,))
    rows = results(sweep, study)
    write_results(out, rows)
    write_plots(study, out / "plots")
    return rows


def results(sweep: Sweep, study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, settings, objective, accuracies, run directory."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retries = {t.number: RetryHeartbeatStaleTrialCallback.retried_trial_number(t)
                   for t in study.get_trials(deepcopy=False)}  # fmt: skip
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        duration = t.duration.total_seconds() if t.duration is not None else None
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                **_values(sweep, t.params),
                "value": t.value,
                **{k: attrs.get(k) for k in summary_columns(None)},
                "last_reported_step": t.last_step,
                "duration_s": duration,
                "retry_of": retries[t.number],
                "fail_reason": t.system_attrs.get("fail_reason"),
                "run_dir": attrs.get("run_dir"),
            }
        )
    return rows


def write_plots(study: Any, folder: Path) -> list[Path]:
    """The optimisation history and the parameter importances (matplotlib PNGs) in ``folder``.
    Importances need two complete trials; without them the plot is not drawn and the reason is
    printed, as are Optuna's warnings about the plots."""
    import matplotlib.pyplot as plt  # Optuna draws with pyplot; each figure is closed after saving
    import optuna
    from optuna.visualization import matplotlib as oplt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name, draw in (
            ("optimization_history.png", oplt.plot_optimization_history),
            ("param_importances.png", oplt.plot_param_importances),
        ):
            if name == "param_importances.png" and len(complete) < 2:
                print(f"spikejax sweep: {name} not drawn: it needs 2 complete trials, the study "
                      f"has {len(complete)}")  # fmt: skip
                continue
            try:
                ax = draw(study)
            except (ValueError, RuntimeError) as error:
                print(f"spikejax sweep: {name} not drawn: {error}")
                continue
            figure = ax.figure
            figure.savefig(folder / name, dpi=100, bbox_inches="tight")
            plt.close(figure)
            written.append(folder / name)
    for warning in caught:  # Optuna's notes on the plots (e.g. importances from few trials)
        if not issubclass(warning.category, optuna.exceptions.ExperimentalWarning):
            print(f"spikejax sweep: note: {warning.message}")
    return written
