"""``deploy`` a trained network to a chip: quantize, emulate, compare, fine-tune, export.

``spikejax deploy <run_dir> --chip xylo|loihi`` is `deploy` followed by
`format_report`. Steps:

1. float test accuracy of the model, with the run's readout (time reduction of the outputs);
2. calibration (`calibrate`) on training inputs and `
   quantize` (post-training quantization, PTQ); the chip's inputs are the model's inputs as events
   (binary spikes, or analog values in ``[0, 1]`` as ``input_levels`` event counts);
3. chip test accuracy with `emulate` (the input is followed by as many empty
   steps as the chip's latency, and the readout takes the steps aligned with the float ones), and
   the saturation counts of every layer;
4. the resource fit (`fit`; ``strict`` raises on the first resource over
   its limit);
5. when PTQ loses more than ``qat_threshold`` points (or ``qat="always"``), a few epochs of
   straight-through fine-tuning on the chip's exact forward
   (`finetune`) and a new chip accuracy; the better of the two is
   exported;
6. the integer parameters in the vendor layout (`write_files`):
   ``<out_dir>/<chip>.npz`` with ``<out_dir>/<chip>.json`` (metadata, formats, notes, report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from spikejax._errors import check_choice
from spikejax.chip._calibrate import calibrate
from spikejax.chip._emulate import SATURATION_KEYS, emulate, encode_inputs, outputs_to_float
from spikejax.chip._graph import describe
from spikejax.chip._model import ChipModel
from spikejax.chip._quantize import quantize
from spikejax.chip._run_dir import from_run_dir, untrained_model
from spikejax.chip.export import write_files
from spikejax.chip.finetune import finetune, latency, reduce_time
from spikejax.chip.fit import fit
from spikejax.chip.profiles import get_profile

__all__ = ["deploy", "format_report"]

READOUTS = ("mean", "max", "last", "count")


def _check_data(fn: str, data: Any, in_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    want = f"[T, N, {', '.join(map(str, in_shape))}]"
    if not isinstance(data, dict) or not {"x_test", "y_test"} <= set(data):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(
            f"`{fn}`: `data` must be a dict with 'x_test' and 'y_test' (and optionally 'x_train', "
            f"'y_train'): time-major inputs {want} and labels [N]; got {got}."
        )
    out = {}
    for split in ("test", "train"):
        if f"x_{split}" not in data:
            continue
        x, y = np.asarray(data[f"x_{split}"], np.float32), np.asarray(data[f"y_{split}"])
        if x.ndim != 2 + len(in_shape) or x.shape[2:] != in_shape or y.shape != (x.shape[1],):
            raise ValueError(
                f"`{fn}`: `data['x_{split}']` must be {want} with labels [N]; got "
                f"{x.shape} and {y.shape}."
            )
        out[f"x_{split}"], out[f"y_{split}"] = x, y.astype(np.int64)
    return out


def _levels(
    fn: str, x: np.ndarray, chip: str, input_levels: int | None
) -> tuple[int, float | None]:
    """``(input_levels, input_unit)``: inputs in ``[0, 1]`` are spikes or analog values sent as
    ``input_levels`` events per 1.0; non-negative integer inputs above 1 are event counts (one
    event per unit, ``input_levels`` the largest count)."""
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(
            f"`{fn}`: the model's inputs must be finite and >= 0 to be sent to a chip as events "
            f"(spikes, analog values in [0, 1] or event counts); got values in "
            f"[{x.min()}, {x.max()}]."
        )
    if np.any(x > 1):
        if np.any(x != np.round(x)):
            raise ValueError(
                f"`{fn}`: inputs above 1 must be integer event counts to be sent to a chip; got "
                f"values in [{x.min()}, {x.max()}] that are not all integers."
            )
        top = int(x.max())
        if input_levels is not None and input_levels < top:
            raise ValueError(
                f"`{fn}`: `input_levels` must be at least the largest input count {top} for "
                f"event-count inputs; got {input_levels}."
            )
        return (top if input_levels is None else input_levels), 1.0
    if input_levels is not None:
        return input_levels, None
    if np.all((x == 0) | (x == 1)):
        return 1, None
    return (16 if chip == "loihi" else get_profile("xylo").arithmetic.input_cap), None


def _accuracy(cm: ChipModel, x: np.ndarray, y: np.ndarray, readout: str, batch: int):
    lag = latency(cm)
    correct, stats = 0, None
    for start in range(0, x.shape[1], batch):
        xb = encode_inputs(cm, x[:, start : start + batch])
        xb = jnp.concatenate([xb, jnp.zeros((lag, *xb.shape[1:]), xb.dtype)])
        out, st = emulate(cm, xb)
        scores = reduce_time(outputs_to_float(cm, out)[lag:], readout)
        correct += int(jnp.sum(jnp.argmax(scores, -1) == y[start : start + batch]))
        st = jax.tree.map(int, st)
        stats = st if stats is None else jax.tree.map(lambda a, b: a + b, stats, st)
    return correct / x.shape[1], stats, lag


def _float_accuracy(model: nnx.Module, x, y, readout: str, batch: int) -> float:
    correct = 0
    for start in range(0, x.shape[1], batch):
        out = model(jnp.asarray(x[:, start : start + batch]))
        correct += int(
            jnp.sum(jnp.argmax(reduce_time(out, readout), -1) == y[start : start + batch])
        )
    return correct / x.shape[1]


def _require_fit(fn: str, chip: str, bad: list[dict[str, Any]]) -> None:
    if bad:
        r = bad[0]
        where = f" ({r['where']})" if r["where"] else ""
        raise ValueError(
            f"`{fn}`: the network must fit {chip!r}: `{r['resource']}`{where} needs {r['used']}, "
            f"the chip offers {r['limit']} (also over: {[b['resource'] for b in bad[1:]]})."
        )


def _check_first(fn: str, model: nnx.Module, chip: str, strict: bool) -> None:
    """The checks that need no data: every node maps to the chip, the profile is bit-exact,
    and (``strict``) the network fits the chip's resources."""
    describe(model, fn=fn, chip=chip)
    if strict:
        _require_fit(fn, chip, [r for r in fit(model, chip) if not r["ok"]])


