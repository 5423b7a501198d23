"""Speed of the Loihi emulator: a 256 → 1024 → 32 network, batch 64, T = 200 steps.

Compares the time per sample with Lava's bit-accurate CPU simulation (``Loihi2SimCfg`` with
``select_tag='fixed_pt'``), which takes about 1.0–1.4 ms per time step for one sample (the
reference range of docs/explanation/chip-semantics.md §7), i.e. 200–280 ms per 200-step
sample. Also times the fused replay emulator (``spikejax.chip.loihi.run``) on the same
integers. Prints one JSON record.

    .venv/bin/python benchmarks/chip_loihi.py
"""

import json

from benchmarks.chip_common import T, environment, setup, time_emulator, timed
from spikejax.chip import loihi
from spikejax.chip.export import to_loihi_network

LAVA_MS_PER_STEP = (1.0, 1.4)


def time_replay(cm, x, repeats: int = 7) -> dict:
    timing, _ = timed(loihi.run, to_loihi_network(cm), x, batch=x.shape[1], repeats=repeats)
    return timing


def main() -> dict:
    sizes = (256, 1024, 32)
    cm, x = setup("loihi", *sizes)
    result = time_emulator(cm, x)
    lava = [ms * T for ms in LAVA_MS_PER_STEP]
    record = {
        "benchmark": "chip_loihi",
        **environment(),
        "sizes": list(sizes),
        "emulate": result,
        "replay_run": time_replay(cm, x),
        "lava_ms_per_step": list(LAVA_MS_PER_STEP),
        "lava_per_sample_ms": lava,
        "speedup_vs_lava": [round(ms / result["per_sample_ms"], 1) for ms in lava],
        "goal_speedup": 1000,
    }
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
