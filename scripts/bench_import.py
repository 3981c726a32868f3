"""How light `import colorbench` is: import time and peak memory of `import colorbench`,
`import colorbench.metrics`, a first use (`colorbench.metrics.create`, which loads torch,
torchmetrics and the registry) and a process importing only torch, measured in one run.

  python scripts/bench_import.py [--reps 7]

Every case runs in a fresh `python -c` process, the cases taking turns, --reps times. The child
times its statement with perf_counter and reads its peak RSS (ru_maxrss) after it, and says
whether torch got imported. Printed per case: the medians, the peak RSS above the floor (a
process that imports nothing: the interpreter itself), and both as a fraction of the torch
process's. The machine may be shared: the load average is printed; noisy numbers need a rerun.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR, TORCH = "python (floor)", "import torch"
CASES = {
    FLOOR: "pass",
    "import colorbench": "import colorbench",
    "import colorbench.metrics": "import colorbench.metrics",
    "first use: metrics.create": "import colorbench.metrics; colorbench.metrics.create",
    TORCH: "import torch",
}
CHILD = """
import json, resource, sys, time
start = time.perf_counter()
exec(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "torch": "torch" in sys.modules}))
"""


def measure(statement: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run([sys.executable, "-c", CHILD, statement], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {name: [] for name in CASES}
    for rep in range(args.reps):
        order = list(CASES) if rep % 2 == 0 else list(reversed(CASES))  # taking turns
        for name in order:
            runs[name].append(measure(CASES[name]))
    median = {name: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "rss")} for name, rs in runs.items()}
    floor, torch_case = median[FLOOR]["rss"], median[TORCH]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; medians of {args.reps} fresh processes each")
    print(f"{'case':<28}{'import s':>10}{'peak RSS MB':>13}{'above floor MB':>16}{'torch loaded':>14}"
          f"{'time/torch':>12}{'mem/torch':>11}")
    for name, m in median.items():
        above = m["rss"] - floor
        loaded = {r["torch"] for r in runs[name]}
        print(f"{name:<28}{m['seconds']:>10.3f}{m['rss'] / 1e6:>13.2f}{above / 1e6:>16.2f}"
              f"{'yes' if loaded == {True} else 'no' if loaded == {False} else 'mixed':>14}"
              f"{m['seconds'] / torch_case['seconds']:>12.3f}{above / (torch_case['rss'] - floor):>11.3f}")


if __name__ == "__main__":
    main()
