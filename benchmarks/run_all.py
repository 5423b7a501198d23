"""Every workload × mode × available framework in one run: JSON, a Markdown table and a chart.

Each measurement is its own subprocess with the same pinning for every framework: ``taskset`` on
the first ``--threads`` cores, ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` (torch), passive OpenMP
waiting (spinning OpenMP barriers stall badly when other processes share the cores), and
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=true`` (JAX; importing spikejax puts its CPU
convolution flag first, see ``spikejax/_xla_flags.py``). Frameworks
are interleaved inside every round so that slow drifts of the machine's load hit all of them.

    bash benchmarks/setup_env.sh            # once: .venv-bench with torch (CPU) and the peers
    .venv-bench/bin/python benchmarks/run_all.py [--rounds 2] [--threads 2]

Two spikejax columns: ``spikejax`` (the tuned path, ``spikejax_bench.py``) and ``spikejax_user``
(the public layers as a researcher writes them, ``user_path_bench.py``), with the ratios user/tuned
and user/fastest peer against their targets (train step <= 0.7x and forward <= 0.8x the fastest
peer, user <= 1.1x tuned, compile <= 2 s). Then, unless ``--no-activity``, the event-driven
synapses' activity curve (``activity_curve.py``: JSON and PNG into the output folder).

Outputs ``benchmarks/results/<date>.json`` (every record; ``<date>_<HHMM>.json`` for later runs of
the same day), ``benchmarks/results/latest.md`` and ``benchmarks/results/latest.png`` (``--name``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _harness import cpu_model  # noqa: E402
from _results_md import chart, markdown  # noqa: E402
from _workloads import WORKLOADS  # noqa: E402

# "spikejax" is the tuned path (a hand-written functional program); "spikejax_user" the same
# workloads written with the public layers, nnx.Optimizer and nnx.jit, as a researcher writes them;
# "spikejax_train" those layers trained by spikejax.train's own step (not for lif_layer).
SCRIPTS = {
    "spikejax": HERE / "spikejax_bench.py",
    "spikejax_user": HERE / "user_path_bench.py",
    "spikejax_train": HERE / "user_path_bench.py",
    "snntorch": HERE / "peers" / "snntorch_bench.py",
    "spikingjelly": HERE / "peers" / "spikingjelly_bench.py",
    "norse": HERE / "peers" / "norse_bench.py",
    "spyx": HERE / "peers" / "spyx_bench.py",
}
MODULES = {
    "spikejax": "spikejax",
    "spikejax_user": "spikejax",
    "spikejax_train": "spikejax",
    "snntorch": "snntorch",
    "spikingjelly": "spikingjelly",
    "norse": "norse",
    "spyx": "spyx",
}
MODES = ("step", "fwd")
OURS = ("spikejax", "spikejax_user", "spikejax_train")
ARGS = {"spikejax_train": ["--path", "train"]}
# Targets of the user path against the fastest peer (median ms), per mode, and its compile time.
TARGET_VS_PEER = {"step": 0.7, "fwd": 0.8}
TARGET_VS_TUNED = 1.1
TARGET_COMPILE_S = 2.0

# Dense GEMM/conv FLOPs per call (forward; step = forward + the weight/activation gradients that
# are needed), for the floor in the table: FLOPs / the SGEMM rate measured at the start of the run.
GFLOP = {
    ("lif_layer", "fwd"): 2 * 8000 * 512 * 512 / 1e9,
    ("lif_layer", "step"): 2 * 2 * 8000 * 512 * 512 / 1e9,
    ("shd_mlp", "fwd"): 2 * 6400 * (700 * 256 + 256 * 20) / 1e9,
    ("shd_mlp", "step"): 2 * 6400 * (2 * 700 * 256 + 3 * 256 * 20) / 1e9,
    ("conv_nmnist", "fwd"): 2 * 800 * (900 * 12 * 50 + 121 * 64 * 300 + 1600 * 10) / 1e9,
    ("conv_nmnist", "step"): 2
    * 800
    * (2 * 900 * 12 * 50 + 3 * 121 * 64 * 300 + 3 * 1600 * 10)
    / 1e9,
}

# Best float32 GEMM rate of XLA on this machine with the run's pinning: a 2048³ jnp.matmul.
_SGEMM_SCRIPT = """
import time, jax, jax.numpy as jnp
n = 2048
a = jnp.ones((n, n), jnp.float32); b = jnp.ones((n, n), jnp.float32)
f = jax.jit(jnp.matmul); f(a, b).block_until_ready()
best = float("inf")
for _ in range(20):
    t = time.perf_counter(); f(a, b).block_until_ready(); best = min(best, time.perf_counter() - t)
