"""Wall time of `import spikejax` in a fresh interpreter (median of 5). Prints one JSON record."""

import json
import statistics
import subprocess
import sys
import time


def main(repeats: int = 5) -> dict:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import spikejax"], check=True)
        times.append(time.perf_counter() - start)
    baseline = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline.append(time.perf_counter() - start)
    record = {
        "benchmark": "import_time",
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "interpreter_start_s": round(statistics.median(baseline), 3),
    }
    print(json.dumps(record))
    return record


if __name__ == "__main__":
    main()
