"""The ``spikejax`` command line: train a configuration, evaluate a run.

::

    spikejax train experiments/digits_lif_mlp/config.py [--set optimizer.lr=3e-4 ...]
                   [--run-dir runs/x] [--resume] [--repair-metrics] [--quiet] [--devices N]
                   [--distributed [--coordinator HOST:PORT --num-processes N --process-id I]]
    spikejax eval runs/x [--which best|latest] [--factory module:callable]
    spikejax deploy runs/x --chip loihi|xylo [--out DIR] [--strict] [--qat auto|always|never]
    spikejax energy runs/x|MODEL [--profile cmos45nm_fp32 ...] [--count rate|events]
    spikejax zoo [--macs]
    spikejax summary runs/x [runs/y ...]
    spikejax sweep experiments/digits_lif_mlp/sweep.py --out sweeps/x [--storage URL] [--resume]
                   [--devices N] [--plots] [--quiet]

A configuration file is Python and runs as code (``get_config()`` and any model factory it
names are imported). A run directory is data: ``eval``, ``deploy`` and ``energy`` never import a
model factory that its ``config.json`` names; give it with ``--factory module:callable``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spikejax._cli_parser import build_parser

__all__ = ["main"]


def _trusted(args: argparse.Namespace):
    """The block in which runs are read with the ``--factory`` the user named (if any)."""
    import contextlib

    if getattr(args, "factory", None) is None:
        return contextlib.nullcontext()
    from spikejax.train import import_factory, trusted_factory

    return trusted_factory(import_factory(args.factory, fn=f"spikejax {args.command}"))


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
    if final.get("val_accuracy") is not None:
        lines.append(
            f"validation   accuracy {_percent(final['val_accuracy'])} on {final['val_samples']} "
            "samples held out of the training split (final model)"
        )
    if best is not None:
        lines.append(
            f"best         accuracy {_percent(best['accuracy'])} at step {best['step']} (test; "
            f"selected by validation accuracy {_percent(best['val_accuracy'])})"
        )
    if final["firing_rates"]:
        rates = ", ".join(f"{k} {v:.3f}" for k, v in final["firing_rates"].items())
        lines.append(f"firing rate  {rates} (spikes per neuron per step, test split)")
    lines.append(
        "files        config.json, metrics.jsonl, tensorboard/, checkpoints/, plots/, summary.json"
    )
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:
    from spikejax.config import apply_overrides, load_config
    from spikejax.train import (
        EXIT_PREEMPTED,
        Preempted,
        fit,
        initialize_distributed,
        is_primary,
    )

    options = (args.coordinator, args.num_processes, args.process_id)
    if args.distributed:  # before anything runs on a device
        initialize_distributed(*options, fn="spikejax train --distributed")
    elif any(o is not None for o in options):
        raise ValueError(
            "`spikejax train`: `--coordinator`, `--num-processes` and `--process-id` need "
            "`--distributed`; got them without."
        )
    if args.devices is not None:
        args.overrides = [*args.overrides, f"train.devices={args.devices}"]
    config = apply_overrides(load_config(args.config), args.overrides)
    if args.run_dir is None:
        if args.resume:
            raise ValueError("`spikejax train`: `--resume` needs `--run-dir`; got none.")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{config.name}-seed{config.seed}-{stamp}"
    else:
        run_dir = Path(args.run_dir)
    if args.repair_metrics and not args.resume:
        raise ValueError("`spikejax train`: `--repair-metrics` needs `--resume`; got none.")
    print(f"training {config.name} -> {run_dir}", flush=True)
    try:
        summary = fit(
            config,
            run_dir,
            resume=args.resume,
            progress=not args.quiet,
            repair_metrics=args.repair_metrics,
        )
    except Preempted as stopped:
        print(
            f"spikejax train: stopped by {stopped.signal_name} after step {stopped.step}; its "
            f"checkpoint is in {run_dir / 'checkpoints'}. Resume with:\n"
            f"  spikejax train {args.config} --run-dir {run_dir} --resume"
            + "".join(f" --set {o}" for o in args.overrides),
            file=sys.stderr,
            flush=True,
        )
        return EXIT_PREEMPTED
    if not is_primary():  # process 0 reports the run
        return 0
    repair = summary.get("metrics_repair")
    if repair is not None:
        print(
            f"metrics      repaired: original kept as {repair['copy']}; dropped lines "
            f"{repair['dropped_lines']}; records end at step {repair['last_step']}",
            flush=True,
        )
    for extension in summary.get("extensions", []):
        changed = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in extension["changed"].items())
        print(f"extended     {changed} ({extension['time']}; see extensions.json)", flush=True)
    print(_report(summary), flush=True)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from spikejax.train import evaluate

    print(
        f"evaluating the {args.which} checkpoint of {args.run_dir} on the test split (data "
        "preparation and compilation first)...",
        flush=True,
    )
    with _trusted(args):
        result = evaluate(args.run_dir, which=args.which, progress=True)
    print(
        f"{result['which']} checkpoint (step {result['step']}): test accuracy "
        f"{_percent(result['accuracy'])} on {result['samples']} samples, loss "
        f"{result['loss']:.4f}",
        flush=True,
    )
    if args.early_exit:
        _print_early_exit(args)
    return 0


def _print_early_exit(args: argparse.Namespace) -> None:
    from spikejax.train import early_exit, load_run

    with _trusted(args):
        run = load_run(args.run_dir, which=args.which)
        report = early_exit(run, args.early_exit, rule=args.rule)
    print(
        f"early decisions ({report['rule']} of the running {report['accumulate']} readout, "
        f"T = {report['T']}, {report['samples']} test samples):"
    )
    event_time = report["event_time"]
    for row in report["curve"]:
        if "threshold" in row:
            latency = (
                f"; latency {row['mean_latency_us']:.0f} µs of event time on average (at most "
                f"{row['max_latency_us']:.0f} µs)"
                if event_time and row["latency_samples"]
                else ""
            )
            print(
                f"  threshold {row['threshold']:.3f}: accuracy {_percent(row['accuracy'])}, "
                f"{row['mean_steps']:.2f} steps on average (at most {int(row['max_steps'])})"
                f"{latency}"
            )
    fixed = ", ".join(
        f"{int(r['steps'])}"
        + (f" ({r['mean_latency_us']:.0f} µs)" if event_time and r["latency_samples"] else "")
        + f": {_percent(r['accuracy'])}"
        for r in report["curve"]
        if "steps" in r
    )
    print(f"  fixed steps: {fixed}")
    if not event_time:
        print("  latency in time steps only: the inputs are not event frames (no event time)")
    elif report["curve"][0]["latency_samples"] < report["samples"]:
        print(
            f"  latencies over the {report['curve'][0]['latency_samples']} samples with events "
            f"(of {report['samples']}): an empty recording has no event time"
        )
    path = Path(args.run_dir) / f"early_exit_{args.which}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"  curve written to {path}", flush=True)


def _deploy(args: argparse.Namespace) -> int:
    from spikejax._io import atomic_write_text
    from spikejax.chip.deploy import deploy, format_report

    out = Path(args.out) if args.out else Path(args.run_dir) / f"chip-{args.chip}"
    print(
        f"deploying the {args.which} checkpoint of {args.run_dir} to {args.chip} (graph and "
        "resource checks, data preparation, quantization, emulation)...",
        flush=True,
    )
    with _trusted(args):
        report = deploy(
            args.run_dir,
            args.chip,
            out_dir=out,
            which=args.which,
            strict=args.strict,
            qat=args.qat,
            qat_epochs=args.qat_epochs,
            progress=True,
        )
    text = format_report(report)
    if not args.brief:
        print(text, flush=True)
        return 0
    details = atomic_write_text(out / "deploy.txt", text + "\n")
    print(
        f"{report['chip']}: test accuracy float {_percent(report['float_accuracy'])} -> chip "
        f"{_percent(report['chip_accuracy'])} ({report['exported'].upper()}, drop "
        f"{report['accuracy_drop']:.2f} points, {report['test_samples']} samples); "
        + ("fits the chip" if report["fits"] else "DOES NOT FIT the chip"),
        flush=True,
    )
    print(f"  details: {details}, {report['files']['json']}", flush=True)
    return 0


def _energy(args: argparse.Namespace) -> int:
    import json

    from spikejax._io import atomic_write_text
    from spikejax.energy import energy_command

    if args.brief and not args.out:
        raise ValueError(
            "`spikejax energy`: `--brief` needs `--out`, the folder the full report is written "
            "to; got no --out."
        )
    print(f"energy of {args.target} (data preparation and compilation first)...", flush=True)
    with _trusted(args):
        text = energy_command(
            args.target,
            profile=args.profile or ["cmos45nm_fp32"],
            count=args.count,
            nonbinary=args.nonbinary,
            batch=args.batch,
            out=args.out,
            which=args.which,
            progress=True,
        )
    if not args.brief:
        print(text, flush=True)
        return 0
    out = Path(args.out).expanduser()
    details = atomic_write_text(out / "energy.txt", text + "\n")
    for name, report in json.loads((out / "energy.json").read_text("utf-8"))["reports"].items():
        totals = report["totals"]
        line = f"{name}: {totals['e_snn_pj'] / 1e3:.4g} nJ per inference"
        if totals.get("ratio") is not None:
            line += (
                f", {totals['ratio']:.3g}× the ANN's {totals['e_ann_pj'] / 1e3:.4g} nJ "
                "(one dense pass)"
            )
        if report.get("unpriced"):
            line += f" (without {', '.join(report['unpriced'])}: not priced on {name})"
        print(line, flush=True)
    print(f"  details: {details}, {out / 'energy.json'}", flush=True)
    return 0


def _summary(args: argparse.Namespace) -> int:
    from spikejax.train.results import results_table

    print(results_table(args.run_dirs), flush=True)
    return 0


def _zoo(args: argparse.Namespace) -> int:
    from spikejax import models

    header = f"{'model':32s} {'params':>12s} {'T':>3s}  input"
    print(header + ("  MACs/step" if args.macs else ""), flush=True)
    for name in models.available():
        meta = models.info(name)
        line = f"{name:32s} {models.count_params(name):>12,d} {meta.T:>3d}  {meta.input_shape}"
        if args.macs:
            line += f"  {sum(models.macs_per_step(name).values()):,d}"
        print(line, flush=True)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from spikejax.sweep import run_sweep

    rows = run_sweep(
        args.sweep_file,
        args.out,
        storage=args.storage,
        resume=args.resume,
        devices=args.devices,
        progress=not args.quiet,
        plots=args.plots,
    )
    done = [r for r in rows if r.get("val_accuracy_best") is not None]
    states = {
        s: sum(r["state"] == s for r in rows) for s in dict.fromkeys(r["state"] for r in rows)
    }
    counts = ", ".join(f"{n} {state.lower()}" for state, n in states.items())
    print(f"sweep        {args.out}: {len(rows)} runs ({counts})", flush=True)
    if done:
        best = max(done, key=lambda r: r["val_accuracy_best"])
        print(
            f"best         {best['run_dir']}: val {_percent(best['val_accuracy_best'])}, "
            f"test {_percent(best['test_accuracy_best'])}",
            flush=True,
        )
    print(f"results      {Path(args.out) / 'results.csv'}", flush=True)
    return 0


_COMMANDS = {
    "train": _train,
    "eval": _eval,
    "deploy": _deploy,
    "energy": _energy,
    "summary": _summary,
    "zoo": _zoo,
    "sweep": _sweep,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``spikejax`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 1 for a failed command (the error is printed; with the
        environment variable ``SPIKEJAX_TRACEBACK`` set it is raised instead), 2 for a usage
        error, 75 for training stopped by SIGTERM or SIGINT after writing a checkpoint (resume it
        with ``--resume``).
    """
    args = build_parser().parse_args(argv)
    command = _COMMANDS[args.command]
    try:
        return command(args)
    except KeyboardInterrupt:
        print(f"spikejax {args.command}: interrupted.", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, FloatingPointError, RuntimeError) as error:
        if os.environ.get("SPIKEJAX_TRACEBACK"):
            raise
        print(f"spikejax {args.command}: error: {error}", file=sys.stderr)
        print("(set SPIKEJAX_TRACEBACK=1 to see the traceback)", file=sys.stderr)
        return 1