print(2 * n**3 / best / 1e9)
"""


def sgemm_gflops(python: str, env: dict[str, str], prefix: list[str]) -> float:
    """GFLOP/s of the fastest of 20 float32 2048×2048 matmuls (jax, same pinning as the runs)."""
    proc = subprocess.run(
        [*prefix, python, "-c", _SGEMM_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    )
    return round(float(proc.stdout.strip().splitlines()[-1]), 1)


def available(python: str) -> dict[str, str | None]:
    """Version of each framework importable by ``python`` (None where it is not)."""
    out = {}
    for name, module in MODULES.items():
        code = (
            "import importlib, importlib.metadata as m\n"
            f"importlib.import_module({module!r})\n"
            f"print(m.version({module!r}))"
        )
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
        out[name] = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else None
    return out


def environment(threads: int) -> tuple[dict[str, str], list[str]]:
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        OMP_WAIT_POLICY="PASSIVE",
        # XLA's thread pool follows the taskset cores. (Not "intra_op_parallelism_threads=N":
        # it is no XLA flag, and XLA stops reading XLA_FLAGS at a token it cannot parse.)
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=true",
        PYTHONWARNINGS="ignore",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    prefix = []
    if shutil.which("taskset"):
        prefix = ["taskset", "-c", ",".join(str(i) for i in range(threads))]
    return env, prefix


def measure(python, framework, workload, mode, args, env, prefix) -> dict:
    cmd = [
        *prefix,
        python,
        str(SCRIPTS[framework]),
        "--workload",
        workload,
        "--mode",
        mode,
        "--repeats",
        str(args.repeats),
        "--warmup",
        str(args.warmup),
        *ARGS.get(framework, []),
    ]
    proc = run_capture(cmd, env, args.timeout)
    if proc is None:
        return {"framework": framework, "workload": workload, "mode": mode, "error": "timeout"}
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            record = json.loads(line)
            record["framework"] = framework  # the column: tuned and user paths are both spikejax
            return record
    return {
        "framework": framework,
        "workload": workload,
        "mode": mode,
        "error": (proc.stderr or proc.stdout)[-2000:],
    }


def run_capture(
    cmd: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess | None:
    """Run ``cmd`` from the repository root with its output captured; ``None`` on timeout."""
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, env=env, check=False, timeout=timeout, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return None


def machine() -> dict:
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except OSError:
        mem_kib = 0
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_GiB": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def summarise(records: list[dict], sgemm: float) -> list[dict]:
    """One row per (workload, mode): best-of-rounds median/min per framework, ratios, checks."""
    rows = []
    for workload in WORKLOADS:
        for mode in MODES:
            cell = {}
            for r in records:
                if r.get("workload") != workload or r.get("mode") != mode or "error" in r:
                    continue
                cell.setdefault(r["framework"], []).append(r)
            if not cell:
                continue
            per = {}
            for fw, rs in cell.items():
                best = min(rs, key=lambda r: r["median_ms"])
                per[fw] = {
                    "median_ms": best["median_ms"],
                    "min_ms": min(r["min_ms"] for r in rs),
                    "compile_s": best.get("compile_s"),
                    "loss0": best["loss0"],
                    "rate1": best["rate1"],
                    "loss_ok": best["loss_ok"],
                    "rate_ok": best["rate_ok"],
                    "deviation": best.get("deviation"),
                    "other_cpu_share": statistics.mean(r["other_cpu_share"] for r in rs),
                    "peak_rss_MiB": best["peak_rss_MiB"],
                }
            peers = {fw: v for fw, v in per.items() if fw not in OURS}
            row = {
                "workload": workload,
                "mode": mode,
                "frameworks": per,
                "floor_ms": round(1e3 * GFLOP[(workload, mode)] / sgemm, 1),
            }
            if peers:
                fastest = min(peers, key=lambda fw: peers[fw]["median_ms"])
                fastest_min = min(peers, key=lambda fw: peers[fw]["min_ms"])
                row["fastest_peer"] = fastest
                for ours in OURS:
                    suffix = ours.removeprefix("spikejax")  # "", "_user", "_train"
                    if ours in per:
                        ratio = per[ours]["median_ms"] / peers[fastest]["median_ms"]
                        row[f"ratio_median{suffix}"] = round(ratio, 3)
                        ratio_min = per[ours]["min_ms"] / peers[fastest_min]["min_ms"]
                        row[f"ratio_min{suffix}"] = round(ratio_min, 3)
                if "ratio_median_user" in row:
                    row["target_vs_peer"] = TARGET_VS_PEER[mode]
                    row["met_vs_peer"] = row["ratio_median_user"] <= TARGET_VS_PEER[mode]
            if "spikejax" in per and "spikejax_user" in per:
                user, tuned = per["spikejax_user"], per["spikejax"]
                row["user_vs_tuned"] = round(user["median_ms"] / tuned["median_ms"], 3)
                row["met_vs_tuned"] = row["user_vs_tuned"] <= TARGET_VS_TUNED
            if "spikejax_user" in per and per["spikejax_user"]["compile_s"] is not None:
                row["met_compile"] = per["spikejax_user"]["compile_s"] <= TARGET_COMPILE_S
            rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_python = ROOT / ".venv-bench" / "bin" / "python"
    parser.add_argument(
        "--python", default=str(default_python if default_python.exists() else Path(sys.executable))
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--frameworks", nargs="+", default=list(SCRIPTS), choices=list(SCRIPTS))
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--name", default="latest", help="base name of the .md/.png outputs")
    parser.add_argument(
        "--no-activity",
        action="store_true",
        help="skip the event-driven synapses' activity curve (activity_curve.py)",
    )
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="only rewrite the .md/.png of an earlier run's JSON (measuring the SGEMM rate now if "
        "the JSON has none)",
    )
    args = parser.parse_args()
    if args.render:
        render(args)
        return

    versions = available(args.python)
    frameworks = [fw for fw in args.frameworks if versions.get(fw)]
    env, prefix = environment(args.threads)
    sgemm = sgemm_gflops(args.python, env, prefix)
    records = []
    for rnd in range(args.rounds):
        for workload in args.workloads:
            for mode in MODES:
                # Rotate the order each round so no framework always runs first.
                shift = rnd % len(frameworks)
                for fw in frameworks[shift:] + frameworks[:shift]:
                    r = measure(args.python, fw, workload, mode, args, env, prefix)
                    r["round"] = rnd
                    records.append(r)
                    brief = r.get("error") or f"{r['median_ms']} ms (loss {r['loss0']:.6g})"
                    print(f"[{rnd}] {workload:12s} {mode:4s} {fw:13s} {brief}", flush=True)
    rows = summarise(records, sgemm)
    activity = None if args.no_activity else activity_curve(args, env, prefix)
    shares = [r["other_cpu_share"] for r in records if "other_cpu_share" in r]
    meta = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "threads": args.threads,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "versions": versions,
        "other_cpu_share": statistics.mean(shares) if shares else 0.0,
        "sgemm_gflops": sgemm,
        "activity_curve": activity,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.date.today().isoformat()
    if (out / f"{stamp}.json").exists():  # keep earlier runs of the same day
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M")
    (out / f"{stamp}.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "records": records}, indent=1)
    )
    (out / f"{args.name}.md").write_text(markdown(meta, rows, frameworks))
    chart(rows, frameworks, out / f"{args.name}.png")
    print(markdown(meta, rows, frameworks))


def activity_curve(args: argparse.Namespace, env: dict[str, str], prefix: list[str]) -> dict:
    """Run ``activity_curve.py`` (when present) into ``--out``, with the run's pinning: event-driven
    against dense synapses from 0 % to 100 % input activity (its JSON and PNG)."""
    script = HERE / "activity_curve.py"
    if not script.exists():
        return {"status": "absent"}
    cmd = [*prefix, args.python, str(script), "--out", str(args.out)]
    print("activity curve:", " ".join(cmd[-4:]), flush=True)
    proc = run_capture(cmd, env, args.timeout)
    if proc is None:
        return {"status": "timeout"}
    if proc.returncode != 0:
        return {"status": "error", "error": (proc.stderr or proc.stdout)[-2000:]}
    return {"status": "ok", "json": "activity_curve.json", "png": "activity_curve.png"}


def render(args: argparse.Namespace) -> None:
    """Rewrite the Markdown table and the chart of a saved run (e.g. after a change of format)."""
    path = Path(args.render)
    saved = json.loads(path.read_text())
    meta, records = saved["meta"], saved["records"]
    if "sgemm_gflops" not in meta:
        env, prefix = environment(meta["threads"])
        meta["sgemm_gflops"] = sgemm_gflops(args.python, env, prefix)
    rows = summarise(records, meta["sgemm_gflops"])
    path.write_text(json.dumps({"meta": meta, "rows": rows, "records": records}, indent=1))
    frameworks = [fw for fw in SCRIPTS if any(r["framework"] == fw for r in records)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text(markdown(meta, rows, frameworks))
    chart(rows, frameworks, out / f"{args.name}.png")
    print(markdown(meta, rows, frameworks))


if __name__ == "__main__":
    main()
