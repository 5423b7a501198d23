"""The outputs of a benchmark run: the Markdown table (``latest.md``) and the bar chart
(``latest.png``), from the rows of ``run_all.summarise`` and the run's metadata."""

from __future__ import annotations

from pathlib import Path

from _workloads import REFERENCE, WORKLOADS

__all__ = ["chart", "markdown"]


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
        "XLA intra-op threads); float32; best of "
        f"{meta['rounds']} round(s) of {meta['repeats']} timed calls "
        f"after {meta['warmup']} warm-up",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v),
        "- not installed: " + (", ".join(k for k, v in meta["versions"].items() if not v) or "—"),
        f"- other processes' CPU share during the timed loops: {meta['other_cpu_share']:.0%} of "
        "the machine (0% = quiet)",
        "",
        "Median ms per call (min in parentheses). *ratio* = spikejax median / fastest peer median "
        f"(same run); floor = dense FLOPs / {meta['sgemm_gflops']} GFLOP/s (the best float32 "
        "2048³ matmul of XLA on this machine, same pinning).",
        "",
    ]
    header = [
        "workload",
        "mode",
        *frameworks,
        "fastest peer",
        "ratio",
        "floor ms",
        "spikejax compile s",
    ]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for row in rows:
        cells = [row["workload"], row["mode"]]
        for fw in frameworks:
            v = row["frameworks"].get(fw)
            cells.append("—" if v is None else f"{v['median_ms']:.1f} ({v['min_ms']:.1f})")
        sj = row["frameworks"].get("spikejax", {})
        cells += [
            row.get("fastest_peer", "—"),
            f"{row['ratio_median']:.2f}" if "ratio_median" in row else "—",
            f"{row['floor_ms']}",
            f"{sj.get('compile_s')}" if sj else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
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
