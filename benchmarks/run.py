"""Run every benchmark in benchmarks/bench_*.py: paired timings against PyTorch (when installed)
and the NumPy floor, peak memory per framework, a markdown table on stdout and a JSON file.

    .venv/bin/python benchmarks/run.py                 # all cases, full length
    .venv/bin/python benchmarks/run.py --quick         # a short smoke run
    .venv/bin/python benchmarks/run.py --only "MLP GAN" --threads 1 --json out.json
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpus_available() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="few rounds and memory steps: checks that everything runs")
    parser.add_argument("--only", metavar="NAME", help="run only cases whose name contains NAME")
    parser.add_argument("--json", metavar="PATH", default=str(HERE / "results" / "latest.json"),
                        help="where to write the results (default: benchmarks/results/latest.json)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for NumPy's BLAS and for PyTorch, the same for both "
                             f"(default 1: reproducible on a shared machine; this one has "
                             f"{cpus_available()} CPUs)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 200, quick 20)")
    parser.add_argument("--warmup", type=int, help="untimed rounds first (default 20, quick 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    return parser.parse_args(argv)


def busy_machine_warnings(threads: int) -> list:
    """Say so when other processes compete for the CPUs: wall-clock medians then overstate
    every framework's time (the paired ratios and CPU times hold up better), and with more
    threads than idle cores, threads wait on each other and timings stop meaning much."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return []
    cpus = cpus_available()
    out = []
    if load > 0.75 * cpus:
        out.append(f"the machine is busy (1-minute load {load:.1f} on {cpus} CPUs): absolute "
                   "times are inflated; compare the paired ratios and the CPU-time ratios")
    if threads > 1 and load + threads > cpus + 0.5:
        out.append(f"{threads} threads with load {load:.1f} on {cpus} CPUs oversubscribes them; "
                   "BLAS/OpenMP threads then wait for each other (try --threads 1)")
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads < 1:
        raise SystemExit(f"--threads must be at least 1, got {args.threads}")
    rounds = args.rounds or (20 if args.quick else 200)
    warmup = args.warmup if args.warmup is not None else (3 if args.quick else 20)
    memory_steps = 3 if args.quick else 10

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))  # the checkout's tinygan, even when not installed
    import harness  # noqa: E402  (after the path set-up; harness imports NumPy lazily)

    # BLAS libraries read their thread count when they load: set it before NumPy is imported
    os.environ.update(harness.thread_env(args.threads))
    use_torch = harness.torch_available() and not args.no_torch
    threads = harness.set_threads(args.threads, torch_too=use_torch)
    frameworks = [fw for fw in harness.FRAMEWORKS if fw != "torch" or use_torch]

    cases = harness.discover(args.only)
    if not cases:
        raise SystemExit(f"no benchmark case matches --only {args.only!r}")
    results = []
    for bench_file, case in cases:
        print(f"running {case['name']!r} ({rounds} rounds after {warmup} warm-up, "
              f"{args.threads} thread(s))...", file=sys.stderr, flush=True)
        result = {"name": case["name"], "file": bench_file.name,
                  **harness.time_case(case, warmup, rounds, frameworks)}
        if not args.no_memory:
            result["memory"] = {
                fw: harness.memory_in_subprocess(bench_file, case["name"], fw, args.threads,
                                                 memory_steps)
                for fw in ("tinygan", "torch") if case.get(fw) is not None and fw in frameworks}
            mem = result["memory"]
            if "torch" in mem and mem["torch"]["peak_mb"] > 0:
                result["memory_ratio"] = mem["tinygan"]["peak_mb"] / mem["torch"]["peak_mb"]
        results.append(result)

    table = harness.markdown_table(results, args.threads)
    print(table)
    warnings = busy_machine_warnings(args.threads)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join([Path(sys.executable).name, "benchmarks/run.py",
                                   *(argv if argv is not None else sys.argv[1:])]),
              "quick": args.quick, "machine": harness.machine_info(threads),
              "results": results, "table": table, "warnings": warnings}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