def deploy(
    run_dir_or_model: Any,
    chip: str,
    *,
    out_dir: str | Path,
    data: dict[str, Any] | None = None,
    readout: str | None = None,
    which: str = "best",
    input_levels: int | None = None,
    method: str = "max",
    percentile: float = 99.9,
    saturate: bool = False,
    strict: bool = False,
    qat: str = "auto",
    qat_threshold: float = 1.0,
    qat_epochs: int = 3,
    qat_lr: float = 5e-4,
    batch_size: int = 256,
    train_samples: int = 2048,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Quantize a trained network for ``chip``, compare float and chip accuracy, export it.

    Args:
        run_dir_or_model: a run directory of ``spikejax train`` (model restored from its
            ``which`` checkpoint, data and readout from its configuration) or a float model.
        chip: ``"loihi"`` or ``"xylo"``.
        out_dir: where ``<chip>.npz`` and ``<chip>.json`` are written.
        data: with a model: ``{"x_test", "y_test"[, "x_train", "y_train"]}``, time-major model
            inputs ``[T, N, n_in]`` in ``[0, 1]`` and labels ``[N]``.
        readout: time reduction of the outputs for the class scores: ``"mean"``, ``"max"``,
            ``"last"`` or ``"count"`` (default: the run's loss; ``"mean"`` for a model).
        which: checkpoint of a run directory, ``"best"`` (highest validation accuracy) or
            ``"latest"`` (see `spikejax.train.load_run`).
        input_levels: events per channel for the input 1.0 (default: 1 for spike inputs, 16 on
            Loihi and 15 on Xylo for analog inputs).
        method, percentile, saturate: as in `quantize`.
        strict: raise ``ValueError`` naming the first resource the network needs beyond the
            chip's limits (otherwise the misfit is only reported and the emulation still runs).
        qat: ``"auto"`` (fine-tune when PTQ loses more than ``qat_threshold`` points and
            training data is available), ``"always"`` or ``"never"``.
        qat_threshold: accuracy points lost by PTQ that trigger fine-tuning.
        qat_epochs, qat_lr: fine-tuning epochs over the training inputs and Adam learning rate.
        batch_size: samples per emulator call.
        train_samples: training samples read from a run (calibration and fine-tuning).
        seed: order of the fine-tuning batches.
        progress: show progress while a run's data is prepared (after the checks that need no
            data: the network maps to the chip and, with ``strict``, fits its resources).

    Returns:
        The report: ``chip``, ``float_accuracy``, ``ptq_accuracy``, ``qat_accuracy`` (``None``
        without fine-tuning), ``chip_accuracy`` (of the exported model), ``accuracy_drop``
        (points), ``stats`` (per-layer counts of the exported model on the test set),
        ``saturations`` (their total), ``fit`` (rows of `fit`), ``fits``,
        ``quantization`` (per-leaf errors), ``notes``, ``files``, ``latency_steps``.
    """
    fn = "deploy"
    check_choice(fn, "chip", chip, ("loihi", "xylo"))
    check_choice(fn, "qat", qat, ("auto", "always", "never"))
    check_choice(fn, "which", which, ("best", "latest"))
    if isinstance(qat_epochs, bool) or not isinstance(qat_epochs, int) or qat_epochs < 1:
        raise ValueError(f"`{fn}`: `qat_epochs` must be an int >= 1; got {qat_epochs!r}.")
    info: dict[str, Any] = {}
    if isinstance(run_dir_or_model, nnx.Module):
        model = run_dir_or_model
        if data is None:
            raise ValueError(f"`{fn}`: `data` must be given with a model; got None.")
        run_readout = "mean"
    elif isinstance(run_dir_or_model, str | Path):
        run_dir = Path(run_dir_or_model).expanduser()
        fresh = untrained_model(run_dir)
        if fresh is not None:  # check the network, the profile and the resources first
            _check_first(fn, fresh, chip, strict)
        model, run_data, run_readout, info = from_run_dir(
            run_dir, which, train_samples, progress=progress
        )
        data = run_data if data is None else data
    else:
        raise TypeError(
            f"`{fn}`: `run_dir_or_model` must be a run directory or an nnx.Module; got "
            f"{type(run_dir_or_model).__name__}."
        )
    readout = run_readout if readout is None else readout
    check_choice(fn, "readout", readout, READOUTS)
    specs = describe(model, fn=fn, chip=chip)
    data = _check_data(fn, data, specs[0].in_shape)
    levels, unit = _levels(fn, data["x_test"], chip, input_levels)
    if "x_train" in data:  # fine-tuning sends the training inputs too: the largest count of both
        levels_tr, unit_tr = _levels(fn, data["x_train"], chip, input_levels)
        if unit is not None or unit_tr is not None:
            levels, unit = max(levels, levels_tr), 1.0
    x_te, y_te = data["x_test"], data["y_test"]
    float_acc = _float_accuracy(model, x_te, y_te, readout, batch_size)
    calib = data.get("x_train", x_te)[:, :train_samples]
    peaks = calibrate(model, calib)
    cm = quantize(
        model,
        chip,
        method=method,
        percentile=percentile,
        saturate=saturate,
        input_levels=levels,
        peaks=peaks,
        input_unit=unit,
    )
    rows = fit(cm)
    bad = [r for r in rows if not r["ok"]]
    if strict:
        _require_fit(fn, chip, bad)
    ptq_acc, ptq_stats, lag = _accuracy(cm, x_te, y_te, readout, batch_size)
    qat_acc, qat_losses, final, stats = None, [], cm, ptq_stats
    drop = 100 * (float_acc - ptq_acc)
    if "x_train" in data and (qat == "always" or (qat == "auto" and drop > qat_threshold)):
        tuned, qat_losses = finetune(
            cm,
            model,
            data["x_train"],
            data["y_train"],
            readout=readout,
            epochs=qat_epochs,
            lr=qat_lr,
            seed=seed,
        )
        qat_acc, qat_stats, _ = _accuracy(tuned, x_te, y_te, readout, batch_size)
        if qat_acc >= ptq_acc:
            final, stats = tuned, qat_stats
    chip_acc = qat_acc if final is not cm else ptq_acc
    saturations = sum(
        v for layer in stats.values() for k, v in layer.items() if k in SATURATION_KEYS
    )
    report = {
        "chip": chip,
        "profile": get_profile(chip).title,
        **info,
        "sizes": list(cm.sizes),
        "input_levels": levels,
        "input_unit": unit,
        "readout": readout,
        "test_samples": int(x_te.shape[1]),
        "steps": int(x_te.shape[0]),
        "latency_steps": lag,
        "float_accuracy": float_acc,
        "ptq_accuracy": ptq_acc,
        "qat_accuracy": qat_acc,
        "qat_epochs": qat_epochs if qat_acc is not None else 0,
        "qat_final_loss": qat_losses[-1] if qat_losses else None,
        "chip_accuracy": chip_acc,
        "accuracy_drop": 100 * (float_acc - chip_acc),
        "exported": "qat" if final is not cm else "ptq",
        "stats": stats,
        "saturations": saturations,
        "fit": rows,
        "fits": not bad,
        "peaks": list(peaks),
        "quantization": [
            {
                "path": r.path,
                "name": r.name,
                "max_abs_error": r.max_abs_error,
                "rms_error": r.rms_error,
                "max_abs_value": r.max_abs_value,
                "lsb": r.lsb,
                "clipped": r.clipped,
            }
            for r in final.report
        ],
        "notes": list(final.notes),
    }
    report["files"] = write_files(Path(out_dir).expanduser(), final, report)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A plain-text summary of a `deploy` report."""

    def pct(x):
        return "-" if x is None else f"{100 * x:.2f}%"

    sizes = " -> ".join(map(str, report["sizes"]))
    lines = [
        f"chip: {report['chip']} ({report['profile']})",
        f"network: {sizes}, input levels {report['input_levels']}, readout {report['readout']}, "
        f"latency {report['latency_steps']} step(s)",
        f"accuracy on {report['test_samples']} test samples: float "
        f"{pct(report['float_accuracy'])}, PTQ {pct(report['ptq_accuracy'])}, QAT "
        f"{pct(report['qat_accuracy'])}; exported "
        f"{report['exported'].upper()}: {pct(report['chip_accuracy'])} "
        f"(drop {report['accuracy_drop']:.2f} points)",
        f"saturations on the test set: {report['saturations']}",
    ]
    for layer, counts in report["stats"].items():
        lines.append(f"  {layer}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    lines.append("resources: " + ("fit" if report["fits"] else "DO NOT FIT"))
    for r in report["fit"]:
        mark = "ok  " if r["ok"] else "OVER"
        where = f" [{r['where']}]" if r["where"] else ""
        lines.append(f"  {mark} {r['resource']}{where}: {r['used']} / {r['limit']}")
    lines.append("quantization (max |error| / half step):")
    for q in report["quantization"]:
        clip = f", {q['clipped']} clipped" if q["clipped"] else ""
        lines.append(
            f"  {q['path']} -> {q['name']}: {q['max_abs_error']:.3g} / {q['lsb']:.3g}{clip}"
        )
    lines.append("semantic differences:")
    lines.extend(f"  - {n}" for n in report["notes"])
    lines.append(f"files: {report['files']['npz']}, {report['files']['json']}")
    return "\n".join(lines)
