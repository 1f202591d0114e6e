"""How much a process pool saves: the same four ring runs through tinygan.sweep, one after
another in this process and then on a pool of two workers, on an otherwise idle machine.

    .venv/bin/python benchmarks/sweep_scaling.py              # ~1 minute on 2 cores
    .venv/bin/python benchmarks/sweep_scaling.py --steps 3000 --workers 2

Checks that both give the same rows (the numbers of a run depend only on its job) and writes
the two wall times and their ratio to results/sweep_scaling.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tinygan import sweep  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=1500, help="iterations per run (default 1500)")
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(HERE / "results" / "sweep_scaling.json"))
    args = p.parse_args(argv)
    jobs = sweep.grid("ring", seeds=range(args.jobs), fixed={"steps": args.steps})
    times, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, workers in (("sequential", 1), (f"{args.workers} workers", args.workers)):
            start = time.perf_counter()
            out = sweep.run(jobs, Path(tmp) / label.replace(" ", "_"), workers=workers)
            times[label] = time.perf_counter() - start
            rows[label] = {r["key"]: r["metrics"] for r in out}
            print(f"{label:12s} {times[label]:6.1f} s", flush=True)
    same = len({json.dumps(r, sort_keys=True) for r in rows.values()}) == 1
    labels = list(times)
    ratio = times[labels[1]] / times[labels[0]]
    print(f"ratio {ratio:.2f} ({labels[1]} / sequential); identical rows: {same}")
    result = {"machine": sweep.machine(), "steps": args.steps, "jobs": args.jobs,
              "wall_s": times, "ratio": ratio, "identical_rows": same}
    from tinygan.io import write_atomically
    write_atomically(Path(args.out), json.dumps(result, indent=1).encode())
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
