"""The outputs of a benchmark run: the Markdown table (``latest.md``) and the bar chart
(``latest.png``), from the rows of ``run_all.summarise`` and the run's metadata."""

from __future__ import annotations

from pathlib import Path

from _workloads import REFERENCE, WORKLOADS

__all__ = ["chart", "markdown"]

_OURS = ("spikejax", "spikejax_user", "spikejax_train")


def _ratio(row: dict, key: str, met: bool | None) -> str:
    if key not in row:
        return "—"
    return f"{row[key]:.2f}" + {True: " ✓", False: " ✗", None: ""}[met]


def _agreement(per: dict) -> str:
    notes = []
    for fw, v in per.items():
        if v["loss_ok"] and v["rate_ok"]:
            notes.append(f"{fw} ✓")
        elif v["deviation"]:
            notes.append(f"{fw} ≠ (known deviation)")
        else:
            notes.append(f"{fw} ✗ MISMATCH")
    return ", ".join(notes)


def markdown(meta: dict, rows: list[dict], frameworks: list[str]) -> str:
    lines = [
        "# Canonical SNN benchmarks: spikejax vs peers",
        "",
        f"- date: {meta['date']}",
        f"- machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
        f"{meta['machine']['memory_GiB']} GiB; {meta['machine']['platform']}",
        f"- threads: {meta['threads']} (taskset, OMP_NUM_THREADS, OMP_WAIT_POLICY=PASSIVE, "
        "XLA's thread pool on those cores); float32; best of "
        f"{meta['rounds']} round(s) of {meta['repeats']} timed calls "
        f"after {meta['warmup']} warm-up",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v),
        "- not installed: " + (", ".join(k for k, v in meta["versions"].items() if not v) or "—"),
        f"- other processes' CPU share during the timed loops: {meta['other_cpu_share']:.0%} of "
        "the machine (0% = quiet)",
        "",
        "Median ms per call (min in parentheses). `spikejax`: the tuned path (a hand-written "
        "functional program, `spikejax_bench.py`); `spikejax_user`: the public layers as a "
        "researcher writes them (`user_path_bench.py`); `spikejax_train`: those layers trained by "
        "`spikejax.train`'s own step (`--path train`). *tuned/peer*, *user/peer* = median over "
        "the fastest peer's median (same run; target for the user path: step <= 0.7, fwd <= 0.8); "
        "*user/tuned* (target <= 1.1); floor = dense FLOPs / "
        f"{meta['sgemm_gflops']} GFLOP/s (the best float32 2048³ matmul of XLA on this machine, "
        "same pinning); compile s: tuned / user / train (target for the user path <= 2 s).",
        "",
    ]
    header = [
        "workload",
        "mode",
        *frameworks,
        "fastest peer",
        "tuned/peer",
        "user/peer",
        "user/tuned",
        "train/peer",
        "floor ms",
        "compile s",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    missed = []
    for row in rows:
        cells = [row["workload"], row["mode"]]
        for fw in frameworks:
            v = row["frameworks"].get(fw)
            cells.append("—" if v is None else f"{v['median_ms']:.1f} ({v['min_ms']:.1f})")
        compiles = [row["frameworks"].get(fw, {}).get("compile_s") for fw in _OURS]
        cells += [
            row.get("fastest_peer", "—"),
            _ratio(row, "ratio_median", None),
            _ratio(row, "ratio_median_user", row.get("met_vs_peer")),
            _ratio(row, "user_vs_tuned", row.get("met_vs_tuned")),
            _ratio(row, "ratio_median_train", None),
            f"{row['floor_ms']}",
            " / ".join("—" if c is None else f"{c:.2f}" for c in compiles),
        ]
        lines.append("| " + " | ".join(cells) + " |")
        what = f"{row['workload']} {row['mode']}"
        if row.get("met_vs_peer") is False:
            missed.append(f"{what}: user/peer {row['ratio_median_user']:.2f}")
        if row.get("met_vs_tuned") is False:
            missed.append(f"{what}: user/tuned {row['user_vs_tuned']:.2f}")
        if row.get("met_compile") is False:
            missed.append(f"{what}: user compile {compiles[1]:.2f} s")
    lines += ["", "Targets missed (✗ in the table): " + ("; ".join(missed) or "none") + "."]
    activity = meta.get("activity_curve")
    if activity:
        status = activity.get("status")
        text = f"not run ({status})"
        if status == "ok":
            text = "`activity_curve.json`, `activity_curve.png`"
        lines += ["", f"Event-driven synapses against input activity: {text}."]
    lines += [
        "",
        "## First loss and layer-1 spike rate",
        "",
        "| workload | reference loss / rate | agreement (float32) |",
        "|---|---|---|",
    ]
    for workload in WORKLOADS:
        row = next((r for r in rows if r["workload"] == workload and r["mode"] == "step"), None)
        if row is None:
            continue
        ref = REFERENCE[workload]
        lines.append(
            f"| {workload} | {ref['loss']} / {ref['rate1']} | {_agreement(row['frameworks'])} |"
        )
    lines += ["", "First losses measured:", ""]
    for row in rows:
        if row["mode"] != "step":
            continue
        vals = ", ".join(
            f"{fw} {v['loss0']:.6g} / {v['rate1']:.6f}" for fw, v in row["frameworks"].items()
        )
        lines.append(f"- {row['workload']}: {vals}")
    deviations = {}
    for row in rows:
        for fw, v in row["frameworks"].items():
            if v["deviation"]:
                deviations[fw] = v["deviation"]
    if deviations:
        note = "Known deviations (closest equivalents; see docs/explanation/benchmarks.md):"
        lines += ["", note, ""]
        lines += [f"- {fw}: {d}" for fw, d in sorted(deviations.items())]
    lines += [
        "",
        "Peak RSS MiB (step): "
        + "; ".join(
            f"{row['workload']}: "
            + ", ".join(f"{fw} {v['peak_rss_MiB']:.0f}" for fw, v in row["frameworks"].items())
            for row in rows
            if row["mode"] == "step"
        ),
        "",
    ]
    return "\n".join(lines)


def chart(rows: list[dict], frameworks: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [f"{r['workload']}\n{r['mode']}" for r in rows]
    x = np.arange(len(rows))
    width = 0.8 / max(1, len(frameworks))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for i, fw in enumerate(frameworks):
        vals = [r["frameworks"].get(fw, {}).get("median_ms", np.nan) for r in rows]
        ax.bar(x + (i - (len(frameworks) - 1) / 2) * width, vals, width, label=fw)
    ax.scatter(
        x, [r["floor_ms"] for r in rows], marker="_", s=400, color="k", zorder=3, label="FLOP floor"
    )
    ax.set_yscale("log")
    ax.set_xticks(x, labels)
    ax.set_ylabel("median ms per call (log)")
    ax.set_title("Canonical SNN workloads, CPU float32 (lower is better)")
    ax.legend(ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
