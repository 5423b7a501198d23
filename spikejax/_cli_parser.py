"""The ``spikejax`` command line's arguments: every command, option and help text (`spikejax.cli`
runs the commands)."""

from __future__ import annotations

import argparse

__all__ = ["build_parser"]


def _factory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--factory",
        metavar="MODULE:CALLABLE",
        help="the model factory of a run whose config.json names one; imported because you "
        "name it here (a run directory's own files are never imported)",
    )


def _version() -> str:
    from spikejax import __version__

    return __version__


def _energy_profiles() -> list[str]:
    from spikejax.energy import available_profiles

    return available_profiles()


def build_parser() -> argparse.ArgumentParser:
    """The ``spikejax`` command line's argument parser: every command and option, with help."""
    parser = argparse.ArgumentParser(
        prog="spikejax", description="Spiking neural networks in JAX: train and evaluate runs."
    )
    parser.add_argument(
        "--version", action="version", version=f"spikejax {_version()}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = sub.add_parser(
        "train",
        help="train a configuration and write a run directory",
        description="Train a configuration and write a run directory. The configuration file is "
        "Python and runs as code: it is imported, and a model factory 'module:callable' it names "
        "is imported too; run only configuration files you trust. SIGTERM or SIGINT stop at the "
        "next step with a checkpoint (exit status 75; resume with --resume).",
    )
    train.add_argument(
        "config", help="Python file defining get_config(); it runs as code (trusted files only)"
    )
    train.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optimizer.lr=3e-4 (repeatable)",
    )
    train.add_argument(
        "--run-dir", help="run directory (default: runs/<name>-seed<seed>-<date>-<time>)"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --run-dir; with --set train.epochs=N (more than the run's) "
        "a finished run trains on, recorded in its extensions.json",
    )
    train.add_argument(
        "--repair-metrics",
        action="store_true",
        help="with --resume: copy an unreadable or incomplete metrics.jsonl to metrics.jsonl.orig "
        "and keep its readable records (otherwise resuming stops with an error)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--devices",
        type=int,
        metavar="N",
        help="data-parallel mesh of N devices, 0 = all (the same as --set train.devices=N; "
        "default: the config's, normally 1)",
    )
    train.add_argument(
        "--distributed",
        action="store_true",
        help="one of several processes of a multi-host run: call jax.distributed.initialize(); "
        "without the three options below JAX reads them from SLURM, Open MPI or "
        "JAX_COORDINATOR_ADDRESS; process 0 writes the run directory",
    )
    train.add_argument(
        "--coordinator", metavar="HOST:PORT", help="with --distributed: process 0's address"
    )
    train.add_argument(
        "--num-processes", type=int, metavar="N", help="with --distributed: number of processes"
    )
    train.add_argument(
        "--process-id", type=int, metavar="I", help="with --distributed: this process, 0..N-1"
    )
    evaluate = sub.add_parser("eval", help="evaluate a run's checkpoint on the test split")
    evaluate.add_argument("run_dir", help="a run directory written by `spikejax train`")
    evaluate.add_argument(
        "--which", choices=("best", "latest"), default="best", help="checkpoint (default: best)"
    )
    evaluate.add_argument(
        "--early-exit",
        type=float,
        nargs="+",
        metavar="THRESHOLD",
        help="also decide each sample as soon as its accumulated readout is confident (margin "
        "of the two largest class probabilities >= THRESHOLD, in [0, 1]); prints accuracy "
        "against the mean time steps used (and, on event frames, the latency to decision in "
        "µs of event time) and the accuracy of every fixed number of steps; writes the curve "
        "to <run_dir>/early_exit_<which>.json",
    )
    evaluate.add_argument(
        "--rule",
        choices=("margin", "entropy"),
        default="margin",
        help="confidence of --early-exit: probability margin, or 1 - normalised entropy",
    )
    _factory_option(evaluate)
    deploy = sub.add_parser("deploy", help="quantize a run for a chip, emulate it, export it")
    deploy.add_argument("run_dir", help="a run directory written by `spikejax train`")
    deploy.add_argument("--chip", required=True, choices=("loihi", "xylo"), help="chip profile")
    deploy.add_argument("--out", help="output folder (default: <run_dir>/chip-<chip>)")
    deploy.add_argument(
        "--which",
        choices=("best", "latest"),
        default="best",
        help="checkpoint: best (highest validation accuracy) or latest (default: best)",
    )
    deploy.add_argument(
        "--strict", action="store_true", help="fail if the network does not fit the chip"
    )
    deploy.add_argument(
        "--qat",
        choices=("auto", "always", "never"),
        default="auto",
        help="straight-through fine-tuning on the chip forward (auto: if PTQ loses > 1 point)",
    )
    deploy.add_argument(
        "--qat-epochs",
        type=int,
        default=3,
        metavar="N",
        help="epochs of fine-tuning over the training inputs (default: 3)",
    )
    deploy.add_argument(
        "--brief",
        action="store_true",
        help="print two lines (accuracy float -> chip, whether it fits) and write the full "
        "report to <out>/deploy.txt",
    )
    _factory_option(deploy)
    energy = sub.add_parser("energy", help="estimate the energy of a run or a zoo model")
    energy.add_argument("target", help="a run directory written by `spikejax train`, or a model")
    energy.add_argument(
        "--profile",
        action="append",
        default=None,
        help="energy profile, repeatable (default: cmos45nm_fp32); one of: "
        + ", ".join(_energy_profiles()),
    )
    energy.add_argument(
        "--count",
        choices=("rate", "events"),
        default="rate",
        help="synaptic operations as firing rate × T × MACs (the papers' convention) or as exact "
        "events (each input value times the outputs it reaches)",
    )
    energy.add_argument(
        "--nonbinary",
        choices=("as_spikes", "as_macs"),
        default="as_spikes",
        help="a layer whose input is not binary spikes: counted with its mean value, or charged "
        "T × MACs as multiply-accumulates",
    )
    energy.add_argument("--batch", type=int, default=8, help="test samples to average over")
    energy.add_argument(
        "--which",
        choices=("best", "latest"),
        default="best",
        help="checkpoint: best (highest validation accuracy) or latest (default: best)",
    )
    energy.add_argument("--out", help="folder for energy.json and energy_<profile>.png")
    energy.add_argument(
        "--brief",
        action="store_true",
        help="print one line per profile (energy per inference, against the ANN) and write the "
        "full report to <out>/energy.txt (needs --out)",
    )
    _factory_option(energy)
    summary = sub.add_parser(
        "summary",
        help="one table of finished runs: float and chip accuracy, energy per inference "
        "(read from summary.json, chip-<chip>/<chip>.json and energy/energy.json)",
    )
    summary.add_argument("run_dirs", nargs="+", help="run directories written by `spikejax train`")
    zoo = sub.add_parser("zoo", help="list the model zoo with parameter counts")
    zoo.add_argument("--macs", action="store_true", help="also dense MACs per time step")
    sweep = sub.add_parser(
        "sweep", help="sweep hyperparameters: populations in one jit, or an Optuna study"
    )
    sweep.add_argument("sweep_file", help="a Python file defining get_sweep() (trusted code)")
    sweep.add_argument(
        "--out", required=True, help="the sweep directory (new, empty, or this sweep's)"
    )
    sweep.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna sweeps: the study's database, e.g. postgresql://user@host/db, shared by "
        "workers on several machines (default: sqlite file study.db in --out)",
    )
    sweep.add_argument(
        "--resume", action="store_true", help="Optuna sweeps: continue or join the study"
    )
    sweep.add_argument(
        "--devices",
        type=int,
        default=1,
        help="grid sweeps: split each population over this many devices (default: 1)",
    )
    sweep.add_argument("--plots", action="store_true", help="write every run's plots")
    sweep.add_argument("--quiet", action="store_true", help="no progress output")
    return parser
