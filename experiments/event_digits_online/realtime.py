"""Real-time decisions on event digits: every test sample's recorded event stream fed through a
trained run bin by bin (`spikejax.readout.EventStream`), one compiled step per bin.

For each of the 360 test digits: the decision, the bins integrated until it and its latency in
µs of event time (early-decision rule on the accumulated readout), and the wall-clock time of
every bin on this machine. Writes ``realtime.json`` (summary and per-sample records) and
``realtime_sample0.png`` (readout over event time, decision marked) into ``--out``.

    python experiments/event_digits_online/realtime.py RUN_DIR [--bin-us 18750] [--threshold 0.9]

The run's model reads frames of ``(t_last - t_0) / T`` µs (T = 16 bins over each ~300 ms
sample, ≈ 18.75 ms), so the default bin is 300 ms / 16; ``--bin-us 1000`` measures 1 ms bins
(wall-clock only: the model was not trained on them).
"""

import argparse
import json
import statistics
import subprocess
from pathlib import Path

import numpy as np

import spikejax as sj
from spikejax.data import EventDigits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--bin-us", type=int, default=18_750)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out or args.run_dir)
    out.mkdir(parents=True, exist_ok=True)

    run = sj.train.load_run(args.run_dir, which="latest")
    config = run.config
    stream = sj.readout.EventStream(
        run.model,
        EventDigits.sensor_size,
        bin_us=args.bin_us,
        spatial_factor=config.data.spatial_factor,
        flatten=config.data.flatten,
    )
    test = EventDigits("test", seed=0, cache_dir=args.cache_dir)
    n = len(test) if args.limit is None else min(args.limit, len(test))
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    records, walls = [], []
    for i in range(n):
        events, label = test[i]
        result = stream(events, threshold=args.threshold)
        walls.extend(result.wall_s[1:].tolist() if i == 0 else result.wall_s.tolist())
        records.append(
            {
                "index": i,
                "label": int(label),
                "prediction": result.prediction,
                "decision_bin": result.decision_bin,
                "bins": int(result.outputs.shape[0]),
                "latency_us": result.latency_us,
                "stream_us": int(result.bin_end_us[-1]),
            }
        )
        if i == 0:
            sj.viz.plot_stream_decision(result, out / "realtime_sample0.png", label=int(label))
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    latencies = [r["latency_us"] for r in records]
    summary = {
        "run_dir": str(args.run_dir),
        "bin_us": args.bin_us,
        "threshold": args.threshold,
        "samples": n,
        "accuracy": float(np.mean([r["prediction"] == r["label"] for r in records])),
        "latency_us_mean": float(np.mean(latencies)),
        "latency_us_median": float(np.median(latencies)),
        "latency_us_p90": float(np.percentile(latencies, 90)),
        "stream_us_mean": float(np.mean([r["stream_us"] for r in records])),
        "wall_us_per_bin_median": 1e6 * statistics.median(walls),
        "wall_us_per_bin_p99": 1e6 * float(np.percentile(walls, 99)),
        "compilations": stream.traces,
        "uptime_before": load_before,
        "uptime_after": load_after,
    }
    print(json.dumps(summary, indent=1))
    name = "realtime.json" if args.bin_us == 18_750 else f"realtime_{args.bin_us}us.json"
    (out / name).write_text(json.dumps({"summary": summary, "samples": records}, indent=1) + "\n")


if __name__ == "__main__":
    main()
