"""The ``spikejax`` command line: train a configuration, evaluate a run.

::

    spikejax train experiments/digits_lif_mlp/config.py [--set optimizer.lr=3e-4 ...]
                   [--run-dir runs/x] [--resume] [--quiet]
    spikejax eval runs/x [--which best|latest]

``zoo``, ``deploy``, ``energy`` and ``sweep`` are reserved for later; they exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]

_LATER = {
    "zoo": "list the model zoo with parameter counts",
    "deploy": "quantize a run for a chip profile and emulate it",
    "energy": "estimate the energy of a run on hardware profiles",
    "sweep": "sweep hyperparameters of a configuration",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikejax", description="Spiking neural networks in JAX: train and evaluate runs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = sub.add_parser("train", help="train a configuration and write a run directory")
    train.add_argument("config", help="Python file defining get_config()")
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
    train.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate = sub.add_parser("eval", help="evaluate a run's checkpoint on the test split")
    evaluate.add_argument("run_dir", help="a run directory written by `spikejax train`")
    evaluate.add_argument(
        "--which", choices=("best", "latest"), default="best", help="checkpoint (default: best)"
    )
    for name, what in _LATER.items():
        later = sub.add_parser(name, help=f"{what} (not available yet)")
        later.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _percent(x: float) -> str:
    return f"{100 * x:.2f} %"


def _report(summary: dict[str, Any]) -> str:
    final, best = summary["final"], summary["best"]
    lines = [
        f"run          {summary['run_dir']}",
        f"model        {summary['model']} ({summary['num_params']:,} parameters), "
        f"seed {summary['seed']}",
        f"training     {summary['steps']} steps ({summary['epochs']:.1f} epochs) in "
        f"{summary['train_time_s']:.1f} s ({summary['steps_per_s'] or 0.0:.1f} steps/s); "
        f"total {summary['wall_time_s']:.1f} s",
        f"test         accuracy {_percent(final['test_accuracy'])} on {final['test_samples']} "
        f"samples, loss {final['test_loss']:.4f} (final model, step {final['step']})",
    ]
    if best is not None:
        lines.append(f"best         accuracy {_percent(best['accuracy'])} at step {best['step']}")
    if final["firing_rates"]:
        rates = ", ".join(f"{k} {v:.3f}" for k, v in final["firing_rates"].items())
        lines.append(f"firing rate  {rates} (spikes per neuron per step, test split)")
    lines.append(
        "files        config.json, metrics.jsonl, tensorboard/, checkpoints/, plots/, summary.json"
    )
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:
    from spikejax.config import apply_overrides, load_config
    from spikejax.train._loop import fit

    config = apply_overrides(load_config(args.config), args.overrides)
    if args.run_dir is None:
        if args.resume:
            raise ValueError("`spikejax train`: `--resume` needs `--run-dir`; got none.")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{config.name}-seed{config.seed}-{stamp}"
    else:
        run_dir = Path(args.run_dir)
    print(f"training {config.name} -> {run_dir}", flush=True)
    summary = fit(config, run_dir, resume=args.resume, progress=not args.quiet)
    print(_report(summary), flush=True)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from spikejax.train._loop import evaluate

    result = evaluate(args.run_dir, which=args.which)
    print(
        f"{result['which']} checkpoint (step {result['step']}): test accuracy "
        f"{_percent(result['accuracy'])} on {result['samples']} samples, loss "
        f"{result['loss']:.4f}",
        flush=True,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikejax`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 for a failed command (the error is printed; with the
        environment variable ``SPIKEJAX_TRACEBACK`` set it is raised instead), 2 for a usage error
        or a command that is not available yet.
    """
    args = _parser().parse_args(argv)
    if args.command in _LATER:
        print(
            f"spikejax {args.command}: not available yet ({_LATER[args.command]}).",
            file=sys.stderr,
        )
        return 2
    command = _train if args.command == "train" else _eval
    try:
        return command(args)
    except (ValueError, TypeError, OSError, FloatingPointError, RuntimeError) as error:
        if os.environ.get("SPIKEJAX_TRACEBACK"):
            raise
        print(f"spikejax {args.command}: error: {error}", file=sys.stderr)
        print("(set SPIKEJAX_TRACEBACK=1 to see the traceback)", file=sys.stderr)
        return 1
