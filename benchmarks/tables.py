"""The shared main() of the results-table scripts (reproduce_coarse, reproduce_latent,
reproduce_image_to_image, reproduce_beyond): each names its rows — a row is an experiment of
the registry with some settings, trained on a CPU-clock budget for each of its seeds — and how
to draw its table; this runs the rows not yet in the record (tinygan.sweep: each finished run
saved at once, so a stopped reproduction started again runs only what is missing) and writes
OUT.md and OUT.json.

    python benchmarks/reproduce_X.py --jobs 2              # every row, its seeds
    python benchmarks/reproduce_X.py --only ROW --seeds 0  # part of it
    python benchmarks/reproduce_X.py --table-only          # redraw the table from the record
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tinygan import sweep  # noqa: E402
from tinygan.backend import cpu_name  # noqa: E402
from tinygan.io import write_atomically  # noqa: E402


def row_name(rows: dict, r: dict, ignore=("data_dir", "eval_samples")) -> str:
    """The name in `rows` ({name: (experiment, settings)}) of a record row, by its experiment
    and its settings (apart from `ignore`, the ones every row shares); else its experiment."""
    mine = {k: v for k, v in r["settings"].items() if k not in ignore}
    for name, (experiment, settings) in rows.items():
        if r["experiment"] == experiment and mine == settings:
            return name
    return r["experiment"]


def main(doc: str, rows: dict, build_table, name: str, argv=None, *, seeds=(0, 1),
         eval_samples: int | None = None, task=sweep.train, options=None, skip=None) -> int:
    """Parse the command line, run the missing jobs, write the table.

    rows: {row name: (experiment, settings)}; seeds: the default seeds, or {row name: seeds}
    (then --seeds is not offered); build_table(record rows, settings) -> markdown, settings
    holding the date and this machine's CPU; name: the default runs-dir (runs/NAME) and output
    (benchmarks/results/NAME); eval_samples: passed to every job's config; task: what a worker
    runs for a job (sweep.train by default); options(args) -> the jobs' task options;
    skip(row name) -> True for rows that cannot run here (e.g. not in the registry)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="CPU minutes per run")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (one per core)")
    p.add_argument("--only", nargs="+", choices=list(rows), default=list(rows))
    if not isinstance(seeds, dict):
        p.add_argument("--seeds", type=int, nargs="+", default=list(seeds))
    p.add_argument("--data-dir", default="")
    p.add_argument("--runs-dir", default=str(REPO / "runs" / name))
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / name))
    p.add_argument("--table-only", action="store_true")
    args = p.parse_args(argv)
    record = Path(args.runs_dir) / "sweep"
    if not args.table_only:
        seeds_of = seeds if isinstance(seeds, dict) else {n: args.seeds for n in rows}
        extra = {} if eval_samples is None else {"eval_samples": eval_samples}
        # every row's first seed first, so that a sweep stopped early has every row once
        jobs = [sweep.Job.make(rows[n][0], seed, seconds=args.minutes * 60, clock="cpu",
                               threads=1, options=options(args) if options else None,
                               data_dir=args.data_dir, **extra, **rows[n][1])
                for i in range(max(len(s) for s in seeds_of.values()))
                for n in args.only if i < len(seeds_of[n]) and not (skip and skip(n))
                for seed in [seeds_of[n][i]]]
        try:
            sweep.run(jobs, record, task=task, workers=args.jobs)
        except RuntimeError as e:
            print(f"runs that failed: {e}", file=sys.stderr)
    settings = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name()}
    found = sweep.load(record)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out.with_suffix(".md"), build_table(found, settings).encode())
    write_atomically(out.with_suffix(".json"), json.dumps(
        {"settings": settings, "rows": found}, indent=1, default=float).encode())
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0


def mean_sd(values, spec=".1%") -> str:
    """mean ± sample s.d. of the values that are not None or NaN, formatted by spec; — when
    none."""
    import math

    import numpy as np
    v = [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return "—"
    text = format(float(np.mean(v)), spec)
    return text + (f" ± {format(float(np.std(v, ddof=1)), spec)}" if len(v) > 1 else "")


def cpus(rows: list, names, default: str) -> str:
    """The CPU model the rows ran on, or, when they ran on several, each with its rows' names
    (names(row) -> its name)."""
    by = {}
    for r in rows:
        by.setdefault(r.get("cpu", default), set()).add(names(r))
    if len(by) <= 1:
        return next(iter(by), default)
    return "; ".join(f"{cpu}: {', '.join(sorted(n))}" for cpu, n in by.items())
