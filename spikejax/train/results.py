"""The results of finished runs in one short table: float and chip accuracy, energy per inference.

Everything is read from the run directories as the commands leave them (nothing is recomputed):
``summary.json`` (``spikejax train``), ``chip-<chip>/<chip>.json`` (``spikejax deploy`` with its
default ``--out``) and ``energy/energy.json`` (``spikejax energy --out <run>/energy``). What a
run lacks is shown as ``-``. The details stay in those files; the table says where they are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spikejax.energy.report import format_energy, ratio_reason

__all__ = ["results_table", "run_results"]

_FN = "run_results"


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(
            f"`{_FN}`: {path} must hold JSON; {type(error).__name__}: {error}"
        ) from error
    if not isinstance(data, dict):
        raise ValueError(f"`{_FN}`: {path} must hold a JSON object; got {type(data).__name__}.")
    return data


def _why(name: str, report: dict[str, Any]) -> str | None:
    """One line on the SNN/ANN energy ratio of an energy report (``None`` without a ratio)."""
    reason = ratio_reason(report)
    if reason is None:
        return None
    ratio = report["totals"]["ratio"]
    return f"{name}: E_SNN / E_ANN = {ratio:.3g} on {report['profile']['name']}: {reason}."


def run_results(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The headline results of one run directory.

    Returns:
        ``{"run_dir", "name", "model", "float_accuracy", "which", "chips": {chip: accuracy},
        "energy": {profile: {"e_snn_pj", "ratio", "unpriced"}}, "why": str | None, "files":
        [paths read]}``; ``float_accuracy`` is the test accuracy of the best checkpoint (of the
        final model without one, ``which`` says), a chip's accuracy is that of the exported
        integer network on the chip emulator.

    Raises:
        FileNotFoundError: ``run_dir`` has no ``summary.json`` (not a finished run).
        ValueError: a results file is not a JSON object (the message names it).
    """
    run_dir = Path(run_dir).expanduser()
    summary = _read(run_dir / "summary.json")
    if summary is None:
        raise FileNotFoundError(
            f"`{_FN}`: `run_dir` must be a finished run with summary.json; "
            f"{run_dir / 'summary.json'} not found."
        )
    files = [run_dir / "summary.json"]
    best = summary.get("test_accuracy_best")
    out: dict[str, Any] = {
        "run_dir": str(run_dir),
        "name": summary.get("name"),
        "model": summary.get("model"),
        "float_accuracy": summary.get("test_accuracy_final") if best is None else best,
        "which": "latest" if best is None else "best",
        "chips": {},
        "energy": {},
        "why": None,
    }
    for path in sorted(run_dir.glob("chip-*/*.json")):
        data = _read(path)
        report = None if data is None else data.get("report")
        if isinstance(report, dict) and "chip_accuracy" in report and "chip" in report:
            out["chips"][report["chip"]] = report["chip_accuracy"]
            files.append(path)
    energy = _read(run_dir / "energy" / "energy.json")
    if energy is not None:
        files.append(run_dir / "energy" / "energy.json")
        for profile, report in energy.get("reports", {}).items():
            totals = report["totals"]
            out["energy"][profile] = {
                "e_snn_pj": totals["e_snn_pj"],
                "ratio": totals.get("ratio"),
                "unpriced": list(report.get("unpriced", [])),
            }
            if out["why"] is None:
                out["why"] = _why(out["name"] or run_dir.name, report)
    out["files"] = [str(p) for p in files]
    return out


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f} %"


def results_table(run_dirs: Sequence[str | os.PathLike[str]]) -> str:
    """A short table of `run_results` of each run: one line per run, the energy ratio
    explained in one line, and the files holding the details.

    Example:
        >>> import json, tempfile, pathlib
        >>> from spikejax.train.results import results_table
        >>> run = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (run / "summary.json").write_text(json.dumps(
        ...     {"name": "demo", "model": "lif_mlp", "test_accuracy_best": 0.9639}))
        >>> print(results_table([run]).splitlines()[1].split())
        ['run', 'model', 'float', '(best)', 'energy', 'per', 'inference']
    """
    if isinstance(run_dirs, str | os.PathLike) or not run_dirs:
        raise ValueError(
            f"`results_table`: `run_dirs` must be a non-empty sequence of run directories; "
            f"got {run_dirs!r}."
        )
    results = [run_results(r) for r in run_dirs]
    chips = [c for c in ("loihi", "xylo") if any(c in r["chips"] for r in results)]
    chips += sorted({c for r in results for c in r["chips"]} - set(chips))
    which = {r["which"] for r in results}
    header = ["run", "model", f"float ({'/'.join(sorted(which))})", *chips, "energy per inference"]
    rows = []
    for r in results:
        energies = []
        for profile, e in r["energy"].items():
            text = f"{format_energy(e['e_snn_pj'])} on {profile}"
            if e["ratio"] is not None:
                text += f" ({e['ratio']:.3g}× the ANN)"
            if e["unpriced"]:
                text += f" (without {', '.join(e['unpriced'])}: not priced)"
            energies.append(text)
        rows.append(
            [
                r["name"] or Path(r["run_dir"]).name,
                r["model"] or "-",
                _percent(r["float_accuracy"]),
                *(_percent(r["chips"].get(c)) for c in chips),
                "; ".join(energies) or "-",
            ]
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [f"results of {len(results)} run(s): accuracy on the test split"]
    for row in (header, *rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    lines.extend(r["why"] for r in results if r["why"])
    lines.append("details: " + ", ".join(f for r in results for f in r["files"]))
    return "\n".join(lines)
