"""Timing protocol shared by every framework's benchmark script (standard library only).

Protocol (see the README): compile ahead of time (reported separately), time the first call alone,
warm up, then time ``repeats`` calls; report median and min milliseconds, the CPU time this
process used per call, the peak resident memory, and the CPU time *other* processes took while the
timed loop ran (from ``/proc/stat``), so that a noisy machine is visible in the record.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from _workloads import REFERENCE, WORKLOADS

__all__ = ["Timer", "other_cpu", "parse_args", "peak_rss_mib", "report", "time_calls"]

_TICK = os.sysconf("SC_CLK_TCK")


def parse_args(description: str, *, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    """The command line every benchmark script shares: ``--workload``, ``--mode`` and counts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workload", choices=WORKLOADS, required=True)
    parser.add_argument("--mode", choices=("step", "fwd"), default="step")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform`` where that cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _busy_ticks() -> int:
    """Busy CPU ticks of the whole machine (all cores) since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> int:
    """CPU ticks of this process, all threads (utime + stime)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class other_cpu:
    """Context manager: CPU seconds that processes other than this one used while it was open."""

    def __enter__(self):
        self._busy, self._own = _busy_ticks(), _own_ticks()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        busy, own = _busy_ticks() - self._busy, _own_ticks() - self._own
        self.seconds = max(0, busy - own) / _TICK
        self.own_seconds = time.process_time() - self._cpu
        self.wall_seconds = time.perf_counter() - self._wall
        return False


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


def time_calls(call: Callable[[], Any], *, warmup: int, repeats: int) -> dict[str, Any]:
    """Time ``call`` (which must block until its result is ready): first call, warm-up, loop.

    Returns the first call's result and milliseconds, the median/min of ``repeats`` timed calls,
    the CPU milliseconds this process spent per timed call, and the other processes' CPU seconds.
    """
    with Timer() as first:
        first_result = call()
    for _ in range(warmup):
        call()
    times, cpu = [], []
    with other_cpu() as others:
        for _ in range(repeats):
            c0 = time.process_time()
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return {
        "first_result": first_result,
        "first_call_ms": round(1e3 * first.seconds, 2),
        "median_ms": round(1e3 * statistics.median(times), 2),
        "min_ms": round(1e3 * min(times), 2),
        "cpu_ms_per_call": round(1e3 * statistics.median(cpu), 2),
        "repeats": repeats,
        "timed_loop_s": round(others.wall_seconds, 3),
        "other_cpu_s": round(others.seconds, 3),
        "other_cpu_share": round(others.seconds / (others.wall_seconds * (os.cpu_count() or 1)), 3),
    }


def _agrees(value: float | None, reference: float, rel: float) -> bool | None:
    if value is None:
        return None
    return abs(value - reference) <= rel * abs(reference)


def report(
    *,
    framework: str,
    version: str,
    workload: str,
    mode: str,
    timing: dict[str, Any],
    compile_s: float | None,
    loss0: float,
    rate1: float,
    deviation: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Print (and return) one JSON record; compares the first loss and layer-1 spike rate.

    Agreement means equality to float32 precision: relative difference ≤ 1e-5 for the loss and
    ≤ 1e-4 for the rate (the reference rate is printed with 6 decimals).
    """
    ref = REFERENCE[workload]
    timing = {k: v for k, v in timing.items() if k != "first_result"}
    record = {
        "framework": framework,
        "version": version,
        "workload": workload,
        "mode": mode,
        "compile_s": None if compile_s is None else round(compile_s, 3),
        **timing,
        "peak_rss_MiB": round(peak_rss_mib(), 1),
        "loss0": loss0,
        "rate1": rate1,
        "ref_loss0": ref["loss"],
        "ref_rate1": ref["rate1"],
        "loss_ok": _agrees(loss0, ref["loss"], 1e-5),
        "rate_ok": _agrees(rate1, ref["rate1"], 1e-4),
        "deviation": deviation,
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        **(extra or {}),
    }
    print(json.dumps(record), flush=True)
    sys.stdout.flush()
    return record
