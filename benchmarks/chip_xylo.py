"""Speed of the Xylo emulator: 16 → 256 → 8 and 16 → 1000 → 8 networks, batch 64, T = 200.

Compares the time per sample with XyloSim (Rockpool 3.1, xylosim 0.1.3): 0.79 ms per time step at
16 → 256 → 8 and 10.6 ms at 1000 hidden neurons for one sample (the reference figures of
docs/explanation/chip-semantics.md §7), i.e. 158 ms and 2,120 ms per 200-step sample. Two
timings per network: the default emulator (ordered saturating accumulation only in steps
where a rail is reachable) and ``exact=True`` (the ordered accumulation at every step: the
worst case, e.g. under heavy saturation). Prints one JSON record per network.

    .venv/bin/python benchmarks/chip_xylo.py
"""

import json

from benchmarks.chip_common import T, environment, setup, time_emulator

XYLOSIM_MS_PER_STEP = {256: 0.79, 1000: 10.6}


def main() -> list[dict]:
    records = []
    for n_hid, ms_step in XYLOSIM_MS_PER_STEP.items():
        sizes = (16, n_hid, 8)
        cm, x = setup("xylo", *sizes, gain=1.0)
        fast = time_emulator(cm, x)
        exact = time_emulator(cm, x, exact=True, repeats=5)
        ref = ms_step * T
        record = {
            "benchmark": "chip_xylo",
            **environment(),
            "sizes": list(sizes),
            "emulate": fast,
            "emulate_exact_order": exact,
            "xylosim_ms_per_step": ms_step,
            "xylosim_per_sample_ms": ref,
            "speedup_vs_xylosim": round(ref / fast["per_sample_ms"], 1),
            "speedup_vs_xylosim_exact_order": round(ref / exact["per_sample_ms"], 1),
            "goal_speedup": 10,
        }
        print(json.dumps(record))
        records.append(record)
    return records


if __name__ == "__main__":
    main()
